"""Progress reporting shared by long operations (encoding, indexing, evaluation, training)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Cancelled", "Progress", "ProgressFn", "RateTracker", "report"]


@dataclass(frozen=True)
class Progress:
    """One progress update: ``done`` of ``total`` units of ``stage``; ``rate`` in units per second."""

    stage: str
    done: int
    total: int
    message: str = ""
    rate: float | None = None

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def eta_s(self) -> float | None:
        if not self.rate or self.total <= self.done:
            return None if not self.rate else 0.0
        return (self.total - self.done) / self.rate


ProgressFn = Callable[[Progress], None]


class Cancelled(Exception):
    """Raised inside long work when the user asked to stop it."""


def report(
    progress: ProgressFn | None,
    stage: str,
    done: int,
    total: int,
    message: str = "",
    rate: float | None = None,
) -> None:
    """Call ``progress`` if given."""
    if progress is not None:
        progress(Progress(stage, done, total, message, rate))


class RateTracker:
    """Measures throughput since creation, for progress messages such as '412 passages/s'."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def rate(self, done: int) -> float | None:
        elapsed = time.perf_counter() - self.start
        return done / elapsed if elapsed > 0 and done else None
