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
        """Seconds left, extrapolated from progress so far (None when unknown)."""
        if self.status != "running" or not self.step or not self.total or self.started is None:
            return None
        elapsed = time.time() - self.started
        return max(0.0, elapsed / self.step * (self.total - self.step))


@dataclass(frozen=True)
class RunEvent:
    ts: float
    kind: str
    step: int | None
    total: int | None
    loss: float | None
    message: str | None
