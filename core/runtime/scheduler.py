"""Scheduling of background jobs: long work (training, big evaluations) runs in a worker process, never in the UI thread.

Life of a job::

    submit() ──► queued ──kick()──► running (worker process) ──► done | failed | cancelled
                                          │ process vanished (kill, crash, reboot)  ──► lost

- In the app one warm worker per workspace runs the jobs one after another with its models kept
  (:mod:`core.runtime.warm`); elsewhere, and when it is busy with another queue, each job gets a cold one.
- Each job kind maps to a handler ``module:function`` taking ``(ctx: JobContext, config: dict) -> dict``.
- The worker writes progress (step, total, loss, message) and log lines to the workspace store; pages
  poll the store. The worker never imports streamlit.
- One job per queue runs at a time (queue ``train`` by default); the others wait. When a worker ends it
  starts the next queued job; :func:`reconcile` (called by pages and the CLI) does the same and marks
  jobs whose process is gone as ``lost``.
- :func:`cancel` decides in one transaction (so it is never lost to :func:`kick` moving the queue on),
  sets a flag and sends SIGTERM to the worker's process group (to the process itself for a foreground
  run); the job stops at once (the signal raises :class:`~core.runtime.errors.Cancelled`) and is killed if
  still alive after a grace period. ``cancel(..., wait_s=…)`` returns only when the run has stopped.
- Worker processes that ended are waited for (no zombies): whenever the scheduler looks at them and every
  :data:`REAP_EVERY_S` seconds from a daemon thread while any is alive.
- Models are written to a staging folder and installed in the registry only after the handler returns,
  so a cancelled or crashed run never registers a half-written model. Staging folders are named after
  the run (``tmp/run-<id>-…``), so when a worker is killed outright :func:`reconcile` removes them too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from core.runtime.config import REPO_ROOT
from core.runtime.context import discard_run_staging
from core.runtime.errors import DiskFull, InvalidInput, NotFound
from core.runtime.kinds import check_kind
from core.runtime.records import RunRecord
from core.runtime.runs import insert_event
from core.runtime.store import Workspace
from core.runtime.warm import hand_to_warm, warm_enabled, warm_worker, worker_command, worker_env

__all__ = [
    "CANCEL_WAIT_S",
    "DEFAULT_QUEUE",
    "KILL_GRACE_S",
    "REAP_EVERY_S",
    "cancel",
    "delete",
    "kick",
    "process_alive",
    "reap_children",
    "reconcile",
    "start_warm_worker",
    "submit",
    "wait",
]

DEFAULT_QUEUE = "train"
KILL_GRACE_S = 8.0  # a job still alive this long after SIGTERM gets SIGKILL
CANCEL_WAIT_S = 30.0  # how long a synchronous cancel waits for the job to be gone
REAP_EVERY_S = 2.0  # how often finished worker processes are waited for (no zombies)
_CHILDREN: dict[int, subprocess.Popen] = {}
_CHILDREN_LOCK = threading.Lock()
_REAPER: list[threading.Thread] = []  # the running reaper thread, if any


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
    """Start the oldest queued job of ``queue`` if nothing is running there. Returns its id.

    The choice is made in one transaction, as :func:`cancel`'s is: a job cancelled while queued is never
    started, and a job started is one whose cancel the worker will see."""
    reap_children()
    with ws.transaction("starting a job") as conn:
        busy = conn.execute("SELECT 1 FROM runs WHERE queue=? AND status='running'", (queue,)).fetchone()
        if busy:
            return None
        row = conn.execute(
            "SELECT id FROM runs WHERE queue=? AND status='queued' AND cancel_requested=0"
            " ORDER BY created LIMIT 1",
            (queue,),
        ).fetchone()
        if not row:
            return None
        run_id = row["id"]
        now = time.time()
        conn.execute(
            "UPDATE runs SET status='running', started=?, updated=?, pid=NULL WHERE id=?", (now, now, run_id)
        )
    try:
        pid = _start_worker(ws, run_id)
    except Exception as err:
        ws.update_run(run_id, status="failed", error=f"could not start worker: {err}", finished=time.time())
        return None
    ws.update_run(run_id, pid=pid)
    return run_id


def _start_worker(ws: Workspace, run_id: str) -> int:
    """The warm worker's pid when this process keeps one and it is free (:mod:`core.runtime.warm`), else
    a cold worker's for this one job."""
    if warm_enabled(ws.home):
        pid = hand_to_warm(ws.home, run_id, _warm_changed, lambda busy: _finished(ws, busy))
        if pid is not None:
            return pid
    return _spawn_worker(ws, run_id).pid


