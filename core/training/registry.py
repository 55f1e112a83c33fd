"""``TRAINERS``: every trainer by method name, with its config class, what data it takes and what it makes.

One table instead of dispatch written in several places: the Adapt page, the CLI and the adaptation job
all look a method up here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.models import DEFAULT_BI_ENCODER, SPARSE_KIND
from core.runtime import InvalidInput, Reporter
from core.training import contrastive, cross_encoder, mlm, sparse, tsdae
from core.training.config import TrainConfig

__all__ = ["TRAINERS", "Trainer", "get_trainer", "train_config"]


@dataclass(frozen=True)
class Trainer:
    """One trainer: ``train(config, data, reporter) -> saved model folder``. ``data`` is ``texts`` (corpus
    texts, unsupervised) or ``triples`` (:class:`~core.training.common.Triples` of query, positive and hard
    negatives); ``model_kind`` is what the saved folder holds; ``default_base`` the model it starts from
    when none is given."""

    method: str
    config: type[TrainConfig]
    train: Callable[[Any, Any, Reporter | None], Path]
    data: str
    model_kind: str
    description: str
    default_base: str = DEFAULT_BI_ENCODER


TRAINERS: dict[str, Trainer] = {
    t.method: t
    for t in (
        Trainer(
            "mlm",
            mlm.MLMConfig,
            mlm.train,
            "texts",
            "bi-encoder",
            "MLM continued pretraining on the corpus (unsupervised)",
        ),
        Trainer(
            "tsdae",
            tsdae.TSDAEConfig,
            tsdae.train,
            "texts",
            "bi-encoder",
            "TSDAE denoising auto-encoder on the corpus (unsupervised)",
        ),
        Trainer(
            "contrastive",
            contrastive.ContrastiveConfig,
            contrastive.train,
            "triples",
            "bi-encoder",
            "contrastive fine-tuning on train-split (query, positive, hard negative) rows",
        ),
        Trainer(
            "cross-encoder",
            cross_encoder.CrossEncoderConfig,
            cross_encoder.train,
            "triples",
            "cross-encoder",
            "cross-encoder reranker trained on the same rows, judged against its first stage",
        ),
        Trainer(
            "splade",
            sparse.SparseConfig,
            sparse.train,
            "triples",
            SPARSE_KIND,
            "SPLADE (learned sparse) fine-tuning on the same rows, FLOPS-regularised",
            default_base=sparse.DEFAULT_SPLADE_BASE,
        ),
    )
}


def get_trainer(method: str) -> Trainer:
    """The trainer of ``method``; an unknown method is an :class:`InvalidInput`."""
    if method not in TRAINERS:
        raise InvalidInput(f"Unknown method {method!r}: use one of {', '.join(TRAINERS)}.")
    return TRAINERS[method]


def train_config(
    method: str, base: str, output_dir: str | Path, params: Mapping[str, Any] | None = None
) -> TrainConfig:
    """The frozen, validated config of ``method`` (unknown or bad settings raise :class:`InvalidInput`)."""
    return get_trainer(method).config.from_params(base, str(output_dir), params)
