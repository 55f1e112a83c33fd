"""The wizard's rule table, one test per rule (each: answers where it fires and decides, and a near miss
where it does not), plus answer validation, defaults and the output shape."""

from __future__ import annotations

import math

import pytest

from core.wizard import (
    RERANKER_WARNING,
    RULES,
    Answers,
    Fact,
    When,
    WizardInputError,
    complete_answers,
    derive_facts,
    estimate_domain,
    recommend,
    validate_answers,
)
from core.wizard.rules import RULE_BY_ID
from tests.unit.test_wizard_spectrum import CASES as SPECTRUM_CASES

RETRIEVAL_BIG = {"task": "retrieval", "corpus_size": 1_000_000, "latency_budget_ms": 2_000}

# rule id -> (answers where it fires, decisions it must make, near-miss answers where it must not fire)
CASES: dict[str, tuple[dict, dict, dict]] = {
    "large-corpus-bi-encoder": (
        {"task": "retrieval", "corpus_size": 100_000, "latency_budget_ms": 100},
        {"first_stage": "dense"},
        {"task": "retrieval", "corpus_size": 50, "latency_budget_ms": 1_000},
    ),
    "small-corpus-cross-encoder": (
        {"task": "retrieval", "corpus_size": 200, "latency_budget_ms": 2_000},
        {"first_stage": "cross-encoder", "reranker": "cross-encoder (all documents)"},
        {"task": "retrieval", "corpus_size": 200, "latency_budget_ms": 500},
    ),
    "scale-and-precision-rerank": (
        {"task": "retrieval", "corpus_size": 100_000, "latency_budget_ms": 1_000},
        {"reranker": "cross-encoder", "rerank_top_k": 50},
        {"task": "retrieval", "corpus_size": 100_000, "latency_budget_ms": 200},
    ),
    "reranker-smaller-k": (
        {"task": "retrieval", "corpus_size": 100_000, "latency_budget_ms": 150},
        {"reranker": "cross-encoder", "rerank_top_k": 24},  # (150 - 15 - 7.68 - 5) // 5 ms a pair
        {"task": "retrieval", "corpus_size": 100_000, "latency_budget_ms": 60},
    ),
    "reranker-breaks-budget": (
        {"task": "retrieval", "corpus_size": 100_000, "latency_budget_ms": 60},
        {"reranker": None, "rerank_top_k": None},
        {"task": "retrieval", "corpus_size": 100_000, "latency_budget_ms": 150},
    ),
    "jargon-hybrid-adapt": (
        {**RETRIEVAL_BIG, "domain": "specialised"},
        {"first_stage": "hybrid"},
        {**RETRIEVAL_BIG, "domain": "generic"},
    ),
    "domain-adapt-then-contrastive": (
        {**RETRIEVAL_BIG, "domain": "specialised", "unlabeled_text": True, "labelled_pairs": 900},
        {"adaptation": ("tsdae", "contrastive")},
        {**RETRIEVAL_BIG, "domain": "specialised", "unlabeled_text": False, "labelled_pairs": 900},
    ),
    "unlabeled-only-tsdae": (
        {**RETRIEVAL_BIG, "domain": "specialised", "unlabeled_text": True, "labelled_pairs": 0},
        {"adaptation": ("tsdae",)},
        {**RETRIEVAL_BIG, "domain": "specialised", "unlabeled_text": True, "labelled_pairs": 500},
    ),
    "generic-zero-shot": (
        {**RETRIEVAL_BIG, "domain": "generic", "labelled_pairs": 10},
        {"adaptation": None},
        {**RETRIEVAL_BIG, "domain": "generic", "labelled_pairs": 500},
    ),
    "labelled-pairs-contrastive": (
        {**RETRIEVAL_BIG, "domain": "generic", "labelled_pairs": 500},
        {"adaptation": ("contrastive",)},
        {**RETRIEVAL_BIG, "domain": "generic", "labelled_pairs": 99},
    ),
    "mediocre-hard-negatives": (
        {**RETRIEVAL_BIG, "baseline_ndcg10": 0.31, "labelled_pairs": 500},
        {"negatives": "bm25+dense mined, false negatives filtered"},
        {**RETRIEVAL_BIG, "baseline_ndcg10": 0.65, "labelled_pairs": 500},
    ),
    "mediocre-no-labels": (
        {**RETRIEVAL_BIG, "baseline_ndcg10": 0.31, "labelled_pairs": 0},
        {},
        {**RETRIEVAL_BIG, "baseline_ndcg10": None, "labelled_pairs": 0},  # unmeasured: no claim
    ),
    "dimension-breaks-budget": (
        {"task": "retrieval", "corpus_size": 50_000_000, "latency_budget_ms": 2_000},
        {"dimension": 128, "index": "hnsw"},  # 15 ms + 50M x 128 / 1e6 x 0.2 ms fits 2 s
        {"task": "retrieval", "corpus_size": 5_000_000, "latency_budget_ms": 2_000},
    ),
    "index-memory": (
        {"task": "similarity", "corpus_size": 10_000_000, "latency_budget_ms": 60_000},
        {"dimension": 256},
        {"task": "similarity", "corpus_size": 1_000_000, "latency_budget_ms": 60_000},
    ),
    "throughput-workers": (
        {**RETRIEVAL_BIG, "throughput_qps": 500},
        {},
        {**RETRIEVAL_BIG, "throughput_qps": 5},
    ),
    "long-documents-chunk": (
        {**RETRIEVAL_BIG, "text_beyond_window": 0.95, "doc_tokens_p50": 4881, "model_window": 256},
        {"chunking": "passages 256/64, MaxP"},
        {**RETRIEVAL_BIG, "text_beyond_window": 0.19, "doc_tokens_p50": 240, "model_window": 256},
    ),
    "short-documents-truncate": (
        {**RETRIEVAL_BIG, "text_beyond_window": 0.02, "doc_tokens_p50": 210, "model_window": 256},
        {"chunking": None},
        {**RETRIEVAL_BIG, "text_beyond_window": 0.2, "model_window": 256},
    ),
    "similarity-bi-encoder": (
        {"task": "similarity", "corpus_size": 20_000},
        {"first_stage": "dense", "similarity": "cosine"},
        {"task": "retrieval", "corpus_size": 20_000},
    ),
    "no-labels-zero-shot": (
        {"task": "classification", "labels_per_class": 0},
        {"classifier": "zero-shot"},
        {"task": "classification", "labels_per_class": 8},
    ),
    "few-labels-setfit": (
        {"task": "classification", "labels_per_class": 16},
        {"classifier": "setfit"},
        {"task": "classification", "labels_per_class": 100},
    ),
    "mid-labels-frozen-logreg": (
        {"task": "classification", "labels_per_class": 300},
        {"classifier": "logreg"},
        {"task": "classification", "labels_per_class": 1_001},
    ),
    "abundant-labels-finetune": (
        {"task": "classification", "labels_per_class": 5_000},
        {"classifier": "fine-tune"},
        {"task": "classification", "labels_per_class": 1_000},
    ),
    "cpu-only-training": (
        {**RETRIEVAL_BIG, "gpu": False, "labelled_pairs": 500},
        {},
        {**RETRIEVAL_BIG, "gpu": True, "labelled_pairs": 500},
    ),
}


