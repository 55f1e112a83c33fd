"""Widgets and charts of the decision wizard.

``*_table`` functions and ``make_*_figure(df)`` builders are pure (data in, DataFrame / plotly Figure out)
and unit-tested without Streamlit; ``render_*`` functions draw with Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from components.text import code_md, escape_md, escape_plot, inert_md
from core.wizard import QUESTIONS, Question, decision_words

__all__ = [
    "VERDICT_ICON",
    "claims_table",
    "comparison_table",
    "decision_text",
    "make_cosine_dot_figure",
    "make_evidence_figure",
    "make_pca_figure",
    "pca_table",
    "render_card_preview",
    "render_evidence",
    "render_gotchas",
    "render_questions",
    "render_recommendation",
    "render_run_status",
]

VERDICT_ICON = {
    "agrees": "✅",
    "contradicts": "❌",
    "partly contradicts": "⚠️",
    "inconclusive": "❔",
    "not measured": "➖",
}
_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 50, "b": 10}, "height": 340}
_RED, _GREY, _GREEN, _ORANGE, _BLUE = "#d62728", "#9e9e9e", "#2ca02c", "#ff7f0e", "#1f77b4"


# -- pure tables and figures ---------------------------------------------------------------------
def comparison_table(comparison: Mapping[str, Any], recommended: str | None = None) -> pd.DataFrame:
    """One row per strategy of a verification comparison."""
    rows = []
    for name, s in (comparison.get("strategies") or {}).items():
        rows.append(
            {
                "strategy": name,
                "label": s.get("label", name),
                "ndcg@10": s["ndcg@10"],
                "recall@100": s.get("recall@100"),
                "latency_ms_p50": s["latency_ms_p50"],
                "latency_ms_p95": s["latency_ms_p95"],
                "recommended": name == recommended,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "strategy",
            "label",
            "ndcg@10",
            "recall@100",
            "latency_ms_p50",
            "latency_ms_p95",
            "recommended",
        ],
    )


def make_evidence_figure(df: pd.DataFrame, budget_ms: float | None = None) -> go.Figure:
    """nDCG@10 and p95 latency per strategy, the recommended one in red; the budget as a dashed line. Both
    axes start at 0 and leave room for the value labels (nothing clipped); the budget's label sits in the
    title of the latency panel, not over its line."""
    latency_title = "latency p95 (ms, this machine)"
    if budget_ms:
        latency_title += f" · budget {budget_ms:,.0f} ms (dashed)"
    fig = make_subplots(rows=1, cols=2, subplot_titles=("nDCG@10", latency_title), horizontal_spacing=0.12)
    colors = [_RED if r else _GREY for r in df["recommended"]] if len(df) else []
    shown = [escape_plot(name) for name in df["strategy"]]
    fig.add_bar(
        x=df["ndcg@10"],
        y=shown,
        orientation="h",
        marker_color=colors,
        text=[f"{v:.3f}" for v in df["ndcg@10"]],
        textposition="outside",
        cliponaxis=False,
        name="nDCG@10",
        row=1,
        col=1,
    )
    fig.add_bar(
        x=df["latency_ms_p95"],
        y=shown,
        orientation="h",
        marker_color=colors,
        text=[f"{v:,.0f} ms" for v in df["latency_ms_p95"]],
        textposition="outside",
        cliponaxis=False,
        name="p95 ms",
        row=1,
        col=2,
    )
    top_q = float(df["ndcg@10"].max()) if len(df) else 1.0
    top_ms = max([float(df["latency_ms_p95"].max()) if len(df) else 1.0, float(budget_ms or 0)])
    fig.update_xaxes(range=[0, min(1.0, top_q * 1.25) if top_q > 0 else 1.0], row=1, col=1)
    fig.update_xaxes(range=[0, top_ms * 1.3 if top_ms > 0 else 1.0], row=1, col=2)
    if budget_ms:
        fig.add_vline(x=budget_ms, line_dash="dash", line_color=_BLUE, row=1, col=2)
    layout = dict(_LAYOUT) | {"margin": {"l": 10, "r": 40, "t": 70, "b": 10}}
    fig.update_layout(**layout, showlegend=False, title="Verification: recommended strategy in red")
    return fig


def pca_table(rows: list[Mapping[str, Any]]) -> pd.DataFrame:
    """The PCA gotcha rows as a table."""
    cols = ["dim", "ndcg@10", "recall@10", "index_mb", "size_ratio", "quality_ratio", "explained_variance"]
    return pd.DataFrame([{c: r.get(c) for c in cols} for r in rows], columns=cols)


def make_pca_figure(df: pd.DataFrame) -> go.Figure:
    """nDCG@10 against index size, one point per dimension."""
    fig = go.Figure()
    fig.add_scatter(
        x=df["index_mb"],
        y=df["ndcg@10"],
        mode="lines+markers+text",
        text=[f"{d}-d" for d in df["dim"]],
        textposition="top center",
        marker_color=_GREEN,
        name="nDCG@10",
    )
    fig.update_layout(
        **_LAYOUT,
        title="Dimension reduction: quality vs index size (PCA fitted on corpus vectors)",
        xaxis_title="index size (MB, float32)",
        yaxis_title="nDCG@10",
    )
    top = float(df["ndcg@10"].max()) if len(df) else 1.0
    fig.update_yaxes(range=[0, min(1.0, top * 1.15) if top > 0 else 1.0])  # from 0: the drop at its true size
    fig.update_xaxes(rangemode="tozero")
    return fig


def make_cosine_dot_figure(df: pd.DataFrame) -> go.Figure:
    """nDCG@10 with cosine vs raw dot product (columns ``similarity``, ``ndcg@10``)."""
    fig = go.Figure()
    fig.add_bar(
        x=df["similarity"],
        y=df["ndcg@10"],
        marker_color=[_GREEN, _ORANGE][: len(df)],
        text=[f"{v:.3f}" for v in df["ndcg@10"]],
        textposition="outside",
    )
    fig.update_layout(**_LAYOUT, title="Cosine vs dot product on unnormalised vectors", yaxis_title="nDCG@10")
    return fig


def claims_table(evidence: Mapping[str, Any]) -> pd.DataFrame:
    """One row per claim: claim, verdict (with icon), detail, next step."""
    rows = [
        {
            "claim": c["claim"],
            "verdict": f"{VERDICT_ICON.get(c['verdict'], '')} {c['verdict']}",  # the word, not the icon alone
            "detail": c["detail"],
            "next step": c.get("next_step") if c["verdict"] != "agrees" else "",
        }
        for c in evidence.get("claims", [])
    ]
    return pd.DataFrame(rows, columns=["claim", "verdict", "detail", "next step"])


# -- rendering -------------------------------------------------------------------------------------
def _widget(q: Question, key: str) -> Any:
    if q.kind == "choice":
        return st.selectbox(q.label, q.choices, key=key, help=q.help)
    if q.kind == "bool":
        return st.checkbox(q.label, key=key, help=q.help)
    if q.kind == "int":
        return st.number_input(q.label, min_value=int(q.minimum or 0), step=1, key=key, help=q.help)
    return st.number_input(q.label, min_value=float(q.minimum or 0), key=key, help=q.help)


def render_questions(
    task: str, sources: Mapping[str, str], notes: Mapping[str, str], *, key: str
) -> dict[str, Any]:
    """The asked questions for ``task`` (values live in session state under ``{key}_{name}``); returns them."""
    values: dict[str, Any] = {}
    asked = [q for q in QUESTIONS if q.asked and (q.name == "task" or task in q.tasks)]
    cols = st.columns(3)
    for i, q in enumerate(asked):
        with cols[i % 3]:
            values[q.name] = _widget(q, f"{key}_{q.name}")
            src = sources.get(q.name, "default")
            note = notes.get(q.name, "")
            st.caption(
                f"*{escape_md(src)}*" + (f" — {escape_md(note)}" if note and src == "measured" else "")
            )
    return values


def decision_text(name: str, value: Any) -> str:
    """One decision in words (never a Python list or dict): :func:`core.wizard.decision_words`."""
    return decision_words(name, value)


def render_recommendation(rec: Mapping[str, Any], *, key: str) -> None:
    """The headline (what can be built here), what is not available, the decisions in words and the rules
    that fired; the warnings of the rules that decided something first."""
    for warning in rec.get("warnings", []):
        st.warning(escape_md(warning), icon=":material/warning:")
    st.subheader(escape_md(rec.get("headline") or rec["strategy"]))
    for line in rec.get("unavailable", []):
        st.info(escape_md(line), icon=":material/info:")
    if rec.get("headline") and rec["strategy"].lower() != rec["headline"].lower():
        st.caption(f"The rule table's full strategy: {escape_md(rec['strategy'])}")
    if rec.get("strategy_spec"):
        st.caption(
            f"As a strategy of the Compare page and `python -m core evaluate --strategies`: "
            f"{code_md(rec['strategy_spec'])}"
        )
    decisions = {
        "first stage": rec.get("first_stage"),
        "reranker": rec.get("reranker"),
        "adaptation": rec.get("adaptation"),
        "classifier": rec.get("classifier"),
        "index": rec.get("index"),
    }
    rows = [{"decision": name, "choice": decision_text(name, value)} for name, value in decisions.items()]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        key=f"{key}_decisions",
        column_config={"choice": st.column_config.TextColumn(width="large")},
    )
    st.markdown("**Why** — the rules that fired (★ decided something):")
    for r in rec.get("rationale", []):
        star = "★ " if r["decides"] else ""
        with st.expander(
            f"{star}{escape_md(r['title'])}  ·  {code_md(r['id'])}", expanded=bool(r["decides"])
        ):
            st.markdown(escape_md(r["rationale"]))  # rules fill in facts (numbers, model names)
            if r["decides"]:
                st.caption("decides: " + ", ".join(map(escape_md, r["decides"])))
            if r["overridden"]:
                st.caption("overridden: " + ", ".join(map(escape_md, r["overridden"])))
            if r["advice"]:
                st.info(escape_md(r["advice"]), icon=":material/lightbulb:")
    if rec.get("defaulted"):
        st.caption(
            "Defaulted (neither answered nor measured): " + ", ".join(map(escape_md, rec["defaulted"]))
        )


def render_run_status(run: Any, *, key: str) -> None:
    """The outcome of a finished job (done, or its error) and, for every job, its link on the Runs page;
    an active job's progress is :func:`components.job_panel.render_job_panel`."""
    label = f"{escape_md(run.title or run.kind)} — {run.status}"
    if run.status == "done":
        st.caption(f":material/check_circle: {label} (run {code_md(run.id)})")
    elif not run.is_active:
        st.error(f"{label}: {escape_md(run.error or 'no result')} (run {code_md(run.id)})")
    st.page_link("pages/runs.py", label=f"Run {run.id} on the Runs page", query_params={"run": run.id})


