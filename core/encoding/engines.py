"""Engines that encode a corpus into the shard store: ``local`` (this process) and ``ray``.

Both write the same shards (:mod:`core.encoding.shards`), skip the finished ones and report passages/s,
shards done and the ETA through one :data:`~core.runtime.Reporter`. The Ray engine is Ray Data
``map_batches`` over the shards still to encode with a pool of actors, each loading the model once
(:func:`~core.encoding.make_encoder`) and writing its shards straight into the store — a folder every
worker must reach (the workspace) — while the driver records them in the manifest as they complete. It
attaches to a cluster by address (``RAY_ADDRESS``) or starts a local Ray for the run and stops it after.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.encoding.backends import BackendPlan, plan_backend
from core.encoding.estimate import format_duration
from core.encoding.factory import make_encoder
from core.encoding.shards import ShardLayout, ShardRecord, ShardStore
from core.runtime import InvalidInput, RateTracker, Reporter, Workspace, log, report

__all__ = ["ENGINES", "EncoderSpec", "ShardRun", "encode_local", "encode_ray"]

ENGINES = ("local", "ray")
_CORE_DIR = Path(__file__).resolve().parents[1]  # shipped to an attached cluster's workers
_ENV_PREFIXES = ("ESL_", "HF_", "TRANSFORMERS_", "TOKENIZERS_")


@dataclass(frozen=True)
class EncoderSpec:
    """How to build the encoder, so that another process (a Ray actor) builds the same one. ``plan``
    fixes backend and precision (default: what ``backend`` becomes here); an actor may move it to its own
    device, keeping the precision and so the encoder's fingerprint."""

    model: str
    backend: str = "torch"
    max_seq_length: int | None = None
    plan: BackendPlan | None = None

    def resolved_plan(self, device: str | None = None) -> BackendPlan:
        plan = self.plan or plan_backend(self.backend)
        return dataclasses.replace(plan, device=device) if device else plan

    def build(self, ws: Workspace | None, *, device: str | None = None, threads: int | None = None) -> Any:
        return make_encoder(
            self.model,
            ws,
            backend=self.backend,
            max_seq_length=self.max_seq_length,
            threads=threads,
            plan=self.resolved_plan(device),
        )


@dataclass(frozen=True)
class ShardRun:
    """What one run of an engine did: shards encoded now (indexes), shards skipped (finished before)."""

    engine: str
    shards: int
    encoded: tuple[int, ...]
    skipped: int
    rows_encoded: int
    seconds: float
    workers: int = 1

    @property
    def rate(self) -> float:
        """Passages per second over this run's encoding."""
        return self.rows_encoded / self.seconds if self.seconds > 0 else 0.0


class _Meter:
    """Progress over the whole corpus: rows of finished shards count as done from the start; the rate
    (and so the ETA) is measured on this run's rows only."""

    def __init__(self, layout: ShardLayout, todo: Sequence[int], reporter: Reporter | None):
        self.layout, self.reporter = layout, reporter
        self.shards_done = layout.shards - len(todo)
        self.rows_done = layout.rows - sum(layout.shard_rows(i) for i in todo)
        self.rows_encoded = 0
        self.tracker = RateTracker()

    def emit(self, extra: int = 0) -> None:
        rate = self.tracker.rate(self.rows_encoded + extra)
        done = self.rows_done + extra
        left = self.layout.rows - done
        eta = f" · ETA {format_duration(left / rate)}" if rate and left > 0 else ""
        speed = f" · {rate:,.1f} passages/s" if rate else ""
        message = f"shard {self.shards_done}/{self.layout.shards} done{speed}{eta}"
        report(self.reporter, "encode", done, self.layout.rows, message, rate)

    def within(self) -> Reporter:
        """The reporter of one shard's encoding (its rows added to what is done)."""

        def inner(p: Any) -> None:
            if p.is_log:
                if self.reporter is not None:
                    self.reporter(p)
            else:
                self.emit(extra=p.done)

        return inner

    def finished(self, rows: int) -> None:
        self.shards_done += 1
        self.rows_done += rows
        self.rows_encoded += rows
        self.emit()


def encode_local(
    store: ShardStore,
    layout: ShardLayout,
    texts: Sequence[str],
    encoder: Any,
    todo: Sequence[int],
    *,
    batch_size: int = 32,
    reporter: Reporter | None = None,
) -> ShardRun:
    """Encode shards ``todo`` of ``texts`` in this process, one after the other (inside
    :meth:`ShardStore.writing`, after :meth:`ShardStore.prepare`)."""
    meter = _Meter(layout, todo, reporter)
    start = time.perf_counter()
    meter.emit()
    for index in todo:
        first, stop = layout.bounds(index)
        log(reporter, f"shard {index + 1}/{layout.shards}: encoding passages {first:,}-{stop - 1:,}")
        vectors = encoder.encode(list(texts[first:stop]), batch_size=batch_size, progress=meter.within())
        store.mark_finished(layout, store.write_shard(layout, index, vectors))
        meter.finished(stop - first)
    rows = sum(layout.shard_rows(i) for i in todo)
    return ShardRun(
        "local", layout.shards, tuple(todo), layout.shards - len(todo), rows, time.perf_counter() - start
    )


