"""The Compare page's per-family settings: BM25, dense (bi-encoder, FAISS index, encoding backend), hybrid
fusion and rerank — each ``render_*_options`` draws its widgets (keys ``cmp_*``) and returns its choices as
:class:`~core.evaluate.CompareOptions` fields."""

from __future__ import annotations

import os
from typing import Any

import streamlit as st

from components.backend_views import render_encoding_options
from components.text import escape_md
from core.models import TINY_MODEL, cross_encoder_head_is_trained, list_models, resolve_model
from core.retrieval import AUTO_ANN, AUTO_EXACT_LIMIT, DEFAULT_RERANK_DEPTH, INDEX_KINDS
from core.runtime import LabError, Workspace

__all__ = [
    "STRATEGY_LABELS",
    "render_bm25_options",
    "render_dense_options",
    "render_hybrid_options",
    "render_rerank_options",
]

STRATEGY_LABELS = {  # short: the chips of the multiselect are never clipped
    "bm25": "BM25",
    "dense": "Dense",
    "static": "Static (model2vec)",
    "static_rescore": "Static → dense rescoring",
    "hybrid": "Hybrid",
    "splade": "SPLADE",
    "hybrid_splade": "SPLADE + dense",
    "hybrid_bm25_splade": "BM25 + SPLADE",
    "hybrid3": "BM25 + SPLADE + dense",
    "rerank": "Rerank",
}
OTHER_RERANKER = "a folder or hub id…"


def render_bm25_options() -> dict[str, Any]:
    st.markdown("**BM25**")
    return {
        "stemming": st.checkbox("Stemming (English)", value=True, key="cmp_stem"),
        "stopwords": st.checkbox("Remove stop-words", value=True, key="cmp_stop"),
    }


def render_dense_options(ws: Workspace, dataset: str, strategies: list[str]) -> dict[str, Any]:
    """Bi-encoder, FAISS index and encoding backend (with the extra backends to check)."""
    st.markdown("**Dense**")
    bi = list_models(ws, kind="bi-encoder")
    show_test = os.environ.get("ESL_SHOW_TEST_MODELS", "") not in ("", "0")
    if not show_test:  # the test-only bert-tiny is offered only when asked (ESL_SHOW_TEST_MODELS=1)
        bi = [m for m in bi if m.name != TINY_MODEL]
    trained = {m.name for m in bi if m.source == "workspace"}
    model = st.selectbox(
        "Bi-encoder",
        [m.name for m in bi],
        format_func=lambda n: n + ("  (trained here)" if n in trained else ""),
        key="cmp_model",
        help="Packaged models and the ones trained on the Adapt page",
    )
    index = st.radio(
        "FAISS index",
        list(INDEX_KINDS),
        format_func={
            "auto": "auto (by corpus size)",
            "exact": "exact",
            "hnsw": "HNSW (approximate)",
            "ivf": "IVF (approximate)",
        }.get,
        horizontal=True,
        key="cmp_index",
        help=f"auto: exact search up to {AUTO_EXACT_LIMIT:,} passages, {AUTO_ANN.upper()} above. HNSW and IVF "
        "trade a little recall for speed on large corpora; their recall@10 against exact is shown with the "
        "results.",
    )
    backend, max_len, check = render_encoding_options(
        dataset, model, key="cmp_enc", estimate=bool({"dense", "hybrid", "rerank"} & set(strategies))
    )
    return {
        "model": model,
        "index": index,
        "backend": backend,
        "max_seq_length": max_len,
        "check_backends": tuple(check),
    }


def render_hybrid_options(splits: list[str], split: str) -> dict[str, Any]:
    """Fusion (convex with a fixed or tuned alpha, or RRF)."""
    st.markdown("**Hybrid**")
    fusion = st.radio(
        "Fusion",
        ["convex", "rrf"],
        format_func={"convex": "convex (scores)", "rrf": "RRF (ranks)"}.get,
        horizontal=True,
        key="cmp_fusion",
    )
    norm, alpha, rrf_k, tune = "minmax", 0.5, 60, "none"
    if fusion == "convex":
        norm = st.radio("Normalisation", ["minmax", "zscore"], horizontal=True, key="cmp_norm")
        tune_splits = [s for s in splits if s != split]
        modes = [f"tune on {s}" for s in tune_splits] + ["fixed"]
        mode = st.radio(
            "Alpha",
            modes,
            format_func=escape_md,
            key="cmp_alpha_mode",
            help="alpha = weight of the dense scores",
        )
        alpha = st.slider(
            "alpha (dense weight)", 0.0, 1.0, 0.5, 0.05, key="cmp_alpha", disabled=mode != "fixed"
        )
        tune = mode.removeprefix("tune on ") if mode != "fixed" else "none"
        if not tune_splits:
            st.caption(f"No labelled split besides {escape_md(repr(split))} to tune alpha on.")
    else:
        rrf_k = int(st.number_input("RRF k", 1, 1000, 60, key="cmp_rrf_k"))
    return {"fusion": fusion, "norm": norm, "alpha": float(alpha), "rrf_k": rrf_k, "tune_split": tune}


def render_rerank_options(ws: Workspace, strategies: list[str]) -> dict[str, Any]:
    """Cross-encoder (registered, or a folder / hub id), its depth and first stage; an untrained head is
    flagged in red."""
    st.markdown("**Rerank**")
    crosses = [m.name for m in list_models(ws, kind="cross-encoder")]
    reranker = st.selectbox("Cross-encoder", [*crosses, OTHER_RERANKER], key="cmp_reranker_choice")
    if reranker == OTHER_RERANKER:
        reranker = st.text_input(
            "Folder or hub id", key="cmp_reranker_path", placeholder="/models/my-cross-encoder"
        ).strip()
        if not crosses:
            st.caption("No cross-encoder is registered: train one on the Adapt page, or give a folder.")
    top_k = int(st.number_input("Rescore the top", 1, 1000, DEFAULT_RERANK_DEPTH, key="cmp_rerank_top_k"))
    first_stage = st.selectbox(
        "First stage", ["hybrid", "bm25", "dense"], format_func=STRATEGY_LABELS.get, key="cmp_first_stage"
    )
    if reranker and "rerank" in strategies:
        try:
            info = resolve_model(reranker, ws, kind="cross-encoder")
        except LabError as err:
            st.error(escape_md(err))
            reranker = ""
        else:
            if not cross_encoder_head_is_trained(info.location):
                st.error(
                    f"⚠ {escape_md(repr(info.name))} has no trained reranking head: its scores will be random. "
                    "Fine-tune it as a cross-encoder on the Adapt page first.",
                )
    return {"reranker": reranker or None, "rerank_top_k": top_k, "rerank_first_stage": first_stage}
