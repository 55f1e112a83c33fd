"""The wizard's headline: only what is available here, in words; evidence that prefers the simpler strategy,
names the runs it reads and refuses trivially short adaptation runs."""

from __future__ import annotations

from core.wizard import (
    MIN_EVIDENCE_STEPS,
    VerifyPlan,
    assess,
    complete_answers,
    human_list,
    recommend,
    simpler_alternative,
)


def rec(**answers):
    a, s = complete_answers(answers)
    return recommend(a, s)


def comparison(ndcg: dict, p: dict | None = None) -> dict:
    return {
        "split": "test",
        "queries": 40,
        "strategies": {
            n: {"label": n, "ndcg@10": v, "latency_ms_p50": 5.0, "latency_ms_p95": 6.0}
            for n, v in ndcg.items()
        },
        "p_values": p or {},
    }


def test_an_unavailable_reranker_is_not_in_the_headline_but_said_once():
    r = rec(task="retrieval", corpus_size=100_000, latency_budget_ms=1_000)
    assert r.reranker is not None and r.reranker["available"] is False
    assert r.headline == "Bi-encoder"
    assert "rerank" not in r.headline.lower()
    assert len(r.unavailable) == 1 and "no pretrained cross-encoder is available here" in r.unavailable[0]
    ok = rec(task="retrieval", corpus_size=100_000, latency_budget_ms=1_000, reranker_available=True)
    assert "reranked by the cross-encoder" in ok.headline and ok.unavailable == []


def test_a_small_corpus_without_a_cross_encoder_gets_the_bi_encoder():
    r = rec(task="retrieval", corpus_size=1_400, latency_budget_ms=5_000)
    if r.first_stage == "cross-encoder":
        assert r.usable_first_stage == "dense" and r.headline.startswith("Bi-encoder")
        assert "cross-encoder over all documents" in r.unavailable[0]
    assert "cross-encoder" not in r.headline.lower()


def test_headline_is_words_not_python_lists():
    r = rec(
        task="retrieval",
        corpus_size=100_000,
        latency_budget_ms=100,
        domain="specialised",
        labelled_pairs=500,
        unlabeled_text=True,
    )
    assert r.adaptation is not None and len(r.adaptation["steps"]) == 2
    assert "[" not in r.headline and "'" not in r.headline
    assert "adapted with TSDAE, then contrastive fine-tuning" in r.headline
    assert r.to_json()["headline"] == r.headline
    assert human_list(["a"]) == "a" and human_list(["a", "b", "c"]) == "a, b and c"


def test_a_composite_not_significantly_better_gives_way_to_the_simpler():
    comp = comparison(
        {"bm25": 0.123, "dense": 0.07, "hybrid": 0.082}, {"hybrid": {"bm25": 0.3, "dense": 0.6}}
    )
    simpler = simpler_alternative(comp, "hybrid")
    assert (
        simpler is not None
        and simpler["strategy"] == "bm25"
        and "prefer the simpler BM25" in simpler["reason"]
    )
    r = rec(task="retrieval", corpus_size=100_000, latency_budget_ms=100, domain="specialised").to_json()
    ev = assess(r, comp, plan=VerifyPlan("legal", "test", {}, "hybrid", None))
    assert ev["simpler"]["strategy"] == "bm25"
    assert ev["headline"].startswith("BM25")
    assert ev["next_steps"][0].startswith("Use BM25")
    assert "prefer the simpler BM25" in ev["summary"]


def test_a_significantly_better_composite_keeps_its_place():
    comp = comparison(
        {"bm25": 0.66, "dense": 0.64, "hybrid": 0.72}, {"hybrid": {"bm25": 0.004, "dense": 0.001}}
    )
    assert simpler_alternative(comp, "hybrid") is None
    comp["strategies"]["hybrid"]["notes"] = ["composite_not_better: hybrid vs bm25"]
    assert simpler_alternative(comp, "hybrid")["strategy"] == "bm25"  # the comparison's own note decides too


def test_evidence_names_every_run_and_refuses_a_one_step_run():
    r = rec(
        task="retrieval",
        corpus_size=100_000,
        latency_budget_ms=100,
        domain="specialised",
        labelled_pairs=500,
        unlabeled_text=True,
    ).to_json()
    comp = comparison(
        {"bm25": 0.66, "dense": 0.64, "hybrid": 0.72}, {"hybrid": {"bm25": 0.004, "dense": 0.001}}
    )
    short = {
        "run_id": "run-1step",
        "reused": True,
        "result": {
            "method": "contrastive",
            "steps": 1,
            "before": {"ndcg@10": 0.60},
            "after": {"ndcg@10": 0.70},
        },
    }
    plan = VerifyPlan("scifact", "test", {}, "hybrid", None, reuse_comparison="cmp-42")
    ev = assess(r, comp, {"adaptation": short}, plan=plan)
    claim = next(c for c in ev["claims"] if c["claim"] == "adaptation")
    assert claim["verdict"] == "not measured" and "only 1 step" in claim["detail"]
    assert str(MIN_EVIDENCE_STEPS) in claim["next_step"]
    assert {s["run_id"] for s in ev["sources"]} == {"cmp-42", "run-1step"}
    assert "run cmp-42, reused from earlier" in ev["measured_in"] and "run run-1step" in ev["measured_in"]
    assert (
        "adapted with" not in ev["headline"]
        and ev["unverified"]
        and "not verified yet" in ev["unverified"][0]
    )


def test_a_contradicting_composite_is_checked_against_its_parts_too():
    """Dense recommended, hybrid measurably better than dense but not than BM25: BM25 is the answer."""
    comp = comparison(
        {"bm25": 0.41, "dense": 0.377, "hybrid": 0.416},
        {"dense": {"hybrid": 0.0005, "bm25": 0.001}, "hybrid": {"bm25": 0.6, "dense": 0.0005}},
    )
    r = rec(task="retrieval", corpus_size=100_000, latency_budget_ms=1_000).to_json()
    ev = assess(r, comp, plan=VerifyPlan("cranfield", "test", {}, "dense", None))
    assert ev["simpler"]["strategy"] == "bm25" and ev["headline"].startswith("BM25")
