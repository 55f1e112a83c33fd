"""Command-line interface. Each sub-command lives in its own module with ``register(subparsers)``;
the handler returns an exit code. A :class:`~core.runtime.LabError` prints one line on stderr and exits 2,
and so does a full disk wherever it shows (``error: disk full: …``); any other exception is a bug and keeps
its traceback. Every command starts by removing what killed processes left in the workspace
(:meth:`~core.runtime.Workspace.clean_up`)."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import sqlite3
import sys
import time
from typing import Any

from core.runtime import (
    Cancelled,
    LabError,
    Progress,
    Reporter,
    disk_full_error,
    get_settings,
    is_disk_full,
    one_line,
    open_workspace,
)

__all__ = ["COMMAND_MODULES", "line_printer", "main", "print_json"]

# sub-command modules, in the order shown by --help
COMMAND_MODULES = [
    "datasets",
    "models",
    "evaluate",
    "encode",
    "train",
    "classify",
    "project",
    "recommend",
    "runs",
]


def line_printer(every_s: float = 2.0, stream: Any = None) -> Reporter:
    """A reporter for the terminal: log lines as they come, progress as plain lines at most every
    ``every_s`` seconds (and when a stage completes)."""
    last = {"t": 0.0}

    def show(p: Progress) -> None:
        out = stream or sys.stderr
        now = time.monotonic()
        if p.is_log:
            print(p.message, file=out, flush=True)
        elif now - last["t"] >= every_s or (p.total and p.done >= p.total):
            last["t"] = now
            print(p.message or f"{p.stage} {p.done:,}/{p.total:,}", file=out, flush=True)

    return show


def print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core",
        description="Embedding Strategy Lab: datasets, retrieval comparison, adaptation, SetFit, projections.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"core.cli.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"core.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def start_up() -> None:
    """What every command does first: clean up after killed processes (best effort, never fails)."""
    with contextlib.suppress(LabError, OSError, sqlite3.Error), open_workspace() as ws:
        ws.clean_up()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    start_up()
    try:
        return int(args.handler(args) or 0)
    except (Cancelled, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return 130
    except LabError as err:
        print(f"error: {one_line(err)}", file=sys.stderr)  # always one line
        return 2
    except (OSError, sqlite3.Error) as err:
        home = _home()
        if not is_disk_full(err, home):
            raise
        print(f"error: {one_line(disk_full_error(home) if home else err)}", file=sys.stderr)
        return 2


def _home() -> Any:
    try:
        return get_settings().home
    except LabError:
        return None
