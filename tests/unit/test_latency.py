"""Latency measured per strategy alone: a fused strategy is never reported faster than a part it runs
without being re-measured and flagged (a clock driven by the fake encoder makes every timing exact)."""

from __future__ import annotations

import pytest

from core.evaluate import run_comparison
from core.evaluate.latency import (
    contradictions,
    forget_query_vectors,
    machine_load,
    measure_one,
    measure_strategies,
)
from core.retrieval import BM25Spec, DenseSpec, HybridSpec
from tests.fakes import HashingEncoder
from tests.unit.test_retrieval_core import _builder, tiny  # noqa: F401  (fixture)


class Clock:
    """A clock that only moves when the encoder works: ``costs(call number)`` ms per encode call."""

    def __init__(self, costs):  # type: ignore[no-untyped-def]
        self.now, self.calls, self.costs = 0.0, 0, costs

    def __call__(self) -> float:
        return self.now


class TimedEncoder(HashingEncoder):
    """The fake encoder, each call costing the clock its scheduled milliseconds."""

    def __init__(self, clock: Clock):
        super().__init__(dim=64)
        self.clock = clock

    def encode(self, texts, *, batch_size=32, progress=None):  # type: ignore[no-untyped-def]
        self.clock.now += self.clock.costs(self.clock.calls) / 1000.0
        self.clock.calls += 1
        return super().encode(texts, batch_size=batch_size, progress=progress)


def _hybrid(tiny, clock):  # noqa: F811
    hybrid = _builder(tiny, TimedEncoder(clock)).build(HybridSpec())
    clock.calls = 0  # the schedule counts the calls of the measurement (the corpus is encoded now)
    return hybrid


QUERIES = ["young cat", "interest rates bank", "markets fell", "cat on a mat"]


def test_a_fused_strategy_is_measured_no_faster_than_its_slowest_part(tiny):  # noqa: F811
    clock = Clock(lambda call: 5.0)  # every query encoding costs 5 ms, wherever it runs
    prof = measure_one(_hybrid(tiny, clock), QUERIES, 5, sample=4, clock=clock)
    assert prof.components["dense"] == pytest.approx(5.0)
    assert prof.p50_ms >= max(prof.components.values())
    assert not prof.remeasured and prof.note is None


def test_a_contradiction_is_detected_remeasured_and_stated(tiny):  # noqa: F811
    # a load spike that always hits the component measured alone (odd calls) and spares the whole
    clock = Clock(lambda call: 20.0 if call % 2 == 0 else 1.0)
    hybrid = _hybrid(tiny, clock)
    prof = measure_one(hybrid, QUERIES, 5, sample=4, clock=clock)
    assert prof.components["dense"] > prof.p50_ms  # fused < component: the contradiction
    assert contradictions(prof.p50_ms, prof.components) == ["dense"]
    assert prof.remeasured
    assert prof.note is not None and "contradicts itself" in prof.note and "dense" in prof.note


def test_a_passing_contradiction_is_measured_again_and_dropped(tiny):  # noqa: F811
    # the spike lasts only through the first measurement (warm-up + timed: 4 queries x 2 encodes x 2)
    clock = Clock(lambda call: (20.0 if call % 2 == 0 else 1.0) if call < 16 else 3.0)
    prof = measure_one(_hybrid(tiny, clock), QUERIES, 5, sample=4, clock=clock)
    assert prof.remeasured and prof.note is None
    assert prof.p50_ms >= prof.components["dense"]


def test_a_part_measured_slower_than_its_composite_is_measured_again(tiny):  # noqa: F811
    # the dense strategy is timed alone first (4 warm-up + 4 timed encodes) in a spike the hybrid misses
    clock = Clock(lambda call: 50.0 if call < 8 else 5.0)
    hybrid = _hybrid(tiny, clock)
    profiles, _ = measure_strategies(
        {"dense": hybrid.dense, "hybrid": hybrid}, QUERIES, 5, sample=4, clock=clock
    )
    assert profiles["dense"].remeasured and profiles["dense"].note is None
    assert profiles["dense"].p95_ms <= profiles["hybrid"].p95_ms  # the spike is gone, the numbers agree


def test_a_part_slower_than_its_composite_twice_is_stated(tiny):  # noqa: F811
    # the spike hits the dense strategy's own measurement both times (calls 0-7 and from 24 on)
    clock = Clock(lambda call: 50.0 if call < 8 or call >= 24 else 5.0)
    hybrid = _hybrid(tiny, clock)
    profiles, _ = measure_strategies(
        {"dense": hybrid.dense, "hybrid": hybrid}, QUERIES, 5, sample=4, clock=clock
    )
    assert profiles["dense"].remeasured
    assert "slower than a composite" in (profiles["dense"].note or "")
    assert profiles["hybrid"].note is None


def test_batched_query_vectors_are_not_reused_when_timing(tiny, fake_encoder):  # noqa: F811
    builder = _builder(tiny, fake_encoder)
    dense = builder.build(DenseSpec())
    hybrid = builder.build(HybridSpec())
    dense.search(QUERIES, 5)
    before = fake_encoder.encoded
    hybrid.search(QUERIES, 5)
    assert fake_encoder.encoded == before  # the memo: right for results
    forget_query_vectors(hybrid)
    hybrid.search(QUERIES, 5)
    assert fake_encoder.encoded == before + len(QUERIES)  # timing pays the encoding again


def test_comparison_results_carry_latency_throughput_and_load(tiny, fake_encoder):  # noqa: F811
    specs = {"bm25": BM25Spec(), "dense": DenseSpec(), "hybrid": HybridSpec()}
    rep = run_comparison(tiny, "test", specs, k=5, builder=_builder(tiny, fake_encoder), latency_sample=3)
    for name, res in rep.strategies.items():
        assert res.extra["latency_p50_ms"] == res.latency_ms_p50 > 0
        assert res.extra["latency_p95_ms"] >= res.extra["latency_p50_ms"]
        assert res.extra["throughput_qps"] > 0, name
        assert res.extra["load"]["cpus"] >= 1
    assert set(rep.strategies["hybrid"].extra["latency_components"]) == {"sparse", "dense"}
    assert rep.strategies["bm25"].extra["latency_components"] == {}
    out = rep.to_json()
    assert out["load"] == rep.load and "load1" in out["load"]
    assert out["latency_caption"].startswith("latency measured on a machine with load ")
    assert out["latency"]["dense"]["throughput_qps"] > 0


def test_machine_load_names_load_and_cpus():
    load = machine_load()
    assert set(load) == {"load1", "load5", "load15", "cpus"} and load["cpus"] >= 1
