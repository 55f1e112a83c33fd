"""Views of adaptation results and of mined negatives (Adapt and Runs pages).

Pure builders (``before_after_frame``, ``make_before_after_figure``, ``review_frame``, ``verdict_text``)
are unit-tested; ``render_*`` draw with Streamlit. A model that made things worse is shown as an error
banner with the numbers, never hidden in a table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.text import escape_md, escape_plot

__all__ = [
    "METRIC_ORDER",
    "RULE_LABELS",
    "before_after_frame",
    "dropped_pairs",
    "make_before_after_figure",
    "methods_help",
    "render_evaluation",
    "render_mining_counts",
    "review_frame",
    "verdict_text",
]

METRIC_ORDER = ("ndcg@10", "recall@10", "recall@100", "mrr@10", "map@100", "p@10")
RULE_LABELS = {
    "judged_positive": "judged positives excluded",
    "top_ranks": "top ranks skipped",
    "relative_margin": "too close to the positive (margin)",
}


def before_after_frame(evaluation: dict[str, Any]) -> pd.DataFrame:
    """``metric, before, after, delta`` rows in a fixed metric order."""
    before, after = evaluation.get("before") or {}, evaluation.get("after") or {}
    rows = [
        {"metric": m, "before": before[m], "after": after[m], "delta": after[m] - before[m]}
        for m in METRIC_ORDER
        if m in before and m in after
    ]
    return pd.DataFrame(rows, columns=["metric", "before", "after", "delta"])


def make_before_after_figure(df: pd.DataFrame, labels: dict[str, str] | None = None) -> go.Figure:
    """Grouped bars of each metric before and after; the 'after' bars are red where they dropped."""
    labels = labels or {}
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=df["metric"],
            y=df["before"],
            name=escape_plot(labels.get("before", "before")),
            marker_color="#9aa5b1",
        )
    )
    colors = ["#d62728" if d < 0 else "#2ca02c" for d in df["delta"]]
    fig.add_trace(
        go.Bar(
            x=df["metric"],
            y=df["after"],
            name=escape_plot(labels.get("after", "after")),
            marker_color=colors,
            text=[f"{d:+.3f}" for d in df["delta"]],
            textposition="outside",
        )
    )
    fig.update_layout(
        barmode="group",
        height=340,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        yaxis={"range": [0, 1.08], "title": "score"},
        legend={"orientation": "h", "y": -0.15},
        title="Before vs after (test split)",
    )
    return fig


def verdict_text(evaluation: dict[str, Any], method: str) -> tuple[str, str]:
    """``(level, message)``: level is ``error`` (worse), ``success`` (better) or ``warning`` (no change)."""
    b = evaluation["before"]["ndcg@10"]
    a = evaluation["after"]["ndcg@10"]
    d = a - b
    n = evaluation.get("queries", 0)
    worse, better = evaluation.get("queries_worse", 0), evaluation.get("queries_better", 0)
    p = evaluation.get("p_value")
    if p is None:
        sig = ""
    elif p != p:  # NaN: every query scored the same before and after, nothing to test
        sig = ", not testable: every query scored the same"
    else:
        sig = f", p = {p:.3g}"
    what = "reranker" if method == "cross-encoder" else "model"
    than = "the first stage alone" if method == "cross-encoder" else "the base model"
    verdict = evaluation.get("verdict")
    if verdict == "worse":
        return (
            "error",
            f"**HARMFUL — this {what} makes retrieval WORSE.** nDCG@10 {a:.3f} against {b:.3f} for {than} "
            f"({d:+.3f}{sig}); {worse} of {n} test queries got worse, {better} better. Do not use it"
            + (" as a reranker: keep the first stage alone." if method == "cross-encoder" else "."),
        )
    if verdict == "better":
        return (
            "success",
            f"**Better:** nDCG@10 {a:.3f} against {b:.3f} for {than} ({d:+.3f}{sig}); "
            f"{better} of {n} test queries improved, {worse} got worse.",
        )
    return "warning", f"**No real change:** nDCG@10 {a:.3f} against {b:.3f} for {than} ({d:+.3f}{sig})."


def review_frame(
    negatives: pd.DataFrame, query_text: dict[str, str], doc_text: dict[str, str], width: int = 220
) -> pd.DataFrame:
    """Mined negatives next to their query and positive, with a ``drop`` column for the reviewer."""

    def cut(text: str) -> str:
        return text if len(text) <= width else text[: width - 1] + "…"

    return pd.DataFrame(
        {
            "drop": False,
            "query": [cut(query_text.get(q, q)) for q in negatives["query_id"]],
            "positive": [cut(doc_text.get(d, d)) for d in negatives["positive_id"]],
            "negative": [cut(doc_text.get(d, d)) for d in negatives["doc_id"]],
            "rank": negatives["rank"].astype(int),
            "score": negatives["score"].round(3),
            "positive score": negatives["positive_score"].round(3),
            "source": negatives["source"],
            "query_id": negatives["query_id"],
            "doc_id": negatives["doc_id"],
        }
    )


# --------------------------------------------------------------------------------------------------
# Streamlit renderers
# --------------------------------------------------------------------------------------------------
def render_evaluation(evaluation: dict[str, Any], method: str, *, key: str) -> None:
    level, message = verdict_text(evaluation, method)
    getattr(st, level)(message, icon="🚨" if level == "error" else None)
    labels = evaluation.get("labels") or {}
    cols = st.columns(3)
    b, a = evaluation["before"]["ndcg@10"], evaluation["after"]["ndcg@10"]
    cols[0].metric(f"nDCG@10 · {escape_md(labels.get('before', 'before'))}", f"{b:.4f}")
    cols[1].metric(f"nDCG@10 · {escape_md(labels.get('after', 'after'))}", f"{a:.4f}", delta=f"{a - b:+.4f}")
    cols[2].metric(
        "Test queries better / worse",
        f"{evaluation.get('queries_better', 0)} / {evaluation.get('queries_worse', 0)}",
        help=f"of {evaluation.get('queries', 0)} queries on the {escape_md(evaluation.get('split', 'test'))} split",
    )
    df = before_after_frame(evaluation)
    st.plotly_chart(make_before_after_figure(df, labels), key=f"{key}_fig", width="stretch")
    st.dataframe(
        df.style.format({"before": "{:.4f}", "after": "{:.4f}", "delta": "{:+.4f}"}).map(
            lambda v: "color: #d62728; font-weight: bold" if isinstance(v, float) and v < 0 else "",
            subset=["delta"],
        ),
        hide_index=True,
        key=f"{key}_table",
    )
    for note in evaluation.get("notes") or []:
        st.caption(f"Note: {escape_md(note)}")


def render_mining_counts(summary: dict[str, Any], *, key: str) -> None:
    filtered = summary.get("filtered") or {}
    cols = st.columns(2 + len(RULE_LABELS))
    cols[0].metric("Negatives kept", f"{summary.get('negatives', 0):,}")
    cols[1].metric("Candidates looked at", f"{summary.get('candidates', 0):,}")
    for col, (rule, label) in zip(cols[2:], RULE_LABELS.items(), strict=True):
        col.metric(f"Filtered: {label}", f"{filtered.get(rule, 0):,}")
    extra = []
    if summary.get("queries_short_of_negatives"):
        extra.append(f"{summary['queries_short_of_negatives']} queries got fewer negatives than asked")
    if summary.get("dropped_in_review"):
        extra.append(f"{summary['dropped_in_review']} dropped in review")
    if extra:
        st.caption("; ".join(extra))


def dropped_pairs(edited: pd.DataFrame) -> list[list[str]]:
    """(query_id, doc_id) of the rows the reviewer ticked."""
    if edited is None or edited.empty:
        return []
    sel = edited[edited["drop"].astype(bool)]
    return [[str(q), str(d)] for q, d in zip(sel["query_id"], sel["doc_id"], strict=True)]


def methods_help() -> Sequence[str]:
    return (
        "**MLM / TSDAE** adapt the encoder to your corpus without labels; gains are usually small and can be "
        "negative — the before/after numbers tell.",
        "**Contrastive** fine-tunes the bi-encoder on your train-split judgements with mined hard negatives.",
        "**Cross-encoder** trains a reranker; with few training queries it often ranks worse than the first "
        "stage alone — the run page says so plainly.",
        "**SPLADE** fine-tunes a learned sparse model (SPLADE-tiny by default) on the same pairs; FLOPS "
        "regularisers keep its vectors sparse, and before/after compares it with the base SPLADE model.",
    )
