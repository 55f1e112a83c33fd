"""Charts of the embedding explorer: pure builders (pandas in, plotly Figure / DataFrame out), unit-tested
without Streamlit. The Explore page (through ``components.explore_views``) and the CLI's HTML export use the
same builders, so the page and the command line draw the same picture.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.runtime import InvalidInput

__all__ = [
    "LEGEND_LIMIT",
    "color_options",
    "figure_html",
    "hover_text",
    "make_cluster_scores_figure",
    "make_compare_figure",
    "make_movement_figure",
    "make_projection_figure",
    "make_query_figure",
    "metrics_table",
    "points_csv",
    "truncate",
]

LEGEND_LIMIT = 30  # more categories than this: no legend (hover names them)
HOVER_CHARS = 160
STRATEGY_STYLE = {  # symbol, colour, size of the markers of each strategy's retrieved documents
    "bm25": ("square-open", "#F58518", 13),
    "dense": ("diamond-open", "#4C78A8", 17),
    "hybrid": ("triangle-up-open", "#B279A2", 21),
}
_OTHER_STYLE = ("circle-open", "#72B7B2", 15)
_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 60, "b": 10}, "template": "plotly_white"}


def _palette() -> list[str]:
    import plotly.express as px

    q = px.colors.qualitative
    return [*q.Plotly, *q.Dark24, *q.Light24, *q.Alphabet]


def truncate(text: Any, limit: int = HOVER_CHARS) -> str:
    """One line of at most ``limit`` characters (an ellipsis marks a cut)."""
    text = " ".join(str(text if text is not None else "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _wrap(text: str, width: int = 70) -> str:
    words, lines, line = text.split(" "), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "<br>".join(lines)


def hover_text(df: pd.DataFrame, limit: int = HOVER_CHARS) -> list[str]:
    """Hover text per point: label (or split) and id in bold, then the truncated text."""
    out = []
    tags = (
        df["label"] if "label" in df.columns else df.get("split", pd.Series([""] * len(df), index=df.index))
    )
    ids = df["id"] if "id" in df.columns else pd.Series(range(len(df)), index=df.index)
    texts = df["text"] if "text" in df.columns else pd.Series([""] * len(df), index=df.index)
    for tag, id_, text in zip(tags, ids, texts, strict=True):
        head = f"<b>{tag}</b> · {id_}" if tag not in (None, "") else f"<b>{id_}</b>"
        out.append(f"{head}<br>{_wrap(truncate(text, limit))}")
    return out


def color_options(df: pd.DataFrame) -> list[str]:
    """Columns a map can be coloured by, most useful first."""
    return [c for c in ("label", "cluster", "split", "moved") if c in df.columns]


def _is_3d(df: pd.DataFrame, suffix: str = "") -> bool:
    return f"z{suffix}" in df.columns


def _natural(value: str) -> tuple:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p.lower()) for p in re.split(r"(\d+)", value))


def _category_order(values: pd.Series) -> list[str]:
    """Categories in natural order (cluster 2 before cluster 10), grey ones (noise, not judged) last."""
    cats = values.astype(str).unique().tolist()
    return sorted(cats, key=lambda c: (c in ("noise", "not judged"), _natural(c)))


def _point_traces(
    df: pd.DataFrame,
    color: str | None,
    *,
    suffix: str = "",
    size: float = 5,
    opacity: float = 0.75,
    showlegend: bool = True,
    fixed_color: str | None = None,
) -> list[Any]:
    """One trace per category of ``color`` (or one trace with a colour scale for a numeric column)."""
    three = _is_3d(df, suffix)
    scatter = go.Scatter3d if three else go.Scattergl
    hover = np.asarray(hover_text(df), dtype=object)

    def coords(mask: Any) -> dict[str, Any]:
        out = {"x": df[f"x{suffix}"][mask], "y": df[f"y{suffix}"][mask]}
        if three:
            out["z"] = df[f"z{suffix}"][mask]
        return out

    marker_size = size * 0.6 if three else size
    if color is None or color not in df.columns or fixed_color is not None:
        mask = np.ones(len(df), dtype=bool)
        return [
            scatter(
                **coords(mask),
                mode="markers",
                name="points",
                marker={"size": marker_size, "color": fixed_color or "#4C78A8", "opacity": opacity},
                hovertext=hover[mask],
                hoverinfo="text",
                showlegend=False,
            )
        ]
    values = df[color]
    if pd.api.types.is_numeric_dtype(values) and color not in ("label", "cluster", "split"):
        mask = np.ones(len(df), dtype=bool)
        return [
            scatter(
                **coords(mask),
                mode="markers",
                name=color,
                marker={
                    "size": marker_size,
                    "color": values,
                    "colorscale": "Viridis",
                    "opacity": opacity,
                    "colorbar": {"title": {"text": color}},
                },
                hovertext=hover,
                hoverinfo="text",
                showlegend=False,
            )
        ]
    palette = _palette()
    categories = _category_order(values)
    legend = showlegend and len(categories) <= LEGEND_LIMIT
    traces = []
    as_str = values.astype(str).to_numpy()
    for i, cat in enumerate(categories):
        mask = as_str == cat
        grey = cat in ("noise", "not judged")
        traces.append(
            scatter(
                **coords(mask),
                mode="markers",
                name=cat,
                legendgroup=cat,
                marker={
                    "size": marker_size,
                    "color": "#BBBBBB" if grey else palette[i % len(palette)],
                    "opacity": opacity * (0.6 if grey else 1.0),
                },
                hovertext=hover[mask],
                hoverinfo="text",
                showlegend=legend,
            )
        )
    return traces


def _title(title: str | None, df: pd.DataFrame, color: str | None) -> str:
    text = title or "Embedding map"
    if color in df.columns and not pd.api.types.is_numeric_dtype(df[color]):
        n = df[color].nunique()
        if n > LEGEND_LIMIT:
            text += f"<br><sup>{n} {color} values: hover a point for its {color}</sup>"
    return text


def make_projection_figure(
    df: pd.DataFrame,
    *,
    color: str | None = "label",
    title: str | None = None,
    suffix: str = "",
    size: float = 5,
    opacity: float = 0.75,
    height: int = 640,
) -> go.Figure:
    """Scatter of one map (``x``, ``y`` and optional ``z`` columns, or ``x_b`` … with ``suffix='_b'``),
    coloured by a category column (label, cluster, split) or a numeric one (moved)."""
    fig = go.Figure(_point_traces(df, color, suffix=suffix, size=size, opacity=opacity))
    fig.update_layout(
        title=_title(title, df, color),
        height=height,
        legend={"itemsizing": "constant", "title": {"text": color or ""}},
        **_LAYOUT,
    )
    if not _is_3d(df, suffix):
        fig.update_xaxes(showticklabels=False, title=None, zeroline=False)
        fig.update_yaxes(showticklabels=False, title=None, zeroline=False)
    return fig


def make_compare_figure(
    df: pd.DataFrame,
    *,
    color: str | None = "label",
    titles: Sequence[str] = ("before", "after"),
    title: str | None = None,
    size: float = 5,
    height: int = 560,
) -> go.Figure:
    """Two maps side by side (``x, y`` and the aligned ``x_b, y_b``), same colours, shared axes."""
    from plotly.subplots import make_subplots

    three = _is_3d(df)
    specs = [[{"type": "scene"}, {"type": "scene"}]] if three else [[{}, {}]]
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=list(titles),
        specs=specs,
        shared_xaxes=not three,
        shared_yaxes=not three,
        horizontal_spacing=0.03,
    )
    for col, suffix in ((1, ""), (2, "_b")):
        for trace in _point_traces(df, color, suffix=suffix, size=size, showlegend=col == 1):
            fig.add_trace(trace, row=1, col=col)
    fig.update_layout(
        title=_title(title or "Before / after (aligned maps)", df, color),
        height=height,
        legend={"itemsizing": "constant", "title": {"text": color or ""}},
        **(_LAYOUT | {"margin": {"l": 10, "r": 10, "t": 100, "b": 10}}),  # room for a subtitle
    )
    if not three:
        fig.update_xaxes(showticklabels=False, zeroline=False)
        fig.update_yaxes(showticklabels=False, zeroline=False)
    return fig


def make_movement_figure(
    df: pd.DataFrame,
    *,
    color: str | None = "label",
    max_lines: int = 400,
    seed: int = 0,
    title: str | None = None,
    height: int = 640,
) -> go.Figure:
    """Where points moved between the two aligned maps: a grey line from each point's first position to
    its second (a seeded sample of ``max_lines`` points), points drawn at their second position."""
    if "x_b" not in df.columns:
        raise InvalidInput("movement needs two aligned maps (columns x_b, y_b)")
    rng = np.random.default_rng(seed)
    idx = np.arange(len(df))
    if len(idx) > max_lines:
        idx = np.sort(rng.choice(idx, size=max_lines, replace=False))
    sub = df.iloc[idx]
    xs: list[float | None] = []
    ys: list[float | None] = []
    for xa, ya, xb, yb in zip(sub["x"], sub["y"], sub["x_b"], sub["y_b"], strict=True):
        xs.extend([float(xa), float(xb), None])
        ys.extend([float(ya), float(yb), None])
    traces = [
        go.Scattergl(
            x=sub["x"],
            y=sub["y"],
            mode="markers",
            name="before",
            marker={"size": 4, "color": "#999999", "opacity": 0.5},
            hoverinfo="skip",
            showlegend=True,
        ),
        go.Scattergl(
            x=xs,
            y=ys,
            mode="lines",
            name=f"moved ({len(sub):,} of {len(df):,} points)",
            line={"color": "rgba(120,120,120,0.35)", "width": 1},
            hoverinfo="skip",
        ),
    ]
    flat = df.drop(columns=[c for c in ("z", "z_b") if c in df.columns])
    traces += _point_traces(flat, color, suffix="_b", size=5)
    fig = go.Figure(traces)
    median = float(np.median(df["moved"])) if "moved" in df.columns and len(df) else 0.0
    fig.update_layout(
        title=_title(title or f"How far points moved (median {median:.2f} map units)", df, color),
        height=height,
        legend={"itemsizing": "constant"},
        **_LAYOUT,
    )
    fig.update_xaxes(showticklabels=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, zeroline=False)
    return fig


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
    three = _is_3d(df)
    scatter = go.Scatter3d if three else go.Scattergl
    traces = _point_traces(df, color, size=4, opacity=0.35, fixed_color=None if color else "#C8C8C8")

    def xyz(frame: pd.DataFrame) -> dict[str, Any]:
        out = {"x": frame["x"], "y": frame["y"]}
        if three:
            out["z"] = frame["z"]
        return out

    relevant = overlay[overlay["role"] == "relevant"]
    if len(relevant):
        hover = [
            f"<b>relevant (grade {int(g)})</b> · {i}<br>{_wrap(truncate(t))}"
            for i, t, g in zip(relevant["id"], relevant["text"], relevant["grade"], strict=True)
        ]
        traces.append(
            scatter(
                **xyz(relevant),
                mode="markers",
                name=f"judged relevant ({len(relevant)})",
                marker={"size": 12, "color": "#54A24B", "symbol": "circle", "opacity": 0.9},
                hovertext=hover,
                hoverinfo="text",
            )
        )
    retrieved = overlay[overlay["role"] == "retrieved"]
    for strategy in dict.fromkeys(retrieved["strategy"]):
        part = retrieved[retrieved["strategy"] == strategy]
        symbol, colour, size = STRATEGY_STYLE.get(strategy, _OTHER_STYLE)
        hits = sum(1 for g in part["grade"] if pd.notna(g) and g > 0)
        hover = [
            f"<b>{strategy} #{int(r)}</b>{' · relevant' if pd.notna(g) and g > 0 else ''} · {i}<br>{_wrap(truncate(t))}"
            for i, t, r, g in zip(part["id"], part["text"], part["rank"], part["grade"], strict=True)
        ]
        traces.append(
            scatter(
                **xyz(part),
                mode="markers",
                name=f"{strategy}: top {len(part)} ({hits} relevant)",
                marker={
                    "size": size * (0.6 if three else 1.0),
                    "color": colour,
                    "symbol": symbol.replace("triangle-up-open", "diamond-open") if three else symbol,
                    "line": {"width": 2, "color": colour},
                },
                hovertext=hover,
                hoverinfo="text",
            )
        )
    query = overlay[overlay["role"] == "query"]
    if len(query):
        traces.append(
            scatter(
                **xyz(query),
                mode="markers",
                name="query",
                marker={
                    "size": 14 if three else 22,
                    "color": "#E45756",
                    "symbol": "diamond" if three else "star",
                    "line": {"width": 1, "color": "#222222"},
                },
                hovertext=[
                    f"<b>query</b> · {i}<br>{_wrap(truncate(t))}"
                    for i, t in zip(query["id"], query["text"], strict=True)
                ],
                hoverinfo="text",
            )
        )
    fig = go.Figure(traces)
    label = truncate(query["text"].iloc[0], 90) if len(query) else ""
    fig.update_layout(
        title=title or f"Query: “{label}”",
        height=height,
        legend={"itemsizing": "constant"},
        **_LAYOUT,
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
        **_LAYOUT,
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


def points_csv(df: pd.DataFrame) -> bytes:
    """The projected coordinates (with ids, texts, labels, clusters) as UTF-8 CSV."""
    cols = [
        c
        for c in ("id", "label", "split", "cluster", "x", "y", "z", "x_b", "y_b", "z_b", "moved", "text")
        if c in df.columns
    ]
    return df[cols].to_csv(index=False).encode("utf-8")


def figure_html(fig: go.Figure) -> str:
    """A standalone HTML page of a figure with plotly.js embedded (opens offline)."""
    return fig.to_html(include_plotlyjs=True, full_html=True)
