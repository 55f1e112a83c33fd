"""The home page's tour: backend choice, ETAs from measured rates, job configs, a plan that reuses the
tour's own comparison."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from components.tour import (
    SINGLE_QUERY_ENCODES,
    TOUR_MAP_POINTS,
    TourRates,
    measure_tour_rates,
    ranx_compiled,
    tour_backend,
    tour_compare_config,
    tour_etas,
    tour_map_request,
    tour_plan,
)
from core.wizard import VerifyPlan


@dataclass
class Plan:
    backend: str
    reason: str = ""


def test_the_fastest_backend_that_runs_here_without_falling_back():
    assert tour_backend({"onnx-int8": Plan("onnx-int8"), "torch": Plan("torch")}) == "onnx-int8"
    fell_back = {
        "onnx-int8": Plan("torch", "onnxruntime missing"),
        "bf16": Plan("bf16"),
        "torch": Plan("torch"),
    }
    assert tour_backend(fell_back) == "bf16"
    assert tour_backend({}) == "torch"


def test_etas_grow_with_the_corpus_and_shrink_with_the_rate():
    small = tour_etas(documents=1400, queries=225, fast_rate=40.0, backend="onnx-int8", map_points=600)
    slow = tour_etas(documents=1400, queries=225, fast_rate=20.0, backend="onnx-int8", map_points=600)
    big = tour_etas(documents=14000, queries=225, fast_rate=40.0, backend="onnx-int8", map_points=600)
    assert set(small.seconds) == {"compare", "map", "verdict"}
    assert (
        slow.seconds["compare"] > small.seconds["compare"]
        and big.seconds["compare"] > small.seconds["compare"]
    )
    assert small.total == pytest.approx(sum(small.seconds.values()))
    assert small.text("compare").startswith("about ")


def test_the_compare_estimate_counts_every_encode_the_comparison_makes():
    rates = TourRates(doc_rate=100.0, query_rate=400.0, single_query_s=0.02)
    etas = tour_etas(documents=1400, queries=225, rates=rates, backend="onnx-int8", map_points=600)
    parts = dict(etas.parts["compare"])
    assert parts["corpus (1,400 texts)"] == pytest.approx(14.0)
    assert parts["queries (2 × 225)"] == pytest.approx(450 / 400)  # dense and hybrid, memo forgotten
    singles = 50 * SINGLE_QUERY_ENCODES  # the latency sample, warm-up and timed, three dense searches
    assert parts[f"latency ({singles:,} single queries)"] == pytest.approx(singles * 0.02)
    assert etas.seconds["compare"] == pytest.approx(sum(parts.values()))
    assert "latency (300 single queries) 6 s" in etas.breakdown("compare")
    # the old estimate (corpus and queries once at the corpus rate) left the latency stage out
    old = tour_etas(documents=1400, queries=225, fast_rate=100.0, backend="onnx-int8", map_points=600)
    slow_singles = TourRates(100.0, 400.0, 0.05)
    slower = tour_etas(documents=1400, queries=225, rates=slow_singles, backend="onnx-int8", map_points=600)
    assert slower.seconds["compare"] - etas.seconds["compare"] == pytest.approx(singles * 0.03)
    assert old.seconds["compare"] > 0 and set(old.parts) == {"compare", "map", "verdict"}
    few = tour_etas(documents=1400, queries=10, rates=rates, backend="onnx-int8", map_points=600)
    assert dict(few.parts["compare"])[f"latency ({10 * SINGLE_QUERY_ENCODES} single queries)"] > 0


class CountingEncoder:
    """Encodes nothing real: counts calls and advances a fake clock by 5 ms per call plus 1 ms per text."""

    def __init__(self):
        self.now = 0.0
        self.calls: list[int] = []

    def clock(self) -> float:
        return self.now

    def encode(self, texts, batch_size=32, **_):  # type: ignore[no-untyped-def]
        import numpy as np

        self.calls.append(len(texts))
        self.now += 0.005 + 0.001 * len(texts)
        return np.zeros((len(texts), 4), dtype=np.float32)


def test_single_queries_are_timed_one_at_a_time_after_a_warm_up():
    enc = CountingEncoder()
    queries = [f"query {i}" for i in range(100)]
    rates = measure_tour_rates(enc, queries, doc_rate=50.0, sample=8, clock=enc.clock)
    assert rates.doc_rate == 50.0 and rates.query_rate > 0
    assert enc.calls[-9:] == [1] * 9  # one warm-up call, then 8 timed single queries
    assert rates.single_query_s == pytest.approx(0.006)
    assert measure_tour_rates(enc, [], doc_rate=50.0, clock=enc.clock).single_query_s == pytest.approx(0.02)


def test_the_estimate_adds_ranx_compile_only_on_a_workspace_that_has_not_compiled_it(tmp_path):
    numba = tmp_path / "numba"
    assert not ranx_compiled(numba) and not ranx_compiled(tmp_path)
    for name in ("metrics_a5ef", "fusion_a583", "statistical_tests_b66c"):
        (numba / name).mkdir(parents=True)
    assert not ranx_compiled(numba)  # folders without compiled code
    for name in ("metrics_a5ef", "fusion_a583", "statistical_tests_b66c"):
        (numba / name / "ndcg-12.py311.nbi").write_bytes(b"index")
    assert ranx_compiled(numba)
    rates = TourRates(100.0, 400.0, 0.002)
    warm = tour_etas(documents=1400, queries=225, rates=rates, backend="torch", map_points=600)
    cold = tour_etas(
        documents=1400, queries=225, rates=rates, backend="torch", map_points=600, metrics_compiled=False
    )
    assert "compiling" not in warm.breakdown("compare") and "compiling ranx" in cold.breakdown("compare")
    assert cold.seconds["compare"] > warm.seconds["compare"]


def test_compare_and_map_use_the_tour_backend():
    config = tour_compare_config("cranfield", ["test"], "onnx-int8")
    assert list(config["strategies"]) == ["bm25", "dense", "hybrid"]
    assert config["strategies"]["dense"]["backend"] == "onnx-int8"
    request = tour_map_request("cranfield", "onnx-int8")
    assert request.backend == "onnx-int8" and request.max_points == TOUR_MAP_POINTS
    assert request.settings.method == "pca"
    assert "backend" not in tour_map_request("cranfield", "torch").to_dict()  # old map keys unchanged


def test_the_wizard_plan_points_at_the_tour_comparison():
    config = tour_compare_config("cranfield", ["test"], "onnx-int8")
    plan = VerifyPlan("cranfield", "test", {"bm25": {}, "dense": {}, "hybrid": {}}, "dense", None)
    mine = tour_plan(plan, config, "run-7")
    assert mine.reuse_comparison == "run-7" and mine.specs == config["strategies"]
    wants_rerank = VerifyPlan("cranfield", "test", {"dense": {}, "rerank": {}}, "rerank", "dense")
    assert tour_plan(wants_rerank, config, "run-7") is wants_rerank  # more than the tour measured
