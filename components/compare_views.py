"""Tables, charts and widgets of the Compare page.

The ``*_frame`` / ``*_table`` helpers and the ``make_*_figure(df)`` builders are pure (a
:class:`core.evaluate.ComparisonReport` or pandas in, a DataFrame or plotly Figure out) and are
unit-tested without Streamlit; ``render_*`` functions draw with Streamlit.

A strategy with a warning (an untrained reranker head, a reranker that made the ranking worse) is drawn
in red with a ⚠ everywhere it appears: never hidden among the others.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.evaluate import format_trec_run

__all__ = [
    "METRIC_LABELS",
    "WARN_COLOR",
    "alpha_curve_frame",
    "cost_frame",
    "curves_frame",
    "display_name",
    "highlight_terms",
    "make_alpha_sweep_figure",
    "make_cost_figure",
    "make_metric_bars_figure",
    "make_rank_curves_figure",
    "make_win_loss_figure",
    "metrics_csv",
    "metrics_display_frame",
    "metrics_frame",
    "movement",
    "pareto_mask",
    "per_query_csv",
    "query_terms",
    "ranked_lists_frame",
    "relevance_badge",
    "render_curves_and_cost",
    "render_details",
    "render_downloads",
    "render_metrics",
    "render_ranked_lists",
    "render_warnings",
    "render_win_loss",
    "significance_marker",
    "strategy_colors",
    "trec_zip",
    "win_loss_frame",
    "win_loss_summary",
]

METRIC_LABELS: dict[str, str] = {
    "ndcg@10": "nDCG@10",
    "recall@10": "Recall@10",
    "recall@100": "Recall@100",
    "p@10": "P@10",
    "mrr@10": "MRR@10",
    "map@100": "MAP@100",
}
PALETTE = ("#4C78A8", "#F58518", "#54A24B", "#B279A2", "#72B7B2", "#9D755D", "#EECA3B", "#BAB0AC")
WARN_COLOR = "#D62728"
WIN_COLORS = {"a": "#54A24B", "b": "#F58518", "tie": "#BAB0AC"}
_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 60, "b": 10}, "height": 380}


# -- pure tables -------------------------------------------------------------------------------------
def _warned(report: Any) -> set[str]:
    return {name for name, res in report.strategies.items() if res.warnings}


def display_name(report: Any, name: str) -> str:
    """Strategy name as shown in charts: a ⚠ in front when the strategy has warnings."""
    return f"⚠ {name}" if report.strategies[name].warnings else name


def strategy_colors(names: Sequence[str], warned: Sequence[str] | set[str] = ()) -> dict[str, str]:
    """One stable colour per strategy; strategies with warnings are red."""
    out = {}
    for i, name in enumerate(names):
        out[name] = WARN_COLOR if name in warned else PALETTE[i % len(PALETTE)]
    return out


def significance_marker(p: float | None, delta: float) -> str:
    """``▲``/``▼`` (direction against the baseline) and ``*`` (p < 0.05) or ``**`` (p < 0.01);
    empty when there is no test (the baseline itself) or no difference."""
    if p is None or delta == 0:
        return ""
    arrow = "▲" if delta > 0 else "▼"
    stars = "**" if p < 0.01 else "*" if p < 0.05 else ""
    return arrow + stars


def metrics_frame(report: Any) -> pd.DataFrame:
    """One row per strategy: metrics, p-values against the baseline (``p(metric)``), latency, index
    time and the number of warnings (numbers, for CSV and charts)."""
    rows = []
    for row in report.metrics_table():
        row = dict(row)
        row["warnings"] = len(report.strategies[row["strategy"]].warnings)
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame


def metrics_display_frame(report: Any, metrics: Sequence[str] = tuple(METRIC_LABELS)) -> pd.DataFrame:
    """Metrics as text with significance markers against the baseline (see :func:`significance_marker`)."""
    base = report.strategies.get(report.baseline) if report.baseline else None
    rows = []
    for name, res in report.strategies.items():
        row: dict[str, Any] = {"strategy": display_name(report, name), "label": res.label}
        for key in metrics:
            value = res.metrics.get(key, float("nan"))
            p = report.p_values.get(name, {}).get(key)
            delta = value - base.metrics.get(key, 0.0) if base is not None and name != report.baseline else 0
            row[METRIC_LABELS.get(key, key)] = f"{value:.4f} {significance_marker(p, delta)}".rstrip()
        row["p50 ms"] = round(res.latency_ms_p50, 2)
        row["p95 ms"] = round(res.latency_ms_p95, 2)
        row["index s"] = round(res.index_s, 2)
        row["vs baseline"] = "baseline" if name == report.baseline else ""
        rows.append(row)
    return pd.DataFrame(rows)


def metrics_csv(report: Any) -> str:
    """The metrics table (numbers and p-values) as CSV text."""
    return metrics_frame(report).to_csv(index=False)


def per_query_csv(report: Any) -> str:
    """Per-query scores of every strategy as CSV (``strategy, query_id, metric columns``)."""
    rows = []
    for name, res in report.strategies.items():
        qids = sorted({q for scores in res.per_query.values() for q in scores})
        for q in qids:
            rows.append(
                {"strategy": name, "query_id": q, **{m: res.per_query[m].get(q) for m in res.per_query}}
            )
    return pd.DataFrame(rows).to_csv(index=False)


def trec_zip(report: Any) -> bytes:
    """A zip with one TREC run file per strategy (``<strategy>.trec``)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, res in report.strategies.items():
            zf.writestr(f"{_safe(name)}.trec", format_trec_run(res.run, name))
    return buf.getvalue()


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "run"


