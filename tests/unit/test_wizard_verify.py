"""Verification: the plan for a recommendation, reuse of an earlier comparison, and the assessment of
evidence (agrees / contradicts / within noise / not measured) from comparison and run results."""

from __future__ import annotations

import pytest

from core.data import load_path
from core.evaluate import run_comparison, save_comparison
from core.retrieval import Corpus, RetrieverBuilder, spec_from_dict
from core.runtime import InvalidInput
from core.wizard import (
    VerifyJob,
    VerifyPlan,
    assess,
    collect_evidence,
    complete_answers,
    find_matching_comparison,
    format_p,
    plan_verification,
    recommend,
)
from tests.tiny_data import write_labeled
from tests.wizard_data import write_topics_beir


@pytest.fixture
def topics(tmp_path):
    return load_path(write_topics_beir(tmp_path / "topics"), name="topics")


def rec_json(**answers):
    a, s = complete_answers(answers)
    return recommend(a, s).to_json()


def comparison(ndcg: dict, p: dict | None = None, latency: dict | None = None) -> dict:
    latency = latency or {}
    return {
        "dataset": "topics",
        "split": "test",
        "queries": 300,
        "strategies": {
            n: {
                "label": n,
                "ndcg@10": v,
                "recall@100": 0.9,
                "latency_ms_p50": latency.get(n, 10.0),
                "latency_ms_p95": latency.get(n, 12.0),
            }
            for n, v in ndcg.items()
        },
        "p_values": p or {},
    }


def plan(recommended="hybrid", first_stage=None) -> VerifyPlan:
    return VerifyPlan("topics", "test", {}, recommended, first_stage)


HYBRID_REC = rec_json(task="retrieval", corpus_size=100_000, latency_budget_ms=100, domain="specialised")


def test_format_p():
    assert format_p(0.0004) == "p < 0.001" and format_p(0.004) == "p < 0.01"
    assert format_p(0.03) == "p = 0.03" and format_p(0.4) == "p = 0.40 (not significant)"
    assert format_p(None) == "p not computed"


def test_recommended_best_agrees_with_the_numbers_in_the_sentence():
    comp = comparison(
        {"bm25": 0.66, "dense": 0.64, "hybrid": 0.72}, {"hybrid": {"bm25": 0.004, "dense": 0.0002}}
    )
    ev = assess(HYBRID_REC, comp, plan=plan())
    first = ev["claims"][0]
    assert first["claim"] == "first stage" and first["verdict"] == "agrees"
    assert "hybrid beats BM25 by +0.060 nDCG@10 (0.720 vs 0.660, p < 0.01)" in first["detail"]
    assert "dense by +0.080 (p < 0.001)" in first["detail"]
    assert ev["verdict"] == "agrees" and ev["summary"].startswith("The evidence agrees: hybrid beats BM25")


def test_a_significantly_better_alternative_contradicts_and_says_what_to_do():
    comp = comparison(
        {"bm25": 0.80, "dense": 0.64, "hybrid": 0.70}, {"hybrid": {"bm25": 0.001, "dense": 0.2}}
    )
    ev = assess(HYBRID_REC, comp, plan=plan())
    first = ev["claims"][0]
    assert first["verdict"] == "contradicts" and "BM25 beats hybrid by +0.100" in first["detail"]
    assert "Use BM25 as the first stage" in first["next_step"]
    assert ev["verdict"] == "partly contradicts" and first["next_step"] in ev["next_steps"]


def test_a_better_alternative_within_noise_does_not_contradict():
    comp = comparison({"dense": 0.71, "hybrid": 0.70}, {"hybrid": {"dense": 0.45}})
    first = assess(HYBRID_REC, comp, plan=plan())["claims"][0]
    assert first["verdict"] == "agrees" and "within noise" in first["detail"]


def test_latency_over_budget_contradicts():
    comp = comparison({"dense": 0.6, "hybrid": 0.7}, {"hybrid": {"dense": 0.01}}, latency={"hybrid": 450.0})
    claims = {c["claim"]: c for c in assess(HYBRID_REC, comp, plan=plan())["claims"]}
    assert claims["latency"]["verdict"] == "contradicts" and "budget 100 ms" in claims["latency"]["detail"]
    assert "HNSW" in claims["latency"]["next_step"]


