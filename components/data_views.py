"""Statistics, charts and widgets for datasets (Data page).

The ``*_table`` functions and the ``make_*_figure(df)`` builders are pure (pandas in, DataFrame or
plotly Figure out) and unit-tested without Streamlit; ``render_*`` functions draw with Streamlit. Split
names and labels are the user's text: drawn as text (:mod:`components.text`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.text import escape_md, escape_plot

__all__ = [
    "LABEL_BAR_PX",
    "LABEL_CHART_MAX_LABELS",
    "LABEL_CHART_MIN_PX",
    "LABEL_CHART_VIEW_PX",
    "LABEL_TICK_CHARS",
    "SPLIT_ORDER",
    "dataset_stats",
    "judged_per_query_table",
    "label_chart_height",
    "label_counts_table",
    "make_doc_length_figure",
    "make_judged_per_query_figure",
    "make_label_distribution_figure",
    "make_queries_per_split_figure",
    "page_of",
    "render_page",
    "render_preview",
    "render_statistics",
    "render_summary",
    "split_overview_table",
    "word_count_table",
]

SPLIT_ORDER = ("train", "validation", "test")
_SPLIT_COLORS = {"train": "#4C78A8", "validation": "#F58518", "test": "#54A24B"}
JUDGED_TICK_EVERY_UP_TO = 20  # judged-per-query charts label every count up to this many
_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 50, "b": 10}, "height": 340, "bargap": 0.05}


def _ordered_splits(values: Sequence[str]) -> list[str]:
    present = list(dict.fromkeys(values))
    return sorted(present, key=lambda s: (SPLIT_ORDER.index(s) if s in SPLIT_ORDER else 9, s))


def _color(split: str) -> str | None:
    return _SPLIT_COLORS.get(split)


# -- pure tables ------------------------------------------------------------------------------------
def word_count_table(texts: Sequence[str]) -> pd.DataFrame:
    """One row per text: ``words`` (whitespace tokens)."""
    series = pd.Series(list(texts), dtype="object").fillna("").astype(str)
    return pd.DataFrame({"words": series.str.split().str.len().astype("int64")})


def judged_per_query_table(qrels: pd.DataFrame) -> pd.DataFrame:
    """Per split and query: ``judged`` documents and ``relevant`` ones (score > 0)."""
    if qrels.empty:
        return pd.DataFrame(columns=["split", "query_id", "judged", "relevant"])
    frame = qrels.assign(relevant=(qrels["score"] > 0).astype("int64"))
    out = (
        frame.groupby(["split", "query_id"], sort=False)
        .agg(judged=("doc_id", "size"), relevant=("relevant", "sum"))
        .reset_index()
    )
    return out.astype({"judged": "int64", "relevant": "int64"})


def split_overview_table(qrels: pd.DataFrame) -> pd.DataFrame:
    """Per split: judged ``queries``, judged pairs (``qrels``) and ``relevant`` pairs, in split order."""
    rows = []
    for split in _ordered_splits(qrels["split"].tolist()):
        sub = qrels[qrels["split"] == split]
        rows.append(
            {
                "split": split,
                "queries": int(sub["query_id"].nunique()),
                "qrels": len(sub),
                "relevant": int((sub["score"] > 0).sum()),
            }
        )
    return pd.DataFrame(rows, columns=["split", "queries", "qrels", "relevant"])


def label_counts_table(data: pd.DataFrame) -> pd.DataFrame:
    """Rows per ``label`` and ``split`` (multi-label rows count once per label), most frequent first."""
    if "labels" in data.columns:
        frame = data[["labels", "split"]].explode("labels").rename(columns={"labels": "label"})
    else:
        frame = data[["label", "split"]]
    frame = frame.dropna(subset=["label"])
    counts = frame.groupby(["label", "split"], sort=False).size().rename("count").reset_index()
    totals = counts.groupby("label")["count"].transform("sum")
    counts = counts.assign(_total=totals).sort_values(["_total", "label"], ascending=[False, True])
    return counts.drop(columns="_total").reset_index(drop=True).astype({"count": "int64"})


def dataset_stats(ds: Any) -> dict[str, pd.DataFrame]:
    """All tables the statistics view draws, for a RetrievalDataset or a LabeledDataset."""
    if getattr(ds, "kind", None) == "retrieval":
        return {
            "doc_words": word_count_table(ds.doc_texts()),
            "query_words": word_count_table(ds.queries["text"].tolist()),
            "splits": split_overview_table(ds.qrels),
            "judged": judged_per_query_table(ds.qrels),
        }
    return {
        "text_words": word_count_table(ds.data["text"].tolist()),
        "labels": label_counts_table(ds.data),
    }


# -- pure figures -----------------------------------------------------------------------------------
def make_doc_length_figure(df: pd.DataFrame, *, title: str = "Document length", what: str = "documents"):
    """Histogram of ``words`` per text, with the median marked."""
    fig = go.Figure()
    words = df["words"] if "words" in df.columns else pd.Series(dtype="int64")
    fig.add_trace(go.Histogram(x=words, nbinsx=50, name=what, marker_color="#4C78A8"))
    if len(words):
        median = float(words.median())
        fig.add_vline(
            x=median, line_dash="dash", line_color="#E45756", annotation_text=f"median {median:.0f}"
        )
    fig.update_layout(
        title=f"{title} ({len(words):,} {what})",
        xaxis_title="words",
        yaxis_title=what,
        showlegend=False,
        **_LAYOUT,
    )
    return fig


def make_queries_per_split_figure(df: pd.DataFrame):
    """Grouped bars per split: judged queries and judged documents (from :func:`split_overview_table`)."""
    fig = go.Figure()
    for column, label, color in (
        ("queries", "queries", "#4C78A8"),
        ("qrels", "judged documents", "#F58518"),
    ):
        fig.add_trace(
            go.Bar(
                x=[escape_plot(split) for split in df["split"]],
                y=df[column],
                name=label,
                marker_color=color,
                text=df[column],
                textposition="auto",
            )
        )
    fig.update_layout(
        title="Queries and judged documents per split",
        barmode="group",
        xaxis_title="split",
        yaxis_title="count",
        **_LAYOUT,
    )
    return fig


def make_judged_per_query_figure(df: pd.DataFrame):
    """Bars: how many queries have 1, 2, 3 … judged documents, one trace per split
    (from :func:`judged_per_query_table`)."""
    fig = go.Figure()
    for split in _ordered_splits(df["split"].tolist()):
        counts = df.loc[df["split"] == split, "judged"].value_counts().sort_index()
        fig.add_trace(
            go.Bar(
                x=counts.index.tolist(),
                y=counts.to_numpy().tolist(),
                name=escape_plot(split),
                marker_color=_color(split),
            )
        )
    fig.update_layout(
        title="Judged documents per query",
        barmode="group",
        xaxis_title="judged documents per query",
        # a tick per count while they fit; beyond that plotly's own spacing keeps the numbers apart
        xaxis={"dtick": 1} if len(df) == 0 or int(df["judged"].max()) <= JUDGED_TICK_EVERY_UP_TO else {},
        yaxis_title="queries",
        **_LAYOUT,
    )
    return fig


LABEL_BAR_PX = 20  # height of one label's bar: 2 … 200 labels all readable
LABEL_CHART_MIN_PX = 260
LABEL_CHART_MAX_LABELS = 200  # more: the most frequent are drawn and the title says so
LABEL_CHART_VIEW_PX = 640  # a taller chart scrolls inside a box of this height
LABEL_TICK_CHARS = 40  # longer labels are cut on the axis (with …); the tooltip has the full text


def _short_label(label: str, limit: int = LABEL_TICK_CHARS) -> str:
    text = " ".join(str(label).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def label_chart_height(n_labels: int) -> int:
    """Pixels of the label chart: :data:`LABEL_BAR_PX` per label plus room for the title, legend and
    axis, never below :data:`LABEL_CHART_MIN_PX`."""
    return max(LABEL_CHART_MIN_PX, LABEL_BAR_PX * max(1, n_labels) + 130)


def make_label_distribution_figure(df: pd.DataFrame, *, max_labels: int = LABEL_CHART_MAX_LABELS):
    """Horizontal stacked bars of rows per label and split (from :func:`label_counts_table`), most frequent
    at the top, one :data:`LABEL_BAR_PX`-pixel row per label so that every label is on the axis (cut at
    :data:`LABEL_TICK_CHARS` characters; the tooltip shows the full label). With more than ``max_labels``
    labels only the most frequent are drawn and the title says so."""
    totals = df.groupby("label", sort=False)["count"].sum() if len(df) else pd.Series(dtype="int64")
    labels = sorted(totals.index.tolist(), key=lambda lab: (-int(totals[lab]), str(lab)))
    shown = labels[:max_labels]
    ticks = [escape_plot(_short_label(label)) for label in shown]
    names = [escape_plot(label) for label in shown]
    fig = go.Figure()
    for split in _ordered_splits(df["split"].tolist()):
        sub = df[(df["split"] == split) & df["label"].isin(shown)].groupby("label")["count"].sum()
        fig.add_trace(
            go.Bar(
                y=names,
                x=[int(sub.get(label, 0)) for label in shown],
                orientation="h",
                name=escape_plot(split),
                marker_color=_color(split),
                hovertemplate="%{y}<br>" + escape_plot(split) + ": %{x:,} rows<extra></extra>",
            )
        )
    title = f"Label distribution ({len(labels)} labels, most frequent first)"
    if len(labels) > len(shown):
        title += f" — {len(shown)} most frequent shown"
    fig.update_layout(
        title=title,
        barmode="stack",
        xaxis_title="rows",
        yaxis={
            "type": "category",
            "categoryorder": "array",
            "categoryarray": names,
            "autorange": "reversed",  # the most frequent label at the top
            "tickmode": "array",
            "tickvals": names,
            "ticktext": ticks,
            "automargin": True,
            "tickfont": {"size": 11},
        },
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
        margin={"l": 10, "r": 10, "t": 70, "b": 40},
        height=label_chart_height(len(shown)),
        bargap=0.25,
    )
    return fig


# -- Streamlit widgets ------------------------------------------------------------------------------
def render_summary(summary: dict[str, Any]) -> None:
    """Headline numbers of a dataset (the CLI's JSON summary)."""
    splits = summary.get("splits") or {}
    if summary.get("kind") == "retrieval":
        cols = st.columns(4)
        cols[0].metric("Documents", f"{summary['documents']:,}")
        cols[1].metric("Queries", f"{summary['queries']:,}")
        cols[2].metric("Judged pairs (qrels)", f"{summary['qrels']:,}")
        cols[3].metric("Splits", len(splits))
        st.caption(
            " · ".join(
                f"**{escape_md(s)}**: {v['queries']:,} queries, {v['qrels']:,} qrels"
                for s, v in splits.items()
            )
        )
    else:
        cols = st.columns(3)
        cols[0].metric("Rows", f"{summary['rows']:,}")
        cols[1].metric("Labels", f"{summary['labels']:,}")
        cols[2].metric("Splits", len(splits))
        st.caption(" · ".join(f"**{escape_md(s)}**: {v['rows']:,} rows" for s, v in splits.items()))


def page_of(frame: pd.DataFrame, page: int, size: int) -> tuple[pd.DataFrame, int]:
    """Rows of page ``page`` (1-based, clamped to the pages there are) of ``size`` rows, and the number of
    pages: a view never holds more than ``size`` rows of a corpus, however large."""
    size = max(1, int(size))
    pages = max(1, -(-len(frame) // size))
    page = min(max(1, int(page)), pages)
    return frame.iloc[(page - 1) * size : page * size], pages


def render_page(frame: pd.DataFrame, what: str, *, key: str, size: int = 100) -> None:
    """One page of ``frame`` with a page number to move through it (rows ``a``–``b`` of ``n``)."""
    pages = max(1, -(-len(frame) // size))
    left, right = st.columns([1, 4], vertical_alignment="bottom")
    page = int(left.number_input("Page", 1, pages, 1, key=f"{key}_page")) if pages > 1 else 1
    rows, pages = page_of(frame, page, size)
    first = (page - 1) * size + 1 if len(frame) else 0
    right.caption(
        f"{what} {first:,}–{first + len(rows) - 1 if len(rows) else 0:,} of {len(frame):,} · page {page} of {pages:,}"
    )
    st.dataframe(rows, hide_index=True, key=f"{key}_table")


def render_preview(ds: Any, *, key: str, rows: int = 100) -> None:
    """The corpus / queries / qrels, or each split of a labelled dataset, a page of ``rows`` at a time."""
    if ds.kind == "retrieval":
        corpus_tab, queries_tab, qrels_tab = st.tabs(["Corpus", "Queries", "Qrels"])
        with corpus_tab:
            render_page(ds.corpus, "documents", key=f"{key}_corpus", size=rows)
        with queries_tab:
            render_page(ds.queries, "queries", key=f"{key}_queries", size=rows)
        with qrels_tab:
            st.caption("score: graded relevance")
            render_page(ds.qrels, "judgements", key=f"{key}_qrels", size=rows)
        return
    tabs = st.tabs([escape_md(split) for split in ds.splits])
    for tab, split in zip(tabs, ds.splits, strict=True):
        with tab:
            render_page(ds.split(split), "rows", key=f"{key}_{split}", size=rows)


def render_statistics(stats: dict[str, pd.DataFrame], *, kind: str, key: str) -> None:
    """Charts of :func:`dataset_stats`."""
    if kind == "retrieval":
        left, right = st.columns(2)
        left.plotly_chart(make_doc_length_figure(stats["doc_words"]), key=f"{key}_doclen")
        right.plotly_chart(
            make_doc_length_figure(stats["query_words"], title="Query length", what="queries"),
            key=f"{key}_qlen",
        )
        left, right = st.columns(2)
        left.plotly_chart(make_queries_per_split_figure(stats["splits"]), key=f"{key}_splits")
        right.plotly_chart(make_judged_per_query_figure(stats["judged"]), key=f"{key}_judged")
        return
    labels = make_label_distribution_figure(stats["labels"])
    if labels.layout.height > LABEL_CHART_VIEW_PX:  # many labels: the chart scrolls in a box
        st.caption("Scroll the chart to see every label.")
        box = st.container(height=LABEL_CHART_VIEW_PX, key=f"{key}_labels_box")
    else:
        box = st.container(key=f"{key}_labels_box")
    box.plotly_chart(labels, key=f"{key}_labels")
    st.plotly_chart(
        make_doc_length_figure(stats["text_words"], title="Text length", what="texts"), key=f"{key}_tlen"
    )
