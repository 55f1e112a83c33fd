"""Pure tables of the Compare page: a :class:`core.evaluate.ComparisonReport` in, a DataFrame out (metrics
with significance markers, the spectrum of costs — encode speed, latency, index size and the ratios against dense
float32 exact, from :func:`core.evaluate.spectrum_rows` as the CLI prints them —, rank curves, per-query wins
and losses, the cost frontier, alpha sweeps), and the colours every chart of a comparison shares.

A strategy with a warning (an untrained reranker head, a reranker that made the ranking worse) is drawn
in red with a ⚠ everywhere it appears: never hidden among the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from core.evaluate import spectrum_rows

__all__ = [
    "ENCODE_LABELS",
    "METRIC_LABELS",
    "PALETTE",
    "WARN_COLOR",
    "WIN_COLORS",
    "alpha_curve_frame",
    "cost_frame",
    "curves_frame",
    "display_name",
    "metrics_display_frame",
    "metrics_frame",
    "pareto_mask",
    "significance_marker",
    "spectrum_display_frame",
    "strategy_colors",
    "warned_names",
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


def warned_names(report: Any) -> set[str]:
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
    """Metrics as text with significance markers against the baseline (see :func:`significance_marker`); the
    costs (latency, index) are in :func:`spectrum_display_frame`."""
    base = report.strategies.get(report.baseline) if report.baseline else None
    rows = []
    for name, res in report.strategies.items():
        row: dict[str, Any] = {"strategy": display_name(report, name), "label": res.label}
        for key in metrics:
            value = res.metrics.get(key, float("nan"))
            p = report.p_values.get(name, {}).get(key)
            delta = value - base.metrics.get(key, 0.0) if base is not None and name != report.baseline else 0
            row[METRIC_LABELS.get(key, key)] = f"{value:.4f} {significance_marker(p, delta)}".rstrip()
        row["vs baseline"] = "baseline" if name == report.baseline else ""
        rows.append(row)
    return pd.DataFrame(rows)


ENCODE_LABELS = {"cached": "cached", "none": "—"}  # encode rate unknown: vectors from the cache, no model


def _times(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}x"


def spectrum_display_frame(report: Any) -> pd.DataFrame:
    """One row per strategy: family, nDCG@10 and Recall@100 (the metrics table's numbers), encode passages/s
    (text: ``cached`` when the vectors came from the cache, ``—`` without a model), latency p50 / p95 and
    index build seconds, index MB and bytes per vector, and against the dense float32 exact baseline
    (``baseline`` in its row): nDCG@10 kept, × smaller index, × faster corpus encode — each ratio beside the
    number it compares, so the table reads left to right without scrolling for them."""
    rows = []
    for r in spectrum_rows(report):
        encode = ENCODE_LABELS.get(r.encode) or f"{r.encode_pps:,.1f}"
        kept = "" if r.quality_kept is None else f"{100 * r.quality_kept:.1f} %"
        rows.append(
            {
                "strategy": display_name(report, r.strategy),
                "family": r.family,
                "nDCG@10": round(r.ndcg_10, 4),
                "nDCG@10 kept": "baseline" if r.baseline else kept,  # each ratio beside what it compares
                "Recall@100": round(r.recall_100, 4),
                "encode passages/s": encode,
                "× faster encode": "1x" if r.baseline else _times(r.times_faster_encode),
                "p50 ms": round(r.latency_ms_p50, 2),
                "index MB": None if r.index_mb is None else round(r.index_mb, 2),
                "× smaller": "1x" if r.baseline else _times(r.times_smaller, 2),
                "bytes / vector": None if r.bytes_per_vector is None else round(r.bytes_per_vector),
                "p95 ms": round(r.latency_ms_p95, 2),
                "index s": round(r.index_s, 2),
            }
        )
    return pd.DataFrame(rows)


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
