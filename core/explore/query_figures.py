"""The query on a map and the charts beside the maps: pure builders (pandas in, plotly Figure / DataFrame
out), shared by the Explore page and the CLI like :mod:`core.explore.map_figures`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from core.explore.map_figures import LAYOUT, is_3d, plot_text, point_traces, truncate, wrap

__all__ = ["STRATEGY_STYLE", "make_cluster_scores_figure", "make_query_figure", "metrics_table"]

STRATEGY_STYLE = {  # symbol, colour, size of the markers of each strategy's retrieved documents
    "bm25": ("square-open", "#F58518", 13),
    "dense": ("diamond-open", "#4C78A8", 17),
    "hybrid": ("triangle-up-open", "#B279A2", 21),
}
_OTHER_STYLE = ("circle-open", "#72B7B2", 15)


def _overlay_trace(
    frame: pd.DataFrame, three: bool, name: str, marker: dict[str, Any], hover: list[str]
) -> Any:
    """Markers of overlay rows at their ``x, y (z)``."""
    coords = {"x": frame["x"], "y": frame["y"]}
    if three:
        coords["z"] = frame["z"]
    scatter = go.Scatter3d if three else go.Scattergl
    return scatter(**coords, mode="markers", name=name, marker=marker, hovertext=hover, hoverinfo="text")


def _relevant_traces(overlay: pd.DataFrame, three: bool) -> list[Any]:
    """The query's judged-relevant documents as green rings (none when there are none)."""
    relevant = overlay[overlay["role"] == "relevant"]
    if not len(relevant):
        return []
    hover = [
        f"<b>relevant (grade {int(g)})</b> · {plot_text(i)}<br>{wrap(plot_text(truncate(t)))}"
        for i, t, g in zip(relevant["id"], relevant["text"], relevant["grade"], strict=True)
    ]
    marker = {"size": 12, "color": "#54A24B", "symbol": "circle", "opacity": 0.9}
    return [_overlay_trace(relevant, three, f"judged relevant ({len(relevant)})", marker, hover)]


def _strategy_traces(overlay: pd.DataFrame, three: bool) -> list[Any]:
    """Each strategy's retrieved documents as open markers, one symbol per strategy."""
    retrieved = overlay[overlay["role"] == "retrieved"]
    traces = []
    for strategy in dict.fromkeys(retrieved["strategy"]):
        part = retrieved[retrieved["strategy"] == strategy]
        symbol, colour, size = STRATEGY_STYLE.get(strategy, _OTHER_STYLE)
        hits = sum(1 for g in part["grade"] if pd.notna(g) and g > 0)
        hover = [
            f"<b>{plot_text(strategy)} #{int(r)}</b>{' · relevant' if pd.notna(g) and g > 0 else ''} · "
            f"{plot_text(i)}<br>{wrap(plot_text(truncate(t)))}"
            for i, t, r, g in zip(part["id"], part["text"], part["rank"], part["grade"], strict=True)
        ]
        marker = {
            "size": size * (0.6 if three else 1.0),
            "color": colour,
            "symbol": symbol.replace("triangle-up-open", "diamond-open") if three else symbol,
            "line": {"width": 2, "color": colour},
        }
        traces.append(
            _overlay_trace(
                part, three, f"{plot_text(strategy)}: top {len(part)} ({hits} relevant)", marker, hover
            )
        )
    return traces


def _query_traces(query: pd.DataFrame, three: bool) -> list[Any]:
    """The query itself as a star (a diamond in 3-D)."""
    if not len(query):
        return []
    hover = [
        f"<b>query</b> · {plot_text(i)}<br>{wrap(plot_text(truncate(t)))}"
        for i, t in zip(query["id"], query["text"], strict=True)
    ]
    marker = {
        "size": 14 if three else 22,
        "color": "#E45756",
        "symbol": "diamond" if three else "star",
        "line": {"width": 1, "color": "#222222"},
    }
    return [_overlay_trace(query, three, "query", marker, hover)]


def make_query_figure(
    df: pd.DataFrame,
    overlay: pd.DataFrame,
    *,
    color: str | None = None,
    title: str | None = None,
    height: int = 640,
) -> go.Figure:
    """The map (faded) with one query on it: the query as a star, its judged-relevant documents as green
    rings and each strategy's retrieved documents as open markers (one symbol per strategy)."""
    three = is_3d(df)
    query = overlay[overlay["role"] == "query"]
    traces = [
        *point_traces(df, color, size=4, opacity=0.35, fixed_color=None if color else "#C8C8C8"),
        *_relevant_traces(overlay, three),
        *_strategy_traces(overlay, three),
        *_query_traces(query, three),
    ]
    fig = go.Figure(traces)
    label = truncate(query["text"].iloc[0], 90) if len(query) else ""
    fig.update_layout(
        title=plot_text(title or f"Query: “{label}”"),
        height=height,
        legend={"itemsizing": "constant"},
        **LAYOUT,
    )
    if not three:
        fig.update_xaxes(showticklabels=False, zeroline=False)
        fig.update_yaxes(showticklabels=False, zeroline=False)
    return fig


def make_cluster_scores_figure(
    scores: pd.DataFrame, *, chosen: int | None = None, height: int = 300
) -> go.Figure:
    """Silhouette of k-means for each tried cluster count; the best count is marked."""
    fig = go.Figure(
        go.Scatter(
            x=scores["k"],
            y=scores["silhouette"],
            mode="lines+markers",
            name="silhouette",
            line={"color": "#4C78A8"},
        )
    )
    if len(scores):
        best = scores.loc[scores["silhouette"].idxmax()]
        fig.add_trace(
            go.Scatter(
                x=[best["k"]],
                y=[best["silhouette"]],
                mode="markers+text",
                text=[f"suggested k={int(best['k'])}"],
                textposition="top center",
                marker={"size": 12, "color": "#E45756"},
                name="suggested",
                showlegend=False,
            )
        )
    if chosen is not None:
        fig.add_vline(x=chosen, line_dash="dot", line_color="#888888")
    fig.update_layout(
        title="Cluster count: silhouette of k-means (cosine)",
        height=height,
        xaxis_title="clusters (k)",
        yaxis_title="silhouette",
        showlegend=False,
        **LAYOUT,
    )
    return fig


def metrics_table(summary: dict[str, Any], names: Sequence[str] = ("before", "after")) -> pd.DataFrame:
    """Rows: silhouette by label, k-NN label agreement; a column per model; plus the change."""
    k = summary.get("knn_k", 10)
    rows = [
        ("silhouette by label (cosine)", summary.get("silhouette"), summary.get("silhouette_compare")),
        (f"k-NN label agreement (k={k})", summary.get("knn_agreement"), summary.get("knn_agreement_compare")),
    ]
    two = summary.get("compare_model") is not None
    data = []
    for name, a, b in rows:
        row = {"measure": name, names[0]: a}
        if two:
            row[names[1]] = b
            row["change"] = (b - a) if a is not None and b is not None else None
        data.append(row)
    return pd.DataFrame(data)
