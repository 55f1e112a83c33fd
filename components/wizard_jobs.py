"""The wizard's jobs on screen: the latest finished run of a kind that matches (:func:`latest_run`,
:func:`latest_verification`) and :func:`poll_job`, the live panels of a job and its extra runs."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

from components.job_panel import render_job_panel
from components.wizard_views import render_run_status
from core.runtime import Workspace, jobs

__all__ = ["latest_run", "latest_verification", "poll_job"]


def latest_run(ws: Workspace, kind: str, match: Callable[[dict[str, Any]], bool]) -> str | None:
    """The newest finished run of ``kind`` whose config ``match`` accepts (of the last 50)."""
    for run in ws.list_runs(kind=kind, status=("done",), limit=50):
        if match(run.config or {}):
            return run.id
    return None


def latest_verification(ws: Workspace, dataset: str, strategy: str, model: str) -> str | None:
    """The last finished verification of ``strategy`` on ``dataset`` with ``model``."""
    return latest_run(
        ws,
        "wizard_verify",
        lambda c: (
            (c.get("plan") or {}).get("dataset") == dataset
            and (c.get("recommendation") or {}).get("strategy") == strategy
            and (c.get("plan") or {}).get("model") == model
        ),
    )


def poll_job(
    ws: Workspace, state: MutableMapping[str, Any], kind: str, render_done: Callable[[Any], None]
) -> None:
    """Show the job of ``state[kind]`` and its extra runs: live panels for the active ones, the outcome of
    the finished ones; ``render_done(run)`` once the main job has finished (extra runs may still be going:
    their claims say so until they finish, and each finishing one redraws the page)."""
    info = state.get(kind)
    if not info:
        return
    jobs.reconcile(ws)
    run = ws.get_run(info["run"])
    if run is None:
        state.pop(kind, None)
        return
    ids = [run.id] + [e["run_id"] for e in info.get("extra_runs", [])]
    for r in (r for r in map(ws.get_run, ids) if r is not None):
        if r.is_active:
            render_job_panel(ws, r.id, key=f"{kind}_{r.id}", title=r.title or r.kind)
        render_run_status(r, key=f"{kind}_status")
    if not run.is_active:
        render_done(run)