CASES.update(SPECTRUM_CASES)  # the rules on the measured first-stage spectrum


def _rec(answers: dict):
    a, sources = complete_answers(answers)
    return recommend(a, sources)


def test_every_rule_has_a_case_and_ids_are_unique():
    assert len({r.id for r in RULES}) == len(RULES)
    assert set(CASES) == set(RULE_BY_ID)


@pytest.mark.parametrize("rule_id", list(CASES))
def test_rule(rule_id):
    fires, decides, near_miss = CASES[rule_id]
    rec = _rec(fires)
    fired = {f.id: f for f in rec.fired}
    assert rule_id in fired, f"{rule_id} did not fire on {fires}"
    record = fired[rule_id]
    for name, value in decides.items():
        assert rec.decided_by.get(name) == rule_id, f"{name} decided by {rec.decided_by.get(name)}"
        assert rec.decisions[name] == value
    assert set(record.decides) == set(decides)
    # the rationale is filled in from the answers (no unformatted placeholders) and says something
    assert record.rationale and "{" not in record.rationale and "{" not in record.advice
    assert rule_id not in {f.id for f in _rec(near_miss).fired}, (
        f"{rule_id} fired on the near miss {near_miss}"
    )


def test_reranker_rules_warn_before_recommending_and_say_it_is_unavailable():
    rec = _rec({"task": "retrieval", "corpus_size": 100_000, "latency_budget_ms": 1_000})
    out = rec.to_json()
    assert out["reranker"]["available"] is False
    assert out["warnings"] == [RERANKER_WARNING]
    assert "0.12–0.52" in RERANKER_WARNING and "untrained head" in RERANKER_WARNING
    assert "only with a pretrained cross-encoder" in out["strategy"]
    ok = _rec(
        {"task": "retrieval", "corpus_size": 100_000, "latency_budget_ms": 1_000, "reranker_available": True}
    )
    assert "only with" not in ok.strategy
    assert ok.to_json()["reranker"]["available"] is True


