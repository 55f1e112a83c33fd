"""Background jobs in one namespace (``from core.runtime import jobs``; ``jobs.submit(...)``).

Long work (training, big evaluations, projections) runs in a worker process, never in the UI thread: see
:mod:`core.runtime.scheduler` (queues, start, cancel, reconcile), :mod:`core.runtime.worker` (running
handlers), :mod:`core.runtime.warm` (the app's warm worker) and :mod:`core.runtime.context` (what a handler
gets). Job kinds are listed in :mod:`core.runtime.kinds`.
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
    start_warm_worker,
    submit,
    wait,
)
from core.runtime.warm import keep_warm, stop_warm_workers, warm_enabled
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
    "keep_warm",
    "kick",
    "known_kinds",
    "process_alive",
    "reap_children",
    "reconcile",
    "register_job_type",
    "run_inline",
    "run_staging_dir",
    "start_warm_worker",
    "stop_warm_workers",
    "submit",
    "wait",
    "warm_enabled",
]
