"""Job kinds and their handlers, named as ``"package:function"`` strings.

The runtime layer runs jobs but sits below every feature, so it never imports a handler's package: the
worker process imports it by name when it starts a job of that kind. Add a line to :data:`JOB_KINDS` when a
feature adds a kind of background work (the handler is exported by its package's face).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from core.runtime.errors import NotFound

__all__ = ["JOB_HANDLERS", "JOB_KINDS", "check_kind", "job_handler", "known_kinds", "register_job_type"]

JOB_KINDS: dict[str, str] = {
    "evaluate": "core.evaluate:evaluate_job",
    "encode": "core.encoding:encode_job",
    "project": "core.explore:project_job",
    "adapt": "core.adapt:adapt_job",
    "mine": "core.adapt:mine_job",
    "setfit_run": "core.classify:classify_run_job",
    "setfit_curve": "core.classify:classify_curve_job",
    "wizard_verify": "core.wizard:verify_job",
    "wizard_gotchas": "core.wizard:gotchas_job",
    "wizard_spectrum": "core.wizard:spectrum_job",
    "sleep": "core.runtime.worker:sleep_job",  # counts and sleeps: tests of the job runner itself
}
# job kind -> "module:function": the built-in kinds plus any registered at run time
JOB_HANDLERS: dict[str, str] = dict(JOB_KINDS)

Handler = Callable[[Any, dict[str, Any]], dict[str, Any]]


def register_job_type(kind: str, target: str) -> None:
    """Map a job kind to its handler (``"package.module:function"``)."""
    JOB_HANDLERS[kind] = target


def known_kinds() -> set[str]:
    return set(JOB_HANDLERS)


def check_kind(kind: str) -> None:
    if kind not in JOB_HANDLERS:
        raise NotFound(f"Unknown job kind {kind!r}; known: {sorted(JOB_HANDLERS)}")


def job_handler(kind: str) -> Handler:
    """The handler function of ``kind`` (its module is imported now, inside the worker)."""
    check_kind(kind)
    module, func = JOB_HANDLERS[kind].split(":")
    return getattr(importlib.import_module(module), func)
