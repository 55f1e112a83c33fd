"""How long the corpus's documents are, for the Compare page's chunking settings: a table of tokens (and
passages) per document from :class:`core.data.LengthStats`, the pure :func:`make_length_figure` (histogram
of tokens per document with the model's window marked) and :func:`render_length_distribution` (the figure and
the numbers that decide whether to chunk: share of the text beyond the window, passages per document)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.compare_tables import PALETTE, WARN_COLOR
from components.text import escape_md

__all__ = ["length_numbers", "lengths_frame", "make_length_figure", "render_length_distribution"]


def lengths_frame(stats: Any) -> pd.DataFrame:
    """``tokens`` (and ``passages`` when a chunking was counted) per checked document, with ``beyond``:
    the tokens a truncated document never searches."""
    tokens = np.asarray(stats.tokens, dtype=np.int64)
    frame = pd.DataFrame({"tokens": tokens, "beyond": np.maximum(tokens - int(stats.window), 0)})
    if stats.passages:
        frame["passages"] = np.asarray(stats.passages, dtype=np.int64)
    return frame


def make_length_figure(frame: pd.DataFrame, *, window: int, chunking: str | None = None) -> go.Figure:
    """Histogram of tokens per document; documents beyond ``window`` in red, the window as a dashed line.
    An x axis on a log scale when the lengths span more than two orders of magnitude."""
    fig = go.Figure()
    tokens = frame["tokens"] if len(frame) else pd.Series([], dtype="int64")
    log = bool(len(tokens)) and tokens.max() > 100 * max(1, tokens.min())
    values = np.log10(tokens.clip(lower=1)) if log else tokens
    edge = np.log10(window) if log else window
    inside, beyond = values[tokens <= window], values[tokens > window]
    bins = {"nbinsx": 40}
    fig.add_trace(go.Histogram(x=inside, name=f"≤ {window} tokens", marker_color=PALETTE[0], **bins))
    fig.add_trace(
        go.Histogram(x=beyond, name=f"> {window} tokens (truncated)", marker_color=WARN_COLOR, **bins)
    )
    fig.add_vline(x=edge, line_dash="dash", line_color="#444", annotation_text=f"window {window}")
    title = "Tokens per document" + (f" · passages {chunking}" if chunking else "")
    fig.update_layout(
        barmode="overlay",
        title=title,
        xaxis_title="tokens per document" + (" (log scale)" if log else ""),
        yaxis_title="documents",
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        height=320,
        legend={"orientation": "h", "y": -0.25},
    )
    if log:
        ticks = [10**e for e in range(0, 7) if 10 ** (e - 1) <= tokens.max()]
        fig.update_xaxes(tickvals=np.log10(ticks), ticktext=[f"{t:,}" for t in ticks])
    return fig


def length_numbers(stats: Any) -> dict[str, str]:
    """The few numbers shown beside the histogram, formatted."""
    numbers = {
        "median tokens": f"{stats.p50:,.0f}",
        "documents beyond the window": f"{stats.share_docs_beyond:.0%}",
        "text beyond the window": f"{stats.share_text_beyond:.1%}",
    }
    if stats.chunking:
        numbers["passages per document"] = f"{stats.passages_mean:.1f}"
        numbers["passages in all"] = f"{stats.passages_total:,}"
    return numbers


def render_length_distribution(stats: Any, *, threshold: float, key: str) -> None:
    """The histogram and numbers of :func:`core.data.length_stats`, and what they mean for chunking."""
    sample = "" if stats.checked == stats.documents else f" (a sample of {stats.checked:,})"
    st.caption(f"{stats.documents:,} documents{sample}, counted in the bi-encoder's tokens.")
    cols = st.columns(len(length_numbers(stats)))
    for col, (label, value) in zip(cols, length_numbers(stats).items(), strict=True):
        col.metric(label, value)
    st.plotly_chart(
        make_length_figure(lengths_frame(stats), window=stats.window, chunking=stats.chunking),
        key=f"{key}_fig",
    )
    share = stats.share_text_beyond
    if share >= threshold:
        st.markdown(
            f"**{share:.0%} of the text lies past the {stats.window}-token window**: a truncated document is "
            "searched by its beginning only. Compare passages against truncation below — the wizard advises "
            f"chunking from {threshold:.0%}."
        )
    else:
        st.caption(
            f"Only {escape_md(f'{share:.1%}')} of the text lies past the window (below {threshold:.0%}): "
            "truncation loses little here."
        )
