"""Widgets of the embedding explorer. The figure builders live in :mod:`core.explore` (the CLI's HTML
export draws the same pictures) and are re-exported here for the page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components.text import escape_md
from core.explore import (
    LEGEND_LIMIT,
    color_options,
    figure_html,
    hover_text,
    make_cluster_scores_figure,
    make_compare_figure,
    make_neighbourhood_figure,
    make_projection_figure,
    make_query_figure,
    metrics_table,
    neighbourhood_caption,
    neighbourhood_table,
    points_csv,
    truncate,
)

__all__ = [
    "LEGEND_LIMIT",
    "color_options",
    "figure_html",
    "hover_text",
    "make_cluster_scores_figure",
    "make_compare_figure",
    "make_neighbourhood_figure",
    "make_projection_figure",
    "make_query_figure",
    "metrics_table",
    "neighbourhood_caption",
    "neighbourhood_table",
    "points_csv",
    "render_metrics",
    "truncate",
]


def render_metrics(summary: dict[str, Any], names: Sequence[str] = ("before", "after"), *, key: str) -> None:
    """Metric tiles: points, silhouette by label and k-NN label agreement; with a second model the
    "after" values carry their change and the neighbourhood overlap is added."""
    import streamlit as st

    def fmt(v: Any) -> str:
        return "—" if v is None else f"{v:.3f}"

    def delta(a: Any, b: Any) -> str | None:
        return None if a is None or b is None else f"{b - a:+.3f}"

    k = summary.get("knn_k", 10)
    sil_help = "how well the labels separate in the original space (cosine silhouette, −1…1)"
    knn_help = f"share of each point's {k} nearest neighbours (cosine) that carry its label"
    two = summary.get("compare_model") is not None
    box = st.container(key=key)
    cols = box.columns(3)
    if two:  # five tiles in two rows of three: every label fits its tile
        cols = [*cols, *box.columns(3)[:2]]
    shown, total = summary["points"], summary["total"]
    cols[0].metric(
        "Points",
        f"{shown:,}",
        help=f"{shown:,} of {total:,} shown (stratified sample)" if shown < total else "all points",
    )
    if not two:
        cols[1].metric("Silhouette by label", fmt(summary.get("silhouette")), help=sil_help)
        cols[2].metric(f"k-NN label agreement (k={k})", fmt(summary.get("knn_agreement")), help=knn_help)
        return
    names = [escape_md(n) for n in names]  # model names, in help texts (Markdown)
    a, b = summary.get("silhouette"), summary.get("silhouette_compare")
    cols[1].metric("Silhouette · before", fmt(a), help=f"{names[0]}: {sil_help}")
    cols[2].metric("Silhouette · after", fmt(b), delta=delta(a, b), help=f"{names[1]}: {sil_help}")
    ka, kb = summary.get("knn_agreement"), summary.get("knn_agreement_compare")
    cols[3].metric(
        "k-NN agreement · after",
        fmt(kb),
        delta=delta(ka, kb),
        help=f"{names[1]} (before, {names[0]}: {fmt(ka)}): {knn_help}",
    )
    cols[4].metric(
        "Neighbourhood overlap",
        fmt(summary.get("neighbourhood_overlap")),
        help=f"share of each point's {k} nearest neighbours that {names[0]} and {names[1]} agree on",
    )