def curves_frame(report: Any) -> pd.DataFrame:
    """Long table ``strategy, k, recall, precision`` of the rank curves."""
    parts = []
    for name, res in report.strategies.items():
        curves = res.curves or {}
        if not curves.get("k"):
            continue
        parts.append(
            pd.DataFrame(
                {
                    "strategy": name,
                    "k": curves["k"],
                    "recall": curves["recall"],
                    "precision": curves["precision"],
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=["strategy", "k", "recall", "precision"])
    return pd.concat(parts, ignore_index=True)


def win_loss_frame(
    report: Any, a: str, b: str, metric: str = "ndcg@10", queries: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Per query: the score of ``a`` and of ``b`` on ``metric``, ``delta = a - b`` and the ``winner``
    (``a``, ``b`` or ``tie``), biggest wins of ``a`` first."""
    pa = report.strategies[a].per_query.get(metric, {})
    pb = report.strategies[b].per_query.get(metric, {})
    qids = list(dict.fromkeys([*pa, *pb]))
    frame = pd.DataFrame(
        {
            "query_id": qids,
            "query": [(queries or {}).get(q, "") for q in qids],
            a if a != b else f"{a} (a)": [float(pa.get(q, 0.0)) for q in qids],
            b if a != b else f"{b} (b)": [float(pb.get(q, 0.0)) for q in qids],
        }
    )
    delta = [float(pa.get(q, 0.0)) - float(pb.get(q, 0.0)) for q in qids]
    frame["delta"] = delta
    frame["winner"] = ["a" if d > 1e-9 else "b" if d < -1e-9 else "tie" for d in delta]
    return frame.sort_values(["delta", "query_id"], ascending=[False, True]).reset_index(drop=True)


def win_loss_summary(frame: pd.DataFrame) -> dict[str, int]:
    """How many queries each side wins, and ties."""
    counts = frame["winner"].value_counts()
    return {k: int(counts.get(k, 0)) for k in ("a", "b", "tie")}


def pareto_mask(latency: Sequence[float], quality: Sequence[float]) -> list[bool]:
    """True for points no other point beats on both axes (lower latency and higher quality)."""
    pts = list(zip(latency, quality, strict=True))
    out = []
    for i, (lx, qy) in enumerate(pts):
        dominated = any(
            (ox <= lx and oy >= qy) and (ox < lx or oy > qy) for j, (ox, oy) in enumerate(pts) if j != i
        )
        out.append(not dominated)
    return out


def cost_frame(report: Any, metric: str = "ndcg@10") -> pd.DataFrame:
    """Per strategy: ``quality`` (metric), latency p50 / p95, index time, warnings, and ``frontier``
    (on the cost frontier: nothing is both faster and better)."""
    rows = [
        {
            "strategy": name,
            "label": res.label,
            "quality": res.metrics.get(metric, 0.0),
            "latency_ms_p50": res.latency_ms_p50,
            "latency_ms_p95": res.latency_ms_p95,
            "index_s": res.index_s,
            "warned": bool(res.warnings),
        }
        for name, res in report.strategies.items()
    ]
    frame = pd.DataFrame(
        rows,
        columns=["strategy", "label", "quality", "latency_ms_p50", "latency_ms_p95", "index_s", "warned"],
    )
    frame["frontier"] = pareto_mask(frame["latency_ms_p50"].tolist(), frame["quality"].tolist())
    return frame


def alpha_curve_frame(report: Any) -> dict[str, pd.DataFrame]:
    """``{strategy: DataFrame(alpha, score)}`` for strategies whose alpha was tuned."""
    out = {}
    for name, res in report.strategies.items():
        curve = (res.extra or {}).get("alpha_curve")
        if curve:
            out[name] = pd.DataFrame(curve, columns=["alpha", "score"])
    return out


def movement(rank: int, reference_rank: int | None) -> str:
    """How a document moved against the reference column: ``↑3``, ``↓2``, ``=`` or ``new``."""
    if reference_rank is None:
        return "new"
    if rank == reference_rank:
        return "="
    return f"↑{reference_rank - rank}" if rank < reference_rank else f"↓{rank - reference_rank}"


def ranked_lists_frame(
    lists: Mapping[str, Sequence[tuple[str, float]]], qrels: Mapping[str, int], reference: str
) -> pd.DataFrame:
    """Long table ``strategy, rank, doc_id, score, relevance, move`` of the ranked lists of one query.
    ``relevance`` is the qrels grade (None: not judged); ``move`` is :func:`movement` against the
    ``reference`` strategy's list."""
    ref_rank = {doc: r for r, (doc, _) in enumerate(lists.get(reference, []), start=1)}
    rows = []
    for name, ranked in lists.items():
        for rank, (doc, score) in enumerate(ranked, start=1):
            rows.append(
                {
                    "strategy": name,
                    "rank": rank,
                    "doc_id": doc,
                    "score": float(score),
                    "relevance": qrels.get(doc),
                    "move": "" if name == reference else movement(rank, ref_rank.get(doc)),
                }
            )
    return pd.DataFrame(rows, columns=["strategy", "rank", "doc_id", "score", "relevance", "move"])


def relevance_badge(grade: Any) -> str:
    """A small coloured HTML badge for a qrels grade: green ``rel N``, red ``not rel``, grey ``unjudged``."""
    if grade is None or pd.isna(grade):
        color, text = "#9e9e9e", "unjudged"
    elif grade > 0:
        color, text = "#2e7d32", f"rel {int(grade)}"
    else:
        color, text = WARN_COLOR, "not rel"
    return (
        f"<span style='background:{color};color:white;border-radius:4px;padding:0 5px;"
        f"font-size:0.85em'>{text}</span>"
    )


_WORD = re.compile(r"\w+", re.UNICODE)


def _stem_fn():  # type: ignore[no-untyped-def]
    try:
        import Stemmer

        return Stemmer.Stemmer("english").stemWord
    except ImportError:  # pragma: no cover - PyStemmer is a requirement
        return lambda w: w


def query_terms(query: str) -> set[str]:
    """Stems of the query's words, stop-words and one-letter words left out."""
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    stem = _stem_fn()
    stop = set(STOPWORDS_EN_PLUS)
    return {stem(w) for w in (m.lower() for m in _WORD.findall(query)) if len(w) > 1 and w not in stop}


def highlight_terms(text: str, query: str, *, max_chars: int = 320) -> str:
    """HTML snippet of ``text`` (escaped) around the first query term, with every word sharing a stem
    with the query wrapped in ``<mark>``."""
    terms = query_terms(query)
    stem = _stem_fn()
    matches = [m for m in _WORD.finditer(text) if stem(m.group().lower()) in terms]
    start = 0
    if len(text) > max_chars and matches:
        start = max(0, matches[0].start() - max_chars // 4)
        # begin at a word boundary
        space = text.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and start > 0 else start
    end = min(len(text), start + max_chars)
    parts, pos = [], start
    for m in matches:
        if m.start() < start or m.end() > end:
            continue
        parts.append(html.escape(text[pos : m.start()]))
        parts.append(f"<mark>{html.escape(m.group())}</mark>")
        pos = m.end()
    parts.append(html.escape(text[pos:end]))
    return ("… " if start > 0 else "") + "".join(parts) + (" …" if end < len(text) else "")


# -- pure figures ------------------------------------------------------------------------------------
def make_metric_bars_figure(
    frame: pd.DataFrame, metrics: Sequence[str] = tuple(METRIC_LABELS), *, colors: Mapping[str, str]
) -> go.Figure:
    """Grouped bars: one group per metric, one bar per strategy (from :func:`metrics_frame`); strategies
    with warnings are red and marked ⚠, significant differences against the baseline are starred."""
    fig = go.Figure()
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
                name=("⚠ " if warned else "") + name,
                marker_color=colors.get(name, PALETTE[0]),
                marker_pattern_shape="x" if warned else "",
                text=texts,
                textposition="outside",
                hovertemplate=f"{row['label']}<br>%{{x}} = %{{y:.4f}}<extra></extra>",
            )
        )
    fig.update_layout(
        title="Quality per metric (* p<0.05 against the baseline)",
        barmode="group",
        yaxis={"title": "score", "range": [0, 1.08]},
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
                    name=name,
                    legendgroup=name,
                    showlegend=col == 1,
                    line={"color": color, "dash": dash},
                    hovertemplate=f"{name}<br>{what}@%{{x}} = %{{y:.3f}}<extra></extra>",
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
                name=f"{name} better" if side != "tie" else "tie",
                marker_color=WIN_COLORS[side],
                customdata=list(zip(sub["query_id"], sub["query"].str.slice(0, 90), strict=True)),
                hovertemplate="query %{customdata[0]}<br>%{customdata[1]}<br>Δ = %{y:+.3f}<extra></extra>",
            )
        )
    fig.update_layout(
        title=f"{label}: {a} wins {s['a']}, {b} wins {s['b']}, {s['tie']} ties",
        xaxis={"title": "queries, sorted by difference", "showticklabels": False},
        yaxis={"title": f"{label} of {a} − {b}"},
        bargap=0,
        legend={"orientation": "h", "y": -0.15},
        **_LAYOUT,
    )
    return fig


def make_cost_figure(frame: pd.DataFrame, *, colors: Mapping[str, str], metric: str = "ndcg@10") -> go.Figure:
    """Quality against median query latency (log scale), the cost frontier drawn as a line; strategies
    with warnings are red crosses (from :func:`cost_frame`)."""
    fig = go.Figure()
    front = frame[frame["frontier"]].sort_values("latency_ms_p50")
    if len(front) > 1:
        fig.add_trace(
            go.Scatter(
                x=front["latency_ms_p50"],
                y=front["quality"],
                mode="lines",
                line={"color": "#888", "dash": "dash"},
                name="cost frontier",
                hoverinfo="skip",
            )
        )
    for _, row in frame.iterrows():
        warned = bool(row["warned"])
        fig.add_trace(
            go.Scatter(
                x=[max(row["latency_ms_p50"], 1e-3)],
                y=[row["quality"]],
                mode="markers+text",
                name=("⚠ " if warned else "") + row["strategy"],
                text=[("⚠ " if warned else "") + row["strategy"]],
                textposition="top center",
                marker={
                    "size": 16,
                    "color": colors.get(row["strategy"], PALETTE[0]),
                    "symbol": "x" if warned else ("star" if row["frontier"] else "circle"),
                    "line": {"width": 1, "color": "#333"},
                },
                hovertemplate=(
                    f"{row['label']}<br>{METRIC_LABELS.get(metric, metric)} %{{y:.4f}}<br>"
                    f"p50 %{{x:.2f}} ms · p95 {row['latency_ms_p95']:.2f} ms<br>index {row['index_s']:.1f} s"
                    "<extra></extra>"
                ),
            )
        )
    fig.update_layout(
        title="Quality vs latency (★ on the cost frontier)",
        xaxis={"title": "median latency per query (ms, log)", "type": "log"},
        yaxis={"title": METRIC_LABELS.get(metric, metric)},
        showlegend=False,
        **_LAYOUT,
    )
    return fig


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
        title=f"Alpha sweep on {split} (0 = BM25 only, 1 = dense only)",
        xaxis={"title": "alpha (dense weight)", "range": [-0.02, 1.02]},
        yaxis={"title": "nDCG@10"},
        showlegend=False,
        **_LAYOUT,
    )
    return fig


