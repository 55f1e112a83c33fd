"""The worker side of jobs: runs one handler, records its outcome, installs the models it staged.

A queued job runs in a worker process started by :func:`core.runtime.scheduler.kick`: a cold one
(``python -m core.runtime worker RUN_ID``: one job, then it exits) or, in the app, the warm one
(``python -m core.runtime worker --warm``, :func:`serve_warm`: the jobs handed to it one after another,
models kept between them). :func:`run_inline` runs the same handler in the calling process (the CLI's
foreground mode) with the same records.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import signal
import sqlite3
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import psutil

from core.runtime.context import JobContext
from core.runtime.errors import Cancelled, LabError
from core.runtime.kinds import check_kind, job_handler
from core.runtime.progress import Reporter
from core.runtime.records import RunRecord
from core.runtime.scheduler import kick
from core.runtime.space import disk_full_error, is_disk_full
from core.runtime.store import Workspace

__all__ = ["ignore_further_term", "main", "run_inline", "serve_warm", "sleep_job"]

_CURRENT: list[str] = []  # the run a warm worker is running now (none while it waits)


def ignore_further_term() -> None:
    """While a stopping job cleans up, another SIGTERM must not interrupt the clean-up."""
    with contextlib.suppress(ValueError):  # not the main thread
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _execute(ctx: JobContext, kind: str) -> None:
    """Run a handler and record the outcome; installs a returned staged model only on success."""
    ws, run_id = ctx.ws, ctx.run_id
    try:
        handler = job_handler(kind)
        ctx.log(f"started {kind} (pid {os.getpid()})")
        result = handler(ctx, ctx.config) or {}
        if ctx.should_stop():
            raise Cancelled("cancelled by the user")
        result = _install_models(ctx, result)
        ctx.discard_staged()  # scratch folders the handler did not install
        ws.update_run(run_id, status="done", result=result, finished=time.time(), message="done")
        ctx.log("finished")
    except (Cancelled, KeyboardInterrupt):
        ignore_further_term()
        ctx.discard_staged()
        ctx.log("cancelled; nothing was registered")
        ws.update_run(run_id, status="cancelled", finished=time.time(), message="cancelled")
    except BaseException as err:
        ignore_further_term()
        ctx.discard_staged()
        detail = traceback.format_exc(limit=8)
        error = _failure(ws, err)
        with contextlib.suppress(OSError, LabError):  # a full disk must not hide the failure itself
            (ctx.run_dir / "error.txt").write_text(detail, encoding="utf-8")
        with contextlib.suppress(LabError):
            ctx.log(f"failed: {error}")
        ws.update_run(run_id, status="failed", error=error, finished=time.time())
        if not isinstance(err, Exception):
            raise


def _failure(ws: Workspace, err: BaseException) -> str:
    """The error recorded for a failed run: one clear line for a full disk, else the exception."""
    if isinstance(err, OSError | sqlite3.Error) and is_disk_full(err, ws.home):
        return str(disk_full_error(ws.home, "the job"))
    return f"{type(err).__name__}: {err}"


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


def _run_one(ws: Workspace, run_id: str, run: RunRecord) -> None:
    """Run a started job in this process: record the pid, honour a cancel that came first, execute."""
    ctx = JobContext(ws, run_id, run.config)
    try:
        ws.update_run(run_id, pid=os.getpid())
        # read after the pid is recorded: a cancel either came before (seen here) or signals this pid
        again = ws.get_run(run_id)
        if again is None or again.cancel_requested:
            ws.update_run(run_id, status="cancelled", finished=time.time(), message="cancelled")
            return
        _execute(ctx, run.kind)
    except Cancelled:  # SIGTERM before the handler's own clean-up could start
        ignore_further_term()
        ws.update_run(run_id, only_if_status=("running",), status="cancelled", finished=time.time())


def _worker_main(run_id: str) -> int:
    """A cold worker: one job, then the next queued job gets a worker of its own (:func:`kick`)."""
    ws = Workspace()
    run = ws.get_run(run_id)
    if run is None:
        print(f"no run {run_id}", file=sys.stderr)
        return 2

    def on_term(signum: int, frame: Any) -> None:
        raise Cancelled("cancelled by the user")

    try:
        signal.signal(signal.SIGTERM, on_term)
        _run_one(ws, run_id, run)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if run.queue:
            with contextlib.suppress(Exception):
                kick(ws, run.queue)
    return 0


# --------------------------------------------------------------------------------------------------
# the warm worker: jobs one after another, named on stdin (see core.runtime.warm for the other side)
# --------------------------------------------------------------------------------------------------
def serve_warm(max_mb: int = 0) -> int:
    """Run the jobs named on stdin (``run RUN_ID``) one after another, answering ``done RUN_ID`` on
    stdout after each (``retire RUN_ID`` and exit when the process is over ``max_mb`` MB). Ends when
    stdin ends (the app is gone); a job's output goes to its run's ``worker.log``."""
    ws = Workspace()
    control = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # what handlers print goes to the log, never into the answers
    on_term = _warm_term(ws)
    signal.signal(signal.SIGTERM, on_term)
    _answer(control, "ready")
    for line in sys.stdin:
        word, _, run_id = line.strip().partition(" ")
        if word != "run" or not run_id:
            continue
        queue = None
        with contextlib.suppress(Cancelled):  # a cancel landing after its job ended
            queue = _serve_one(ws, run_id, on_term)
        gc.collect()
        over = max_mb > 0 and psutil.Process().memory_info().rss > max_mb * 2**20
        if not _answer(control, f"{'retire' if over else 'done'} {run_id}"):  # nobody listens any more
            if queue:
                with contextlib.suppress(Exception):
                    kick(ws, queue)  # cold workers take the queue over
            return 0
        if over:
            return 0
    return 0


def _serve_one(ws: Workspace, run_id: str, on_term: Any) -> str | None:
    """One job on the warm worker; returns its queue."""
    run = ws.get_run(run_id)
    if run is None:
        return None
    _CURRENT[:] = [run_id]
    try:
        with _output_to(ws.run_dir(run_id) / "worker.log"):
            _run_one(ws, run_id, run)
    finally:
        _CURRENT.clear()
        signal.signal(signal.SIGTERM, on_term)  # the job, or its clean-up, may have ignored SIGTERM
    return run.queue


def _warm_term(ws: Workspace) -> Any:
    """SIGTERM on a warm worker stops its current job only if the user asked to cancel that job: the
    signal of a cancel that raced the end of the previous job never stops the next one."""

    def on_term(signum: int, frame: Any) -> None:
        if not _CURRENT:
            return
        try:
            run = ws.get_run(_CURRENT[0])
        except LabError:
            run = None  # cannot tell: a SIGTERM is a cancel
        if run is None or (run.status == "running" and run.cancel_requested):
            raise Cancelled("cancelled by the user")

    return on_term


def _answer(control: TextIO, line: str) -> bool:
    try:
        control.write(line + "\n")
        control.flush()
        return True
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def _output_to(path: Path) -> Iterator[None]:
    """Point this process's stdout and stderr at ``path`` for a while (a job's ``worker.log``)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        yield
    finally:
        with contextlib.suppress(ValueError, OSError):
            sys.stdout.flush()
            sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def run_inline(
    ws: Workspace,
    kind: str,
    config: dict[str, Any],
    *,
    title: str = "",
    watch: Reporter | None = None,
) -> RunRecord:
    """Run a job in this process (CLI foreground mode); same handler, same records as a worker.
    ``watch`` gets every progress record and log line as it is written. A cancel (``runs cancel``, the
    Runs page) reaches it as SIGTERM, which raises :class:`Cancelled` in the handler."""
    check_kind(kind)
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: Any) -> None:
        raise Cancelled("terminated")

    # installed first: `runs cancel` sends this process SIGTERM as soon as the run shows its pid
    with contextlib.suppress(ValueError):  # not in the main thread: the cancel flag is polled instead
        signal.signal(signal.SIGTERM, on_term)
    try:
        run_id = ws.create_run(kind, config, title=title or kind, queue=None, status="running")
        ws.update_run(run_id, pid=os.getpid())
        _execute(JobContext(ws, run_id, config, watch=watch), kind)
    finally:
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(signal.SIGTERM, previous)
    run = ws.get_run(run_id)
    assert run is not None
    return run


def sleep_job(ctx: JobContext, config: dict[str, Any]) -> dict[str, Any]:
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
    parser = argparse.ArgumentParser(prog="python -m core.runtime")
    sub = parser.add_subparsers(dest="cmd", required=True)
    worker = sub.add_parser(
        "worker", help="run a queued job, or jobs handed over stdin (started by the scheduler)"
    )
    worker.add_argument("run_id", nargs="?", help="the job to run (a cold worker: one job, then it exits)")
    worker.add_argument("--warm", action="store_true", help="stay alive and run the jobs named on stdin")
    worker.add_argument("--max-mb", type=int, default=0, help="a warm worker over this RSS exits after a job")
    args = parser.parse_args(argv)  # "worker" is the only sub-command
    if args.warm:
        return serve_warm(args.max_mb)
    if not args.run_id:
        parser.error("worker needs a RUN_ID (or --warm)")
    return _worker_main(args.run_id)


if __name__ == "__main__":  # the old entry point (python -m core.runtime.worker); use python -m core.runtime
    raise SystemExit(main())
