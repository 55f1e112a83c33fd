"""Encoding-backend widgets: a backend picker that says why a backend cannot run here, the ETA of a
corpus encode with a faster backend offered when it is long, the truncation share of a max length,
and the quality-guard table (nDCG@10 of each backend next to torch fp32).

``backend_label``, ``backend_quality_table`` and ``make_backend_quality_figure`` are pure and
unit-tested without Streamlit; ``render_*`` functions draw with Streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components import services
from components.text import escape_md, escape_plot
from core.encoding import AUTO, AUTO_DESCRIPTION, BackendStatus, format_duration

__all__ = [
    "DEFAULT_BACKEND_KEY",
    "ETA_THRESHOLD_S",
    "auto_choice_lines",
    "backend_label",
    "backend_quality_table",
    "faster_backend",
    "make_backend_quality_figure",
    "render_backend_picker",
    "render_backend_quality",
    "render_backend_quality_picker",
    "render_encode_estimate",
    "render_encoding_options",
    "render_truncation",
    "with_auto",
]

DEFAULT_BACKEND_KEY = "encode_backend"  # the sidebar setting other pickers start from
ETA_THRESHOLD_S = 60.0  # above this, the estimate offers a faster backend
ETA_MIN_DOCS = 1000  # smaller corpora encode in moments: no timed sample
_FASTER = ("bf16", "onnx-int8", "onnx")  # measured order on AVX512-BF16 CPUs (bench/encode.py)


def with_auto(statuses: Sequence[Any]) -> list[Any]:
    """``statuses`` with ``auto`` first (the default: the fastest backend that passes the parity check)."""
    rest = [s for s in statuses if s.backend != AUTO]
    return [BackendStatus(AUTO, True, AUTO_DESCRIPTION), *rest]


def auto_choice_lines(choice: Any) -> list[str]:
    """Sidebar lines of one remembered choice: the model, what auto runs with the check's numbers, and
    every backend that failed the check with its reason (markdown-escaped)."""
    head = f"**{escape_md(choice.model or choice.model_fingerprint[:12])}** → {escape_md(choice.summary)}"
    lines = [head]
    if choice.passages:
        lines.append(
            f"checked on {choice.passages} passages and {choice.queries} pseudo-queries of your corpus: "
            + "; ".join(escape_md(c.text) for c in choice.checks if c.backend != "torch")
        )
    lines += [f":material/block: not picked — {escape_md(r)}" for r in choice.rejected]
    return lines


def backend_label(status: Any) -> str:
    """Option text: ``bf16`` or ``bf16 — unavailable: <reason>``."""
    if status.available:
        return status.backend
    return f"{status.backend} — unavailable: {status.reason}"


def faster_backend(statuses: Sequence[Any], current: str) -> str | None:
    """The backend to offer instead of ``current`` when an encode is long (None: nothing faster)."""
    if current != "torch":
        return None
    available = {s.backend for s in statuses if s.available}
    return next((b for b in _FASTER if b in available), None)


def render_backend_picker(
    *, key: str, label: str = "Encoding backend", statuses: Sequence[Any] | None = None
) -> str:
    """A select box of the backends (unavailable ones named with their reason). Returns the backend to
    use: the choice, or ``torch`` when the choice cannot run here (and says so). The first choice is the
    sidebar's default backend."""
    statuses = with_auto(statuses if statuses is not None else services.backend_statuses())
    by_name = {s.backend: s for s in statuses}
    names = list(by_name)
    if key not in st.session_state:
        default = st.session_state.get(DEFAULT_BACKEND_KEY, AUTO)
        st.session_state[key] = default if default in by_name else names[0]
    choice = st.selectbox(
        label,
        names,
        format_func=lambda b: backend_label(by_name[b]),
        key=key,
        help="\n\n".join(f"**{escape_md(s.backend)}**: {escape_md(s.description)}" for s in statuses),
    )
    status = by_name[choice]
    if not status.available:
        st.warning(
            f"{escape_md(choice)} cannot run here: {escape_md(status.reason)}. Using torch instead.",
            icon=":material/warning:",
        )
        return "torch"
    if status.note:
        st.caption(escape_md(status.note))
    return choice