def render_evidence(evidence: Mapping[str, Any], budget_ms: float | None, *, key: str) -> None:
    """The verdict, the claims, the comparison chart and table."""
    verdict = evidence.get("verdict", "not measured")
    text = f"{VERDICT_ICON.get(verdict, '')} **{escape_md(evidence.get('summary', ''))}**"
    if verdict == "agrees":
        st.success(text)
    elif verdict in ("contradicts", "partly contradicts"):
        st.error(text)
    elif verdict == "inconclusive":
        st.warning(text)
    else:
        st.info(text)
    st.dataframe(  # the next steps are listed in full below the table, not cut off in a column
        claims_table(evidence),
        hide_index=True,
        key=f"{key}_claims",
        column_order=["claim", "verdict", "detail"],
        column_config={
            "claim": st.column_config.TextColumn(width="small"),
            "verdict": st.column_config.TextColumn(width="small"),
            "detail": st.column_config.TextColumn(width="large", help="hover a cell for the whole text"),
        },
    )
    if evidence.get("headline"):
        st.markdown(f"**What the evidence supports:** {escape_md(evidence['headline'])}")
    for line in evidence.get("unverified", []):
        st.caption(f"Not in it: {escape_md(line)}")
    for step in evidence.get("next_steps", []):
        st.markdown(f"- **Next:** {escape_md(step)}")
    if evidence.get("measured_in"):
        st.caption(escape_md(evidence["measured_in"]))
    for note in evidence.get("notes", []):
        st.caption(escape_md(note))
    comp = evidence.get("comparison")
    if comp:
        df = comparison_table(comp, evidence.get("recommended"))
        st.plotly_chart(make_evidence_figure(df, budget_ms), key=f"{key}_chart")
        st.caption(
            f"{comp['queries']} {escape_md(comp['split'])} queries of {escape_md(comp['dataset'])}; comparison run "
            f"{code_md(evidence.get('comparison_run'))}"
            + (" (reused)" if evidence.get("comparison_reused") else "")
        )
        if evidence.get("comparison_run"):
            st.page_link(
                "pages/runs.py",
                label="The comparison on the Runs page (also listed on Compare strategies)",
                query_params={"run": evidence["comparison_run"]},
                icon=":material/open_in_new:",
            )


