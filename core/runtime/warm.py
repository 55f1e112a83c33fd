"""Warm workers: the running app keeps one job worker process alive between jobs (the scheduler's side).

A cold worker (``python -m core.runtime worker RUN_ID``) imports torch and loads its models for each job;
a warm one (``python -m core.runtime worker --warm``) is started once per workspace — at app start or on
the first job — and runs the jobs handed to it one after another, keeping loaded models in a small memo
(``ESL_MODEL_MEMO``, read by :mod:`core.models.memo`). The scheduler talks to it over its pipes, one line
each way::

    scheduler ──stdin──►  run <run id>
    worker ──stdout──►    ready | done <run id> | retire <run id>

- One job at a time: a job for another queue while the warm worker is busy gets a cold worker.
- After each job the worker checks its memory: over ``ESL_WORKER_MAX_MB`` it answers ``retire`` and exits,
  and the next job starts a fresh one.
- Cancel is unchanged: SIGTERM to the worker's process group interrupts the job (the worker checks that
  the user asked to cancel *its current* job, so a late signal never stops the next one) and the worker
  lives on; a job deaf to SIGTERM is SIGKILLed with the worker after the grace period, as before.
- When the worker dies (kill -9, crash, memory cap) its reader thread reaps it and calls the scheduler's
  ``on_change`` (which marks its run lost and starts the next job on a fresh worker).
- The app enables it for its workspace (:func:`keep_warm`; ``ESL_WARM_WORKER=1`` for every workspace,
  ``0`` for none); everything else (CLI, scripts, tests) runs one worker per job, exactly as before.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from core.runtime.config import REPO_ROOT
from core.runtime.errors import ConfigError

__all__ = [
    "DEFAULT_MODEL_MEMO",
    "DEFAULT_WORKER_MAX_MB",
    "HANDOFF_WAIT_S",
    "MAX_MB_ENV",
    "WARM_ENV",
    "WarmWorker",
    "hand_to_warm",
    "keep_warm",
    "stop_warm_workers",
    "warm_enabled",
    "warm_worker",
    "worker_command",
    "worker_env",
    "worker_max_mb",
]

WARM_ENV = "ESL_WARM_WORKER"  # "1": this process's scheduler keeps a warm worker (the app's)
MAX_MB_ENV = "ESL_WORKER_MAX_MB"  # a warm worker over this RSS after a job exits; the next job gets a new one
DEFAULT_WORKER_MAX_MB = 6144
DEFAULT_MODEL_MEMO = 3  # loaded models a warm worker keeps (ESL_MODEL_MEMO overrides)
HANDOFF_WAIT_S = 3.0  # a job handed while the worker is writing "done" for the last one waits this long

_WARM_HOMES: list[str] = []  # the workspace whose jobs this process runs on a warm worker (keep_warm)
_POOL: dict[str, WarmWorker] = {}
_POOL_LOCK = threading.Lock()
OnChange = Callable[[Path], None]


def keep_warm(home: Path, enabled: bool = True) -> None:
    """Have this process's scheduler run the jobs of workspace ``home`` on a warm worker (the app calls it
    for its workspace at start). One workspace at a time: the warm worker of another one is let go."""
    key = str(Path(home))
    others = [h for h in _WARM_HOMES if h != key or not enabled]
    _WARM_HOMES[:] = [key] if enabled else [h for h in _WARM_HOMES if h != key]
    for other in others:
        _stop(other)


def warm_enabled(home: Path) -> bool:
    """Whether jobs of ``home`` go to a warm worker: :func:`keep_warm`, or ``ESL_WARM_WORKER`` (``1``: every
    workspace, ``0``: none)."""
    env = os.environ.get(WARM_ENV, "").strip()
    if env in ("0", "1"):
        return env == "1"
    return str(Path(home)) in _WARM_HOMES


def worker_max_mb() -> int:
    """``ESL_WORKER_MAX_MB`` (default :data:`DEFAULT_WORKER_MAX_MB`); a bad value is a ConfigError."""
    raw = os.environ.get(MAX_MB_ENV, "").strip()
    if not raw:
        return DEFAULT_WORKER_MAX_MB
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{MAX_MB_ENV} must be a whole number of megabytes, got {raw!r}.") from None
    if value < 1:
        raise ConfigError(f"{MAX_MB_ENV} must be at least 1, got {value}.")
    return value


def worker_command(*args: str) -> list[str]:
    """The command line of a worker process (``python -m core.runtime worker ...``)."""
    return [sys.executable, "-m", "core.runtime", "worker", *args]


def worker_env(home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, ESL_HOME=str(home), PYTHONUNBUFFERED="1", **extra)
    env.pop(WARM_ENV, None)  # a worker's own scheduler (it starts the next queued job) runs cold workers
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


class WarmWorker:
    """One warm worker process of a workspace and the thread that reads its answers."""

    def __init__(self, home: Path, on_change: OnChange) -> None:
        self.home = Path(home)
        self.on_change = on_change
        self.busy: str | None = None  # the run it is working on
        self.gone = False
        self.retired = False  # exited on its memory cap
        self.jobs = 0
        self._cond = threading.Condition()
        memo = os.environ.get("ESL_MODEL_MEMO") or str(DEFAULT_MODEL_MEMO)
        max_mb = worker_max_mb()
        log_dir = self.home / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        with open(log_dir / "warm-worker.log", "ab") as log:
            self.proc = subprocess.Popen(
                worker_command("--warm", "--max-mb", str(max_mb)),
                cwd=str(REPO_ROOT),
                env=worker_env(self.home, ESL_MODEL_MEMO=memo),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,  # own process group: cancel signals reach its children too
            )
        self._reader = threading.Thread(target=self._read, name=f"esl-warm-{self.pid}", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return not self.gone and self.proc.poll() is None

    def hand(self, run_id: str, finished: Callable[[str], bool]) -> bool:
        """Give it ``run_id`` to run; False when it is busy (or gone). ``finished(run_id)`` tells whether
        its current job is already over in the store (its ``done`` is then only a moment away)."""
        with self._cond:
            if self.busy is not None and not self.gone and finished(self.busy):
                self._cond.wait_for(lambda: self.busy is None or self.gone, HANDOFF_WAIT_S)
            if self.busy is not None or not self.alive or self.proc.stdin is None:
                return False
            try:
                self.proc.stdin.write(f"run {run_id}\n".encode())
                self.proc.stdin.flush()
            except OSError:
                self.gone = True
                return False
            self.busy = run_id
            return True

    def wait_idle(self, timeout: float) -> bool:
        """Wait until it has no job (True) or is gone (False)."""
        with self._cond:
            self._cond.wait_for(lambda: self.busy is None or self.gone, timeout)
            return self.busy is None and not self.gone

    def close(self) -> None:
        """Ask it to exit once idle (its stdin ends); a job it is running finishes first."""
        with self._cond:
            self.gone = True
            self._cond.notify_all()
        with contextlib.suppress(OSError, ValueError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            word, _, arg = raw.decode(errors="replace").strip().partition(" ")
            with self._cond:
                if word == "done" and arg == self.busy:
                    self.busy = None
                    self.jobs += 1
                elif word == "retire":
                    self.retired = True
                self._cond.notify_all()
            if word == "done":
                self._changed()
        self.proc.wait()  # reaped: never a zombie
        with self._cond:
            self.gone, self.busy = True, None
            self._cond.notify_all()
        with _POOL_LOCK:
            if _POOL.get(str(self.home)) is self:
                _POOL.pop(str(self.home))
        self._changed()

    def _changed(self) -> None:
        with contextlib.suppress(Exception):  # a full disk or a deleted workspace: the next call catches up
            self.on_change(self.home)


def warm_worker(home: Path, on_change: OnChange) -> WarmWorker:
    """The warm worker of workspace ``home``, started now if there is none (or it died)."""
    with _POOL_LOCK:
        worker = _POOL.get(str(home))
        if worker is None or not worker.alive:
            worker = WarmWorker(home, on_change)
            _POOL[str(home)] = worker
        return worker


def hand_to_warm(home: Path, run_id: str, on_change: OnChange, finished: Callable[[str], bool]) -> int | None:
    """Run ``run_id`` on the warm worker of ``home``; its pid, or None when it is busy (start a cold one)."""
    worker = warm_worker(home, on_change)
    return worker.pid if worker.hand(run_id, finished) else None


def stop_warm_workers(timeout: float = 0.0) -> None:
    """Let every warm worker of this process go (each exits once its current job is over); with
    ``timeout``, wait that long for each to exit."""
    with _POOL_LOCK:
        homes = list(_POOL)
    for home in homes:
        _stop(home, timeout)


def _stop(home: str, timeout: float = 0.0) -> None:
    with _POOL_LOCK:
        worker = _POOL.pop(home, None)
    if worker is None:
        return
    worker.close()
    if timeout > 0:
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.proc.wait(timeout)


atexit.register(stop_warm_workers)
