"""The ``encode`` job: a dataset's corpus encoded into the shard store of the embedding cache, resuming
from the last finished shard, on the local engine or on Ray (:mod:`core.encoding.engines`).

An evaluation with the same model, backend and corpus then reads the shards instead of encoding. Finished
shards are kept when the job is cancelled, fails or is killed: they are what the next run resumes from.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.data import RetrievalDataset, resolve_dataset
from core.encoding.auto import BACKEND_CHOICES
from core.encoding.backends import AUTO, plan_backend
from core.encoding.cache import EmbeddingCache
from core.encoding.engines import ENGINES, EncoderSpec, ShardRun, encode_local, encode_ray
from core.encoding.factory import resolve_backend
from core.encoding.shards import DEFAULT_SHARD_SIZE, ShardLayout
from core.models import DEFAULT_BI_ENCODER
from core.runtime import InvalidInput, JobContext, Reporter, Workspace, log

__all__ = ["EncodeJob", "encode_job", "run_encode"]

_INTS = ("max_seq_length", "batch_size", "shard_size", "ray_cpus", "workers")


@dataclass(frozen=True)
class EncodeJob:
    """The config of an ``encode`` job. ``shard_size`` None keeps the store's (else
    :data:`~core.encoding.shards.DEFAULT_SHARD_SIZE`); a different one starts the store over. ``restart``
    drops finished shards. ``ray_address`` None means ``RAY_ADDRESS``, else a local Ray of ``ray_cpus``
    CPUs started for the run; ``workers`` caps Ray's actor pool."""

    dataset: str
    model: str = DEFAULT_BI_ENCODER
    backend: str = "torch"
    max_seq_length: int | None = None
    batch_size: int = 32
    shard_size: int | None = None
    engine: str = "local"
    ray_address: str | None = None
    ray_cpus: int | None = None
    workers: int | None = None
    restart: bool = False

    def __post_init__(self) -> None:
        if not self.dataset:
            raise InvalidInput("An encode job needs a dataset.")
        if self.engine not in ENGINES:
            raise InvalidInput(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}.")
        if self.backend not in BACKEND_CHOICES:
            raise InvalidInput(f"backend must be one of {', '.join(BACKEND_CHOICES)}, got {self.backend!r}.")
        for name in _INTS:
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise InvalidInput(f"{name} must be a positive whole number, got {value!r}.")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EncodeJob:
        """The job a stored config describes: missing keys and ``None`` keep the defaults; unknown keys
        and values that are not what they should be are an :class:`~core.runtime.InvalidInput`."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - fields
        if unknown:
            raise InvalidInput(f"Unknown encode job settings: {sorted(unknown)}")
        values = {k: v for k, v in data.items() if v is not None}
        if not values.get("dataset"):
            raise InvalidInput("An encode job needs a dataset.")
        for name in _INTS:
            if isinstance(values.get(name), str):
                try:
                    values[name] = int(values[name])
                except ValueError:
                    raise InvalidInput(f"{name} must be a whole number, got {values[name]!r}.") from None
        if "restart" in values and not isinstance(values["restart"], bool):
            raise InvalidInput(f"restart must be true or false, got {values['restart']!r}.")
        for name in ("dataset", "model", "backend", "engine", "ray_address"):
            if name in values and not isinstance(values[name], str):
                raise InvalidInput(f"{name} must be a string, got {values[name]!r}.")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    def spec(self, ws: Workspace | None = None, texts: Sequence[str] | None = None) -> EncoderSpec:
        """The encoder to run; ``auto`` resolved for this machine (a parity check on ``texts`` when no
        choice is remembered in ``ws``)."""
        if self.backend != AUTO:
            return EncoderSpec(self.model, self.backend, self.max_seq_length, plan_backend(self.backend))
        plan = resolve_backend(self.model, ws, AUTO, sample=texts, max_seq_length=self.max_seq_length)
        return EncoderSpec(self.model, plan.backend, self.max_seq_length, plan)


def run_encode(
    job: EncodeJob,
    ws: Workspace,
    texts: Sequence[str],
    corpus_fingerprint: str,
    reporter: Reporter | None = None,
) -> dict[str, Any]:
    """Encode ``texts`` into the shard store of the embedding cache as ``job`` says; returns the summary
    (the job's result)."""
    cache = EmbeddingCache(ws)
    spec = job.spec(ws, texts)
    encoder = spec.build(ws)  # this machine's copy: the fingerprint, the dim, and the local engine's model
    summary: dict[str, Any] = {
        "model": encoder.name,
        "engine": job.engine,
        "backend": encoder.plan.backend,
        "precision": encoder.plan.precision,
        "encoder_fingerprint": encoder.fingerprint,
        "corpus_fingerprint": corpus_fingerprint,
        "rows": len(texts),
        "dim": int(encoder.dim),
    }
    if cache.legacy(encoder.fingerprint, corpus_fingerprint, len(texts)) is not None:
        log(reporter, "already in the embedding cache (a whole-corpus file of an earlier version)")
        return summary | {"cached": True, "shards": 0, "encoded_shards": [], "skipped_shards": 0}
    store = cache.store(encoder.fingerprint, corpus_fingerprint)
    with store.writing():
        previous = store.layout()
        size = job.shard_size or (previous.shard_size if previous else DEFAULT_SHARD_SIZE)
        layout = ShardLayout(encoder.fingerprint, corpus_fingerprint, len(texts), int(encoder.dim), size)
        if job.restart or (previous is not None and previous != layout):
            store.clear()
            log(reporter, "starting over: no finished shard is kept")
        todo = store.prepare(layout)
        log(reporter, f"{layout.shards - len(todo)} of {layout.shards} shard(s) already finished")
        run = _run_engine(job, ws, store, layout, texts, encoder, spec, todo, reporter)
    return summary | _run_summary(run, layout, str(store.folder))


def _run_engine(job, ws, store, layout, texts, encoder, spec, todo, reporter) -> ShardRun:  # type: ignore[no-untyped-def]
    if job.engine == "ray":
        return encode_ray(
            store,
            layout,
            texts,
            spec,
            todo,
            home=ws.home,
            batch_size=job.batch_size,
            address=job.ray_address,
            num_cpus=job.ray_cpus,
            workers=job.workers,
            reporter=reporter,
        )
    return encode_local(store, layout, texts, encoder, todo, batch_size=job.batch_size, reporter=reporter)


def _run_summary(run: ShardRun, layout: ShardLayout, folder: str) -> dict[str, Any]:
    return {
        "cached": not run.encoded,
        "store": folder,
        "shard_size": layout.shard_size,
        "shards": layout.shards,
        "encoded_shards": list(run.encoded),
        "skipped_shards": run.skipped,
        "rows_encoded": run.rows_encoded,
        "workers": run.workers,
        "seconds": round(run.seconds, 3),
        "passages_per_s": round(run.rate, 2),
    }


def encode_job(ctx: JobContext, config: dict[str, Any]) -> dict[str, Any]:
    """Job handler of kind ``encode`` (config: :class:`EncodeJob`)."""
    job = EncodeJob.from_dict(config)
    ds = resolve_dataset(ctx.ws, job.dataset, kind="retrieval")
    if not isinstance(ds, RetrievalDataset):
        raise InvalidInput(f"{job.dataset!r} is a classification dataset; encode needs a retrieval corpus.")
    start = time.perf_counter()
    out = run_encode(job, ctx.ws, list(ds.doc_texts()), ds.fingerprint, ctx.reporter("encode"))
    return {"dataset": ds.name, **out, "wall_s": round(time.perf_counter() - start, 3)}