def render_gotchas(g: Mapping[str, Any], *, key: str) -> None:
    """PCA trade-off, cosine vs dot, reranker latency."""
    st.markdown(f"**Dimension reduction** — PCA fitted on the {escape_md(g['dataset'])} corpus vectors")
    df = pca_table(g.get("pca") or [])
    if len(df):
        left, right = st.columns([3, 2])
        with left:
            st.plotly_chart(make_pca_figure(df), key=f"{key}_pca")
        with right:
            st.dataframe(df, hide_index=True, key=f"{key}_pca_table")
            best = df.iloc[1] if len(df) > 1 else None
            if best is not None:
                st.caption(
                    f"{int(best['dim'])}-d keeps {best['quality_ratio']:.1%} of nDCG@10 at "
                    f"{best['size_ratio']:.0%} of the index size."
                )
    cvd = g.get("cosine_vs_dot")
    if cvd:
        st.markdown("**Cosine vs dot product** on unnormalised vectors")
        left, right = st.columns([3, 2])
        with left:
            frame = pd.DataFrame(
                {
                    "similarity": ["cosine", "dot (unnormalised)"],
                    "ndcg@10": [cvd["cosine_ndcg@10"], cvd["dot_ndcg@10"]],
                }
            )
            st.plotly_chart(make_cosine_dot_figure(frame), key=f"{key}_cvd")
        with right:
            st.metric("nDCG@10 change with dot product", f"{cvd['dot_ndcg@10']:.4f}", f"{cvd['delta']:+.4f}")
            st.caption(
                f"On {escape_md(cvd['corpus'])}. Document norms vary by {cvd['norm_cv']:.1%} "
                f"({cvd['norm_min']:.2f}–{cvd['norm_max']:.2f}); the top 10 agree {cvd['top10_agreement']:.0%}. "
                + (
                    "The model normalises its output: keep that layer (or normalise) and dot = cosine."
                    if cvd.get("model_normalises")
                    else "The model does not normalise: normalise before an inner-product index."
                )
            )
    lat = g.get("reranker_latency")
    if lat:
        st.markdown(f"**Reranker latency** at k={lat['k']}")
        if lat.get("measured"):
            c1, c2, c3 = st.columns(3)
            c1.metric("p50 per query", f"{lat['p50_ms']:,.0f} ms")
            c2.metric("p95 per query", f"{lat['p95_ms']:,.0f} ms")
            c3.metric("per pair", f"{lat['ms_per_pair']:,.1f} ms")
            st.caption(escape_md(lat["note"]))
        else:
            st.info(escape_md(lat["note"][0].upper() + lat["note"][1:] + "."), icon=":material/timer_off:")


def render_card_preview(markdown: str, charts: Mapping[str, bytes], *, key: str) -> None:
    """The card's Markdown (image lines dropped; no link, image or HTML its dataset, model or label names
    could hold: :func:`components.text.inert_md`) followed by its chart images."""
    lines = []
    for line in markdown.splitlines():
        if line.startswith("!["):
            continue
        lines.append("##" + line if line.startswith("#") else line)  # headings two levels down
    text = inert_md("\n".join(lines))
    with st.container(border=True, key=f"{key}_card"):
        st.markdown(text)
        for name, data in charts.items():
            st.image(data, caption=name)
