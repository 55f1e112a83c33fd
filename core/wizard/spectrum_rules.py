"""The rows of the rule table that pick among the first-stage families from what was measured on the user's
data (:mod:`core.wizard.spectrum`): learned sparse (SPLADE), static embeddings (model2vec) and compressed
dense indexes (binary + float rescoring, int8). Every condition reads a measured fact, so none of them fires
on unmeasured data (a comparison with None is False); the thresholds are defined once in
:mod:`core.wizard.facts`, the user's quality bar, encode time and memory budget are answers.
"""

from __future__ import annotations

from core.wizard.facts import BINARY_MAX_LOSS, INT8_MAX_LOSS, MIN_FAMILY_GAIN, SPLADE_MIN_SPEEDUP
from core.wizard.rule_types import DENSE_TASKS, RETRIEVAL, Fact, Rule, When

__all__ = ["SPECTRUM_RULES"]

DENSE_TOO_SLOW = When("encode_dense_h", ">", Fact("encode_budget_h"))

SPECTRUM_RULES: tuple[Rule, ...] = (
    Rule(
        "learned-sparse-first-stage",
        "SPLADE keeps your quality bar at no more encoding cost → learned sparse first stage",
        (
            RETRIEVAL,
            When("splade_kept", ">=", Fact("quality_bar")),
            When("splade_speedup", ">=", SPLADE_MIN_SPEEDUP),
        ),
        "Measured on your queries: SPLADE reaches nDCG@10 {ndcg10_splade:.3f} against {ndcg10_best:.3f} for the "
        "{best_label} ({splade_kept:.0%} of it; your bar is {quality_bar:.0%}) and encodes "
        "{encode_rate_splade:,.0f} passages/s against the transformer's {encode_rate_dense:,.0f} "
        "({splade_speedup:.1f}x). It is searched like BM25 (an inverted index, no vector index to keep).",
        sets=(("first_stage", "splade"),),
        priority=25,
        advice="The Verify step compares SPLADE with the dense and hybrid strategies on all your test queries "
        "with a paired test; keep it only if it holds there.",
    ),
    Rule(
        "learned-sparse-over-bm25",
        "No GPU and the corpus too big to encode densely in time → SPLADE beats BM25",
        (
            RETRIEVAL,
            When("gpu", "==", False),
            DENSE_TOO_SLOW,
            When("encode_splade_h", "<=", Fact("encode_budget_h")),
            When("splade_vs_bm25", ">=", MIN_FAMILY_GAIN),
        ),
        "Encoding {corpus_size:,} documents with the transformer at the measured {encode_rate_dense:,.0f} "
        "passages/s takes ~{encode_dense_h:,.1f} h, over your {encode_budget_h:,.4g} h; SPLADE needs "
        "~{encode_splade_h:,.1f} h and gains {splade_vs_bm25:+.3f} nDCG@10 over BM25 ({ndcg10_splade:.3f} vs "
        "{ndcg10_bm25:.3f}) on your queries.",
        sets=(("first_stage", "splade"),),
        priority=25,
    ),
    Rule(
        "static-fast-tier",
        "Corpus too big to encode with the transformer in time → static embeddings (model2vec) fast tier",
        (
            DENSE_TASKS,
            DENSE_TOO_SLOW,
            When("encode_static_h", "<=", Fact("encode_budget_h")),
            When("static_kept", ">=", Fact("quality_bar")),
        ),
        "Encoding {corpus_size:,} documents with the transformer at the measured {encode_rate_dense:,.0f} "
        "passages/s takes ~{encode_dense_h:,.1f} h, over your {encode_budget_h:,.4g} h. The static model encodes "
        "{static_speedup:,.0f}x faster ({encode_rate_static:,.0f} passages/s, ~{encode_static_h:,.2f} h) and "
        "keeps {static_kept:.0%} of the transformer's nDCG@10 ({ndcg10_static:.3f} vs {ndcg10_dense:.3f}; "
        "your bar is {quality_bar:.0%}).",
        sets=(("first_stage", "static"),),
        priority=27,
        advice="Rescoring the static top candidates with the transformer (static_rescore) needs the "
        "transformer's corpus vectors: it buys quality back only where they can be encoded.",
    ),
    Rule(
        "static-below-bar",
        "The static fast tier loses too much quality on your data",
        (
            DENSE_TASKS,
            DENSE_TOO_SLOW,
            When("static_kept", "<", Fact("quality_bar")),
        ),
        "Encoding the corpus with the transformer (~{encode_dense_h:,.1f} h at {encode_rate_dense:,.0f} "
        "passages/s) is over your {encode_budget_h:,.4g} h, but the static model keeps only {static_kept:.0%} "
        "of its nDCG@10 ({ndcg10_static:.3f} vs {ndcg10_dense:.3f}), below your {quality_bar:.0%} bar.",
        priority=5,
        advice="Encode once on a GPU or in resumable shards over several runs, allow more time, or use BM25 "
        "(or SPLADE where it measures better) for the part of the corpus not encoded yet.",
    ),
    Rule(
        "binary-index-large-corpus",
        "Large index, small measured loss → binary index with float rescoring",
        (
            DENSE_TASKS,
            When("index_large", "==", True),
            When("binary_loss", "<=", BINARY_MAX_LOSS),
        ),
        "{corpus_size:,} × {embedding_dim}-d float32 vectors need ~{index_gb:,.1f} GB (budget "
        "{memory_budget_gb:,.4g} GB; compressed from {large_corpus_docs:,} documents on). A binary index "
        "({binary_smaller:,.0f}x smaller) with the top candidates rescored by the float vectors keeps "
        "{binary_kept:.1%} of float32 nDCG@10 on your queries ({ndcg10_binary:.4f} vs {ndcg10_dense:.4f}; a loss "
        "of at most {binary_max_loss:.0%} is accepted), with every dimension kept.",
        sets=(("index_variant", "binary"), ("dimension", None)),
        priority=20,
        advice="The float vectors for rescoring can stay on disk (memory-mapped shards); only the bits need RAM.",
    ),
    Rule(
        "int8-index-large-corpus",
        "Large index, binary loses too much → int8 index",
        (
            DENSE_TASKS,
            When("index_large", "==", True),
            When("binary_loss", ">", BINARY_MAX_LOSS),
            When("int8_loss", "<=", INT8_MAX_LOSS),
        ),
        "{corpus_size:,} × {embedding_dim}-d float32 vectors need ~{index_gb:,.1f} GB (budget "
        "{memory_budget_gb:,.4g} GB). A binary index loses {binary_loss:.1%} of nDCG@10 on your queries (more "
        "than {binary_max_loss:.0%}); int8 keeps {int8_kept:.1%} ({ndcg10_int8:.4f} vs {ndcg10_dense:.4f}) at "
        "{int8_smaller:,.0f}x less memory, with every dimension kept.",
        sets=(("index_variant", "int8"), ("dimension", None)),
        priority=20,
    ),
)
