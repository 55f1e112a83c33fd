"""Pure figure builders for compressed indexes: quality against index size (log), with the frontier.

:func:`size_frame` turns a comparison report into the table (strategies without a dense index, such as
BM25, are left out; sizes as the spectrum table counts them); :func:`make_quality_vs_size_figure` draws it, next to
the quality-vs-latency chart of :mod:`components.compare_figures`. Strategy names are drawn as text.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from components.compare_figures import make_frontier_figure
from components.compare_tables import METRIC_LABELS, PALETTE, pareto_mask
from components.text import escape_plot
from core.evaluate import spectrum_rows

__all__ = ["SIZE_COLUMNS", "make_quality_vs_size_figure", "size_frame"]

SIZE_COLUMNS = ["strategy", "label", "quality", "index_bytes_per_vector", "index_mb", "latency_ms_p50"]


def size_frame(report: Any, metric: str = "ndcg@10") -> pd.DataFrame:
    """Per strategy with a dense index: ``quality`` (``metric``), ``index_bytes_per_vector``, ``index_mb``
    and latency p50. The sizes are the spectrum table's (:func:`core.evaluate.spectrum_rows`: every index of
    the strategy, so a hybrid counts its BM25 or SPLADE part too), so the chart and the table agree."""
    sizes = {r.strategy: r for r in spectrum_rows(report)}
    rows = []
    for name, res in report.strategies.items():
        extra = res.extra or {}
        if "index_bytes_per_vector" not in extra:
            continue
        row = sizes[name]
        rows.append(
            {
                "strategy": name,
                "label": res.label,
                "quality": res.metrics.get(metric, 0.0),
                "index_bytes_per_vector": float(row.bytes_per_vector or extra["index_bytes_per_vector"]),
                "index_mb": float(row.index_mb if row.index_mb is not None else extra.get("index_mb", 0.0)),
                "latency_ms_p50": res.latency_ms_p50,
            }
        )
    return pd.DataFrame(rows, columns=SIZE_COLUMNS)


def make_quality_vs_size_figure(df: pd.DataFrame, metric: str = "ndcg@10") -> go.Figure:
    """Quality (column ``quality``) against index bytes per vector (log x); the frontier (nothing both
    smaller and better) as a dashed line, its points as stars. ``df``: :func:`size_frame`'s columns
    (``strategy``, ``quality``, ``index_bytes_per_vector``; ``label`` and ``index_mb`` optional)."""
    frontier = pareto_mask(df["index_bytes_per_vector"].tolist(), df["quality"].tolist()) if len(df) else []
    df = df.assign(frontier=frontier)
    points = []
    for i, (_, row) in enumerate(df.iterrows()):
        name = escape_plot(str(row["strategy"]))
        label = escape_plot(str(row.get("label", row["strategy"])))
        mb = row.get("index_mb")
        size = f"<br>index {mb:,.2f} MB" if isinstance(mb, (int, float)) and mb == mb else ""
        points.append(
            {
                "name": name,
                "color": PALETTE[i % len(PALETTE)],
                "symbol": "star" if row["frontier"] else "circle",
                "hover": (
                    f"{label}<br>{METRIC_LABELS.get(metric, metric)} %{{y:.4f}}<br>"
                    f"%{{x:,.1f}} bytes per vector{size}<extra></extra>"
                ),
            }
        )
    return make_frontier_figure(
        df,
        "index_bytes_per_vector",
        points=points,
        title="Quality vs index size (★ on the size frontier)",
        x_title="index bytes per vector (log)",
        frontier_name="size frontier",
        metric=metric,
    )
