"""Background jobs in one namespace (``from core.runtime import jobs``; ``jobs.submit(...)``).

Long work (training, big evaluations, projections) runs in a worker process, never in the UI thread: see
:mod:`core.runtime.scheduler` (queues, start, cancel, reconcile), :mod:`core.runtime.worker` (running one
handler) and :mod:`core.runtime.context` (what a handler gets). Job kinds are listed in
:mod:`core.runtime.kinds`.
"""

from __future__ import annotations

from core.runtime.context import JobContext, discard_run_staging, run_staging_dir
from core.runtime.kinds import JOB_HANDLERS, JOB_KINDS, job_handler, known_kinds, register_job_type
from core.runtime.scheduler import (
    CANCEL_WAIT_S,
    DEFAULT_QUEUE,
    KILL_GRACE_S,
    cancel,
    delete,
    kick,
    process_alive,
    reap_children,
    reconcile,
    submit,
    wait,
)
from core.runtime.worker import run_inline

__all__ = [
    "CANCEL_WAIT_S",
    "DEFAULT_QUEUE",
    "JOB_HANDLERS",
    "JOB_KINDS",
    "KILL_GRACE_S",
    "JobContext",
    "cancel",
    "delete",
    "discard_run_staging",
    "job_handler",
    "kick",
    "known_kinds",
    "process_alive",
    "reap_children",
    "reconcile",
    "register_job_type",
    "run_inline",
    "run_staging_dir",
    "submit",
    "wait",
]