def test_a_harmful_reranker_is_reported_plainly():
    rec = rec_json(
        task="retrieval",
        corpus_size=100_000,
        latency_budget_ms=1_000,
        domain="specialised",
        reranker_available=True,
    )
    comp = comparison(
        {"dense": 0.6, "hybrid": 0.73, "rerank": 0.31},
        {"hybrid": {"dense": 0.001}, "rerank": {"hybrid": 0.0001}},
    )
    claims = {c["claim"]: c for c in assess(rec, comp, plan=plan("rerank", "hybrid"))["claims"]}
    assert claims["reranker"]["verdict"] == "contradicts"
    assert "-0.420" in claims["reranker"]["detail"] and "Drop the reranker" in claims["reranker"]["next_step"]
    assert claims["first stage"]["numbers"]["recommended"] == "hybrid"


def test_unmeasured_reranker_and_adaptation_are_said_to_be_not_measured():
    rec = rec_json(
        task="retrieval",
        corpus_size=100_000,
        latency_budget_ms=1_000,
        domain="specialised",
        labelled_pairs=500,
    )
    comp = comparison({"dense": 0.6, "hybrid": 0.7}, {"hybrid": {"dense": 0.01}})
    claims = {c["claim"]: c for c in assess(rec, comp, plan=plan())["claims"]}
    assert claims["reranker"]["verdict"] == "not measured"
    assert claims["adaptation"]["verdict"] == "not measured"


def test_adaptation_and_classifier_claims_from_run_results():
    rec = rec_json(task="retrieval", corpus_size=100_000, labelled_pairs=500)
    better = {
        "run_id": "r1",
        "result": {
            "method": "contrastive",
            "steps": 60,
            "before": {"ndcg@10": 0.64},
            "after": {"ndcg@10": 0.68},
        },
    }
    worse = {
        "run_id": "r2",
        "result": {
            "method": "contrastive",
            "steps": 60,
            "before": {"ndcg@10": 0.64},
            "after": {"ndcg@10": 0.50},
        },
    }
    assert assess(rec, None, {"adaptation": better})["claims"][-1]["verdict"] == "agrees"
    bad = assess(rec, None, {"adaptation": worse})["claims"][-1]
    assert bad["verdict"] == "contradicts" and "0.640 → 0.500" in bad["detail"]
    running = {"run_id": "r3", "status": "running", "error": None}
    assert "is running" in assess(rec, None, {"adaptation": running})["claims"][-1]["detail"]

    cls = rec_json(task="classification", labels_per_class=8)
    summary = [
        {"method": "setfit", "n_per_class": 8, "seeds": 3, "accuracy_mean": 0.81, "accuracy_std": 0.02},
        {"method": "logreg", "n_per_class": 8, "seeds": 3, "accuracy_mean": 0.72, "accuracy_std": 0.03},
    ]
    claim = assess(cls, None, {"classifier": {"run_id": "r4", "result": {"summary": summary}}})["claims"][0]
    assert claim["verdict"] == "agrees" and "SetFit 0.810" in claim["detail"]
    summary[0]["accuracy_mean"] = 0.70
    claim = assess(cls, None, {"classifier": {"run_id": "r4", "result": {"summary": summary}}})["claims"][0]
    assert claim["verdict"] == "contradicts" and "logistic regression" in claim["next_step"]


def test_plan_compares_the_recommended_first_stage_with_the_alternatives(topics, ws):
    p = plan_verification(HYBRID_REC, topics, ws, model="bert-tiny")
    assert set(p.specs) == {"bm25", "dense", "hybrid"} and p.recommended == "hybrid"
    assert p.specs["hybrid"]["tune_split"] == "train" and p.specs["dense"]["model"] == "bert-tiny"
    # specialised, unlabeled corpus, no pairs: TSDAE; checked by a short run of the Adapt job kind
    (extra,) = p.extras
    assert extra.kind == "adapt" and extra.purpose == "adaptation" and extra.reuse is None
    assert extra.config["method"] == "tsdae" and extra.config["train"] == {"max_steps": 60}
    assert plan_verification(HYBRID_REC, topics, ws, include_extras=False).extras == ()
    with_rr = rec_json(task="retrieval", corpus_size=100_000, latency_budget_ms=1_000)
    p = plan_verification(with_rr, topics, ws, model="bert-tiny")
    assert "rerank" not in p.specs and any("reranker is not measured" in n for n in p.notes)
    p = plan_verification(with_rr, topics, ws, model="bert-tiny", reranker="/some/cross-encoder")
    assert p.recommended == "rerank" and p.first_stage == "dense"
    assert p.specs["rerank"]["first_stage"]["kind"] == "dense" and p.specs["rerank"]["top_k"] == 50


