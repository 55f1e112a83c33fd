"""The one live panel of a background job, shared by every page that starts or follows jobs.

``render_job_panel`` polls the run as a Streamlit fragment: it reconciles the job table, draws the progress
bar with the job's last message, a caption with status, elapsed time and ETA, and a Cancel button. When the
run has finished (or was deleted) it calls ``on_done(run)`` and reruns the whole page, which then shows the
result. Pages draw the panel only while the run is active.

``job_fraction``, ``job_text`` and ``job_caption`` are pure and unit-testable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from components.runs_views import fmt_seconds
from components.text import escape_md
from core.runtime import Workspace, jobs

__all__ = [
    "CANCEL_TOAST",
    "QUEUE_WAITS",
    "job_caption",
    "job_fraction",
    "job_text",
    "render_job_panel",
]

# what a queued job waits for, by queue (see core.runtime.jobs.submit)
QUEUE_WAITS = {
    "eval": "waiting for another evaluation to finish",
    "train": "waiting for the training job before it to finish (one at a time)",
    "prep": "waiting for the preparation job before it to finish",
    "project": "waiting for another map to finish",
}
CANCEL_TOAST = "Cancel requested: the job stops within seconds."


def job_fraction(run: Any) -> float:
    """Share of the work done (0 when the job has not said how much there is)."""
    return min(1.0, (run.step or 0) / run.total) if run.total else 0.0


def job_text(run: Any) -> str:
    """The progress bar's text: the job's last message, else what a queued job waits for, else starting."""
    if run.message:
        return run.message
    if run.status == "queued":
        return QUEUE_WAITS.get(run.queue or "", "waiting for the job before it in its queue")
    return "starting…"


def job_caption(run: Any, title: str | None = None) -> str:
    """``[title · ]status · elapsed[ · about ETA left][ · cancel requested]``."""
    parts = [title] if title else []
    parts += [run.status, fmt_seconds(run.elapsed_s or 0.0)]
    if run.eta_s:
        parts.append(f"about {fmt_seconds(run.eta_s)} left")
    if run.cancel_requested:
        parts.append("cancel requested")
    return " · ".join(parts)


def render_job_panel(
    ws: Workspace,
    run_id: str,
    *,
    key: str,
    on_done: Callable[[Any], None] | None = None,
    every: float = 1.0,
    title: str | None = None,
    details: Callable[[Any], None] | None = None,
) -> None:
    """Live progress of the job ``run_id``, polled every ``every`` seconds; the Cancel button
    (``{key}_cancel``) asks the job to stop. Once the run is no longer active, ``on_done(run)`` is called
    (``run`` is None when it was deleted) and the page reruns. ``details(run)`` draws more of the run under
    the bar on every poll (log, loss curve); ``title`` starts the caption (several jobs on one page)."""
    st.fragment(run_every=every)(_job_panel)(ws, run_id, key, on_done, title, details)


def _job_panel(
    ws: Workspace,
    run_id: str,
    key: str,
    on_done: Callable[[Any], None] | None,
    title: str | None,
    details: Callable[[Any], None] | None,
) -> None:
    jobs.reconcile(ws)
    run = ws.get_run(run_id)
    if run is None or not run.is_active:
        if on_done is not None:
            on_done(run)
        st.rerun(scope="app")  # the page shows the result (or the error) of the finished job
        return
    bar = st.empty()  # filled after the Cancel button, so a click shows at once
    left, right = st.columns([4, 1])
    if right.button("Cancel", key=f"{key}_cancel", disabled=run.cancel_requested):
        run = jobs.cancel(ws, run_id) or run  # the next poll sees it stopped and reruns the page
        st.toast(CANCEL_TOAST)
    bar.progress(job_fraction(run), text=escape_md(job_text(run)))  # messages name datasets, files, models
    left.caption(escape_md(job_caption(run, title)))
    if details is not None:
        details(run)
