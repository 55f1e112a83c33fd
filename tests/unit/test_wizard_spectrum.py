"""The wizard on the spectrum of first stages: facts derived from measured families, the spectrum rules (fire /
near miss / unmeasured), the concrete strategy they pick, the verification plan and claims of a pick, and the
measured values read from comparison results."""

from __future__ import annotations

import json

import pytest

from core.cli import main
from core.data import import_dataset
from core.evaluate import CompareOptions, StrategyResult
from core.retrieval import DenseSpec, spec_to_dict
from core.runtime import InvalidInput, jobs
from core.wizard import (
    BINARY_MAX_LOSS,
    SPECTRUM_ANSWERS,
    SPECTRUM_RULES,
    Answers,
    SpectrumJob,
    VerifyPlan,
    assess,
    complete_answers,
    decision_words,
    derive_facts,
    measure_spectrum,
    pipeline_spec,
    recommend,
    spectrum_rows,
    spectrum_values,
    static_available,
)
from core.wizard.claims import label, pick_claim
from core.wizard.picks import spectrum_picks
from core.wizard.plan import _spec_key
from tests.tiny_data import write_labeled
from tests.wizard_data import write_topics_beir

# SciFact as measured here (README): dense 0.6451, hybrid 0.7244, SPLADE 0.6436, BM25 0.6791, static 0.3955
SCIFACT = {
    "ndcg10_bm25": 0.6791,
    "ndcg10_splade": 0.6436,
    "ndcg10_dense": 0.6451,
    "ndcg10_hybrid": 0.7244,
    "ndcg10_static": 0.3955,
    "ndcg10_static_rescore": 0.6033,
    "ndcg10_int8": 0.6449,
    "ndcg10_binary": 0.6451,
    "encode_rate_dense": 26.4,
    "encode_rate_splade": 27.3,
    "encode_rate_static": 2209.0,
    "bytes_dense": 1536.0,
    "bytes_int8": 385.0,
    "bytes_binary": 48.0,
    "bytes_splade": 2000.0,
}
BIG = {"task": "retrieval", "corpus_size": 10_000_000, "latency_budget_ms": 2_000}


def _rec(answers: dict):
    a, sources = complete_answers(answers)
    return recommend(a, sources)


def _fired(answers: dict) -> set[str]:
    return {f.id for f in _rec(answers).fired}


def test_facts_from_the_measured_spectrum():
    facts = derive_facts(Answers(**{**SCIFACT, "corpus_size": 5183}))
    assert facts["best_name"] == "hybrid" and facts["ndcg10_best"] == 0.7244
    assert facts["splade_kept"] == pytest.approx(0.6436 / 0.7244)
    assert facts["splade_vs_bm25"] == pytest.approx(0.6436 - 0.6791)
    assert facts["static_speedup"] == pytest.approx(2209 / 26.4)
    assert facts["encode_dense_h"] == pytest.approx(5183 / 26.4 / 3600)
    assert facts["binary_smaller"] == 32 and facts["binary_loss"] == 0.0
    assert facts["index_large"] is False  # 5,183 x 384 float32 is 8 MB


def test_unmeasured_spectrum_facts_are_none_and_no_spectrum_rule_fires():
    facts = derive_facts(Answers(**{k: v for k, v in BIG.items()}))
    for name in ("splade_kept", "static_kept", "binary_loss", "int8_loss", "encode_dense_h", "ndcg10_best"):
        assert facts[name] is None
    # the most favourable answers: a huge corpus, no GPU, a loose bar; nothing measured -> nothing fires
    fired = _fired(
        {**BIG, "gpu": False, "quality_bar": 0.1, "encode_budget_h": 0.01, "memory_budget_gb": 0.01}
    )
    assert not fired & {r.id for r in SPECTRUM_RULES}
    assert all(getattr(Answers(), n) is None for n in SPECTRUM_ANSWERS)


