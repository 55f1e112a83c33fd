"""Small frozen records of what the workspace holds: datasets, models, runs and run events."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FINISHED_STATUSES", "RUN_STATUSES", "DatasetRecord", "ModelRecord", "RunEvent", "RunRecord"]

RUN_STATUSES = ("queued", "running", "done", "failed", "cancelled", "lost")
FINISHED_STATUSES = ("done", "failed", "cancelled", "lost")


@dataclass(frozen=True)
class DatasetRecord:
    name: str
    kind: str
    folder: Path
    summary: dict[str, Any]
    source: str | None
    created: float


@dataclass(frozen=True)
class ModelRecord:
    name: str
    kind: str
    path: str
    base: str | None
    meta: dict[str, Any]
    run_id: str | None
    created: float


@dataclass(frozen=True)
class RunRecord:
    id: str
    kind: str
    title: str
    queue: str | None
    status: str
    config: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    pid: int | None
    cancel_requested: bool
    step: int | None
    total: int | None
    loss: float | None
    message: str | None
    created: float
    started: float | None
    finished: float | None
    updated: float | None
    extra: dict[str, Any] = field(default_factory=dict)
    eta_at_update: float | None = None  # seconds left when progress was last recorded (``updated``)

    @property
    def finished_ok(self) -> bool:
        return self.status == "done"

    @property
    def is_active(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def elapsed_s(self) -> float | None:
        if self.started is None:
            return None
        return (self.finished or time.time()) - self.started

    @property
    def eta_s(self) -> float | None:
        """Seconds left in the current stage, as measured by the job when it last reported, less the time
        since (None when unknown: not running, or no rate measured yet)."""
        if self.status != "running" or self.eta_at_update is None:
            return None
        return max(0.0, self.eta_at_update - (time.time() - (self.updated or time.time())))


@dataclass(frozen=True)
class RunEvent:
    ts: float
    kind: str
    step: int | None
    total: int | None
    loss: float | None
    message: str | None
