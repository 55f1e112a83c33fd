"""Background jobs: long work (training, big evaluations) runs in a worker process, never in the UI thread.

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
  (the signal raises :class:`~core.progress.Cancelled`) and is killed if still alive after a grace period.
- Models are written to a staging folder and installed in the registry only after the handler returns,
  so a cancelled or crashed run never registers a half-written model. Staging folders are named after
  the run (``tmp/run-<id>-…``), so when a worker is killed outright :func:`reconcile` removes them too.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.progress import Cancelled
from core.store import RunRecord, Workspace

__all__ = [
    "JOB_HANDLERS",
    "JobContext",
    "cancel",
    "delete",
    "discard_run_staging",
    "kick",
    "process_alive",
    "reconcile",
    "register_job_type",
    "run_inline",
    "submit",
    "wait",
]

# job kind -> "module:function"; modules are imported only inside the worker
JOB_HANDLERS: dict[str, str] = {
    "sleep": "core.jobs:_sleep_job",  # used by tests of the job runner itself
}
DEFAULT_QUEUE = "train"
KILL_GRACE_S = 8.0
_CHILDREN: dict[int, subprocess.Popen] = {}


def register_job_type(kind: str, target: str) -> None:
    """Map a job kind to its handler (``"package.module:function"``)."""
    JOB_HANDLERS[kind] = target


def _handler(kind: str) -> Callable[[JobContext, dict[str, Any]], dict[str, Any]]:
    _register_builtin_kinds()
    if kind not in JOB_HANDLERS:
        raise KeyError(f"Unknown job kind {kind!r}; known: {sorted(JOB_HANDLERS)}")
    module, func = JOB_HANDLERS[kind].split(":")
    return getattr(importlib.import_module(module), func)


def _register_builtin_kinds() -> None:
    """Job kinds defined by feature modules; listed here so the worker can find them by name."""
    with contextlib.suppress(ImportError):
        from core.job_kinds import JOB_KINDS

        for kind, target in JOB_KINDS.items():
            JOB_HANDLERS.setdefault(kind, target)


@dataclass
class JobContext:
    """What a handler gets: progress and log reporting, the cancel check, folders for its files."""

    ws: Workspace
    run_id: str
    config: dict[str, Any]
    echo: Callable[[str], None] | None = None  # foreground runs also print here
    on_progress: Callable[[int, int | None, float | None, str | None], None] | None = None  # (CLI bar)
    _last_write: float = 0.0
    _stop_checked: float = 0.0
    _stop: bool = False
    started: float = field(default_factory=time.time)
    _staged: list[Path] = field(default_factory=list)

    @property
    def run_dir(self) -> Path:
        return self.ws.run_dir(self.run_id)

    def staging_dir(self) -> Path:
        """A folder for outputs that become permanent only if the job succeeds (removed otherwise)."""
        path = run_staging_dir(self.ws, self.run_id)
        self._staged.append(path)
        return path

    def discard_staged(self) -> None:
        for path in self._staged:
            shutil.rmtree(path, ignore_errors=True)
        self._staged.clear()

    def progress(
        self,
        step: int,
        total: int | None = None,
        *,
        loss: float | None = None,
        message: str | None = None,
        force: bool = False,
    ) -> None:
        """Record progress. Writes are throttled (twice a second) unless a loss value or ``force`` is given."""
        now = time.time()
        if self.on_progress is not None:
            self.on_progress(step, total, loss, message)
        if not force and loss is None and now - self._last_write < 0.5 and (total is None or step < total):
            return
        self._last_write = now
        self.ws.add_event(self.run_id, "progress", step=step, total=total, loss=loss, message=message)
        if self.echo and message and self.on_progress is None:
            self.echo(message)

    def log(self, message: str) -> None:
        self.ws.add_event(self.run_id, "log", message=message)
        if self.echo:
            self.echo(message)

    def should_stop(self) -> bool:
        """True once the user asked to cancel (checked against the store at most once a second)."""
        if self._stop:
            return True
        now = time.time()
        if now - self._stop_checked > 1.0:
            self._stop_checked = now
            run = self.ws.get_run(self.run_id)
            self._stop = bool(run and run.cancel_requested)
        return self._stop

    def check_cancel(self) -> None:
        if self.should_stop():
            raise Cancelled("cancelled by the user")


def run_staging_dir(ws: Workspace, run_id: str) -> Path:
    """A fresh staging folder whose name ties it to ``run_id`` (``tmp/run-<id>-<random>``)."""
    import uuid

    path = ws.home / "tmp" / f"run-{run_id}-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    return path


def discard_run_staging(ws: Workspace, run_id: str) -> int:
    """Remove every staging folder of a run (left behind when its process was killed). Returns how many."""
    removed = 0
    for path in (ws.home / "tmp").glob(f"run-{run_id}-*"):
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        removed += 1
    return removed


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
    _register_builtin_kinds()
    if kind not in JOB_HANDLERS:
        raise KeyError(f"Unknown job kind {kind!r}; known: {sorted(JOB_HANDLERS)}")
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
    from core.config import REPO_ROOT

    log_path = ws.run_dir(run_id) / "worker.log"
    env = dict(os.environ, ESL_HOME=str(ws.home), PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "core.jobs", "worker", run_id],
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
        import psutil

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


def _ignore_further_term() -> None:
    """While a stopping job cleans up, another SIGTERM must not interrupt the clean-up."""
    with contextlib.suppress(ValueError):  # not the main thread
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


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
        raise KeyError(f"No run {run_id!r}.")
    if run.is_active:
        raise ValueError(f"Run {run_id} is {run.status}; cancel it before deleting it.")
    discard_run_staging(ws, run_id)
    ws.delete_run(run_id)


def wait(ws: Workspace, run_id: str, timeout: float = 600.0, poll: float = 0.5) -> RunRecord:
    """Block until a job finishes (used by tests, the CLI and scripts)."""
    deadline = time.time() + timeout
    while True:
        reconcile(ws)
        run = ws.get_run(run_id)
        if run is None:
            raise KeyError(run_id)
        if not run.is_active:
            return run
        if time.time() > deadline:
            raise TimeoutError(f"job {run_id} still {run.status} after {timeout:.0f} s")
        time.sleep(poll)


# --------------------------------------------------------------------------------------------------
# executing
# --------------------------------------------------------------------------------------------------
def _execute(ctx: JobContext, kind: str) -> None:
    """Run a handler and record the outcome; installs a returned staged model only on success."""
    ws, run_id = ctx.ws, ctx.run_id
    try:
        handler = _handler(kind)
        ctx.log(f"started {kind} (pid {os.getpid()})")
        result = handler(ctx, ctx.config) or {}
        if ctx.should_stop():
            raise Cancelled("cancelled by the user")
        result = _install_models(ctx, result)
        ctx.discard_staged()  # scratch folders the handler did not install
        ws.update_run(run_id, status="done", result=result, finished=time.time(), message="done")
        ctx.log("finished")
    except (Cancelled, KeyboardInterrupt):
        _ignore_further_term()
        ctx.discard_staged()
        ctx.log("cancelled; nothing was registered")
        ws.update_run(run_id, status="cancelled", finished=time.time(), message="cancelled")
    except BaseException as err:
        _ignore_further_term()
        ctx.discard_staged()
        detail = traceback.format_exc(limit=8)
        (ctx.run_dir / "error.txt").write_text(detail, encoding="utf-8")
        ctx.log(f"failed: {type(err).__name__}: {err}")
        ws.update_run(run_id, status="failed", error=f"{type(err).__name__}: {err}", finished=time.time())
        if not isinstance(err, Exception):
            raise


def _install_models(ctx: JobContext, result: dict[str, Any]) -> dict[str, Any]:
    """A handler returns ``{"install": [{"name", "kind", "staged", "base", "meta"}], ...}`` for models to
    register; they are moved into ``models/`` here, after the run succeeded."""
    installs = result.pop("install", None) or []
    installed = []
    for item in installs:
        rec = ctx.ws.install_model(
            item["name"],
            item["kind"],
            Path(item["staged"]),
            base=item.get("base"),
            meta=item.get("meta"),
            run_id=ctx.run_id,
        )
        installed.append({"name": rec.name, "kind": rec.kind, "path": rec.path})
        ctx.log(f"registered model {rec.name!r} at {rec.path}")
    if installed:
        result["models"] = installed
    return result


def _worker_main(run_id: str) -> int:
    ws = Workspace()
    run = ws.get_run(run_id)
    if run is None:
        print(f"no run {run_id}", file=sys.stderr)
        return 2

    def on_term(signum: int, frame: Any) -> None:
        raise Cancelled("cancelled by the user")

    signal.signal(signal.SIGTERM, on_term)
    ws.update_run(run_id, pid=os.getpid())
    ctx = JobContext(ws, run_id, run.config)
    if run.cancel_requested:
        ws.update_run(run_id, status="cancelled", finished=time.time())
        return 0
    try:
        _execute(ctx, run.kind)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if run.queue:
            with contextlib.suppress(Exception):
                kick(ws, run.queue)
    return 0


def run_inline(
    ws: Workspace,
    kind: str,
    config: dict[str, Any],
    *,
    title: str = "",
    echo: Callable[[str], None] | None = None,
    on_progress: Callable[[int, int | None, float | None, str | None], None] | None = None,
) -> RunRecord:
    """Run a job in this process (CLI foreground mode); same handler, same records as a worker.
    ``echo`` gets log lines, ``on_progress(step, total, loss, message)`` every progress call."""
    _register_builtin_kinds()
    if kind not in JOB_HANDLERS:
        raise KeyError(f"Unknown job kind {kind!r}; known: {sorted(JOB_HANDLERS)}")
    run_id = ws.create_run(kind, config, title=title or kind, queue=None, status="running")
    ws.update_run(run_id, pid=os.getpid())
    ctx = JobContext(ws, run_id, config, echo=echo, on_progress=on_progress)
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: Any) -> None:
        raise Cancelled("terminated")

    with contextlib.suppress(ValueError):  # not in the main thread
        signal.signal(signal.SIGTERM, on_term)
    try:
        _execute(ctx, kind)
    finally:
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(signal.SIGTERM, previous)
    run = ws.get_run(run_id)
    assert run is not None
    return run


def _sleep_job(ctx: JobContext, config: dict[str, Any]) -> dict[str, Any]:
    """A job that counts to ``steps`` (optionally failing, or staging a fake model): tests the runner."""
    steps = int(config.get("steps", 10))
    if config.get("ignore_term"):  # a job deaf to SIGTERM: cancel must end it with SIGKILL
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    staged = None
    if config.get("model_name"):  # staged from the start, like a trainer writing checkpoints
        staged = ctx.staging_dir()
        (staged / "partial.bin").write_bytes(b"\0" * 1024)
    for i in range(1, steps + 1):
        if not config.get("ignore_term"):
            ctx.check_cancel()
        time.sleep(float(config.get("delay", 0.2)))
        ctx.progress(i, steps, loss=1.0 / i, message=f"step {i}/{steps}")
        if config.get("fail_at") == i:
            raise RuntimeError(f"failing on purpose at step {i}")
    result: dict[str, Any] = {"steps": steps}
    if staged is not None:
        (staged / "config.json").write_text("{}", encoding="utf-8")
        result["install"] = [{"name": config["model_name"], "kind": "bi-encoder", "staged": str(staged)}]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.jobs")
    sub = parser.add_subparsers(dest="cmd", required=True)
    worker = sub.add_parser("worker", help="run one queued job (started by the job runner)")
    worker.add_argument("run_id")
    args = parser.parse_args(argv)
    if args.cmd == "worker":
        return _worker_main(args.run_id)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
