"""The facts the rule table is evaluated over: the answers plus numbers derived from them (estimated
cross-encoder and dense-search latency, index size, the largest rerank depth that fits the budget), and the
thresholds and typical costs those estimates use.
"""

from __future__ import annotations

import math
from typing import Any

from core.retrieval import DEFAULT_RERANK_DEPTH
from core.wizard.answers import DEFAULT_ANSWERS, Answers, estimate_domain

__all__ = [
    "BINARY_MAX_LOSS",
    "BM25_MS",
    "CHUNK_TEXT_SHARE",
    "FINETUNE_MIN_LABELS",
    "FLAT_SEARCH_MS_PER_MDIM",
    "INDEX_MEMORY_GB",
    "INT8_MAX_LOSS",
    "LARGE_CORPUS_DOCS",
    "MEDIOCRE_NDCG",
    "MIN_FAMILY_GAIN",
    "MIN_RERANK_K",
    "MIN_TRAIN_PAIRS",
    "QUERY_ENCODE_MS",
    "RERANK_K",
    "RERANK_MS_PER_PAIR",
    "SETFIT_MAX_LABELS",
    "SPLADE_MIN_SPEEDUP",
    "chunk_settings",
    "derive_facts",
    "spectrum_facts",
]

# --- thresholds and cost estimates (typical numbers; the gotcha checks measure them on the user's data) ---
RERANK_MS_PER_PAIR = {"cpu": 5.0, "gpu": 0.5}  # MiniLM-L6-sized cross-encoder, ~256 tokens per pair
QUERY_ENCODE_MS = {"cpu": 15.0, "gpu": 3.0}  # one short query through a MiniLM-sized bi-encoder
FLAT_SEARCH_MS_PER_MDIM = 0.2  # exact inner-product scan: ms per million (documents × dimensions)
BM25_MS = 5.0  # one BM25 query (sparse matrix) on a mid-sized corpus
RERANK_K = DEFAULT_RERANK_DEPTH  # default depth of the rerank
MIN_RERANK_K = 10  # below this, reranking is not worth it
MIN_TRAIN_PAIRS = 100  # labelled query–document pairs needed for contrastive fine-tuning
SETFIT_MAX_LABELS = 100  # fewer labels per class than this: SetFit
FINETUNE_MIN_LABELS = 1000  # more labels per class than this: full fine-tuning of a small classifier
MEDIOCRE_NDCG = 0.5  # measured nDCG@10 of the dense baseline below this is mediocre
INDEX_MEMORY_GB = DEFAULT_ANSWERS.memory_budget_gb  # a flat float32 index bigger than this is costly in RAM
# --- the spectrum of first stages (measured by core.wizard.spectrum; rules on them fire only when measured) ---
LARGE_CORPUS_DOCS = 1_000_000  # from here on, index memory is worth compressing whatever the budget
BINARY_MAX_LOSS = 0.02  # a binary index (+ float rescoring) is recommended when it loses at most this share
INT8_MAX_LOSS = 0.01  # else int8, when it loses at most this share of float32 nDCG@10
SPLADE_MIN_SPEEDUP = 1.0  # SPLADE replaces the dense stage only when it encodes at least as fast
MIN_FAMILY_GAIN = 0.01  # nDCG@10 a family must gain over BM25 to be worth its encoding
# Chunking is advised when at least this share of the corpus's tokens lies past the model's window (text a
# truncated document never searches). On SciFact abstracts it is ~2 %; on the long-document sets 95-98 %.
CHUNK_TEXT_SHARE = 0.2
DEFAULT_WINDOW = 256  # the window assumed when the model's was not measured


