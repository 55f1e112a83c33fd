"""wizard — from the user's constraints to a verified, exportable strategy.

Questions and answers, the rules table and :func:`recommend`, measurements that pre-fill answers, the
verification plan, its job and the evidence assessed per claim, gotcha checks, and the exported bundle
(card, charts, rebuild script). Imports every layer below it.
"""

from core.wizard.answers import (
    DEFAULT_ANSWERS,
    DOMAINS,
    QUESTION_BY_NAME,
    QUESTIONS,
    TASKS,
    Answers,
    Question,
    WizardInputError,
    complete_answers,
    estimate_domain,
    validate_answers,
)
from core.wizard.bundle import bundle_zip, write_bundle
from core.wizard.card import make_card, pipeline_spec, render_markdown
from core.wizard.charts import render_charts
from core.wizard.evidence import (
    COMPONENTS,
    MIN_DELTA,
    MIN_EVIDENCE_STEPS,
    SIGNIFICANT,
    Claim,
    assess,
    format_p,
    simpler_alternative,
)
from core.wizard.facts import CHUNK_TEXT_SHARE, chunk_settings, derive_facts
from core.wizard.gotchas import (
    EXPECTED_RERANK_MS,
    GotchasJob,
    cosine_vs_dot,
    gotchas_job,
    model_normalises,
    pca_tradeoff,
    raw_encoder,
    reranker_latency,
    run_gotchas,
)
from core.wizard.measure import (
    Measurements,
    bm25_dense_overlap,
    labelled_pairs,
    load_tokenizer,
    measure_answers,
    reranker_available,
    sample_corpus,
    tokenizer_fragmentation,
)
from core.wizard.plan import (
    SHORT_ADAPT_STEPS,
    SHORT_SETFIT_SEEDS,
    ExtraCheck,
    VerifyPlan,
    find_matching_comparison,
    plan_verification,
)
from core.wizard.recommendation import ADAPTATION_NAMES, FiredRule, Recommendation, human_list, recommend
from core.wizard.rules import RERANKER_WARNING, RULES, Fact, Rule, When
from core.wizard.script import SCRIPT_FILE, TEMPLATES, bundle_data, render_script
from core.wizard.verify import (
    VerifyJob,
    chunking_verdict,
    collect_evidence,
    run_verification_inline,
    start_verification,
    verify_job,
)

__all__ = [
    "ADAPTATION_NAMES",
    "CHUNK_TEXT_SHARE",
    "COMPONENTS",
    "DEFAULT_ANSWERS",
    "DOMAINS",
    "EXPECTED_RERANK_MS",
    "MIN_DELTA",
    "MIN_EVIDENCE_STEPS",
    "QUESTIONS",
    "QUESTION_BY_NAME",
    "RERANKER_WARNING",
    "RULES",
    "SCRIPT_FILE",
    "SHORT_ADAPT_STEPS",
    "SHORT_SETFIT_SEEDS",
    "SIGNIFICANT",
    "TASKS",
    "TEMPLATES",
    "Answers",
    "Claim",
    "ExtraCheck",
    "Fact",
    "FiredRule",
    "GotchasJob",
    "Measurements",
    "Question",
    "Recommendation",
    "Rule",
    "VerifyJob",
    "VerifyPlan",
    "When",
    "WizardInputError",
    "assess",
    "bm25_dense_overlap",
    "bundle_data",
    "bundle_zip",
    "chunk_settings",
    "chunking_verdict",
    "collect_evidence",
    "complete_answers",
    "cosine_vs_dot",
    "derive_facts",
    "estimate_domain",
    "find_matching_comparison",
    "format_p",
    "gotchas_job",
    "human_list",
    "labelled_pairs",
    "load_tokenizer",
    "make_card",
    "measure_answers",
    "model_normalises",
    "pca_tradeoff",
    "pipeline_spec",
    "plan_verification",
    "raw_encoder",
    "recommend",
    "render_charts",
    "render_markdown",
    "render_script",
    "reranker_available",
    "reranker_latency",
    "run_gotchas",
    "run_verification_inline",
    "sample_corpus",
    "simpler_alternative",
    "start_verification",
    "tokenizer_fragmentation",
    "validate_answers",
    "verify_job",
    "write_bundle",
]
