"""The home page's tour: backend choice, ETAs from measured rates, job configs, a plan that reuses the
tour's own comparison."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from components.tour import (
    TOUR_MAP_POINTS,
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