# -- Streamlit widgets -------------------------------------------------------------------------------
def render_warnings(report: Any) -> None:
    """Every strategy warning as a red box, and notes as captions."""
    import streamlit as st

    for name, res in report.strategies.items():
        for warning in res.warnings:
            st.error(f"**⚠ {name}** — {warning}", icon=":material/warning:")


def render_metrics(report: Any, *, key: str) -> None:
    """Metrics table with significance markers, p-values, and the bar chart."""
    import streamlit as st

    names = list(report.strategies)
    colors = strategy_colors(names, _warned(report))
    st.dataframe(metrics_display_frame(report), hide_index=True, key=f"{key}_table")
    st.caption(
        f"▲/▼: better / worse than the baseline **{report.baseline}**; * p<0.05, ** p<0.01 "
        f"({report.stat_test} paired test over {report.queries} queries)."
    )
    notes = [f"**{name}**: {note}" for name, res in report.strategies.items() for note in res.notes]
    if notes:
        st.caption(" · ".join(notes) + " (curves and settings under Details)")
    frame = metrics_frame(report)
    pcols = [c for c in frame.columns if c.startswith("p(")]
    if pcols:
        with st.expander("p-values against the baseline"):
            st.dataframe(frame[["strategy", *pcols]], hide_index=True, key=f"{key}_p")
    st.plotly_chart(make_metric_bars_figure(frame, colors=colors), key=f"{key}_bars")


