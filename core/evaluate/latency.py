"""Latency of each strategy measured in isolation, after every index is built and warm.

:func:`measure_strategies` times every strategy of a comparison alone: a warm-up pass, then single queries
one at a time on a fixed seeded sample (p50 / p95), and the batched throughput of the whole split (queries/s,
its search timed by the comparison with the query-vector memo emptied first). A composite (hybrid, rerank) is
timed as a whole — its search runs its components — and query by query interleaved with its components, so
load drifting during the measurement hits both alike: a fused strategy's single-query latency is then at
least its slowest component's. When a measurement still says otherwise the group is measured once more,
and a contradiction that survives is stated in a note (:func:`contradictions`). The machine's load
(:func:`machine_load`) is recorded beside the numbers.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.evaluate.metrics import DEFAULT_LATENCY_SAMPLE
from core.retrieval import FusionRetriever, HybridRetriever, PassageRetriever, RerankRetriever

__all__ = [
    "LatencyProfile",
    "contradictions",
    "forget_query_vectors",
    "latency_caption",
    "machine_load",
    "measure_group",
    "measure_strategies",
]

Clock = Callable[[], float]
TOLERANCE = 1.0  # a composite's p50 may be this factor of its slowest component's before it contradicts


@dataclass(frozen=True)
class LatencyProfile:
    """Single-query latency (ms) of one retriever on a fixed sample, and its batched throughput."""

    p50_ms: float
    p95_ms: float
    mean_ms: float
    n: int
    throughput_qps: float | None = None
    components: dict[str, float] = field(default_factory=dict)  # component label -> its p50 ms
    remeasured: bool = False
    note: str | None = None


def machine_load() -> dict[str, Any]:
    """``{"load1", "load5", "load15", "cpus"}``: the load averages (``os.getloadavg``) and CPU count."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:  # not available on this platform
        one = five = fifteen = float("nan")
    return {
        "load1": round(one, 2),
        "load5": round(five, 2),
        "load15": round(fifteen, 2),
        "cpus": os.cpu_count(),
    }


def latency_caption(load: Mapping[str, Any] | None) -> str:
    """``"measured on a machine with load 1.83 (2 CPUs)"`` — or that the load is unknown."""
    if not load:
        return "measured on a machine of unknown load"
    return f"measured on a machine with load {load.get('load1', float('nan')):.2f} ({load.get('cpus')} CPUs)"


def components(retriever: Any) -> dict[str, Any]:
    """The parts a composite runs inside its own search (label -> retriever); empty for a plain one."""
    if isinstance(retriever, PassageRetriever):
        return components(retriever.inner)
    if isinstance(retriever, HybridRetriever):
        return {"sparse": retriever.sparse, "dense": retriever.dense}
    if isinstance(retriever, RerankRetriever):
        return {"first stage": retriever.first_stage}
    if isinstance(retriever, FusionRetriever):
        return {str(getattr(part, "name", f"part {i + 1}")): part for i, part in enumerate(retriever.parts)}
    return {}


def forget_query_vectors(retriever: Any) -> None:
    """Empty the memo of query vectors of every dense part (a split searched by the dense strategy is not
    encoded again by a hybrid built on it — fine for results, wrong for timing)."""
    memo = getattr(retriever, "_batches", None)
    if isinstance(memo, dict):
        memo.clear()
    for attr in ("inner", "sparse", "dense", "first_stage"):
        part = getattr(retriever, attr, None)
        if part is not None:
            forget_query_vectors(part)
    for part in getattr(retriever, "parts", None) or ():
        forget_query_vectors(part)


def _sample(queries: Sequence[str], sample: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(queries), size=min(sample, len(queries)), replace=False)
    return [queries[int(i)] for i in idx]


def measure_group(
    retriever: Any,
    queries: Sequence[str],
    k: int,
    *,
    sample: int = DEFAULT_LATENCY_SAMPLE,
    seed: int = 0,
    clock: Clock = time.perf_counter,
) -> tuple[list[float], dict[str, list[float]]]:
    """Single-query times (ms) of ``retriever`` and of each of its components, query by query interleaved
    (component first, then the whole), after one warm-up pass over the sample."""
    parts = components(retriever)
    chosen = _sample(queries, sample, seed)
    for q in chosen:  # warm-up (lazy allocations, per-shape kernels, JIT)
        for part in parts.values():
            part.search([q], k)
        retriever.search([q], k)
    whole: list[float] = []
    per_part: dict[str, list[float]] = {label: [] for label in parts}
    for q in chosen:
        for label, part in parts.items():
            t0 = clock()
            part.search([q], k)
            per_part[label].append((clock() - t0) * 1000.0)
        t0 = clock()
        retriever.search([q], k)
        whole.append((clock() - t0) * 1000.0)
    return whole, per_part


