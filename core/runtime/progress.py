"""The one way long work reports: a :data:`Reporter` is called with :class:`Progress` records.

Encoding, indexing, evaluation, training, projection and classification all take ``reporter=`` (or
``progress=``) and call it; a job turns the records into rows of the run store, the CLI prints them, a test
collects them. A reporter may raise :class:`~core.runtime.errors.Cancelled` to stop the work (the job's
reporter does when the user pressed Cancel), so cancelling needs no second channel.

Log lines travel the same way, as records of stage :data:`LOG` (see :func:`log`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "LOG",
    "Progress",
    "RateTracker",
    "Reporter",
    "log",
    "report",
    "scaled",
]

LOG = "log"  # stage of a record that carries a log line, not a position


@dataclass(frozen=True)
class Progress:
    """One update: ``done`` of ``total`` units of ``stage``; ``rate`` in units per second; ``loss`` for
    training steps. A record of stage :data:`LOG` carries only ``message``."""

    stage: str
    done: int
    total: int
    message: str = ""
    rate: float | None = None
    loss: float | None = None

    @property
    def is_log(self) -> bool:
        return self.stage == LOG

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def eta_s(self) -> float | None:
        if not self.rate or self.total <= self.done:
            return None if not self.rate else 0.0
        return (self.total - self.done) / self.rate


Reporter = Callable[[Progress], None]


def report(
    reporter: Reporter | None,
    stage: str,
    done: int,
    total: int,
    message: str = "",
    rate: float | None = None,
    loss: float | None = None,
) -> None:
    """Call ``reporter`` (if given) with one record."""
    if reporter is not None:
        reporter(Progress(stage, done, total, message, rate, loss))


def log(reporter: Reporter | None, message: str) -> None:
    """Send a log line through ``reporter`` (if given)."""
    if reporter is not None:
        reporter(Progress(LOG, 0, 0, message))


def scaled(reporter: Reporter | None, index: int, count: int, label: str = "") -> Reporter | None:
    """A reporter for part ``index`` of ``count`` equal parts of a larger piece of work: its records are
    passed on with ``done``/``total`` mapped into that part's share (in thousandths of the whole), the
    part's ``label`` in front of the message; log lines pass unchanged."""
    if reporter is None:
        return None
    scale = 1000

    def inner(p: Progress) -> None:
        if p.is_log:
            reporter(p)
            return
        done = index * scale + int(scale * p.fraction)
        detail = f"{p.stage}: {p.done:,}/{p.total:,} {p.message}".strip() if p.total else p.message
        message = f"{label} — {detail}" if label and detail else (label or detail)
        reporter(Progress(p.stage, done, count * scale, message, p.rate, p.loss))

    return inner


class RateTracker:
    """Measures throughput since creation, for progress messages such as '412 passages/s'."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def rate(self, done: int) -> float | None:
        elapsed = time.perf_counter() - self.start
        return done / elapsed if elapsed > 0 and done else None