def render_curves_and_cost(report: Any, *, key: str) -> None:
    import streamlit as st

    colors = strategy_colors(list(report.strategies), _warned(report))
    st.plotly_chart(make_rank_curves_figure(curves_frame(report), colors=colors), key=f"{key}_curves")
    cost = cost_frame(report)
    st.plotly_chart(make_cost_figure(cost, colors=colors), key=f"{key}_cost")
    front = ", ".join(cost.loc[cost["frontier"], "strategy"])
    st.caption(
        f"On the cost frontier: **{front}** — no other strategy is both faster and better. Index build "
        "time (encoding included; 0 when the vectors came from the cache) is in the table above."
    )


def render_win_loss(report: Any, queries: Mapping[str, str], *, key: str) -> None:
    """Two strategies and a metric → per-query differences, biggest wins of each side."""
    import streamlit as st

    names = list(report.strategies)
    if len(names) < 2:
        st.info("Run at least two strategies to compare them query by query.")
        return
    c1, c2, c3 = st.columns(3)
    a = c1.selectbox("Strategy A", names, index=len(names) - 1, key=f"{key}_a")
    b = c2.selectbox("Strategy B", names, index=0, key=f"{key}_b")
    metric = c3.selectbox("Metric", list(METRIC_LABELS), format_func=METRIC_LABELS.get, key=f"{key}_metric")
    if a == b:
        st.info("Pick two different strategies.")
        return
    frame = win_loss_frame(report, a, b, metric, queries)
    st.plotly_chart(make_win_loss_figure(frame, a, b, metric), key=f"{key}_fig")
    cols = ["query_id", "delta", a, b, "query"]  # numbers before the (long) query text
    left, right = st.columns(2)
    left.markdown(f"**Queries {a} wins most**")
    left.dataframe(frame[frame["winner"] == "a"][cols].head(10), hide_index=True, key=f"{key}_wins_a")
    right.markdown(f"**Queries {b} wins most**")
    right.dataframe(
        frame[frame["winner"] == "b"].sort_values("delta")[cols].head(10),
        hide_index=True,
        key=f"{key}_wins_b",
    )


