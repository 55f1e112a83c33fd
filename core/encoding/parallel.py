"""Multi-process encoding: several worker processes, each with its share of the cores.

One process already uses every core through intra-op threads (torch, ONNX Runtime), so extra processes
only help where a single process cannot keep the cores busy (small batches, many cores, Python overhead
between batches). Measure before using it: ``bench/encode.py`` compares both on this machine.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from core.encoding.factory import make_encoder
from core.encoding.onnx import cpu_threads
from core.runtime import RateTracker, Reporter, Workspace, report

__all__ = ["encode_parallel"]

_WORKER: dict[str, Any] = {}


def _init_worker(
    model: str, home: str | None, backend: str, max_seq_length: int | None, threads: int
) -> None:
    import torch

    torch.set_num_threads(threads)
    ws = Workspace(home) if home else None
    _WORKER["encoder"] = make_encoder(
        model, ws, backend=backend, max_seq_length=max_seq_length, device="cpu", threads=threads
    )


def _encode_chunk(texts: list[str], batch_size: int) -> np.ndarray:
    return _WORKER["encoder"].encode(texts, batch_size=batch_size)


def encode_parallel(
    model: str,
    texts: Sequence[str],
    *,
    processes: int,
    ws: Any = None,
    backend: str = "torch",
    max_seq_length: int | None = None,
    batch_size: int = 32,
    threads_per_process: int | None = None,
    progress: Reporter | None = None,
) -> np.ndarray:
    """Encode ``texts`` with ``processes`` CPU worker processes (spawned; each loads the model once).
    Texts are sorted by length and handed out in chunks of a few batches; the output keeps input order.
    The vectors are those of ``make_encoder(model, backend=...)`` on the CPU."""
    texts = list(texts)
    processes = max(1, int(processes))
    threads = threads_per_process or max(1, cpu_threads() // processes)
    order = np.argsort([-len(t) for t in texts], kind="stable")
    chunk = batch_size * 4
    pieces = [order[i : i + chunk] for i in range(0, len(texts), chunk)]
    out: np.ndarray | None = None
    home = str(ws.home) if ws is not None else None
    tracker = RateTracker()
    done = 0
    ctx = mp.get_context("spawn")  # torch and forked OpenMP threads do not mix
    with ProcessPoolExecutor(
        processes,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(model, home, backend, max_seq_length, threads),
    ) as pool:
        futures = [pool.submit(_encode_chunk, [texts[i] for i in idx], batch_size) for idx in pieces]
        for idx, fut in zip(pieces, futures, strict=True):
            vecs = fut.result()
            if out is None:
                out = np.zeros((len(texts), vecs.shape[1]), dtype=np.float32)
            out[idx] = vecs
            done += len(idx)
            rate = tracker.rate(done)
            report(progress, "encode", done, len(texts), f"{rate:,.1f} texts/s" if rate else "", rate)
    return out if out is not None else np.zeros((0, 0), dtype=np.float32)