def contradictions(p50_ms: float, components_ms: Mapping[str, float]) -> list[str]:
    """Components whose p50 is above the composite's: a fused strategy cannot be faster than a part it
    runs, so each one is a measurement to distrust."""
    return [label for label, ms in components_ms.items() if ms > p50_ms * TOLERANCE]


def _profile(
    times: list[float], per_part: dict[str, list[float]], throughput: float | None
) -> LatencyProfile:
    arr = np.asarray(times) if times else np.zeros(1)
    parts = {label: float(np.percentile(t, 50)) for label, t in per_part.items() if t}
    return LatencyProfile(
        float(np.percentile(arr, 50)),
        float(np.percentile(arr, 95)),
        float(arr.mean()),
        len(times),
        throughput,
        parts,
    )


def measure_one(
    retriever: Any,
    queries: Sequence[str],
    k: int,
    *,
    sample: int = DEFAULT_LATENCY_SAMPLE,
    throughput_qps: float | None = None,
    clock: Clock = time.perf_counter,
) -> LatencyProfile:
    """The :class:`LatencyProfile` of one strategy; a contradiction is measured again once, then noted."""
    if not queries:
        return LatencyProfile(0.0, 0.0, 0.0, 0, throughput_qps)
    forget_query_vectors(retriever)
    prof = _profile(*measure_group(retriever, queries, k, sample=sample, clock=clock), throughput_qps)
    if not contradictions(prof.p50_ms, prof.components):
        return prof
    again = _profile(*measure_group(retriever, queries, k, sample=sample, clock=clock), throughput_qps)
    bad = contradictions(again.p50_ms, again.components)
    note = None
    if bad:
        slowest = max(bad, key=lambda label: again.components[label])
        note = (
            f"latency contradicts itself even when measured twice: {again.p50_ms:.1f} ms p50 for the whole "
            f"against {again.components[slowest]:.1f} ms for its {slowest} alone (a loaded machine; distrust "
            "these latencies)"
        )
    return LatencyProfile(
        again.p50_ms,
        again.p95_ms,
        again.mean_ms,
        again.n,
        throughput_qps,
        again.components,
        remeasured=True,
        note=note,
    )


def measure_strategies(
    retrievers: Mapping[str, Any],
    queries: Sequence[str],
    k: int,
    *,
    sample: int = DEFAULT_LATENCY_SAMPLE,
    throughput: Mapping[str, float | None] | None = None,
    clock: Clock = time.perf_counter,
    on_strategy: Callable[[str], None] | None = None,
) -> tuple[dict[str, LatencyProfile], dict[str, Any]]:
    """Every strategy timed alone, in turn (``on_strategy(name)`` before each), and the machine's load
    during the measurement."""
    out = {}
    for name, retriever in retrievers.items():
        if on_strategy is not None:
            on_strategy(name)
        tput = (throughput or {}).get(name)
        out[name] = measure_one(retriever, queries, k, sample=sample, throughput_qps=tput, clock=clock)
    for name in slower_than_a_composite(out, retrievers):  # measured in a load spike: once more
        again = measure_one(
            retrievers[name], queries, k, sample=sample, throughput_qps=out[name].throughput_qps, clock=clock
        )
        out[name] = dataclasses.replace(again, remeasured=True)
    for name in slower_than_a_composite(out, retrievers):
        out[name] = dataclasses.replace(
            out[name],
            note=f"measured slower than a composite that runs it, even when measured twice (p50 "
            f"{out[name].p50_ms:.1f} ms, p95 {out[name].p95_ms:.1f} ms): a loaded machine; distrust these latencies",
        )
    return out, machine_load()


def slower_than_a_composite(
    profiles: Mapping[str, LatencyProfile], retrievers: Mapping[str, Any]
) -> list[str]:
    """Strategies whose p50 or p95 is above that of a composite strategy that runs them inside its own search
    (the same retriever): each is a measurement taken in a load spike, as a whole cannot be faster than
    its part."""
    slow = []
    for part_name, part in retrievers.items():
        for name, retriever in retrievers.items():
            inside = any(p is part for p in components(retriever).values())
            if name == part_name or not inside:
                continue
            mine, whole = profiles[part_name], profiles[name]
            if mine.p50_ms > whole.p50_ms * TOLERANCE or mine.p95_ms > whole.p95_ms * TOLERANCE:
                slow.append(part_name)
                break
    return slow


def timed_search(retriever: Any, queries: Sequence[str], k: int, clock: Clock = time.perf_counter):  # type: ignore[no-untyped-def]
    """``(hits, queries per second)`` of one batched search of ``queries``, query vectors not memoised."""
    forget_query_vectors(retriever)
    t0 = clock()
    hits = retriever.search(list(queries), k)
    seconds = clock() - t0
    return hits, (len(queries) / seconds if seconds > 0 and queries else None)
