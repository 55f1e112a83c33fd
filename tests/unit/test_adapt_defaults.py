"""Adaptation defaults per method (contrastive first), step counts and the time estimate before a run."""

from __future__ import annotations

import pytest

from core.adapt import (
    DEFAULT_METHOD,
    METHODS,
    TRAIN_COST_FACTOR,
    describe_methods,
    estimate_adapt,
    method_defaults,
    training_steps,
)
from core.runtime import InvalidInput


def test_contrastive_is_the_default_and_listed_first() -> None:
    assert DEFAULT_METHOD == "contrastive"
    assert METHODS[0] == "contrastive" and set(METHODS) == {
        "mlm",
        "tsdae",
        "contrastive",
        "cross-encoder",
        "splade",
    }
    assert next(iter(describe_methods())) == "contrastive"


def test_each_method_has_its_own_defaults() -> None:
    c, m = method_defaults("contrastive"), method_defaults("mlm")
    assert (c["batch_size"], c["max_seq_length"], c["num_negatives"]) == (32, 256, 1)
    assert (m["batch_size"], m["max_seq_length"]) == (16, 128) and "num_negatives" not in m
    assert method_defaults("cross-encoder")["num_negatives"] == 2
    assert method_defaults("cross-encoder")["epochs"] == 2.0
    with pytest.raises(InvalidInput):
        method_defaults("word2vec")


@pytest.mark.parametrize(
    ("rows", "batch", "epochs", "max_steps", "steps"),
    [(919, 32, 1.0, None, 29), (919, 32, 2.0, None, 58), (919, 32, 1.0, 5, 5), (0, 32, 1.0, None, 0)],
)
def test_training_steps(rows: int, batch: int, epochs: float, max_steps: int | None, steps: int) -> None:
    assert training_steps(rows, batch_size=batch, epochs=epochs, max_steps=max_steps) == steps


def test_estimate_counts_cached_base_vectors_once() -> None:
    settings = {"batch_size": 32, "epochs": 1.0}
    common = {"rows": 64, "settings": settings, "rate": 100.0, "corpus": 1000, "queries": 100}
    cached = estimate_adapt("contrastive", base_cached=True, **common)
    fresh = estimate_adapt("contrastive", base_cached=False, **common)
    assert cached.steps == 2
    assert cached.train_s == pytest.approx(2 * 32 * 3 * TRAIN_COST_FACTOR / 100.0)
    assert cached.eval_texts == 1100 and fresh.eval_texts == 2200
    assert fresh.seconds > cached.seconds
    rerank = estimate_adapt("cross-encoder", base_cached=True, rerank_depth=50, **common)
    assert rerank.eval_texts == 100 * 50