def render_details(report: Any, *, key: str) -> None:
    """Per strategy: its full settings, notes, alpha sweep, HNSW recall, reranker against first stage."""
    import streamlit as st

    curves = alpha_curve_frame(report)
    for name, res in report.strategies.items():
        extra = res.extra or {}
        with st.container(border=True):
            st.markdown(f"**{display_name(report, name)}** — {res.label}")
            for note in res.notes:
                st.caption(note)
            if "hnsw_recall@10" in extra:
                st.metric("HNSW recall@10 against the exact index", f"{extra['hnsw_recall@10']:.1%}")
            if "first_stage_metrics" in extra:
                first = extra["first_stage_metrics"].get("ndcg@10", 0.0)
                delta = res.metrics.get("ndcg@10", 0.0) - first
                st.metric(
                    f"nDCG@10 after reranking (vs {extra.get('first_stage_label', 'first stage')} alone)",
                    f"{res.metrics.get('ndcg@10', 0.0):.4f}",
                    f"{delta:+.4f}",
                )
                if not extra.get("head_trained", True):
                    st.error("This reranker's classification head is untrained: its scores are random.")
            if name in curves:
                st.plotly_chart(
                    make_alpha_sweep_figure(
                        curves[name], chosen=extra.get("tuned_alpha"), split=extra.get("tune_split", "train")
                    ),
                    key=f"{key}_alpha_{name}",
                )
            with st.expander("settings"):
                st.json(res.spec, expanded=False)


