"""Command-line interface. Each sub-command lives in its own module with ``register(subparsers)``;
the handler returns an exit code. User errors print one line on stderr and exit 2."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any

__all__ = ["COMMAND_MODULES", "main", "print_json"]

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


def user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean bad input rather than a bug: shown as one line, exit code 2."""
    from core.datasets import DataImportError
    from core.models import ModelNotAvailable
    from core.store import StoreError

    return (DataImportError, StoreError, ModelNotAvailable, KeyError, ValueError, FileNotFoundError)


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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except user_errors() as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
        print(f"error: {' '.join(str(message).split())}", file=sys.stderr)  # always one line
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