def test_overridden_decisions_are_kept_in_the_rationale():
    rec = _rec({**RETRIEVAL_BIG, "domain": "specialised"})
    large = next(f for f in rec.fired if f.id == "large-corpus-bi-encoder")
    assert large.decides == ()
    assert large.overridden == ("first_stage (by jargon-hybrid-adapt)",)
    assert rec.first_stage == "hybrid"


def test_output_shape_of_the_cli():
    out = _rec({"task": "retrieval"}).to_json()
    assert {
        "strategy",
        "first_stage",
        "reranker",
        "adaptation",
        "classifier",
        "rationale",
        "evidence",
    } <= set(out)
    assert all({"id", "rationale", "decides"} <= set(r) for r in out["rationale"])
    assert out["evidence"] == {}
    # retrieval answers left out are listed as defaulted; classification-only ones are not
    assert "latency_budget_ms" in out["defaulted"] and "labels_per_class" not in out["defaulted"]
    assert "task" not in out["defaulted"]


def test_validation_names_the_bad_answer():
    with pytest.raises(WizardInputError, match=r"unknown answer name.*'latency'"):
        validate_answers({"latency": 3})
    with pytest.raises(WizardInputError, match=r"'task'.*'search' is not one of"):
        validate_answers({"task": "search"})
    with pytest.raises(WizardInputError, match=r"'corpus_size'.*below"):
        validate_answers({"corpus_size": 0})
    with pytest.raises(WizardInputError, match=r"'corpus_size'.*whole number"):
        validate_answers({"corpus_size": 10.5})
    with pytest.raises(WizardInputError, match=r"'latency_budget_ms'.*not a number"):
        validate_answers({"latency_budget_ms": "fast"})
    with pytest.raises(WizardInputError, match="finite"):
        validate_answers({"latency_budget_ms": math.inf})
    with pytest.raises(WizardInputError, match=r"'gpu'.*true or false"):
        validate_answers({"gpu": "maybe"})
    with pytest.raises(WizardInputError, match=r"'labelled_pairs'.*not a number"):
        validate_answers({"labelled_pairs": True})
    with pytest.raises(WizardInputError, match="JSON object"):
        validate_answers(["task"])  # type: ignore[arg-type]


def test_validation_converts_and_accepts_aliases():
    out = validate_answers({"task": "RAG", "domain": "specialized", "gpu": "yes", "corpus_size": "1000"})
    assert out == {"task": "retrieval", "domain": "specialised", "gpu": True, "corpus_size": 1000}


def test_sources_given_then_measured_then_default():
    answers, sources = complete_answers(
        {"latency_budget_ms": 50}, {"corpus_size": 5183, "latency_budget_ms": 999, "fragmentation": 0.08}
    )
    assert answers.latency_budget_ms == 50 and sources["latency_budget_ms"] == "given"
    assert answers.corpus_size == 5183 and sources["corpus_size"] == "measured"
    assert answers.gpu is False and sources["gpu"] == "default"
    # the domain follows from the measured fragmentation when not answered
    assert answers.domain == "specialised" and sources["domain"] == "measured"


def test_domain_estimate_from_signals():
    assert estimate_domain(None, None) is None
    assert estimate_domain(0.08, 0.5)[0] == "specialised"
    assert estimate_domain(0.02, 0.2)[0] == "specialised"  # strong BM25/dense disagreement
    domain, reason = estimate_domain(0.02, 0.5)
    assert domain == "generic" and "2.0%" in reason and "50%" in reason


def test_derived_facts_follow_the_answers():
    cpu = derive_facts(Answers(corpus_size=1000, latency_budget_ms=100))
    gpu = derive_facts(Answers(corpus_size=1000, latency_budget_ms=100, gpu=True))
    assert cpu["cross_encoder_full_ms"] == 1000 * cpu["rerank_ms_per_pair"]
    assert gpu["rerank_ms"] < cpu["rerank_ms"]
    assert gpu["rerank_k_fit"] >= cpu["rerank_k_fit"]
    assert derive_facts(Answers(corpus_size=10_000_000))["index_gb"] == pytest.approx(15.36)


def test_conditions_on_missing_signals_do_not_hold():
    facts = {"baseline_ndcg10": None, "x": 3, "y": 4}
    assert not When("baseline_ndcg10", "<", 0.5).holds(facts)
    assert When("baseline_ndcg10", "is none").holds(facts)
    assert When("x", "<", Fact("y")).holds(facts)
    assert When("x", "in", (1, 3)).holds(facts)
