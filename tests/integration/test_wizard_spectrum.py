"""The wizard on the first-stage spectrum with the real packaged models on a SciFact slice: the spectrum
measured through the product (BM25, splade-tiny, all-MiniLM-L6-v2 float32 / int8 / binary + rescoring, a static
model distilled offline from MiniLM), the spectrum rules reading it, and the Verify step testing each pick
against what it replaced with the paired test."""

from __future__ import annotations

import pytest

from core.data import import_dataset
from core.runtime import Workspace
from core.wizard import (
    complete_answers,
    measure_spectrum,
    plan_verification,
    recommend,
    run_verification_inline,
)
from tests.slices import write_scifact_slice

pytestmark = [pytest.mark.integration, pytest.mark.slow]
MODEL = "all-MiniLM-L6-v2"


def _verify(ws, ds, given: dict, measured: dict) -> tuple[dict, dict]:
    answers, sources = complete_answers(given, measured)
    rec = recommend(answers, sources).to_json()
    plan = plan_verification(rec, ds, ws, model=MODEL, include_extras=False)
    return rec, run_verification_inline(ws, plan, rec)


def test_spectrum_measured_on_scifact_and_the_picks_verified(tmp_path, isolated_home, data_dir):
    ws = Workspace(isolated_home)
    folder = write_scifact_slice(data_dir, tmp_path / "scifact-slice", train=40, test=30, extra_docs=170)
    _, ds = import_dataset(ws, folder, name="scifact-slice")
    m = measure_spectrum(ds, ws, model=MODEL, rate_docs=32, distill=True)  # no static model registered yet
    v = m.values
    assert "minilm-static distilled offline from all-MiniLM-L6-v2" in m.notes["ndcg10_static"]
    for family in ("bm25", "splade", "dense", "hybrid", "int8", "binary", "static", "static_rescore"):
        assert 0.0 < v[f"ndcg10_{family}"] <= 1.0, family
        assert "30 'test' queries" in m.notes[f"ndcg10_{family}"]
    assert 1536 <= v["bytes_dense"] < 1540 and 48 <= v["bytes_binary"] < 52  # 384 float32 vs 384 bits
    assert v["bytes_int8"] < 400 and v["bytes_splade"] > 0
    for encoder in ("dense", "splade", "static"):
        assert v[f"encode_rate_{encoder}"] > 0
    assert v["encode_rate_static"] > 10 * v["encode_rate_dense"]  # model2vec: a lookup, no transformer
    assert v["ndcg10_binary"] >= 0.9 * v["ndcg10_dense"]  # the float rescoring of the top 4k

    # SPLADE on a machine where it encodes 4x faster than the transformer, with a loose bar: the pick is
    # verified against dense and hybrid on every test query of the slice
    rec, ev = _verify(
        ws,
        ds,
        {"quality_bar": 0.5, "encode_rate_dense": 100.0, "encode_rate_splade": 400.0, "domain": "generic"},
        v,
    )
    assert rec["first_stage"] == "splade" and rec["strategy_spec"] == "splade"
    assert "learned-sparse-first-stage" in {r["id"] for r in rec["rationale"]}
    assert {"bm25", "dense", "hybrid", "splade"} <= set(ev["comparison"]["strategies"])
    pick = next(c for c in ev["claims"] if c["claim"] == "first stage")
    assert pick["numbers"]["strategy"] == "splade" and pick["numbers"]["reference"] in ("dense", "hybrid")
    assert pick["numbers"]["p"] is not None and "SPLADE" in pick["detail"] and "kept" in pick["detail"]
    assert pick["verdict"] == ("agrees" if pick["numbers"]["kept"] >= 0.5 else "contradicts")

    # a production corpus of 10M documents (15 GB of float32 vectors): the binary index with rescoring,
    # tested against the float32 index of the same first stage
    rec, ev = _verify(ws, ds, {"corpus_size": 10_000_000, "encode_rate_splade": 1.0, "domain": "generic"}, v)
    loss = 1 - v["ndcg10_binary"] / v["ndcg10_dense"]
    if loss <= 0.02:
        assert rec["strategy_spec"] == "dense:binary" and rec["index"]["variant"] == "binary"
        index = next(c for c in ev["claims"] if c["claim"] == "index")
        assert index["numbers"]["strategy"] == "dense:binary" and index["numbers"]["reference"] == "dense"
        assert "32x smaller index" in index["detail"] and index["verdict"] in ("agrees", "contradicts")
    else:
        assert rec["index"]["variant"] in ("int8", None)
