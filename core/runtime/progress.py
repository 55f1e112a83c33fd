"""The one way long work reports: a :data:`Reporter` is called with :class:`Progress` records.

Encoding, indexing, evaluation, training, projection and classification all take ``reporter=`` (or
``progress=``) and call it; a job turns the records into rows of the run store, the CLI prints them, a test
collects them. A reporter may raise :class:`~core.runtime.errors.Cancelled` to stop the work (the job's
reporter does when the user pressed Cancel), so cancelling needs no second channel.

Log lines travel the same way, as records of stage :data:`LOG` (see :func:`log`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "LOG",
    "PlannedStage",
    "Progress",
    "RateTracker",
    "Reporter",
    "StagedProgress",
    "format_eta",
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

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.start = clock()

    def elapsed(self) -> float:
        return self.clock() - self.start

    def rate(self, done: int) -> float | None:
        elapsed = self.elapsed()
        return done / elapsed if elapsed > 0 and done else None


def format_eta(seconds: float | None) -> str:
    """``97.4`` -> ``"1m37s"``, ``3725`` -> ``"1h02m"``, ``4.2`` -> ``"4s"``; ``None`` -> ``"?"``."""
    if seconds is None:
        return "?"
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


@dataclass(frozen=True)
class PlannedStage:
    """One stage of a :class:`StagedProgress` plan: ``units`` of work of one ``kind`` (units of a kind cost
    alike: texts a model reads, texts BM25 reads, ...)."""

    name: str
    units: int
    kind: str = "work"


class StagedProgress:
    """Progress over planned stages of unlike cost, weighted by time measured now.

    Each stage's weight is its planned units times the seconds per unit of its kind, measured in this run
    (a :class:`RateTracker` per stage, less the setup before :meth:`mark_work`; the kind's cost is its measured
    seconds over its units done so far).
    A kind not measured yet costs what ``priors`` says relative to a measured kind at least as dear (the ETA
    is unknown, and the bar moves by planned shares, until then). The fraction is elapsed / (elapsed + ETA) once an ETA exists, never goes back, stays below 1.0
    until :meth:`finish`, and each record's ``rate`` (thousandths per second) makes ``Progress.eta_s`` the
    ETA. Records go to ``reporter`` as stage ``stage`` with ``done``/``total`` in thousandths."""

    SCALE = 1000

    def __init__(
        self,
        reporter: Reporter | None,
        stage: str,
        plan: Sequence[PlannedStage],
        *,
        priors: Mapping[str, float] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ):
        self.reporter, self.stage, self.clock = reporter, stage, clock
        self.plan = list(plan)
        self.priors = dict(priors or {})
        self.done_units = [0] * len(self.plan)
        self.seconds: dict[str, float] = {}  # kind -> seconds measured on its units
        self.units: dict[str, int] = {}  # kind -> units measured
        self.current: int | None = None
        self.tracker = RateTracker(clock)
        self.stage_tracker = RateTracker(clock)
        self.setup_s = 0.0  # seconds of the current stage before its work began (see mark_work)
        self.shown = 0.0

    def _index(self, name: str) -> int:
        for i, planned in enumerate(self.plan):
            if planned.name == name:
                return i
        raise KeyError(name)

    def _close_current(self) -> None:
        if self.current is None:
            return
        kind = self.plan[self.current].kind
        self.seconds[kind] = self.seconds.get(kind, 0.0) + self._work_s()
        self.units[kind] = self.units.get(kind, 0) + self.done_units[self.current]
        self.current = None

    def begin(self, name: str, message: str = "") -> None:
        """Stage ``name`` starts: the one before it is done (its time measured), planned stages before it
        that did not run are skipped."""
        if self.current is not None:
            self.done_units[self.current] = self.plan[self.current].units
        self._close_current()
        self.current = self._index(name)
        for i in range(self.current):
            self.done_units[i] = self.plan[i].units
        self.stage_tracker = RateTracker(self.clock)
        self.setup_s = 0.0
        self._emit(message)

    def mark_work(self) -> None:
        """The current stage's setup (loading a model, choosing its backend) is over: its cost per unit is
        measured from now on (once per stage; the setup still counts in the elapsed time)."""
        if self.current is not None and not self.setup_s and not self.done_units[self.current]:
            self.setup_s = max(1e-9, self.stage_tracker.elapsed())

    def _work_s(self) -> float:
        return max(0.0, self.stage_tracker.elapsed() - self.setup_s)

    def advance(self, done: int, message: str = "") -> None:
        """``done`` units of the current stage are finished."""
        if self.current is not None:
            units = self.plan[self.current].units
            self.done_units[self.current] = max(self.done_units[self.current], min(int(done), units))
        self._emit(message)

    def finish(self, message: str = "done") -> None:
        if self.current is not None:
            self.done_units[self.current] = self.plan[self.current].units
        self._close_current()
        self.shown = 1.0
        report(self.reporter, self.stage, self.SCALE, self.SCALE, message, 0.0)

    def cost(self, kind: str) -> float | None:
        """Seconds per unit of ``kind``: measured, else from a measured kind and the priors."""
        seconds, units = dict(self.seconds), dict(self.units)
        if self.current is not None and self.done_units[self.current]:
            now = self.plan[self.current].kind
            seconds[now] = seconds.get(now, 0.0) + self._work_s()
            units[now] = units.get(now, 0) + self.done_units[self.current]
        if units.get(kind):
            return seconds[kind] / units[kind]
        prior = self.priors.get(kind)
        # from the dearest measured kind at least as dear as this one: a cheap kind's time is mostly
        # overhead, and multiplying it up (BM25's milliseconds x 200 for a transformer) gives nonsense
        measured = [k for k, n in units.items() if n and self.priors.get(k, 0.0) > 0]
        for other in sorted(measured, key=lambda k: -self.priors[k]):
            if prior is not None and self.priors[other] >= prior:
                return seconds[other] / units[other] * prior / self.priors[other]
        return None

    def eta_s(self) -> float | None:
        """Seconds left: the remaining units of every stage at their kind's cost (None while unknown)."""
        total = 0.0
        for planned, done in zip(self.plan, self.done_units, strict=True):
            left = planned.units - done
            if left <= 0:
                continue
            cost = self.cost(planned.kind)
            if cost is None:
                return None
            total += left * cost
        return total

    def fraction(self) -> float:
        """Share of the work done (monotone, below 1.0 until :meth:`finish`)."""
        eta = self.eta_s()
        if eta is not None:
            elapsed = self.tracker.elapsed()
            raw = elapsed / (elapsed + eta) if elapsed + eta > 0 else 0.0
        else:
            weight = [p.units * self.priors.get(p.kind, 1.0) for p in self.plan]
            done = [d * self.priors.get(p.kind, 1.0) for p, d in zip(self.plan, self.done_units, strict=True)]
            raw = sum(done) / sum(weight) if sum(weight) else 0.0
        self.shown = max(self.shown, min(raw, 0.999))
        return self.shown

    def _emit(self, message: str) -> None:
        if self.reporter is None:
            return
        fraction, eta = self.fraction(), self.eta_s()
        done = int(self.SCALE * fraction)
        rate = (self.SCALE - done) / eta if eta else None
        self.reporter(Progress(self.stage, done, self.SCALE, message, rate))
