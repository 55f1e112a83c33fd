"""Thread counts of everything that encodes, set once per process so that torch, ONNX Runtime and BLAS never
oversubscribe the cores: each gets :func:`encoding_threads` (``ESL_THREADS`` when set, else the cores this
process may use); torch's inter-op pool is kept at one thread, and ONNX Runtime sessions take the same count
(without busy-waiting, see ``core.encoding.onnx``)."""

from __future__ import annotations

import contextlib
import os
import sys
import threading

from threadpoolctl import threadpool_limits

from core.runtime import ConfigError

__all__ = ["THREADS_ENV", "configure_threads", "cpu_threads", "encoding_threads"]

THREADS_ENV = "ESL_THREADS"
_OMP_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_lock = threading.Lock()
_configured: dict[str, int] = {}


def cpu_threads() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return max(1, os.cpu_count() or 1)


def encoding_threads() -> int:
    """Threads one encoder may use: ``ESL_THREADS`` when set (a whole number ≥ 1), else :func:`cpu_threads`."""
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        return cpu_threads()
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ConfigError(
            f"{THREADS_ENV}={raw!r} is not a whole number of threads ≥ 1 (unset it to use every core)."
        )
    return n


def configure_threads(threads: int | None = None) -> int:
    """Set torch's, BLAS's and OpenMP's thread counts to ``threads`` (default :func:`encoding_threads`) once
    for this process (again only when the count changes). torch is configured when it is loaded (it is
    not imported for this); the OpenMP variables, for libraries loaded later, only when not set."""
    n = threads or encoding_threads()
    with _lock:
        torch = sys.modules.get("torch")
        key = "torch" if torch is not None else "plain"
        if _configured.get(key) == n:
            return n
        for var in _OMP_VARS:
            os.environ.setdefault(var, str(n))
        threadpool_limits(limits=n, user_api="blas")
        if torch is not None:
            torch.set_num_threads(n)
            if torch.get_num_interop_threads() != 1:
                with contextlib.suppress(RuntimeError):  # allowed only before torch's first parallel work
                    torch.set_num_interop_threads(1)
        _configured[key] = n
    return n
