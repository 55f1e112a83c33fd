"""What a job handler gets: :class:`JobContext` (its reporter, the cancel check, folders for its files)."""

from __future__ import annotations

import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.runtime.errors import Cancelled
from core.runtime.leftovers import owner_tag
from core.runtime.progress import LOG, Progress, Reporter
from core.runtime.store import Workspace

__all__ = ["JobContext", "discard_run_staging", "run_staging_dir"]


@dataclass
class JobContext:
    """What a handler gets: progress and log reporting, the cancel check, folders for its files."""

    ws: Workspace
    run_id: str
    config: dict[str, Any]
    watch: Reporter | None = None  # foreground runs (CLI): every record, log lines included
    _last_write: float = 0.0
    _stop_checked: float = 0.0
    _stop: bool = False
    _phase: tuple[int, float, int, int] | None = None  # (total, start time, start step, last step)
    started: float = field(default_factory=time.time)
    _staged: list[Path] = field(default_factory=list)

    @property
    def run_dir(self) -> Path:
        return self.ws.run_dir(self.run_id)

    def staging_dir(self) -> Path:
        """A folder for outputs that become permanent only if the job succeeds (removed otherwise)."""
        path = run_staging_dir(self.ws, self.run_id)
        self._staged.append(path)
        return path

    def discard_staged(self) -> None:
        for path in self._staged:
            shutil.rmtree(path, ignore_errors=True)
        self._staged.clear()

    def progress(
        self,
        step: int,
        total: int | None = None,
        *,
        loss: float | None = None,
        message: str | None = None,
        force: bool = False,
        eta: float | None = None,
    ) -> None:
        """Record progress; ``eta`` (seconds left) when the work measured its own, else it is measured here
        over the current stage (see :meth:`_stage_eta`). Writes are throttled (twice a second) unless a loss
        value or ``force`` is given."""
        now = time.time()
        measured = self._stage_eta(step, total, now)
        eta = measured if eta is None else eta
        if self.watch is not None:
            rate = (total - step) / eta if total and eta and step < total else None
            self.watch(Progress("job", step, total or 0, message or "", rate=rate, loss=loss))
        if not force and loss is None and now - self._last_write < 0.5 and (total is None or step < total):
            return
        self._last_write = now
        self.ws.add_event(
            self.run_id, "progress", step=step, total=total, loss=loss, message=message, eta=eta
        )

    def _stage_eta(self, step: int, total: int | None, now: float) -> float | None:
        """Seconds left in the current stage at the rate measured since its first record: a job of several
        stages (mining, training, evaluation) counts each from its own start, never from the job's (its
        setup and earlier stages are not this stage's rate). A new stage: another total, or a step back."""
        if not total or total <= 0:
            self._phase = None
            return None
        phase = self._phase
        if phase is None or phase[0] != total or step < phase[3]:
            self._phase = (total, now, step, step)
            return None
        self._phase = (total, phase[1], phase[2], step)
        if step <= phase[2] or now <= phase[1]:
            return None
        return max(0.0, (total - step) * (now - phase[1]) / (step - phase[2]))

    def log(self, message: str) -> None:
        self.ws.add_event(self.run_id, "log", message=message)
        if self.watch is not None:
            self.watch(Progress(LOG, 0, 0, message))

    def reporter(self, label: str = "") -> Reporter:
        """The :data:`~core.runtime.progress.Reporter` of this job: records become progress rows (log records
        become log lines) and every record checks for a cancel, raising :class:`Cancelled` when asked.
        ``label`` goes in front of each progress message."""

        def record(p: Progress) -> None:
            if p.is_log:
                self.log(p.message)
                return
            self.check_cancel()
            detail = p.message or (f"{p.stage} {p.done:,}/{p.total:,}" if p.total else p.stage)
            self.progress(
                p.done,
                p.total or None,
                loss=p.loss,
                message=f"{label}: {detail}" if label else detail,
                eta=p.eta_s,
            )

        return record

    def should_stop(self) -> bool:
        """True once the user asked to cancel (checked against the store at most once a second)."""
        if self._stop:
            return True
        now = time.time()
        if now - self._stop_checked > 1.0:
            self._stop_checked = now
            run = self.ws.get_run(self.run_id)
            self._stop = bool(run and run.cancel_requested)
        return self._stop

    def check_cancel(self) -> None:
        if self.should_stop():
            raise Cancelled("cancelled by the user")


def run_staging_dir(ws: Workspace, run_id: str) -> Path:
    """A fresh staging folder whose name ties it to ``run_id`` and to this process
    (``tmp/run-<id>-<owner>-<random>``)."""
    path = ws.home / "tmp" / f"run-{run_id}-{owner_tag()}-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    return path


def discard_run_staging(ws: Workspace, run_id: str) -> int:
    """Remove every staging folder of a run (left behind when its process was killed). Returns how many."""
    removed = 0
    for path in (ws.home / "tmp").glob(f"run-{run_id}-*"):
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        removed += 1
    return removed
