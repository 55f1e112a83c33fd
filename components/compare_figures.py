"""Pure figure builders of the Compare page: plotly figures from the tables of
:mod:`components.compare_tables` (metric bars, rank curves, win / loss, cost frontier, alpha sweep), and
:func:`make_frontier_figure`, the one drawing of a quality-against-cost frontier (latency here, index size in
:mod:`components.compress_figures`).
Strategy names, labels, query ids and texts are drawn as text (:func:`components.text.escape_plot`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from components.compare_tables import METRIC_LABELS, PALETTE, WARN_COLOR, WIN_COLORS, win_loss_summary
from components.text import escape_plot

__all__ = [
    "make_alpha_sweep_figure",
    "make_cost_figure",
    "make_frontier_figure",
    "make_metric_bars_figure",
    "make_rank_curves_figure",
    "make_win_loss_figure",
]

_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 60, "b": 10}, "height": 380}


def make_metric_bars_figure(
    frame: pd.DataFrame, metrics: Sequence[str] = tuple(METRIC_LABELS), *, colors: Mapping[str, str]
) -> go.Figure:
    """Grouped bars: one group per metric, one bar per strategy (from :func:`metrics_frame`); strategies
    with warnings are red and marked ⚠, significant differences against the baseline are starred."""
    fig = go.Figure()
    crowded = len(frame) > 2  # side-by-side labels of 3+ bars overlap: stand them on end
    for _, row in frame.iterrows():
        name = row["strategy"]
        warned = int(row.get("warnings", 0) or 0) > 0
        texts = []
        for m in metrics:
            p = row.get(f"p({m})")
            star = "*" if p is not None and not pd.isna(p) and p < 0.05 else ""
            texts.append(f"{row[m]:.3f}{star}")
        fig.add_trace(
            go.Bar(
                x=[METRIC_LABELS.get(m, m) for m in metrics],
                y=[row[m] for m in metrics],
                name=("⚠ " if warned else "") + escape_plot(name),
                marker_color=colors.get(name, PALETTE[0]),
                marker_pattern_shape="x" if warned else "",
                text=texts,
                textposition="outside",
                textangle=-90 if crowded else 0,
                textfont={"size": 10 if crowded else 12},
                cliponaxis=False,
                hovertemplate=f"{escape_plot(row['label'])}<br>%{{x}} = %{{y:.4f}}<extra></extra>",
            )
        )
    fig.update_layout(
        title="Quality per metric (* p<0.05 against the baseline)",
        barmode="group",
        yaxis={
            "title": "score",
            "range": [0, 1.18 if crowded else 1.08],
            "tickvals": [0, 0.2, 0.4, 0.6, 0.8, 1],
        },
        legend={"orientation": "h", "y": -0.12},
        **_LAYOUT,
    )
    return fig


def make_rank_curves_figure(frame: pd.DataFrame, *, colors: Mapping[str, str]) -> go.Figure:
    """Recall@k and precision@k for k = 1 … 100, every strategy, side by side in one figure
    (from :func:`curves_frame`)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Recall@k", "Precision@k"), horizontal_spacing=0.08)
    for name in dict.fromkeys(frame["strategy"].tolist()):
        sub = frame[frame["strategy"] == name]
        color = colors.get(name, PALETTE[0])
        dash = "dot" if color == WARN_COLOR else "solid"
        for col, what in ((1, "recall"), (2, "precision")):
            fig.add_trace(
                go.Scatter(
                    x=sub["k"],
                    y=sub[what],
                    mode="lines",
                    name=escape_plot(name),
                    legendgroup=name,
                    showlegend=col == 1,
                    line={"color": color, "dash": dash},
                    hovertemplate=f"{escape_plot(name)}<br>{what}@%{{x}} = %{{y:.3f}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(title_text="k (results read)", type="log")
    fig.update_yaxes(range=[0, 1.02])
    fig.update_layout(
        title="Recall and precision at k = 1 … 100", legend={"orientation": "h", "y": -0.18}, **_LAYOUT
    )
    return fig


def make_win_loss_figure(frame: pd.DataFrame, a: str, b: str, metric: str = "ndcg@10") -> go.Figure:
    """One bar per query: ``a``'s score minus ``b``'s (from :func:`win_loss_frame`), green where ``a``
    wins, orange where ``b`` wins; the title counts wins, losses and ties."""
    s = win_loss_summary(frame)
    label = METRIC_LABELS.get(metric, metric)
    fig = go.Figure()
    for side, name in (("a", a), ("b", b), ("tie", "tie")):
        sub = frame[frame["winner"] == side]
        if sub.empty:
            continue
        fig.add_trace(
            go.Bar(
                x=sub.index.tolist(),
                y=sub["delta"],
                name=f"{escape_plot(name)} better" if side != "tie" else "tie",
                marker_color=WIN_COLORS[side],
                customdata=[
                    (escape_plot(q), escape_plot(str(text)[:90]))
                    for q, text in zip(sub["query_id"], sub["query"], strict=True)
                ],
                hovertemplate="query %{customdata[0]}<br>%{customdata[1]}<br>Δ = %{y:+.3f}<extra></extra>",
            )
        )
    fig.update_layout(
        title=f"{label}: {escape_plot(a)} wins {s['a']}, {escape_plot(b)} wins {s['b']}, {s['tie']} ties",
        xaxis={"title": "queries, sorted by difference", "showticklabels": False},
        yaxis={"title": f"{label} of {escape_plot(a)} − {escape_plot(b)}"},
        bargap=0,
        legend={"orientation": "h", "y": -0.15},
        **_LAYOUT,
    )
    return fig


def make_frontier_figure(
    frame: pd.DataFrame,
    x: str,
    *,
    points: Sequence[Mapping[str, str]],
    title: str,
    x_title: str,
    frontier_name: str,
    metric: str = "ndcg@10",
) -> go.Figure:
    """Quality (column ``quality``) against a cost (column ``x``, log axis): the points of column
    ``frontier`` joined by a dashed line named ``frontier_name``, one marker per row with its name as text.
    ``points``: per row ``name`` (already escaped), ``color``, ``symbol`` and ``hover`` (a hovertemplate).
    The one drawing of both frontiers: cost (latency) and index size."""
    fig = go.Figure()
    front = frame[frame["frontier"]].sort_values(x) if len(frame) else frame
    if len(front) > 1:
        fig.add_trace(
            go.Scatter(
                x=front[x],
                y=front["quality"],
                mode="lines",
                line={"color": "#888", "dash": "dash"},
                name=frontier_name,
                hoverinfo="skip",
            )
        )
    for (_, row), point in zip(frame.iterrows(), points, strict=True):
        fig.add_trace(
            go.Scatter(
                x=[max(float(row[x]), 1e-3)],
                y=[row["quality"]],
                mode="markers+text",
                name=point["name"],
                text=[point["name"]],
                textposition="top center",
                marker={
                    "size": 16,
                    "color": point["color"],
                    "symbol": point["symbol"],
                    "line": {"width": 1, "color": "#333"},
                },
                hovertemplate=point["hover"],
            )
        )
    fig.update_layout(
        title=title,
        xaxis={"title": x_title, "type": "log", "dtick": "D2"},  # 1, 2, 5 per decade: no crowded digits
        yaxis={"title": METRIC_LABELS.get(metric, metric)},
        showlegend=False,
        **_LAYOUT,
    )
    return fig


def make_cost_figure(frame: pd.DataFrame, *, colors: Mapping[str, str], metric: str = "ndcg@10") -> go.Figure:
    """Quality against median query latency (log scale), the cost frontier drawn as a line; strategies
    with warnings are red crosses (from :func:`cost_frame`)."""
    points = []
    for _, row in frame.iterrows():
        warned = bool(row["warned"])
        points.append(
            {
                "name": ("⚠ " if warned else "") + escape_plot(row["strategy"]),
                "color": colors.get(row["strategy"], PALETTE[0]),
                "symbol": "x" if warned else ("star" if row["frontier"] else "circle"),
                "hover": (
                    f"{escape_plot(row['label'])}<br>{METRIC_LABELS.get(metric, metric)} %{{y:.4f}}<br>"
                    f"p50 %{{x:.2f}} ms · p95 {row['latency_ms_p95']:.2f} ms<br>index {row['index_s']:.1f} s"
                    "<extra></extra>"
                ),
            }
        )
    return make_frontier_figure(
        frame,
        "latency_ms_p50",
        points=points,
        title="Quality vs latency (★ on the cost frontier)",
        x_title="median latency per query (ms, log)",
        frontier_name="cost frontier",
        metric=metric,
    )


def make_alpha_sweep_figure(
    frame: pd.DataFrame, *, chosen: float | None = None, split: str = "train"
) -> go.Figure:
    """The alpha sweep: score on the tuning split for each alpha (0 = BM25 alone, 1 = dense alone),
    the chosen alpha marked."""
    fig = go.Figure(
        go.Scatter(
            x=frame["alpha"],
            y=frame["score"],
            mode="lines+markers",
            name="nDCG@10",
            line={"color": PALETTE[0]},
        )
    )
    if chosen is not None:
        fig.add_vline(x=chosen, line_dash="dash", line_color=PALETTE[1], annotation_text=f"α = {chosen:.2f}")
    fig.update_layout(
        title=f"Alpha sweep on {escape_plot(split)} (0 = BM25 only, 1 = dense only)",
        xaxis={"title": "alpha (dense weight)", "range": [-0.02, 1.02]},
        yaxis={"title": "nDCG@10"},
        showlegend=False,
        **_LAYOUT,
    )
    return fig