def start_warm_worker(ws: Workspace) -> int | None:
    """Start the warm worker of ``ws`` now (the app at start: the first job then finds it ready); its pid,
    or None when this process does not keep warm workers."""
    return warm_worker(ws.home, _warm_changed).pid if warm_enabled(ws.home) else None


def _finished(ws: Workspace, run_id: str) -> bool:
    run = ws.get_run(run_id)
    return run is None or not run.is_active


def _warm_changed(home: Path) -> None:
    """A warm worker finished a job or died: settle its run (lost when it died) and start queued jobs."""
    with Workspace(home) as ws:
        reconcile(ws)


def _spawn_worker(ws: Workspace, run_id: str) -> subprocess.Popen:
    log_path = ws.run_dir(run_id) / "worker.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            worker_command(run_id),
            cwd=str(REPO_ROOT),
            env=worker_env(ws.home),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # own process group: cancel signals reach its children too
        )
    with _CHILDREN_LOCK:
        _CHILDREN[proc.pid] = proc
        if not _REAPER:
            reaper = threading.Thread(target=_reap_loop, name="esl-worker-reaper", daemon=True)
            _REAPER.append(reaper)
            reaper.start()
    return proc


# --------------------------------------------------------------------------------------------------
# worker processes of this process: no zombies
# --------------------------------------------------------------------------------------------------
def reap_children() -> list[int]:
    """``wait()`` for the worker processes this process started that have ended (so none stays a zombie
    until the app exits). Returns their pids."""
    with _CHILDREN_LOCK:
        done = [pid for pid, proc in _CHILDREN.items() if proc.poll() is not None]
        for pid in done:
            _CHILDREN.pop(pid, None)
    return done


def _reap_loop() -> None:
    """Runs while this process has live workers: reaps them every :data:`REAP_EVERY_S` seconds."""
    while True:
        time.sleep(REAP_EVERY_S)
        reap_children()
        with _CHILDREN_LOCK:
            if not _CHILDREN:
                _REAPER.clear()
                return


def process_alive(pid: int | None, started: float | None = None) -> bool:
    """True when ``pid`` is a live (non-zombie) process started around ``started``."""
    if not pid:
        return False
    if pid in reap_children():
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


def _reap(pid: int, timeout: float = 5.0) -> None:
    """Wait (briefly) for a killed process to be gone, so that nobody sees it alive a moment later. Only
    our own workers are ``wait()``-ed for; another process is watched, never reaped (its exit status
    belongs to its parent)."""
    with _CHILDREN_LOCK:
        child = _CHILDREN.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout)
        return
    deadline = time.time() + timeout
    while time.time() < deadline and process_alive(pid):
        time.sleep(0.05)


# --------------------------------------------------------------------------------------------------
# the state of runs: lost workers, cancels to finish
# --------------------------------------------------------------------------------------------------
def reconcile(ws: Workspace) -> list[str]:
    """Mark running jobs whose process is gone, finish pending cancels (SIGKILL after the grace period),
    start queued jobs and reap finished workers. Returns ids of the runs whose status changed.
    On a full disk it changes what it can and returns (the next call does the rest)."""
    reap_children()
    changed = []
    try:
        for run in ws.list_runs(status=("running",)):
            if _settle(ws, run):
                changed.append(run.id)
        for queue in {r.queue for r in ws.list_runs(status=("queued",)) if r.queue}:
            kick(ws, queue)
    except DiskFull:
        pass
    return changed