# rule id -> (answers where it fires, decisions, near miss)
CASES = {
    "learned-sparse-first-stage": (
        {**SCIFACT, "ndcg10_hybrid": 0.66, "quality_bar": 0.95},  # 0.6436 / 0.66 = 97.5 %
        {"first_stage": "splade"},
        {**SCIFACT, "quality_bar": 0.95},  # 88.8 % of the hybrid: below the bar
    ),
    "learned-sparse-over-bm25": (
        {**SCIFACT, **BIG, "encode_rate_dense": 100, "encode_rate_splade": 1000, "ndcg10_bm25": 0.60},
        {"first_stage": "splade"},
        {**SCIFACT, **BIG, "encode_rate_dense": 100, "encode_rate_splade": 1000},  # below BM25 (0.6791)
    ),
    "static-fast-tier": (
        {**SCIFACT, **BIG, "ndcg10_static": 0.63},  # 97.7 % of dense; 105 h with MiniLM, 1.3 h static
        {"first_stage": "static"},
        {**SCIFACT, **BIG, "ndcg10_static": 0.63, "encode_budget_h": 200},  # the transformer fits in time
    ),
    "static-below-bar": (
        {**SCIFACT, **BIG},
        {},
        {**SCIFACT, **BIG, "ndcg10_static": 0.64},
    ),
    "binary-index-large-corpus": (
        {**SCIFACT, **BIG},
        {"index_variant": "binary", "dimension": None},  # every dimension kept: PCA's decision overridden
        {**SCIFACT, **BIG, "ndcg10_binary": 0.60},  # loses 7 %
    ),
    "int8-index-large-corpus": (
        {**SCIFACT, **BIG, "ndcg10_binary": 0.60},
        {"index_variant": "int8", "dimension": None},
        {**SCIFACT, **BIG, "ndcg10_binary": 0.60, "ndcg10_int8": 0.62},  # int8 loses 3.9 % too
    ),
}


def test_every_spectrum_rule_has_a_case():
    assert set(CASES) == {r.id for r in SPECTRUM_RULES}


@pytest.mark.parametrize("rule_id", list(CASES))
def test_spectrum_rule(rule_id):
    fires, decides, near_miss = CASES[rule_id]
    rec = _rec(fires)
    record = next((f for f in rec.fired if f.id == rule_id), None)
    assert record is not None, f"{rule_id} did not fire"
    for name, value in decides.items():
        assert rec.decided_by.get(name) == rule_id and rec.decisions[name] == value
    assert record.rationale and "{" not in record.rationale and "None" not in record.rationale
    assert rule_id not in _fired(near_miss)
    unmeasured = {k: v for k, v in fires.items() if k not in SPECTRUM_ANSWERS}
    assert rule_id not in _fired(unmeasured)


def test_the_concrete_strategy_carries_the_pick():
    assert _rec({**SCIFACT, "corpus_size": 5183}).strategy_spec == "dense"
    splade = _rec(CASES["learned-sparse-first-stage"][0])
    assert splade.strategy_spec == "splade" and splade.headline.startswith("SPLADE (learned sparse)")
    binary = _rec({**SCIFACT, **BIG})
    assert binary.strategy_spec == "dense:binary"
    assert "in a binary index with float rescoring" in binary.headline
    out = binary.to_json()
    assert out["strategy_spec"] == "dense:binary" and out["index"]["variant"] == "binary"
    assert decision_words("index", out["index"]).startswith("binary index with float rescoring, ")
    hybrid = _rec({**SCIFACT, **BIG, "domain": "specialised"})
    assert hybrid.strategy_spec == "hybrid:binary"
    long_docs = {"text_beyond_window": 0.6, "model_window": 256, "doc_tokens_p50": 900}
    chunked = _rec({**SCIFACT, **BIG, "domain": "specialised", **long_docs})
    assert chunked.strategy_spec == "hybrid:binary@256/64"  # a --strategies name: variant, then chunking
    static = _rec(CASES["static-fast-tier"][0])
    assert static.strategy_spec == "static"  # binary was measured on the transformer's vectors, not these
    # a variant applies to vectors: SPLADE with a large corpus keeps its inverted index
    sparse = _rec({**CASES["learned-sparse-first-stage"][0], **BIG, "encode_budget_h": 1e5})
    assert sparse.first_stage == "splade" and sparse.strategy_spec == "splade"