class ShardWriter:
    """A Ray Data actor: loads the encoder once, then encodes the shards it is given and writes them."""

    def __init__(
        self,
        home: str,
        folder: str,
        layout: dict[str, Any],
        spec: EncoderSpec,
        batch_size: int,
        device: str | None,
        threads: int | None,
    ):
        if threads:
            import torch

            torch.set_num_threads(threads)
        self.layout = ShardLayout.from_dict(layout)
        self.store = ShardStore(Path(folder))
        self.batch_size = batch_size
        self.encoder = spec.build(Workspace(home), device=device, threads=threads)
        if self.encoder.fingerprint != self.layout.encoder:
            raise InvalidInput(
                f"a Ray worker built encoder {self.encoder.fingerprint}, not {self.layout.encoder}: "
                "the model differs on that machine"
            )

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out: dict[str, list[int]] = {"shard": [], "rows": [], "crc32": [], "pid": []}
        for index, texts in zip(batch["shard"], batch["texts"], strict=True):
            vectors = self.encoder.encode([str(t) for t in texts], batch_size=self.batch_size)
            record = self.store.write_shard(self.layout, int(index), vectors)
            out["shard"].append(record.index)
            out["rows"].append(record.rows)
            out["crc32"].append(record.crc32)
            out["pid"].append(os.getpid())
        return {k: np.asarray(v, dtype=np.int64) for k, v in out.items()}


def _connect(ray: Any, address: str | None, num_cpus: int | None) -> bool:
    """Attach to ``address`` (or ``RAY_ADDRESS``), or start a local Ray. Returns True when this call
    started (or attached) Ray and so must shut it down."""
    if ray.is_initialized():
        return False
    env = {k: v for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES)}
    address = address or os.environ.get("RAY_ADDRESS") or None
    common = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address:
        ray.init(address=address, runtime_env={"py_modules": [str(_CORE_DIR)], "env_vars": env}, **common)
    else:
        cpus = num_cpus or os.cpu_count() or 1
        ray.init(address="local", num_cpus=cpus, runtime_env={"env_vars": env}, **common)
    return True


def _pool(ray: Any, spec: EncoderSpec, workers: int | None, todo: int) -> tuple[int, float, float, str]:
    """``(actors, CPUs per actor, GPUs per actor, device)``: one actor per GPU when the cluster has GPUs
    (torch backends), else one per CPU."""
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    cpus = max(1, int(resources.get("CPU", 1)))
    if gpus and spec.resolved_plan().backend in ("torch", "bf16"):
        return max(1, min(workers or gpus, gpus, todo)), 1.0, 1.0, "cuda"
    n = max(1, min(workers or cpus, cpus, todo))
    return n, float(max(1, cpus // n)), 0.0, "cpu"


def _written_shards(
    ray: Any,
    store: ShardStore,
    layout: ShardLayout,
    texts: Sequence[str],
    spec: EncoderSpec,
    todo: Sequence[int],
    home: Path,
    batch_size: int,
    actors: int,
    cpus: float,
    gpus: float,
    device: str,
) -> Any:
    """The Ray Dataset of the shards to encode, one row each, mapped by a pool of :class:`ShardWriter`
    actors: iterating it yields one ``{shard, rows, crc32, pid}`` row per shard written."""
    ray.data.DataContext.get_current().enable_progress_bars = False
    items = [{"shard": i, "texts": list(texts[slice(*layout.bounds(i))])} for i in todo]
    shards = ray.data.from_items(items, override_num_blocks=len(items))
    return shards.map_batches(
        ShardWriter,
        batch_size=1,
        batch_format="numpy",
        concurrency=actors,
        num_cpus=cpus,
        num_gpus=gpus,
        fn_constructor_kwargs={
            "home": str(home),
            "folder": str(store.folder),
            "layout": layout.to_dict(),
            "spec": spec,
            "batch_size": batch_size,
            "device": device,
            "threads": int(cpus),
        },
    )


def encode_ray(
    store: ShardStore,
    layout: ShardLayout,
    texts: Sequence[str],
    spec: EncoderSpec,
    todo: Sequence[int],
    *,
    home: Path,
    batch_size: int = 32,
    address: str | None = None,
    num_cpus: int | None = None,
    workers: int | None = None,
    reporter: Reporter | None = None,
) -> ShardRun:
    """Encode shards ``todo`` with Ray Data (see the module's docstring); ``num_cpus`` sizes a local Ray
    started on demand, ``workers`` caps the actor pool."""
    import ray
    import ray.data

    meter = _Meter(layout, todo, reporter)
    start = time.perf_counter()
    if not todo:
        return ShardRun("ray", layout.shards, (), layout.shards, 0, 0.0, 0)
    started = _connect(ray, address, num_cpus)
    try:
        actors, cpus, gpus, device = _pool(ray, spec, workers, len(todo))
        log(reporter, f"Ray: {actors} worker(s) on {device}, {len(todo)} shard(s) to encode")
        written = _written_shards(
            ray, store, layout, texts, spec, todo, home, batch_size, actors, cpus, gpus, device
        )
        meter.emit()
        for row in written.iter_rows():
            record = ShardRecord(int(row["shard"]), int(row["rows"]), int(row["crc32"]))
            store.mark_finished(layout, record)
            log(reporter, f"shard {record.index + 1}/{layout.shards}: written by Ray worker {row['pid']}")
            meter.finished(record.rows)
    finally:
        if started:
            ray.shutdown()
    rows = sum(layout.shard_rows(i) for i in todo)
    return ShardRun(
        "ray",
        layout.shards,
        tuple(todo),
        layout.shards - len(todo),
        rows,
        time.perf_counter() - start,
        actors,
    )
