"""Maps of the embedding explorer: pure builders (pandas in, plotly Figure / bytes / HTML out), unit-tested
without Streamlit. The Explore page (through ``components.explore_views``) and the CLI's HTML export use the
same builders, so the page and the command line draw the same picture.

This module holds one map, two maps side by side, and the helpers every figure shares (hover text, colours,
category order); :mod:`core.explore.change_figures` what changed between two models (neighbourhoods kept,
measured in the original spaces, not on the maps); :mod:`core.explore.query_figures` the query on the map
and the charts beside it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

__all__ = [
    "HOVER_CHARS",
    "LAYOUT",
    "LEGEND_LIMIT",
    "color_options",
    "figure_html",
    "hover_text",
    "is_3d",
    "make_compare_figure",
    "make_projection_figure",
    "plot_text",
    "point_traces",
    "points_csv",
    "truncate",
    "wrap",
]

LEGEND_LIMIT = 30  # more categories than this: no legend (hover names them)
HOVER_CHARS = 160
LAYOUT = {"margin": {"l": 10, "r": 10, "t": 60, "b": 10}, "template": "plotly_white"}
GREY_CATEGORIES = ("noise", "not judged")


def _palette() -> list[str]:
    import plotly.express as px

    q = px.colors.qualitative
    return [*q.Plotly, *q.Dark24, *q.Light24, *q.Alphabet]


# characters plotly's pseudo-HTML (or its hover templates, LaTeX, and Markdown link syntax) gives a meaning
_PLOT_SPECIAL = frozenset("&<>%$[]")


def plot_text(text: Any) -> str:
    """User text for plotly (titles, hover, legend and annotation text), shown as written: ``&``, ``<``,
    ``>`` (tags such as ``<a href>``, ``<br>``), ``%`` (``%{...}`` of hover templates), ``$`` (LaTeX) and
    the brackets of Markdown links become numeric character references, which plotly draws as the
    characters themselves."""
    text = "" if text is None else str(text)
    return "".join(f"&#{ord(c)};" if c in _PLOT_SPECIAL else c for c in text)


def truncate(text: Any, limit: int = HOVER_CHARS) -> str:
    """One line of at most ``limit`` characters (an ellipsis marks a cut)."""
    text = " ".join(str(text if text is not None else "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def wrap(text: str, width: int = 70) -> str:
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
        shown = plot_text(id_)
        head = f"<b>{plot_text(tag)}</b> · {shown}" if tag not in (None, "") else f"<b>{shown}</b>"
        out.append(f"{head}<br>{wrap(plot_text(truncate(text, limit)))}")
    return out


def color_options(df: pd.DataFrame) -> list[str]:
    """Columns a map can be coloured by, most useful first."""
    return [c for c in ("label", "cluster", "split", "kept") if c in df.columns]


def is_3d(df: pd.DataFrame, suffix: str = "") -> bool:
    return f"z{suffix}" in df.columns


def _natural(value: str) -> tuple:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p.lower()) for p in re.split(r"(\d+)", value))


def _category_order(values: pd.Series) -> list[str]:
    """Categories in natural order (cluster 2 before cluster 10), grey ones (noise, not judged) last."""
    cats = values.astype(str).unique().tolist()
    return sorted(cats, key=lambda c: (c in GREY_CATEGORIES, _natural(c)))


def _marker_trace(
    df: pd.DataFrame,
    mask: np.ndarray,
    *,
    suffix: str,
    name: str,
    marker: dict[str, Any],
    hovertext: Any,
    showlegend: bool = False,
    **extra: Any,
) -> Any:
    """One scatter trace of the rows ``mask`` selects (3-D when there is a ``z`` column)."""
    three = is_3d(df, suffix)
    coords = {"x": df[f"x{suffix}"][mask], "y": df[f"y{suffix}"][mask]}
    if three:
        coords["z"] = df[f"z{suffix}"][mask]
    scatter = go.Scatter3d if three else go.Scattergl
    return scatter(
        **coords,
        mode="markers",
        name=name,
        **extra,
        marker=marker,
        hovertext=hovertext,
        hoverinfo="text",
        showlegend=showlegend,
    )


def point_traces(
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
    hover = np.asarray(hover_text(df), dtype=object)
    marker_size = size * 0.6 if is_3d(df, suffix) else size
    every = np.ones(len(df), dtype=bool)
    if color is None or color not in df.columns or fixed_color is not None:
        marker = {"size": marker_size, "color": fixed_color or "#4C78A8", "opacity": opacity}
        return [_marker_trace(df, every, suffix=suffix, name="points", marker=marker, hovertext=hover)]
    values = df[color]
    if pd.api.types.is_numeric_dtype(values) and color not in ("label", "cluster", "split"):
        marker = {
            "size": marker_size,
            "color": values,
            "colorscale": "Viridis",
            "opacity": opacity,
            "colorbar": {"title": {"text": color}},
        }
        return [_marker_trace(df, every, suffix=suffix, name=color, marker=marker, hovertext=hover)]
    palette = _palette()
    categories = _category_order(values)
    legend = showlegend and len(categories) <= LEGEND_LIMIT
    as_str = values.astype(str).to_numpy()
    traces = []
    for i, cat in enumerate(categories):
        mask = as_str == cat
        grey = cat in GREY_CATEGORIES
        marker = {
            "size": marker_size,
            "color": "#BBBBBB" if grey else palette[i % len(palette)],
            "opacity": opacity * (0.6 if grey else 1.0),
        }
        traces.append(
            _marker_trace(
                df,
                mask,
                suffix=suffix,
                name=plot_text(cat),
                legendgroup=cat,
                marker=marker,
                hovertext=hover[mask],
                showlegend=legend,
            )
        )
    return traces


def _title(title: str | None, df: pd.DataFrame, color: str | None) -> str:
    text = plot_text(title or "Embedding map")
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
    coloured by a category column (label, cluster, split) or a numeric one (kept)."""
    fig = go.Figure(point_traces(df, color, suffix=suffix, size=size, opacity=opacity))
    fig.update_layout(
        title=_title(title, df, color),
        height=height,
        legend={"itemsizing": "constant", "title": {"text": color or ""}},
        **LAYOUT,
    )
    if not is_3d(df, suffix):
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
    """Two maps side by side (``x, y`` and the aligned ``x_b, y_b``), same colours, shared axes. The maps
    are put in the same orientation for reading; a point's two positions are comparable only on a joint
    map (one projection of both models' vectors), so no line joins them."""
    from plotly.subplots import make_subplots

    three = is_3d(df)
    specs = [[{"type": "scene"}, {"type": "scene"}]] if three else [[{}, {}]]
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=[plot_text(t) for t in titles],
        specs=specs,
        shared_xaxes=not three,
        shared_yaxes=not three,
        horizontal_spacing=0.03,
    )
    for col, suffix in ((1, ""), (2, "_b")):
        for trace in point_traces(df, color, suffix=suffix, size=size, showlegend=col == 1):
            fig.add_trace(trace, row=1, col=col)
    fig.update_layout(
        title=_title(title or "Before / after (aligned maps)", df, color),
        height=height,
        legend={"itemsizing": "constant", "title": {"text": color or ""}},
        **(LAYOUT | {"margin": {"l": 10, "r": 10, "t": 100, "b": 10}}),  # room for a subtitle
    )
    if not three:
        fig.update_xaxes(showticklabels=False, zeroline=False)
        fig.update_yaxes(showticklabels=False, zeroline=False)
    return fig


def points_csv(df: pd.DataFrame) -> bytes:
    """The projected coordinates (with ids, texts, labels, clusters) as UTF-8 CSV."""
    cols = [
        c
        for c in (
            "id",
            "label",
            "split",
            "cluster",
            "x",
            "y",
            "z",
            "x_b",
            "y_b",
            "z_b",
            "moved",
            "kept",
            "text",
        )
        if c in df.columns
    ]
    return df[cols].to_csv(index=False).encode("utf-8")


def figure_html(fig: go.Figure) -> str:
    """A standalone HTML page of a figure with plotly.js embedded (opens offline)."""
    return fig.to_html(include_plotlyjs=True, full_html=True)
