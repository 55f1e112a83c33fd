"""Scheduling of background jobs: long work (training, big evaluations) runs in a worker process, never in the UI thread.

Life of a job::

    submit() ──► queued ──kick()──► running (worker process) ──► done | failed | cancelled
                                          │ process vanished (kill, crash, reboot)  ──► lost

- Each job kind maps to a handler ``module:function`` taking ``(ctx: JobContext, config: dict) -> dict``.
- The worker writes progress (step, total, loss, message) and log lines to the workspace store; pages
  poll the store. The worker never imports streamlit.
- One job per queue runs at a time (queue ``train`` by default); the others wait. When a worker ends it
  starts the next queued job; :func:`reconcile` (called by pages and the CLI) does the same and marks
  jobs whose process is gone as ``lost``.
- :func:`cancel` sets a flag and sends SIGTERM to the worker's process group; the worker stops at once
  (the signal raises :class:`~core.runtime.errors.Cancelled`) and is killed if still alive after a grace period.
- Models are written to a staging folder and installed in the registry only after the handler returns,
  so a cancelled or crashed run never registers a half-written model. Staging folders are named after
  the run (``tmp/run-<id>-…``), so when a worker is killed outright :func:`reconcile` removes them too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import Any

import psutil

from core.runtime.config import REPO_ROOT
from core.runtime.context import discard_run_staging
from core.runtime.errors import InvalidInput, NotFound
from core.runtime.kinds import check_kind
from core.runtime.records import RunRecord
from core.runtime.store import Workspace

__all__ = [
    "DEFAULT_QUEUE",
    "KILL_GRACE_S",
    "cancel",
    "delete",
    "kick",
    "process_alive",
    "reconcile",
    "submit",
    "wait",
]

DEFAULT_QUEUE = "train"
KILL_GRACE_S = 8.0
_CHILDREN: dict[int, subprocess.Popen] = {}


# --------------------------------------------------------------------------------------------------
# submitting and scheduling
# --------------------------------------------------------------------------------------------------
def submit(
    ws: Workspace,
    kind: str,
    config: dict[str, Any],
    *,
    title: str = "",
    queue: str = DEFAULT_QUEUE,
    start: bool = True,
) -> str:
    """Queue a job and start it if its queue is free. Returns the run id."""
    check_kind(kind)
    run_id = ws.create_run(kind, config, title=title or kind, queue=queue, status="queued")
    ws.add_event(run_id, "log", message=f"queued in {queue!r}")
    if start:
        kick(ws, queue)
    return run_id


def kick(ws: Workspace, queue: str = DEFAULT_QUEUE) -> str | None:
    """Start the oldest queued job of ``queue`` if nothing is running there. Returns its id."""
    with ws.transaction() as conn:
        busy = conn.execute("SELECT 1 FROM runs WHERE queue=? AND status='running'", (queue,)).fetchone()
        if busy:
            return None
        row = conn.execute(
            "SELECT id FROM runs WHERE queue=? AND status='queued' ORDER BY created LIMIT 1", (queue,)
        ).fetchone()
        if not row:
            return None
        run_id = row["id"]
        now = time.time()
        conn.execute(
            "UPDATE runs SET status='running', started=?, updated=?, pid=NULL WHERE id=?", (now, now, run_id)
        )
    try:
        proc = _spawn_worker(ws, run_id)
    except Exception as err:
        ws.update_run(run_id, status="failed", error=f"could not start worker: {err}", finished=time.time())
        return None
    ws.update_run(run_id, pid=proc.pid)
    return run_id


def _spawn_worker(ws: Workspace, run_id: str) -> subprocess.Popen:
    log_path = ws.run_dir(run_id) / "worker.log"
    env = dict(os.environ, ESL_HOME=str(ws.home), PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "core.runtime.worker", "worker", run_id],
            cwd=str(REPO_ROOT),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # own process group: cancel signals reach its children too
        )
    _CHILDREN[proc.pid] = proc
    return proc


def process_alive(pid: int | None, started: float | None = None) -> bool:
    """True when ``pid`` is a live (non-zombie) process started around ``started``."""
    if not pid:
        return False
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        _CHILDREN.pop(pid, None)
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        if started is not None and proc.create_time() > started + 60:
            return False  # pid reused by a newer process
        return True
    except Exception:
        return False


def reconcile(ws: Workspace) -> list[str]:
    """Mark running jobs whose worker is gone, finish pending cancels, start queued jobs.
    Returns ids of the runs whose status changed."""
    changed = []
    now = time.time()
    for run in ws.list_runs(status=("running",)):
        if run.queue is None:  # foreground run (CLI): owned by that process
            if run.pid and not process_alive(run.pid, run.started) and now - (run.updated or now) > 5:
                if ws.update_run(
                    run.id,
                    only_if_status=("running",),
                    status="lost",
                    error="the process running it is gone",
                    finished=now,
                ):
                    discard_run_staging(ws, run.id)
                    changed.append(run.id)
            continue
        if run.pid is None:
            if now - (run.updated or run.created) > 60 and ws.update_run(
                run.id, only_if_status=("running",), status="lost", error="worker never started", finished=now
            ):
                changed.append(run.id)
            continue
        alive = process_alive(run.pid, run.started)
        if alive and run.cancel_requested and now - _cancel_requested_at(ws, run) > KILL_GRACE_S:
            _signal_group(run.pid, signal.SIGKILL)  # it ignored SIGTERM (or is stuck in native code)
            _reap(run.pid)
            ws.add_event(run.id, "log", message=f"still alive {KILL_GRACE_S:.0f} s after cancel: killed")
            alive = False
        if not alive:
            status, error = (
                ("cancelled", None)
                if run.cancel_requested
                else ("lost", "worker process is gone (killed, crashed or the machine restarted)")
            )
            if ws.update_run(run.id, only_if_status=("running",), status=status, error=error, finished=now):
                ws.add_event(run.id, "log", message=error or "cancelled")
                discard_run_staging(ws, run.id)
                changed.append(run.id)
    queues = {r.queue for r in ws.list_runs(status=("queued",)) if r.queue}
    for queue in queues:
        kick(ws, queue)
    return changed


def _reap(pid: int, timeout: float = 5.0) -> None:
    """Wait (briefly) for a killed worker to be gone, so that nobody sees it alive a moment later."""
    child = _CHILDREN.pop(pid, None)
    with contextlib.suppress(Exception):
        if child is not None:
            child.wait(timeout)
        else:
            psutil.Process(pid).wait(timeout)


def _cancel_requested_at(ws: Workspace, run: RunRecord) -> float:
    """When the user asked to cancel (the log line :func:`cancel` writes; progress keeps ``updated`` moving)."""
    for event in reversed(ws.events(run.id, kind="log", last=50)):
        if event.message == "cancel requested":
            return event.ts
    return run.updated or time.time()


def _signal_group(pid: int, sig: int) -> None:
    """Signal the worker's process group once (the worker leads its group); the pid alone as a fallback."""
    try:
        os.killpg(os.getpgid(pid), sig)
        return
    except (ProcessLookupError, PermissionError):
        pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def cancel(ws: Workspace, run_id: str) -> RunRecord | None:
    """Stop a queued or running job. Queued jobs are cancelled at once; running ones get SIGTERM now and
    SIGKILL from :func:`reconcile` if still alive after a grace period."""
    run = ws.get_run(run_id)
    if run is None or not run.is_active:
        return run
    if run.status == "queued":
        ws.update_run(
            run_id,
            only_if_status=("queued",),
            status="cancelled",
            cancel_requested=True,
            finished=time.time(),
        )
    else:
        ws.update_run(run_id, cancel_requested=True)
        ws.add_event(run_id, "log", message="cancel requested")
        if run.pid and run.queue is not None:
            _signal_group(run.pid, signal.SIGTERM)
    return ws.get_run(run_id)


def delete(ws: Workspace, run_id: str) -> None:
    """Delete a finished run with its events and artifacts (models it registered stay registered).
    Active runs must be cancelled first."""
    run = ws.get_run(run_id)
    if run is None:
        raise NotFound(f"No run {run_id!r}.")
    if run.is_active:
        raise InvalidInput(f"Run {run_id} is {run.status}; cancel it before deleting it.")
    discard_run_staging(ws, run_id)
    ws.delete_run(run_id)


def wait(ws: Workspace, run_id: str, timeout: float = 600.0, poll: float = 0.5) -> RunRecord:
    """Block until a job finishes (used by tests, the CLI and scripts)."""
    deadline = time.time() + timeout
    while True:
        reconcile(ws)
        run = ws.get_run(run_id)
        if run is None:
            raise NotFound(run_id)
        if not run.is_active:
            return run
        if time.time() > deadline:
            raise TimeoutError(f"job {run_id} still {run.status} after {timeout:.0f} s")
        time.sleep(poll)
