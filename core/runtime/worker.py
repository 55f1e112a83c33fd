"""The worker side of jobs: runs one handler, records its outcome, installs the models it staged.

A queued job runs in its own process (``python -m core.runtime.worker worker RUN_ID``, started by
:func:`core.runtime.scheduler.kick`); :func:`run_inline` runs the same handler in the calling process (the
CLI's foreground mode) with the same records.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sqlite3
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from core.runtime.context import JobContext
from core.runtime.errors import Cancelled, LabError
from core.runtime.kinds import check_kind, job_handler
from core.runtime.progress import Reporter
from core.runtime.records import RunRecord
from core.runtime.scheduler import kick
from core.runtime.space import disk_full_error, is_disk_full
from core.runtime.store import Workspace

__all__ = ["ignore_further_term", "main", "run_inline", "sleep_job"]


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


def _worker_main(run_id: str) -> int:
    ws = Workspace()
    run = ws.get_run(run_id)
    if run is None:
        print(f"no run {run_id}", file=sys.stderr)
        return 2

    def on_term(signum: int, frame: Any) -> None:
        raise Cancelled("cancelled by the user")

    ctx = JobContext(ws, run_id, run.config)
    try:
        signal.signal(signal.SIGTERM, on_term)
        ws.update_run(run_id, pid=os.getpid())
        # read after the pid is recorded: a cancel either came before (seen here) or signals this pid
        again = ws.get_run(run_id)
        if again is None or again.cancel_requested:
            ws.update_run(run_id, status="cancelled", finished=time.time(), message="cancelled")
            return 0
        _execute(ctx, run.kind)
    except Cancelled:  # SIGTERM before the handler's own clean-up could start
        ignore_further_term()
        ws.update_run(run_id, only_if_status=("running",), status="cancelled", finished=time.time())
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
    parser = argparse.ArgumentParser(prog="python -m core.runtime.worker")
    sub = parser.add_subparsers(dest="cmd", required=True)
    worker = sub.add_parser("worker", help="run one queued job (started by the job runner)")
    worker.add_argument("run_id")
    args = parser.parse_args(argv)  # "worker" is the only sub-command
    return _worker_main(args.run_id)


if __name__ == "__main__":
    raise SystemExit(main())