def test_spectrum_rows_say_what_each_family_costs():
    rows = {r["family"]: r for r in spectrum_rows(SCIFACT)}
    assert rows["SPLADE"]["passages/s"] == 27.3 and rows["SPLADE"]["bytes/vector"] == 2000.0
    assert rows["dense, binary index + rescoring"]["bytes/vector"] == 48.0
    assert rows["static model"]["kept"] == pytest.approx(0.3955 / 0.6451)
    assert rows["static model"]["speed"] == pytest.approx(2209 / 26.4)  # model2vec against MiniLM
    assert rows["BM25"]["passages/s"] is None and rows["BM25"]["bytes/vector"] is None
    assert spectrum_rows({}) == []


def _comparison(ndcg: dict[str, float], p: dict[str, dict[str, float]]) -> dict:
    return {
        "dataset": "d",
        "split": "test",
        "queries": 300,
        "strategies": {
            n: {"label": n, "ndcg@10": v, "latency_ms_p50": 5.0, "latency_ms_p95": 8.0, "notes": []}
            for n, v in ndcg.items()
        },
        "p_values": p,
    }


def test_plan_picks_and_claims_of_a_splade_pick():
    rec = _rec(CASES["learned-sparse-first-stage"][0]).to_json()
    specs = {"bm25": None, "dense": None, "hybrid": None, "splade": None}
    picks, _notes = spectrum_picks(rec, specs, "splade")
    assert picks[0]["claim"] == "first stage" and picks[0]["reference"] == ["dense", "hybrid"]
    assert picks[0]["bar"] == 0.95 and "inverted index" in picks[0]["cost"]
    holds = _comparison(
        {"bm25": 0.68, "dense": 0.65, "hybrid": 0.66, "splade": 0.64},
        {"splade": {"hybrid": 0.7, "dense": 0.5, "bm25": 0.01}},
    )
    claim = pick_claim(holds, picks[0])
    assert claim.verdict == "agrees" and "SPLADE 0.6400 vs hybrid 0.6600" in claim.detail
    assert "p = 0.70" in claim.detail and "same quality" in claim.detail and "holds" in claim.detail
    fails = _comparison(
        {"dense": 0.65, "hybrid": 0.72, "splade": 0.64},
        {"splade": {"hybrid": 0.001, "dense": 0.6}, "hybrid": {"dense": 0.001, "splade": 0.001}},
    )
    bad = pick_claim(fails, picks[0])
    assert (
        bad.verdict == "contradicts"
        and "does not hold" in bad.detail
        and bad.numbers["runner_up"] == "hybrid"
    )
    plan = VerifyPlan("d", "test", {n: {} for n in fails["strategies"]}, "splade", None, picks=picks)
    assert VerifyPlan.from_json(plan.to_json()).picks == plan.picks  # survives the job config
    evidence = assess(rec, fails, plan=plan)
    assert (
        evidence["claims"][0]["claim"] == "first stage" and evidence["claims"][0]["verdict"] == "contradicts"
    )
    assert evidence["headline"].startswith(
        "Hybrid BM25 + bi-encoder"
    )  # the pick fell back to what it replaced
    assert pick_claim(_comparison({"splade": 0.6}, {}), picks[0]).verdict == "not measured"