# --------------------------------------------------------------------------------------------------
# facts derived from the answers
# --------------------------------------------------------------------------------------------------
def derive_facts(a: Answers) -> dict[str, Any]:
    """The answers plus estimated costs the rules compare against the budget."""
    hw = "gpu" if a.gpu else "cpu"
    pair_ms = RERANK_MS_PER_PAIR[hw]
    search_ms = a.corpus_size * a.embedding_dim / 1e6 * FLAT_SEARCH_MS_PER_MDIM
    dense_ms = QUERY_ENCODE_MS[hw] + search_ms
    first_stage_ms = dense_ms + BM25_MS
    room = a.latency_budget_ms - first_stage_ms
    k_fit = max(0, int(room // pair_ms)) if room > 0 else 0
    index_gb = a.corpus_size * a.embedding_dim * 4 / 1e9
    facts = a.to_dict()
    chunking = chunk_settings(a.to_dict())
    window = int(a.model_window or DEFAULT_WINDOW)
    facts.update(
        chunk_text_share=CHUNK_TEXT_SHARE,
        window=window,
        chunk_window=chunking[0] if chunking else None,
        chunk_overlap=chunking[1] if chunking else None,
        median_tokens=f"{a.doc_tokens_p50:,}" if a.doc_tokens_p50 is not None else "not measured",
        chunking_label=f"passages {chunking[0]}/{chunking[1]}, MaxP" if chunking else None,
    )
    facts.update(
        hardware=hw,
        rerank_ms_per_pair=pair_ms,
        rerank_ms=RERANK_K * pair_ms,
        rerank_k=RERANK_K,
        cross_encoder_full_ms=a.corpus_size * pair_ms,
        dense_search_ms=round(search_ms, 2),
        dense_ms=round(dense_ms, 2),
        first_stage_ms=round(first_stage_ms, 2),
        first_stage_plus_rerank_ms=round(first_stage_ms + RERANK_K * pair_ms, 2),
        rerank_k_fit=min(k_fit, RERANK_K),
        index_gb=round(index_gb, 3),
        serve_ms_per_query=round(first_stage_ms, 2),
        workers_needed=max(1, math.ceil(a.throughput_qps * first_stage_ms / 1000.0)),
        reduced_dim=_reduced_dim(a, QUERY_ENCODE_MS[hw]),
        min_train_pairs=MIN_TRAIN_PAIRS,
        setfit_max_labels=SETFIT_MAX_LABELS,
        finetune_min_labels=FINETUNE_MIN_LABELS,
        mediocre_ndcg=MEDIOCRE_NDCG,
        min_rerank_k=MIN_RERANK_K,
        index_memory_gb=a.memory_budget_gb,
        domain_evidence=_domain_evidence(a),
        reranker_status=(
            "a pretrained reranker is available here"
            if a.reranker_available
            else "no pretrained reranker is available here"
        ),
    )
    facts.update(spectrum_facts(a, index_gb))
    return facts


def _ratio(top: float | None, bottom: float | None) -> float | None:
    return None if top is None or not bottom else top / bottom


def _hours(docs: int, rate: float | None) -> float | None:
    return None if not rate else docs / rate / 3600.0


def spectrum_facts(a: Answers, index_gb: float) -> dict[str, Any]:
    """What the measured spectrum says (None where a family was not measured): quality kept against the
    reference (the best of dense / hybrid for SPLADE, dense float32 for the static model and the compressed
    indexes), encode speed against the transformer, hours to encode the whole corpus, index size ratios."""
    best = max(
        ((v, n) for v, n in ((a.ndcg10_hybrid, "hybrid"), (a.ndcg10_dense, "dense")) if v is not None),
        default=(None, None),
    )
    best_labels = {"hybrid": "hybrid BM25 + bi-encoder", "dense": "bi-encoder"}
    binary_kept = _ratio(a.ndcg10_binary, a.ndcg10_dense)
    int8_kept = _ratio(a.ndcg10_int8, a.ndcg10_dense)
    dense_h = _hours(a.corpus_size, a.encode_rate_dense)
    return {
        "ndcg10_best": best[0],
        "best_name": best[1],
        "best_label": best_labels.get(best[1] or "", "—"),
        "splade_kept": _ratio(a.ndcg10_splade, best[0]),
        "splade_vs_bm25": None
        if a.ndcg10_splade is None or a.ndcg10_bm25 is None
        else a.ndcg10_splade - a.ndcg10_bm25,
        "splade_speedup": _ratio(a.encode_rate_splade, a.encode_rate_dense),
        "static_kept": _ratio(a.ndcg10_static, a.ndcg10_dense),
        "static_rescore_kept": _ratio(a.ndcg10_static_rescore, a.ndcg10_dense),
        "static_speedup": _ratio(a.encode_rate_static, a.encode_rate_dense),
        "encode_dense_h": dense_h,
        "encode_splade_h": _hours(a.corpus_size, a.encode_rate_splade),
        "encode_static_h": _hours(a.corpus_size, a.encode_rate_static),
        "binary_kept": binary_kept,
        "binary_loss": None if binary_kept is None else max(0.0, 1.0 - binary_kept),
        "int8_kept": int8_kept,
        "int8_loss": None if int8_kept is None else max(0.0, 1.0 - int8_kept),
        "binary_smaller": _ratio(a.bytes_dense, a.bytes_binary),
        "int8_smaller": _ratio(a.bytes_dense, a.bytes_int8),
        "index_large": index_gb > a.memory_budget_gb or a.corpus_size >= LARGE_CORPUS_DOCS,
        "binary_max_loss": BINARY_MAX_LOSS,
        "int8_max_loss": INT8_MAX_LOSS,
        "large_corpus_docs": LARGE_CORPUS_DOCS,
        "min_family_gain": MIN_FAMILY_GAIN,
    }


def chunk_settings(answers: dict[str, Any]) -> tuple[int, int] | None:
    """``(window, overlap)`` of the advised passages when a share of at least :data:`CHUNK_TEXT_SHARE` of the
    text lies past the model's window (passages of the model's window overlapping by a quarter of it, the
    setting measured in bench/chunking.py); None when less lies beyond it or the lengths were not measured."""
    share = answers.get("text_beyond_window")
    if share is None or share < CHUNK_TEXT_SHARE:
        return None
    window = int(answers.get("model_window") or DEFAULT_WINDOW)
    window = max(16, min(window, 8192))
    return window, window // 4


def _reduced_dim(a: Answers, encode_ms: float) -> int:
    """The largest of 256 / 128 / 64 (below the current dimension) whose exact search fits the budget."""
    candidates = [d for d in (256, 128, 64) if d < a.embedding_dim] or [max(1, a.embedding_dim // 2)]
    for dim in candidates:
        if encode_ms + a.corpus_size * dim / 1e6 * FLAT_SEARCH_MS_PER_MDIM <= a.latency_budget_ms:
            return dim
    return candidates[-1]


def _domain_evidence(a: Answers) -> str:
    estimate = estimate_domain(a.fragmentation, a.bm25_dense_overlap)
    return f" (measured: {estimate[1]})" if estimate else ""
