"""Downloads of a comparison: the metrics table and per-query scores as CSV, TREC run files (one per
strategy, or all in a zip). TREC files write ids with whitespace percent-encoded
(:func:`core.evaluate.trec_id`); a run TREC cannot hold unambiguously is refused with its reason."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pandas as pd
import streamlit as st

from components.compare_tables import metrics_frame
from components.text import escape_md
from core.evaluate import format_trec_run
from core.runtime import LabError

__all__ = ["metrics_csv", "per_query_csv", "render_downloads", "safe_name", "trec_zip"]


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
    """A zip with one TREC run file per strategy (``<strategy>.trec``; ``<strategy>-2.trec`` … when two
    names share a file name). Raises :class:`core.runtime.InvalidInput` for a run TREC cannot hold."""
    buf = io.BytesIO()
    used: set[str] = set()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, res in report.strategies.items():
            file, n = f"{safe_name(name)}.trec", 1
            while file in used:
                n += 1
                file = f"{safe_name(name)}-{n}.trec"
            used.add(file)
            zf.writestr(file, format_trec_run(res.run, name))
    return buf.getvalue()


def safe_name(name: str) -> str:
    """``name`` with every character a file name should not hold replaced by ``_``."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "run"


def render_downloads(report: Any, *, key: str) -> None:
    """Metrics CSV, per-query CSV, and TREC run files (one per strategy, or all in a zip)."""
    stem = safe_name(f"{report.dataset}-{report.split}")
    c1, c2, c3 = st.columns(3)
    c1.download_button(
        "Metrics (CSV)", metrics_csv(report), f"{stem}-metrics.csv", "text/csv", key=f"{key}_csv"
    )
    c2.download_button(
        "Per-query scores (CSV)", per_query_csv(report), f"{stem}-per-query.csv", "text/csv", key=f"{key}_pq"
    )
    try:
        runs = {name: format_trec_run(res.run, name) for name, res in report.strategies.items()}
        archive = trec_zip(report)
    except LabError as err:  # an empty id, or two ids a TREC file would write alike
        c3.warning(f"No TREC files: {escape_md(err)}")
        return
    c3.download_button(
        "All TREC runs (zip)", archive, f"{stem}-runs.zip", "application/zip", key=f"{key}_zip"
    )
    cols = st.columns(min(4, max(1, len(report.strategies))))
    for i, (name, text) in enumerate(runs.items()):
        cols[i % len(cols)].download_button(
            f"{escape_md(name)}.trec",
            text,
            f"{stem}-{safe_name(name)}.trec",
            "text/plain",
            key=f"{key}_trec_{i}",
        )