def _settle(ws: Workspace, run: RunRecord) -> bool:
    """Finish one running run whose process is gone (cancelled or lost); kill one that ignored a cancel
    for :data:`KILL_GRACE_S`. Returns whether its status changed."""
    now = time.time()
    foreground = run.queue is None  # run_inline (CLI): the process is the caller's, not a worker
    if run.pid is None:
        if now - (run.updated or run.created) <= 60:
            return False  # a worker that is starting (or a foreground run recording its pid)
        error = "its process died before it started" if foreground else "worker never started"
        return ws.update_run(run.id, only_if_status=("running",), status="lost", error=error, finished=now)
    alive = process_alive(run.pid, run.started)
    if alive and run.cancel_requested and now - _cancel_requested_at(ws, run) > KILL_GRACE_S:
        _signal(run.pid, signal.SIGKILL, group=not foreground)  # it ignored SIGTERM (or is stuck)
        _reap(run.pid)
        ws.add_event(run.id, "log", message=f"still alive {KILL_GRACE_S:.0f} s after cancel: killed")
        alive = False
    if alive:
        return False
    if run.cancel_requested:
        status, error = "cancelled", None
    elif foreground:
        status, error = "lost", "the process running it is gone"
    else:
        status, error = "lost", "worker process is gone (killed, crashed or the machine restarted)"
    if not ws.update_run(run.id, only_if_status=("running",), status=status, error=error, finished=now):
        return False
    ws.add_event(run.id, "log", message=error or "cancelled; nothing was registered")
    discard_run_staging(ws, run.id)
    return True


def _cancel_requested_at(ws: Workspace, run: RunRecord) -> float:
    """When the user asked to cancel (the log line :func:`cancel` writes; progress keeps ``updated`` moving)."""
    for event in reversed(ws.events(run.id, kind="log", last=50)):
        if event.message == "cancel requested":
            return event.ts
    return run.updated or time.time()


def _signal(pid: int, sig: int, *, group: bool) -> None:
    """Signal a worker's process group (it leads its group), or one foreground process (``group=False``:
    its group is the user's terminal)."""
    if group:
        try:
            os.killpg(os.getpgid(pid), sig)
            return
        except (ProcessLookupError, PermissionError):
            pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


# --------------------------------------------------------------------------------------------------
# cancel, delete, wait
# --------------------------------------------------------------------------------------------------
def cancel(ws: Workspace, run_id: str, *, wait_s: float = 0.0) -> RunRecord | None:
    """Stop a queued or running job. One transaction decides, so a cancel is never lost to a queue moving
    on: a queued job is cancelled at once (never started); a running one is marked and its process gets
    SIGTERM (a worker's whole group; a foreground run's process), and SIGKILL from :func:`reconcile` if
    still alive after :data:`KILL_GRACE_S`. With ``wait_s`` the call returns only once the run is no longer
    active, or after ``wait_s`` seconds (check ``is_active`` on the record it returns)."""
    now = time.time()
    with ws.transaction("cancelling a run") as conn:
        row = conn.execute(
            "SELECT status, pid, queue, started, cancel_requested FROM runs WHERE id=?", (run_id,)
        ).fetchone()
        target = None
        if row is not None and row["status"] == "queued":
            conn.execute(
                "UPDATE runs SET status='cancelled', cancel_requested=1, finished=?, updated=?,"
                " message='cancelled' WHERE id=?",
                (now, now, run_id),
            )
            insert_event(conn, run_id, "log", message="cancelled before it started")
        elif row is not None and row["status"] == "running":
            if not row["cancel_requested"]:
                conn.execute("UPDATE runs SET cancel_requested=1, updated=? WHERE id=?", (now, run_id))
                insert_event(conn, run_id, "log", message="cancel requested")
            target = row
    if target is not None and target["pid"] and process_alive(target["pid"], target["started"]):
        _signal(target["pid"], signal.SIGTERM, group=target["queue"] is not None)
    if wait_s > 0:
        return _wait_stopped(ws, run_id, wait_s)
    return ws.get_run(run_id)


def _wait_stopped(ws: Workspace, run_id: str, timeout: float) -> RunRecord | None:
    deadline = time.time() + timeout
    while True:
        run = ws.get_run(run_id)
        if run is None or not run.is_active:
            return run
        _settle(ws, run)
        if time.time() > deadline:
            return ws.get_run(run_id)
        time.sleep(0.1)


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
