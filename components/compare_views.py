"""The Compare page's overview widgets: warnings, the metrics table with significance, the spectrum table
(family, encode speed, latency, index size, ratios against dense float32 exact), the rank curves and cost
frontier, per-query wins and losses, and each strategy's details.

Tables live in :mod:`components.compare_tables`, figures in :mod:`components.compare_figures`, ranked
lists in :mod:`components.compare_lists` and downloads in :mod:`components.compare_downloads`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from components.compare_figures import (
    make_alpha_sweep_figure,
    make_cost_figure,
    make_metric_bars_figure,
    make_rank_curves_figure,
    make_win_loss_figure,
)
from components.compare_tables import (
    METRIC_LABELS,
    alpha_curve_frame,
    cost_frame,
    curves_frame,
    display_name,
    metrics_display_frame,
    metrics_frame,
    spectrum_display_frame,
    strategy_colors,
    warned_names,
    win_loss_frame,
)
from components.compress_figures import make_quality_vs_size_figure, size_frame
from components.text import escape_md
from core.evaluate import spectrum_baseline

__all__ = [
    "index_summary",
    "render_curves_and_cost",
    "render_details",
    "render_metrics",
    "render_spectrum",
    "render_warnings",
    "render_win_loss",
]


def render_warnings(report: Any) -> None:
    """Every strategy warning as a red box, and notes as captions."""
    for name, res in report.strategies.items():
        for warning in res.warnings:
            st.error(f"**⚠ {escape_md(name)}** — {escape_md(warning)}", icon=":material/warning:")


def render_metrics(report: Any, *, key: str) -> None:
    """Metrics table with significance markers, p-values, and the bar chart."""
    names = list(report.strategies)
    colors = strategy_colors(names, warned_names(report))
    st.dataframe(metrics_display_frame(report), hide_index=True, key=f"{key}_table")
    st.caption(
        f"▲/▼: better / worse than the baseline **{escape_md(report.baseline)}**; * p<0.05, ** p<0.01 "
        f"({escape_md(report.stat_test)} paired test over {report.queries} queries)."
    )
    notes = [
        f"**{escape_md(name)}**: {escape_md(note)}"
        for name, res in report.strategies.items()
        for note in res.notes
    ]
    if notes:
        st.caption(" · ".join(notes) + " (curves and settings under Details)")
    render_spectrum(report, key=f"{key}_spectrum")
    index_line = index_summary(report)
    if index_line:
        st.caption(index_line)
    frame = metrics_frame(report)
    pcols = [c for c in frame.columns if c.startswith("p(")]
    if pcols:
        with st.expander("p-values against the baseline"):
            st.dataframe(frame[["strategy", *pcols]], hide_index=True, key=f"{key}_p")
    st.plotly_chart(make_metric_bars_figure(frame, colors=colors), key=f"{key}_bars")


def render_spectrum(report: Any, *, key: str) -> None:
    """The spectrum table: what each strategy buys in quality, speed and storage, and the ratios against
    the dense float32 exact strategy of the same comparison."""
    st.markdown("**Quality, speed and size** — the spectrum of first stages")
    st.dataframe(spectrum_display_frame(report), hide_index=True, key=f"{key}_table")
    base = spectrum_baseline(report)
    against = (
        f"Ratios against **{escape_md(base)}** (float32 vectors, exact index) of this comparison: nDCG@10 kept, "
        "× smaller index, × faster encoding of the corpus."
        if base
        else "Add **Dense** (exact index, no compression) to see each strategy's ratios against it."
    )
    st.caption(
        f"{against} Encode: passages per second with every model of the strategy, measured in this run "
        "(*cached*: the vectors came from the embedding cache; — : no model to run). Index: FAISS, SPLADE's "
        "inverted index and BM25's matrix together, per indexed text; a rescoring model's vectors stay in the "
        "embedding cache. Latency: single queries, query encoding included."
    )


def index_summary(report: Any) -> str:
    """One line naming each dense strategy's index and, for HNSW / IVF, its recall@10 against the exact
    index (measured on a sample of the queries); empty when every index is exact and nothing was measured."""
    parts = []
    for name, res in report.strategies.items():
        extra = res.extra or {}
        recall = extra.get("ann_recall@10", extra.get("hnsw_recall@10"))
        kind = extra.get("index")
        if recall is not None:
            parts.append(
                f"**{escape_md(name)}**: {str(kind or 'hnsw').upper()} index, recall@10 {recall:.1%} of exact"
            )
        elif kind and kind != "exact":
            parts.append(f"**{escape_md(name)}**: {escape_md(str(kind).upper())} index")
    return ("Index: " + " · ".join(parts)) if parts else ""


def render_curves_and_cost(report: Any, *, key: str) -> None:
    colors = strategy_colors(list(report.strategies), warned_names(report))
    st.plotly_chart(make_rank_curves_figure(curves_frame(report), colors=colors), key=f"{key}_curves")
    cost = cost_frame(report)
    st.plotly_chart(make_cost_figure(cost, colors=colors), key=f"{key}_cost")
    front = ", ".join(escape_md(name) for name in cost.loc[cost["frontier"], "strategy"])
    st.caption(
        f"On the cost frontier: **{front}** — no other strategy is both faster and better. Index build "
        "time (encoding included; 0 when the vectors came from the cache) is in the table above."
    )
    sizes = size_frame(report)
    vector_sizes = {  # the vector index alone: variants (int8, binary, PCA, static) differ here, a hybrid does not
        (res.extra or {}).get("index_bytes_per_vector")
        for res in report.strategies.values()
        if "index_bytes_per_vector" in (res.extra or {})
    }
    if len(sizes) and len(vector_sizes) > 1:  # index variants to weigh
        st.plotly_chart(make_quality_vs_size_figure(sizes), key=f"{key}_size")
        st.caption(
            "Quality against index size per vector (log): ★ no other dense index is both smaller and better. "
            "Add variants such as dense:int8 or dense:binary to the strategies to compare them."
        )


def render_win_loss(report: Any, queries: Mapping[str, str], *, key: str) -> None:
    """Two strategies and a metric → per-query differences, biggest wins of each side."""
    names = list(report.strategies)
    if len(names) < 2:
        st.info("Run at least two strategies to compare them query by query.")
        return
    c1, c2, c3 = st.columns(3)
    a = c1.selectbox("Strategy A", names, index=len(names) - 1, key=f"{key}_a")
    b = c2.selectbox("Strategy B", names, index=0, key=f"{key}_b")
    metric = c3.selectbox("Metric", list(METRIC_LABELS), format_func=METRIC_LABELS.get, key=f"{key}_metric")
    if a == b:
        st.info("Pick two different strategies.")
        return
    frame = win_loss_frame(report, a, b, metric, queries)
    st.plotly_chart(make_win_loss_figure(frame, a, b, metric), key=f"{key}_fig")
    cols = ["query_id", "delta", a, b, "query"]  # numbers before the (long) query text
    left, right = st.columns(2)
    left.markdown(f"**Queries {escape_md(a)} wins most**")
    left.dataframe(frame[frame["winner"] == "a"][cols].head(10), hide_index=True, key=f"{key}_wins_a")
    right.markdown(f"**Queries {escape_md(b)} wins most**")
    right.dataframe(
        frame[frame["winner"] == "b"].sort_values("delta")[cols].head(10),
        hide_index=True,
        key=f"{key}_wins_b",
    )


def render_details(report: Any, *, key: str) -> None:
    """Per strategy: its full settings, notes, alpha sweep, HNSW / IVF recall, reranker against first stage."""
    curves = alpha_curve_frame(report)
    for name, res in report.strategies.items():
        extra = res.extra or {}
        with st.container(border=True):
            st.markdown(f"**{escape_md(display_name(report, name))}** — {escape_md(res.label)}")
            for note in res.notes:
                st.caption(escape_md(note))
            recall = extra.get("ann_recall@10", extra.get("hnsw_recall@10"))  # runs before IVF: HNSW only
            if recall is not None:
                kind = str(extra.get("index", "hnsw")).upper()
                st.metric(f"{kind} recall@10 against the exact index", f"{recall:.1%}")
            if "first_stage_metrics" in extra:
                first = extra["first_stage_metrics"].get("ndcg@10", 0.0)
                delta = res.metrics.get("ndcg@10", 0.0) - first
                st.metric(
                    f"nDCG@10 after reranking (vs {escape_md(extra.get('first_stage_label', 'first stage'))} alone)",
                    f"{res.metrics.get('ndcg@10', 0.0):.4f}",
                    f"{delta:+.4f}",
                )
                if not extra.get("head_trained", True):
                    st.error("This reranker's classification head is untrained: its scores are random.")
            if name in curves:
                st.plotly_chart(
                    make_alpha_sweep_figure(
                        curves[name], chosen=extra.get("tuned_alpha"), split=extra.get("tune_split", "train")
                    ),
                    key=f"{key}_alpha_{name}",
                )
            with st.expander("settings"):
                st.json(res.spec, expanded=False)