def test_plan_and_claim_of_a_binary_index():
    rec = _rec({**SCIFACT, **BIG}).to_json()
    specs = {"dense": DenseSpec()}
    picks, notes = spectrum_picks(rec, specs, "dense")
    assert specs["dense:binary"].quantization == "binary" and specs["dense:binary"].rescore == 4
    pick = picks[0]
    assert (
        pick["claim"] == "index"
        and pick["max_loss"] == BINARY_MAX_LOSS
        and pick["cost"] == "32x smaller index"
    )
    assert "dense:binary" in notes[0]
    comp = _comparison(
        {"bm25": 0.68, "dense": 0.6451, "dense:binary": 0.6440}, {"dense:binary": {"dense": 0.6}}
    )
    claim = pick_claim(comp, pick)
    assert claim.verdict == "agrees" and "99.8% kept" in claim.detail and "32x smaller index" in claim.detail
    plan = VerifyPlan("d", "test", {n: {} for n in comp["strategies"]}, "dense", None, picks=picks)
    evidence = assess(rec, comp, plan=plan)
    claims = {c["claim"]: c for c in evidence["claims"]}
    assert claims["index"]["verdict"] == "agrees"
    assert "binary" not in claims["first stage"]["detail"]  # the variant is not an alternative first stage
    assert "in a binary index" in evidence["headline"]
    lossy = _comparison({"dense": 0.6451, "dense:binary": 0.58}, {"dense:binary": {"dense": 0.001}})
    evidence = assess(rec, lossy, plan=plan)
    assert {c["claim"]: c["verdict"] for c in evidence["claims"]}["index"] == "contradicts"
    assert (
        "in a binary index" not in evidence["headline"] and "loses too much here" in evidence["unverified"][0]
    )
    assert label("hybrid:binary") == "hybrid (binary index)"
    same = _comparison({"dense": 0.38, "dense:binary": 0.38}, {"dense:binary": {"dense": float("nan")}})
    assert "no query differs" in pick_claim(same, pick).detail and "nan" not in pick_claim(same, pick).detail


def _result(name: str, ndcg: float, **extra) -> StrategyResult:
    return StrategyResult(name, name.upper(), {}, {"ndcg@10": ndcg}, {}, 1.0, 2.0, 0.0, {}, extra=extra)


def test_spectrum_values_from_comparison_results_name_their_runs():
    results = {
        "dense": _result("dense", 0.65, index_bytes_per_vector=1536.0),
        "dense:binary": _result("dense:binary", 0.64, index_bytes_per_vector=48.0),
        "splade": _result("splade", 0.64, splade_index_bytes=20_000),
        "bm25": _result("bm25", 0.68),
        "not-a-family": _result("x", 0.1),
    }
    values, notes, details = spectrum_values(results, 10, "all 5 'test' queries", {"dense": "run-1"})
    assert values["ndcg10_binary"] == 0.64 and values["bytes_binary"] == 48.0
    assert values["bytes_splade"] == 2000.0 and "bytes_bm25" not in values
    assert "comparison run run-1 (reused)" in notes["ndcg10_dense"]
    assert "all 5 'test' queries" in notes["ndcg10_splade"]
    assert details["dense"]["run"] == "run-1" and "not-a-family" not in details


def test_static_model_missing_is_said_with_how_to_make_one(ws):
    ok, note = static_available(ws, "no-such-static")
    assert not ok and "models distill" in note and "no-such-static" in note


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "needs a dataset"),
        ({"dataset": "d", "sample_queries": 0}, "sample_queries"),
        ({"dataset": "d", "max_docs": "many"}, "max_docs"),
        ({"dataset": "d", "seed": True}, "seed"),
        ({"dataset": "d", "bogus": 1}, "Unknown wizard_spectrum job settings"),
    ],
)
def test_spectrum_job_config_refuses_bad_values(config, message):
    with pytest.raises(InvalidInput, match=message):
        SpectrumJob.from_dict(config)
    assert SpectrumJob.from_dict({"dataset": "d", "seed": None}).seed == 0


def test_spectrum_job_on_the_wrong_data_fails_with_one_clear_error_and_leaves_nothing(ws, tmp_path):
    write_labeled(tmp_path / "tinycls" / "train.csv")
    import_dataset(ws, tmp_path / "tinycls", name="tinycls")
    before = sorted(
        p.relative_to(ws.home) for p in ws.home.rglob("*") if p.is_file() and "runs" not in p.parts
    )
    run = jobs.run_inline(ws, "wizard_spectrum", {"dataset": "tinycls"})
    assert (
        run.status == "failed" and "needs a retrieval dataset" in run.error and "\n" not in run.error.strip()
    )
    missing = jobs.run_inline(ws, "wizard_spectrum", {"dataset": "no-such-data"})
    assert missing.status == "failed" and "no-such-data" in missing.error
    after = sorted(
        p.relative_to(ws.home) for p in ws.home.rglob("*") if p.is_file() and "runs" not in p.parts
    )
    assert [p for p in after if p not in before and p.suffix not in (".sqlite-wal", ".sqlite-shm")] == []