def render_ranked_lists(
    lists: Mapping[str, Sequence[tuple[str, float]]],
    qrels: Mapping[str, int],
    docs: Mapping[str, tuple[str, str]],
    query: str,
    reference: str,
    *,
    warned: set[str] | None = None,
    key: str,
) -> None:
    """One column per strategy: rank, score, relevance mark, movement against ``reference``, title and a
    snippet with the query's terms highlighted."""
    import streamlit as st

    frame = ranked_lists_frame(lists, qrels, reference)
    names = list(lists)
    if not names:
        st.info("No results.")
        return
    judged = bool(qrels)
    st.caption(
        "Relevance from the qrels: **rel N** relevant with grade N, **not rel** judged not relevant, "
        "**unjudged** not in the qrels. "
        f"Moves are against **{reference}**: ↑ higher, ↓ lower, **new** = not in its list."
        if judged
        else f"Free-text query: no relevance judgements. Moves are against **{reference}**."
    )
    cols = st.columns(len(names))
    for col, name in zip(cols, names, strict=True):
        sub = frame[frame["strategy"] == name]
        with col:
            head = f"**{'⚠ ' if warned and name in warned else ''}{name}**"
            if name != reference:
                moved = int((sub["move"] != "=").sum())
                head += f"  \n{moved} of {len(sub)} moved"
            st.markdown(head)
            for _, row in sub.iterrows():
                title, text = docs.get(row["doc_id"], ("", ""))
                mark = relevance_badge(row["relevance"])
                move = row["move"]
                move_html = f" <b>{html.escape(move)}</b>" if move and move != "=" else ""
                body = highlight_terms(text, query, max_chars=220)
                title_html = (
                    highlight_terms(title, query, max_chars=120) if title else html.escape(row["doc_id"])
                )
                st.markdown(
                    f"<div style='font-size:0.85em;margin-bottom:0.6em'>"
                    f"<b>#{row['rank']}</b> {mark} <code>{row['score']:.3f}</code>{move_html}<br>"
                    f"<b>{title_html}</b> <span style='color:#888'>[{html.escape(row['doc_id'])}]</span><br>"
                    f"{body}</div>",
                    unsafe_allow_html=True,
                )


def render_downloads(report: Any, *, key: str) -> None:
    """Metrics CSV, per-query CSV, and TREC run files (one per strategy, or all in a zip)."""
    import streamlit as st

    stem = _safe(f"{report.dataset}-{report.split}")
    c1, c2, c3 = st.columns(3)
    c1.download_button(
        "Metrics (CSV)", metrics_csv(report), f"{stem}-metrics.csv", "text/csv", key=f"{key}_csv"
    )
    c2.download_button(
        "Per-query scores (CSV)", per_query_csv(report), f"{stem}-per-query.csv", "text/csv", key=f"{key}_pq"
    )
    c3.download_button(
        "All TREC runs (zip)", trec_zip(report), f"{stem}-runs.zip", "application/zip", key=f"{key}_zip"
    )
    cols = st.columns(min(4, max(1, len(report.strategies))))
    for i, (name, res) in enumerate(report.strategies.items()):
        cols[i % len(cols)].download_button(
            f"{name}.trec",
            format_trec_run(res.run, name),
            f"{stem}-{_safe(name)}.trec",
            "text/plain",
            key=f"{key}_trec_{_safe(name)}",
        )
