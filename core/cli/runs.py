"""``python -m core runs``: list, show, cancel and delete background jobs."""

from __future__ import annotations

import argparse
import time

from core.cli import print_json
from core.runtime import InvalidInput, NotFound, StoreError, jobs, open_workspace


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runs", help="list, show, cancel or delete runs (training, mining, evaluation jobs)")
    rs = p.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    ls = rs.add_parser("list", help="runs, newest first (JSON)")
    ls.add_argument("--status", default=None, help="comma list: queued,running,done,failed,cancelled,lost")
    ls.add_argument("--kind", default=None)
    ls.add_argument("--limit", type=int, default=50)
    ls.set_defaults(handler=_list)
    show = rs.add_parser("show", help="one run with its result and last log lines")
    show.add_argument("run_id")
    show.add_argument("--log", type=int, default=20, help="log lines to include")
    show.set_defaults(handler=_show)
    cancel = rs.add_parser("cancel", help="stop a queued or running job; returns once it has stopped")
    cancel.add_argument("run_id")
    cancel.add_argument(
        "--wait",
        type=float,
        default=jobs.CANCEL_WAIT_S,
        help="seconds to wait for it to stop (it is killed if it ignores the cancel)",
    )
    cancel.set_defaults(handler=_cancel)
    delete = rs.add_parser("delete", help="delete a finished run and its artifacts")
    delete.add_argument("run_id")
    delete.set_defaults(handler=_delete)


def _row(run) -> dict:  # type: ignore[no-untyped-def]
    return {
        "id": run.id,
        "kind": run.kind,
        "title": run.title,
        "status": run.status,
        "step": run.step,
        "total": run.total,
        "loss": run.loss,
        "message": run.message,
        "error": run.error,
        "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run.created)),
        "elapsed_s": round(run.elapsed_s, 1) if run.elapsed_s is not None else None,
    }


def _get(ws, run_id: str):  # type: ignore[no-untyped-def]
    run = ws.get_run(run_id)
    if run is None:
        raise NotFound(f"No run {run_id!r} (see `python -m core runs list`).")
    return run


def _list(args: argparse.Namespace) -> int:
    ws = open_workspace()
    jobs.reconcile(ws)
    status = tuple(s.strip() for s in args.status.split(",")) if args.status else None
    print_json([_row(r) for r in ws.list_runs(kind=args.kind, status=status, limit=args.limit)])
    return 0


def _show(args: argparse.Namespace) -> int:
    ws = open_workspace()
    jobs.reconcile(ws)
    run = _get(ws, args.run_id)
    out = _row(run)
    out.update(config=run.config, result=run.result)
    out["log"] = [e.message for e in ws.events(run.id, kind="log", last=args.log)]
    folder = ws.home / "runs" / run.id
    out["artifacts"] = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    print_json(out)
    return 0


def _cancel(args: argparse.Namespace) -> int:
    """Synchronous: returns once the run has stopped (exit 0), or fails after ``--wait`` seconds (exit 2)."""
    ws = open_workspace()
    run = _get(ws, args.run_id)
    if not run.is_active:
        raise InvalidInput(f"Run {run.id} is already {run.status}.")
    run = jobs.cancel(ws, run.id, wait_s=max(args.wait, 0.1)) or run
    if run.is_active:
        raise StoreError(
            f"Run {run.id} is still {run.status} {args.wait:.0f} s after the cancel request (pid {run.pid}); "
            f"it stops at its next step or is killed — check `python -m core runs show {run.id}`."
        )
    print_json(_row(run))
    return 0


def _delete(args: argparse.Namespace) -> int:
    ws = open_workspace()
    jobs.delete(ws, args.run_id)
    print_json({"deleted": args.run_id})
    return 0