def render_encode_estimate(
    dataset: str,
    model: str,
    backend: str,
    *,
    picker_key: str,
    key: str,
    max_seq_length: int | None = None,
    threshold_s: float | None = None,
) -> None:
    """Before a comparison: how long encoding the corpus of ``dataset`` will take (timed on a sample),
    or that its vectors are cached; above ``threshold_s`` a button switches ``picker_key`` to a faster
    backend (with its own measured estimate)."""
    if services.corpus_cached(dataset, model, backend, max_seq_length):
        st.caption(
            f"Corpus vectors for {escape_md(model)} on {escape_md(backend)} are cached: no encoding needed."
        )
        return
    if not st.toggle("Estimate the encoding time", value=True, key=f"{key}_on"):
        return
    with st.spinner("Timing a sample…"):
        est = services.encode_estimate(dataset, model, backend, max_seq_length)
    threshold_s = ETA_THRESHOLD_S if threshold_s is None else threshold_s
    text = (
        f"Encoding {est.texts:,} documents with **{escape_md(backend)}**: ~{format_duration(est.seconds)} "
        f"({est.rate:,.1f}/s)"
    )
    if est.seconds <= threshold_s:
        st.caption(text)
        return
    st.info(text, icon=":material/schedule:")
    other = faster_backend(services.backend_statuses(), backend)
    if other is None:
        return
    fast = services.encode_estimate(dataset, model, other, max_seq_length)
    st.button(
        f"Use {other} instead (~{format_duration(fast.seconds)})",
        key=f"{key}_switch",
        on_click=lambda: st.session_state.__setitem__(picker_key, other),
        help="Check its quality: tick it under 'Also measure the dense strategy with'.",
    )


def render_encoding_options(
    dataset: str, model: str, *, key: str, estimate: bool = True
) -> tuple[str, int | None, list[str]]:
    """The dense options of a comparison: backend (with the ETA of the corpus encode when it is large),
    an optional cap on tokens per passage (with the share of documents it cuts), and extra backends to
    measure next to it. Returns ``(backend, max_seq_length or None, extra backends)``."""
    backend = render_backend_picker(key=f"{key}_backend")
    max_len = None
    if st.toggle(
        "Cap tokens per passage",
        key=f"{key}_cap",
        help="Shorter inputs encode faster; longer "
        "documents lose their end. The share of documents cut is shown.",
    ):
        max_len = int(st.number_input("Max tokens", 16, 8192, 256, 16, key=f"{key}_msl"))
        render_truncation(dataset, model, max_len, key=f"{key}_trunc")
    if estimate and services.dataset_size(dataset) >= ETA_MIN_DOCS:
        render_encode_estimate(
            dataset, model, backend, picker_key=f"{key}_backend", key=f"{key}_eta", max_seq_length=max_len
        )
    extra = render_backend_quality_picker(backend, key=f"{key}_check")
    return backend, max_len, extra


def render_truncation(dataset: str, model: str, max_seq_length: int, *, key: str) -> None:
    """The share of documents longer than ``max_seq_length`` tokens (their end is not encoded)."""
    stats = services.truncation(dataset, model, max_seq_length)
    text = (
        f"{stats.share:.0%} of documents are longer than {max_seq_length} tokens and get cut "
        f"(median {stats.p50_tokens:.0f}, 95th percentile {stats.p95_tokens:.0f} tokens"
        + (f", {stats.checked:,} sampled" if stats.checked < services.dataset_size(dataset) else "")
        + ")."
    )
    st.caption(text)