def test_plan_refuses_a_task_that_does_not_fit_the_dataset(topics, tmp_path, ws):
    with pytest.raises(ValueError, match="retrieval dataset but the task is classification"):
        plan_verification(rec_json(task="classification", labels_per_class=8), topics, ws)
    write_labeled(tmp_path / "cls" / "train.csv")
    cls = load_path(tmp_path / "cls", name="cls")
    with pytest.raises(ValueError, match="classification dataset but the task is retrieval"):
        plan_verification(HYBRID_REC, cls, ws)
    p = plan_verification(rec_json(task="classification", labels_per_class=8), cls, ws, short_seeds=2)
    (extra,) = p.extras
    assert (
        extra.kind == "setfit_curve" and extra.config["n_values"] == [8] and extra.config["seeds"] == [0, 1]
    )
    assert {"setfit", "logreg"} <= set(extra.config["methods"]) and not p.specs


def test_an_earlier_comparison_with_the_same_specs_is_reused(topics, ws, fake_encoder):
    p = plan_verification(HYBRID_REC, topics, ws, model="bert-tiny")
    assert p.reuse_comparison is None
    builder = RetrieverBuilder(Corpus.from_dataset(topics), ws, encoder_factory=lambda *a: fake_encoder)
    specs = {f"my-{n}": spec_from_dict(s) for n, s in p.specs.items()}  # other names, same specs
    rep = run_comparison(topics, "test", specs, ws=ws, builder=builder, latency_sample=2)
    run_id = save_comparison(ws, rep)
    assert rep.strategies["my-hybrid"].extra.get("tuned_alpha") is not None  # alpha was tuned, yet it matches
    found = find_matching_comparison(ws, "topics", "test", p.specs)
    assert found == (run_id, {"bm25": "my-bm25", "dense": "my-dense", "hybrid": "my-hybrid"})
    assert plan_verification(HYBRID_REC, topics, ws, model="bert-tiny").reuse_comparison == run_id
    assert find_matching_comparison(ws, "topics", "train", p.specs) is None


def test_collect_evidence_reads_the_verify_run_and_its_extra_runs(topics, ws):
    p = plan_verification(HYBRID_REC, topics, ws, model="bert-tiny")
    extra = ws.create_run("adapt", {"method": "contrastive"}, status="running")
    verify = ws.create_run(
        "wizard_verify",
        {
            "plan": p.to_json(),
            "recommendation": HYBRID_REC,
            "extra_runs": [{"run_id": extra, "purpose": "adaptation", "kind": "adapt"}],
        },
        status="done",
    )
    comp = comparison({"bm25": 0.6, "dense": 0.5, "hybrid": 0.7}, {"hybrid": {"bm25": 0.01, "dense": 0.001}})
    ws.update_run(verify, result={"comparison": comp, "comparison_run": "cmp-1"})
    ev = collect_evidence(ws, verify)
    assert ev["complete"] is False and ev["comparison_run"] == "cmp-1" and ev["recommended"] == "hybrid"
    assert ev["verdict"] == "agrees"
    ws.update_run(
        extra,
        status="done",
        result={"method": "contrastive", "steps": 5, "before": {"ndcg@10": 0.5}, "after": {"ndcg@10": 0.6}},
    )
    ev = collect_evidence(ws, verify)
    assert ev["complete"] is True
    assert {c["claim"]: c["verdict"] for c in ev["claims"]}["adaptation"] == "agrees"


def test_a_large_gap_that_few_queries_cannot_confirm_is_inconclusive():
    """BM25 ahead by 0.10 at p = 0.07 on a handful of queries: neither 'agrees' nor 'contradicts'."""
    comp = comparison({"bm25": 0.80, "hybrid": 0.70}, {"hybrid": {"bm25": 0.07}})
    ev = assess(HYBRID_REC, comp, plan=plan())
    first = ev["claims"][0]
    assert first["verdict"] == "inconclusive" and "not significant on this many queries" in first["detail"]
    assert "Judge more queries" in first["next_step"] and first["next_step"] in ev["next_steps"]
    assert ev["verdict"] == "inconclusive" and ev["summary"].startswith("The evidence is inconclusive: BM25")


def test_verify_job_config_parses_a_stored_config_and_rejects_unknown_settings():
    stored = {"plan": plan().to_json(), "recommendation": HYBRID_REC, "extra_runs": [{"run_id": "r1"}]}
    job = VerifyJob.from_dict(stored)
    assert job.plan == plan() and job.recommendation == HYBRID_REC and job.extra_runs == ({"run_id": "r1"},)
    assert job.latency_sample == 20 and VerifyJob.from_dict(job.to_dict()) == job
    assert VerifyJob.from_dict({"plan": plan().to_json()}).extra_runs == ()
    with pytest.raises(InvalidInput, match="Unknown wizard_verify job settings"):
        VerifyJob.from_dict({**stored, "extras": []})
    with pytest.raises(InvalidInput):
        VerifyJob.from_dict({"recommendation": HYBRID_REC})
