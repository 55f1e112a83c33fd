"""bf16 autocast training on a CPU that computes bfloat16 natively: the same losses as fp32 (within the
rounding of bf16) for every trainer, and ``auto`` picks it there."""

from __future__ import annotations

import pytest

from core.adapt import MiningConfig, build_triples, mine_dataset
from core.data import load_path, sample_per_class
from core.models import TINY_MODEL, resolve_model
from core.training import TRAINERS, SetFitConfig, fit_setfit, train_config, training_precision
from tests.tiny_data import LABELED, write_jsonl

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        training_precision("bf16", "cpu")[0] != "bf16",
        reason="this CPU has no native bfloat16 (AVX512-BF16 / AMX)",
    ),
]


@pytest.fixture(scope="module")
def slice_ds(tmp_path_factory, data_dir):
    from tests.slices import write_scifact_slice

    folder = write_scifact_slice(
        data_dir, tmp_path_factory.mktemp("scifact") / "scifact-slice", train=24, test=12, extra_docs=60
    )
    return load_path(folder, name="scifact-slice")


def _losses(reporter_records: list) -> list[float]:
    return [p.loss for p in reporter_records if not p.is_log and p.loss is not None]


def _train(method: str, precision: str, data, tmp_path) -> list[float]:  # type: ignore[no-untyped-def]
    records: list = []
    base = resolve_model(TINY_MODEL).location
    params = {
        "max_steps": 3,
        "batch_size": 4,
        "max_seq_length": 64,
        "precision": precision,
        "learning_rate": 1e-4,
    }
    cfg = train_config(method, base, tmp_path / precision / "model", params)
    TRAINERS[method].train(cfg, data, records.append)
    assert any(
        f"in {'bf16 autocast' if precision == 'bf16' else 'fp32'}" in p.message for p in records if p.is_log
    )
    return _losses(records)


@pytest.mark.parametrize("method", ["mlm", "tsdae", "contrastive", "cross-encoder"])
def test_bf16_losses_match_fp32(method, slice_ds, tmp_path):
    if TRAINERS[method].data == "texts":
        data = slice_ds.doc_texts()[:40]
    else:
        mined = mine_dataset(slice_ds, MiningConfig(num_negatives=2, skip_top=1, depth=10), split="train")
        data, _ = build_triples(slice_ds, mined, "train", 2)
    fp32 = _train(method, "fp32", data, tmp_path)
    bf16 = _train(method, "bf16", data, tmp_path)
    assert len(fp32) == len(bf16) >= 3  # one per step, and the run's mean
    for a, b in zip(fp32, bf16, strict=True):
        assert b == pytest.approx(a, rel=0.05, abs=0.02), (fp32, bf16)
    assert fp32 != bf16  # bf16 really ran: its rounding shows in the losses


def test_setfit_bf16_loss_matches_fp32(tmp_path):
    path = write_jsonl(tmp_path / "films.jsonl", LABELED)
    ds = load_path(path, kind="classification")
    sample = sample_per_class(ds, 4, 0)
    infos = {}
    for precision in ("fp32", "bf16"):
        cfg = SetFitConfig(body=TINY_MODEL, n_per_class=4, max_pairs=32, batch_size=8, precision=precision)
        _, infos[precision] = fit_setfit(cfg, sample)
    assert infos["bf16"]["precision"] == "bf16" and infos["fp32"]["precision"] == "fp32"
    assert infos["bf16"]["last_loss"] == pytest.approx(infos["fp32"]["last_loss"], rel=0.05, abs=0.02)
    assert SetFitConfig().precision == "auto" and training_precision("auto", "cpu")[0] == "bf16"