def render_backend_quality_picker(
    backend: str, *, key: str, statuses: Sequence[Any] | None = None
) -> list[str]:
    """Extra backends to evaluate the dense strategy with, next to ``backend`` (quality guard)."""
    statuses = list(statuses if statuses is not None else services.backend_statuses())
    others = [s.backend for s in statuses if s.available and s.backend != backend]
    return st.multiselect(
        "Also measure the dense strategy with",
        others,
        key=key,
        help="Each adds a dense strategy on that backend to the comparison, so nDCG@10 of each backend "
        "shows next to the others on the same queries (the Backends table under the results).",
    )


def backend_quality_table(report: Any) -> pd.DataFrame:
    """One row per dense strategy: model, backend, nDCG@10 and its difference (``Δ ndcg@10``) to the
    reference backend of the same model (torch fp32 when it is there, else the first one; named in
    ``df.attrs["reference"]``), encode seconds and whether the vectors came from the cache. Empty
    unless at least two backends were measured."""
    rows = []
    for name, res in report.strategies.items():
        spec = res.spec
        if spec.get("kind") != "dense":
            continue
        rows.append(
            {
                "strategy": name,
                "model": spec.get("model"),
                "backend": spec.get("backend", "torch"),
                "runs on": res.extra.get("backend", ""),
                "ndcg@10": res.metrics.get("ndcg@10"),
                "encode_s": None if res.extra.get("from_cache") else res.extra.get("encode_s"),
                "from_cache": bool(res.extra.get("from_cache")),
            }
        )
    df = pd.DataFrame(rows)
    if df.empty or df["backend"].nunique() < 2:
        return pd.DataFrame()
    reference = "torch" if "torch" in set(df["backend"]) else str(df["backend"].iloc[0])
    base = df[df["backend"] == reference].groupby("model")["ndcg@10"].first()
    df["Δ ndcg@10"] = [
        (row["ndcg@10"] - base[row["model"]]) if row["model"] in base.index else None
        for _, row in df.iterrows()
    ]
    df.attrs["reference"] = reference
    return df


def make_backend_quality_figure(df: pd.DataFrame) -> go.Figure:
    """nDCG@10 per backend (bars), torch fp32 first."""
    fig = go.Figure()
    if df.empty:
        return fig
    ref = df.attrs.get("reference", "torch")
    order = sorted(df.index, key=lambda i: (df.loc[i, "backend"] != ref, df.loc[i, "strategy"]))
    sub = df.loc[order]
    fig.add_bar(
        x=[escape_plot(name) for name in sub["strategy"]],
        y=sub["ndcg@10"],
        text=[f"{v:.4f}" for v in sub["ndcg@10"]],
        textposition="outside",
        marker_color=["#4C78A8" if b == df.attrs.get("reference") else "#F58518" for b in sub["backend"]],
        hovertext=[escape_plot(b) for b in sub["backend"]],
    )
    low = float(sub["ndcg@10"].min())
    fig.update_layout(
        title="nDCG@10 per encoding backend (same queries)",
        yaxis={
            "title": "nDCG@10",
            "range": [max(0.0, low - 0.05), min(1.0, float(sub["ndcg@10"].max()) + 0.03)],
        },
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        height=320,
    )
    return fig


def render_backend_quality(report: Any, *, key: str) -> None:
    """The quality-guard table and chart (nothing when the comparison has one backend only)."""
    df = backend_quality_table(report)
    if df.empty:
        return
    reference = df.attrs.get("reference", "torch")
    st.markdown(f"**Encoding backends**: nDCG@10 of each, and its difference to **{escape_md(reference)}**")
    st.dataframe(
        df,
        hide_index=True,
        key=f"{key}_table",
        column_config={
            "ndcg@10": st.column_config.NumberColumn(format="%.4f"),
            "Δ ndcg@10": st.column_config.NumberColumn(format="%+.4f"),
            "encode_s": st.column_config.NumberColumn("encode s", format="%.1f"),
        },
    )
    st.plotly_chart(make_backend_quality_figure(df), key=f"{key}_fig")
