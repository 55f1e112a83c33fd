"""Views of jobs: the run table, loss curve, log tail and artifacts (Runs page); the live progress of a
job is :mod:`components.job_panel`.

``make_loss_figure`` and ``runs_frame`` are pure and unit-tested; ``render_*`` draw with Streamlit."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.text import code_md

__all__ = [
    "STATUS_ICONS",
    "artifacts",
    "fmt_seconds",
    "loss_frame",
    "make_loss_figure",
    "render_artifacts",
    "render_log",
    "runs_frame",
]

STATUS_ICONS = {
    "queued": "⏳",
    "running": "▶️",
    "done": "✅",
    "failed": "❌",
    "cancelled": "⏹️",
    "lost": "⚠️",
}


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {(seconds % 3600) // 60:02d} min"


def runs_frame(runs: Sequence[Any]) -> pd.DataFrame:
    """One row per run for the table: status, kind, title, progress, loss, times, error."""
    rows = []
    for r in runs:
        progress = f"{r.step}/{r.total}" if r.step is not None and r.total else ""
        if r.status == "done" and isinstance(r.result, dict) and r.result.get("steps") is not None:
            progress = f"{r.result['steps']} steps"  # not the last evaluation stage
        rows.append(
            {
                "id": r.id,
                "status": f"{STATUS_ICONS.get(r.status, '')} {r.status}",
                "kind": r.kind,
                "title": r.title,
                "progress": progress,
                "loss": r.loss,
                "started": time.strftime("%m-%d %H:%M", time.localtime(r.started or r.created)),
                "elapsed": fmt_seconds(r.elapsed_s),
                "error": r.error or "",
            }
        )
    return pd.DataFrame(
        rows, columns=["id", "status", "kind", "title", "progress", "loss", "started", "elapsed", "error"]
    )


def loss_frame(events: Sequence[Any]) -> pd.DataFrame:
    """``step, loss`` points from a run's progress events (the last value per step wins)."""
    points = {int(e.step): float(e.loss) for e in events if e.loss is not None and e.step is not None}
    return pd.DataFrame(sorted(points.items()), columns=["step", "loss"])


def make_loss_figure(df: pd.DataFrame, *, smooth: int = 0) -> go.Figure:
    """Training loss per step; with ``smooth`` > 1 a rolling mean is drawn over the raw points."""
    fig = go.Figure()
    if df.empty:
        fig.add_annotation(
            text="no loss reported yet", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper"
        )
    else:
        fig.add_trace(
            go.Scatter(x=df["step"], y=df["loss"], mode="lines+markers", name="loss", marker={"size": 4})
        )
        if smooth > 1 and len(df) > smooth:
            fig.add_trace(
                go.Scatter(
                    x=df["step"],
                    y=df["loss"].rolling(smooth, min_periods=1).mean(),
                    mode="lines",
                    name=f"mean of {smooth}",
                    line={"width": 3},
                )
            )
    if len(df) == 1:  # one value (a SetFit run reports its loss at the end): say so, on an axis from 0
        step, loss = int(df["step"].iloc[0]), float(df["loss"].iloc[0])
        fig.update_traces(mode="markers+text", text=[f"{loss:.3f} at step {step:,}"], textposition="top left")
        fig.update_xaxes(range=[0, max(1, step) * 1.05])
        fig.update_yaxes(rangemode="tozero")
    fig.update_layout(
        height=300,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        title="Training loss" + (" (reported once, at the end)" if len(df) == 1 else ""),
        xaxis_title="step",
        yaxis_title="loss",
        showlegend=smooth > 1,
    )
    return fig


def artifacts(folder: Path) -> list[Path]:
    """Files of a run folder (not recursive into big model folders)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file())


# --------------------------------------------------------------------------------------------------
# Streamlit renderers
# --------------------------------------------------------------------------------------------------
def render_log(events: Sequence[Any], *, key: str, height: int = 220) -> None:
    lines = [f"{time.strftime('%H:%M:%S', time.localtime(e.ts))}  {e.message}" for e in events if e.message]
    st.code("\n".join(lines) or "(no log yet)", language=None, height=height)


def render_artifacts(folder: Path, *, key: str) -> None:
    files = artifacts(folder)
    if not files:
        st.caption("No artifacts.")
        return
    for i, path in enumerate(files):
        size = path.stat().st_size
        cols = st.columns([4, 1])
        cols[0].markdown(f"{code_md(path.name)} · {size / 1024:,.1f} KB")
        if size <= 50 * 1024 * 1024:
            cols[1].download_button(
                "Download", data=path.read_bytes(), file_name=path.name, key=f"{key}_dl_{i}", width="stretch"
            )
