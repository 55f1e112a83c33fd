"""Command-line interface. Each sub-command lives in its own module with ``register(subparsers)``;
the handler returns an exit code. A :class:`~core.runtime.LabError` prints one line on stderr and exits 2,
and so does a full disk wherever it shows (``error: disk full: …``); any other exception is a bug and keeps
its traceback. Every command starts by removing what killed processes left in the workspace
(:meth:`~core.runtime.Workspace.clean_up`).

Progress goes to stderr as plain lines (:func:`line_printer`: a line when a stage or seed starts and every
few seconds, with the share done and an ETA from the throughput measured so far), so a log file or a pipe
sees it too. Library noise — progress bars of tqdm / Hugging Face ("Loading weights"), transformers and
sentence-transformers logging, ranx's ``NumbaTypeSafetyWarning`` — stays off stderr unless ``--verbose``
(anywhere on the command line; :func:`library_noise`)."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import re
import sqlite3
import sys
import time
import warnings
from collections.abc import Iterator
from typing import Any

from core.runtime import (
    Cancelled,
    LabError,
    Progress,
    RateTracker,
    Reporter,
    disk_full_error,
    format_eta,
    get_settings,
    is_disk_full,
    one_line,
    open_workspace,
)

__all__ = ["COMMAND_MODULES", "library_noise", "line_printer", "main", "print_json", "progress_line"]

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


# the changing parts of a progress message (counters, rates, losses, shares): what is left names the stage
_COUNTERS = re.compile(r"\d[\d,]*/[\d,]+|[\d.,]+\s*[\w ]*/s|loss [\d.e+-]+|\(?\d+%\)?")
NOISY_LOGGERS = ("transformers", "sentence_transformers", "huggingface_hub", "setfit", "numba", "datasets")
QUIET_ENV = {
    "TQDM_DISABLE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "DATASETS_VERBOSITY": "error",
}


def _heading(message: str) -> str:
    return _COUNTERS.sub("", message).strip()


def progress_line(p: Progress, prefix: str | None = None, eta_s: float | None = None) -> str:
    """``[evaluate] dense: encoding corpus 1,200/5,183, 41 texts/s (23%), ETA 1m37s``."""
    text = p.message or f"{p.stage} {p.done:,}/{p.total:,}"
    head = f"[{prefix}] " if prefix else ""
    share = f" ({int(100 * p.fraction)}%)" if p.total else ""
    eta = p.eta_s if p.eta_s is not None else eta_s
    tail = f", ETA {format_eta(eta)}" if eta is not None and p.done < p.total else ""
    return f"{head}{text}{share}{tail}"


def line_printer(every_s: float = 2.0, stream: Any = None, prefix: str | None = None) -> Reporter:
    """A reporter for stderr as plain lines: log lines as they come; progress when a new stage or seed
    starts (its message names another stage once counters are left out), when a stage completes, and at
    most every ``every_s`` seconds otherwise. The ETA is the record's own (from its rate), else extrapolated
    from the share done in the time since the first record."""
    last = {"t": float("-inf"), "heading": None, "done": None}
    tracker: dict[str, RateTracker] = {}

    def show(p: Progress) -> None:
        out = stream or sys.stderr
        if p.is_log:
            print(f"[{prefix}] {p.message}" if prefix else p.message, file=out, flush=True)
            return
        now = time.monotonic()
        clock = tracker.setdefault(p.stage, RateTracker())
        heading = _heading(p.message or p.stage)
        moved = p.done != last["done"]
        last["done"] = p.done
        new_stage = moved and heading != last["heading"]
        if not (new_stage or now - last["t"] >= every_s or (p.total and p.done >= p.total)):
            return
        last["t"], last["heading"] = now, heading
        elapsed, frac = clock.elapsed(), p.fraction
        eta = elapsed * (1 - frac) / frac if 0 < frac < 1 and elapsed > 0 else None
        print(progress_line(p, prefix, eta), file=out, flush=True)

    return show


@contextlib.contextmanager
def library_noise(verbose: bool = False) -> Iterator[None]:
    """Inside: library progress bars, logging and the warnings users cannot act on are off (unless
    ``verbose``); environment, logger levels and warning filters come back afterwards."""
    if verbose:
        yield
        return
    saved_env = {k: os.environ.get(k) for k in QUIET_ENV}
    levels = {name: logging.getLogger(name).level for name in NOISY_LOGGERS}
    os.environ.update(QUIET_ENV)  # for libraries imported from now on, and worker processes
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    for module, call in (
        ("huggingface_hub.utils", "disable_progress_bars"),
        ("transformers.utils.logging", "disable_progress_bar"),
    ):  # already imported: switch their bars off now
        fn = getattr(sys.modules.get(module), call, None)
        if callable(fn):
            fn()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*unsafe cast from .*")  # ranx NumbaTypeSafetyWarning
            warnings.filterwarnings("ignore", category=FutureWarning)
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", module=r"(transformers|sentence_transformers|torch|setfit)\b.*")
            yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core",
        description="Embedding Strategy Lab: datasets, retrieval comparison, adaptation, SetFit, projections.",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show library progress bars, logging and warnings on stderr (allowed anywhere on the line)",
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
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = "--verbose" in argv
    argv = [a for a in argv if a != "--verbose"]
    with library_noise(verbose):
        return _main(argv, verbose)


def _main(argv: list[str], verbose: bool) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.verbose = verbose
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
