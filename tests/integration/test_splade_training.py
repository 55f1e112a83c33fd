"""SPLADE fine-tuning with the real SPLADE-tiny (4.4M parameters) on a small SciFact slice: a few steps save a
SparseEncoder that reloads and stays sparse; bf16 matches fp32; the ``adapt`` job registers it with before and
after metrics; cancel midway and bad configs leave nothing behind."""

from __future__ import annotations

import time

import pytest

from core.adapt import MiningConfig, build_triples, mine_dataset
from core.models import resolve_model
from core.runtime import jobs
from core.training import DEFAULT_SPLADE_BASE, TRAINERS, train_config, training_precision
from tests.tiny_data import write_beir

pytestmark = pytest.mark.integration

PARAMS = {"max_steps": 3, "batch_size": 4, "max_seq_length": 64}


@pytest.fixture(scope="module")
def slice_dir(tmp_path_factory, data_dir):
    from tests.slices import write_scifact_slice

    return write_scifact_slice(
        data_dir, tmp_path_factory.mktemp("scifact") / "scifact-slice", train=24, test=12, extra_docs=60
    )


@pytest.fixture(scope="module")
def triples(slice_dir):
    from core.data import load_path

    ds = load_path(slice_dir, name="scifact-slice")
    mined = mine_dataset(ds, MiningConfig(num_negatives=1, skip_top=1, depth=10), split="train")
    rows, _ = build_triples(ds, mined, "train", 1)
    return rows


def _train(tmp_path, triples, **params):  # type: ignore[no-untyped-def]
    records: list = []
    base = resolve_model(DEFAULT_SPLADE_BASE).location
    cfg = train_config("splade", base, tmp_path / "out" / "model", {**PARAMS, **params})
    path = TRAINERS["splade"].train(cfg, triples, records.append)
    return path, records


def test_a_few_steps_save_a_sparse_encoder_that_reloads_and_stays_sparse(tmp_path, triples):
    from sentence_transformers.sparse_encoder import SparseEncoder

    path, records = _train(tmp_path, triples)
    steps = [(p.done, p.total) for p in records if not p.is_log]
    assert steps[-1] == (3, 3)
    assert [p.loss for p in records if p.loss is not None]  # the loss reached the reporter
    assert any("FLOPS weights" in p.message for p in records if p.is_log)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["model"]  # trainer scratch removed
    model = SparseEncoder(str(path))
    assert type(model[1]).__name__ == "SpladePooling"
    vec = model.encode_query(["what causes lung cancer in smokers"], convert_to_tensor=True).to_dense()
    active = int((vec > 0).sum())
    assert 0 < active < 500 < vec.shape[1]  # sparse: a few dozen of ~30k vocabulary terms
    assert model.max_seq_length > PARAMS["max_seq_length"]  # the training truncation is not saved


@pytest.mark.skipif(training_precision("bf16", "cpu")[0] != "bf16", reason="this CPU has no native bfloat16")
def test_bf16_losses_match_fp32(tmp_path, triples):
    losses = {}
    for precision in ("fp32", "bf16"):
        _, records = _train(tmp_path / precision, triples, precision=precision, learning_rate=2e-5)
        mode = "bf16 autocast" if precision == "bf16" else "fp32"
        assert any(f"in {mode}" in p.message for p in records if p.is_log)
        losses[precision] = [p.loss for p in records if not p.is_log and p.loss is not None]
    assert len(losses["fp32"]) == len(losses["bf16"]) >= 3
    for a, b in zip(losses["fp32"], losses["bf16"], strict=True):
        assert b == pytest.approx(a, rel=0.05, abs=0.02), losses
    assert losses["fp32"] != losses["bf16"]  # bf16 really ran


def test_cancel_midway_registers_nothing(ws, slice_dir):
    from core.data import import_dataset

    import_dataset(ws, slice_dir, name="sl")
    run_id = jobs.submit(
        ws,
        "adapt",
        {
            "method": "splade",
            "dataset": "sl",
            "name": "never",
            "mining": {"num_negatives": 1, "skip_top": 1, "depth": 10},
            "train": {"max_steps": 100000, "batch_size": 2, "max_seq_length": 32},
        },
    )
    deadline = time.time() + 240
    while time.time() < deadline:
        run = ws.get_run(run_id)
        if run.status != "running" or ((run.step or 0) >= 2 and run.total == 100000):
            break
        time.sleep(0.5)
    assert ws.get_run(run_id).status == "running", ws.get_run(run_id).error
    jobs.cancel(ws, run_id)
    run = jobs.wait(ws, run_id, timeout=60, poll=0.2)
    assert run.status == "cancelled"
    assert ws.get_model("never") is None
    assert not list((ws.home / "tmp").glob(f"run-{run_id}-*"))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"base": "no-such-splade"}, "Unknown model"),
        ({"base": "all-MiniLM-L6-v2"}, "not a SPLADE model"),
        ({}, "at least 2"),  # the tiny set has a single judged train pair
    ],
)
def test_a_bad_config_is_one_clear_error_and_leaves_nothing(ws, tmp_path, config, message):
    from core.data import import_dataset

    import_dataset(ws, write_beir(tmp_path / "tiny"), name="tiny")
    run = jobs.run_inline(
        ws,
        "adapt",
        {"method": "splade", "dataset": "tiny", "name": "bad", "train": {"max_steps": 1}, **config},
    )
    assert run.status == "failed" and message in run.error
    assert ws.get_model("bad") is None
    assert not list((ws.home / "tmp").glob(f"run-{run.id}-*"))


def test_adapt_job_registers_the_sparse_model_with_before_after_and_significance(ws, slice_dir):
    from sentence_transformers.sparse_encoder import SparseEncoder

    from core.data import import_dataset
    from core.models import SPARSE_KIND, list_models
    from core.retrieval import SparseSpec

    import_dataset(ws, slice_dir, name="sl")
    run = jobs.run_inline(
        ws,
        "adapt",
        {
            "method": "splade",
            "dataset": "sl",
            "name": "tiny-splade",
            "mining": {"num_negatives": 1, "skip_top": 1, "depth": 10},
            "train": {**PARAMS, "precision": "fp32"},
        },
    )
    assert run.status == "done", run.error
    res = run.result
    assert res["base"] == DEFAULT_SPLADE_BASE and res["steps"] == 3 and res["precision"] == "fp32"
    ev = res["evaluation"]
    assert ev["queries"] == 12 and set(ev["before"]) >= {"ndcg@10", "recall@100"}
    assert ev["labels"] == {"before": f"SPLADE ({DEFAULT_SPLADE_BASE}, base)", "after": "SPLADE (trained)"}
    assert ev["verdict"] in ("better", "worse", "no change") and "p_value" in ev
    assert 0 < ev["before"]["ndcg@10"] <= 1  # SPLADE-tiny retrieves (zero-shot) on the slice
    model = ws.get_model("tiny-splade")
    assert model.kind == SPARSE_KIND and model.base == DEFAULT_SPLADE_BASE and model.run_id == run.id
    assert model.meta["after"] == res["after"] and model.meta["method"] == "splade"
    assert "tiny-splade" in [m.name for m in list_models(ws, kind=SPARSE_KIND)]
    assert not list((ws.home / "tmp").iterdir())
    assert type(SparseEncoder(model.path)[1]).__name__ == "SpladePooling"
    SparseSpec(model="tiny-splade")  # usable as a SPLADE strategy on Compare