def test_cli_measures_the_spectrum_once_as_a_run_and_reuses_it(ws, tmp_path, capsys):
    import_dataset(ws, write_topics_beir(tmp_path / "topics"))
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"corpus_size": 20_000_000}))
    args = [
        "recommend",
        "--answers",
        str(answers),
        "--dataset",
        "topics",
        "--model",
        "bert-tiny",
        "--spectrum",
    ]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    runs = ws.list_runs(kind="wizard_spectrum", status=("done",))
    assert len(runs) == 1 and out["answer_sources"]["ndcg10_splade"] == "measured"
    assert 0 < out["answers"]["ndcg10_splade"] <= 1
    assert 16 <= out["answers"]["bytes_binary"] < 20  # bert-tiny's 128 bits (plus FAISS's own few bytes)
    assert f"(run {runs[0].id})" in out["measured"]["ndcg10_dense"]
    assert "models distill" in out["not_measured"]["ndcg10_static"]  # no static model registered here
    assert main(args) == 0  # the second call reads the run instead of measuring again
    text = capsys.readouterr().out
    assert len(ws.list_runs(kind="wizard_spectrum")) == 1
    assert text.startswith("Recommended: ") and "First stages measured on your data:" in text
    assert "SPLADE" in text and "bytes/vector" in text and "{'" not in text
    lines = text.splitlines()
    assert any(
        line.strip().startswith("static model") and "not measured: no static" in line for line in lines
    )


def test_the_exported_pipeline_builds_the_pick_not_the_plain_first_stage():
    rec = _rec({**SCIFACT, **BIG}).to_json()
    rec["evidence"] = {"comparison": {"strategies": {"dense": {"spec": {"kind": "dense", "model": "m"}}}}}
    pipeline = pipeline_spec(rec, "all-MiniLM-L6-v2")
    assert pipeline["strategy"] == "dense:binary" and "first_stage_spec" not in pipeline
    verified = {"kind": "dense", "model": "m", "quantization": "binary"}
    rec["evidence"]["comparison"]["strategies"]["dense:binary"] = {"spec": verified}
    assert pipeline_spec(rec, "all-MiniLM-L6-v2")["first_stage_spec"] == verified
    plain = _rec({**SCIFACT, "corpus_size": 5183}).to_json()
    plain["evidence"] = rec["evidence"]
    assert pipeline_spec(plain, "m")["first_stage_spec"] == {"kind": "dense", "model": "m"}


def test_a_corpus_too_big_to_encode_now_is_measured_on_a_seeded_sample(ws, tmp_path):
    _, ds = import_dataset(ws, write_topics_beir(tmp_path / "topics"))
    m = measure_spectrum(ds, ws, model="bert-tiny", max_docs=30, sample_queries=4, rate_docs=8)
    note = m.notes["ndcg10_hybrid"]
    assert "4 seeded sample 'test' queries over 30 documents" in note and "alpha fixed at 0.5" in note
    assert all(0 <= m.values[f"ndcg10_{f}"] <= 1 for f in ("bm25", "splade", "dense", "hybrid", "binary"))
    assert m.details["spectrum_runs"] == [] and "ndcg10_static" not in m.values
    again = measure_spectrum(ds, ws, model="bert-tiny", max_docs=30, sample_queries=4, rate_docs=8)
    assert {k: v for k, v in again.values.items() if k.startswith("ndcg10")} == {
        k: v for k, v in m.values.items() if k.startswith("ndcg10")
    }  # seeded: the same sample, the same numbers


def test_earlier_comparisons_with_chunked_and_fused_specs_can_be_matched():
    names = ("hybrid3", "hybrid@256/64", "dense:binary", "hybrid_splade")
    specs = {n: spec_to_dict(s) for n, s in CompareOptions(strategies=names).specs(["train", "test"]).items()}
    keys = {_spec_key(s) for s in specs.values()}  # hashable, nested parts and chunkings included
    assert len(keys) == 4
    tuned = dict(specs["hybrid3"], weights=[0.4, 0.3, 0.3])  # what tuning found is not part of the spec
    assert _spec_key(tuned) == _spec_key(specs["hybrid3"])
