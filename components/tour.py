"""The guided tour of the home page: import Cranfield → compare BM25, dense and hybrid → a map → the wizard's
verdict, each one click, on real data, with the fastest backend that runs here.

Pure parts (unit-tested): :func:`tour_backend` (the backend the tour encodes with), :func:`tour_etas` (each
step's expected time from encoding rates measured now), :func:`tour_compare_config` and
:func:`tour_map_request` (the job configs), :func:`tour_plan` (the wizard's verification plan pointed at the
tour's own comparison, so nothing is encoded twice). The service calls (:func:`import_tour_dataset`,
:func:`submit_compare`, :func:`submit_map`, :func:`start_verdict`) are thin.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.data import RetrievalDataset, import_dataset
from core.encoding import format_duration
from core.evaluate import CompareOptions, EvaluateJob
from core.explore import ExploreRequest, ProjectionSettings
from core.models import DEFAULT_BI_ENCODER
from core.runtime import NotFound, Workspace, get_settings, jobs
from core.wizard import (
    complete_answers,
    measure_answers,
    plan_verification,
    recommend,
    start_verification,
)

__all__ = [
    "FASTEST_FIRST",
    "TOUR_DATASET",
    "TOUR_MAP_POINTS",
    "TOUR_STEPS",
    "TourEtas",
    "import_tour_dataset",
    "start_verdict",
    "submit_compare",
    "submit_map",
    "tour_backend",
    "tour_compare_config",
    "tour_etas",
    "tour_map_request",
    "tour_plan",
]

TOUR_DATASET = "cranfield"  # 1,400 aerodynamics abstracts, 225 judged queries: real, and small enough
TOUR_MAP_POINTS = 600
TOUR_STEPS = ("import", "compare", "map", "verdict")
# backends by measured speed on this machine's CPUs (bench/encode.py: onnx-int8 2.07x torch fp32 with
# nDCG@10 within 0.003, bf16 1.68x); the first that runs here without falling back is used
FASTEST_FIRST = ("onnx-int8", "bf16", "torch")
WIZARD_SAMPLE_DOCS = 1000  # documents the wizard's BM25-vs-dense overlap reads (cached by the comparison)
WIZARD_SAMPLE_QUERIES = 50  # queries it encodes
# seconds besides encoding, measured in bench/demo.py (worker start, model and index loads, BM25, latency and
# significance tests; the wizard's tokenizer and sampling)
_FIXED_S = {"compare": 30.0, "map": 10.0, "verdict": 10.0}


def tour_backend(plans: Mapping[str, Any]) -> str:
    """The fastest backend of :data:`FASTEST_FIRST` whose plan here is itself (no fallback)."""
    for name in FASTEST_FIRST:
        plan = plans.get(name)
        if plan is not None and plan.backend == name and not plan.reason:
            return name
    return "torch"


@dataclass(frozen=True)
class TourEtas:
    """Expected seconds per step, from the encoding rate (texts/s) measured just before."""

    seconds: dict[str, float]
    fast_rate: float
    backend: str

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    def text(self, step: str) -> str:
        return f"about {format_duration(self.seconds[step])}"


def tour_etas(*, documents: int, queries: int, fast_rate: float, backend: str, map_points: int) -> TourEtas:
    """Compare encodes the corpus and the queries once with ``backend`` (hybrid reuses the dense vectors);
    the map reads the corpus vectors the comparison cached (its queries are encoded with ``backend``); the wizard encodes a sample of the corpus with
    ``backend`` for its BM25-vs-dense overlap. Fixed costs (model loads, BM25, tests) are added."""
    fast = max(fast_rate, 1e-9)
    seconds = {
        "compare": _FIXED_S["compare"] + (documents + queries) / fast,
        "map": _FIXED_S["map"] + min(map_points, queries) / fast,
        "verdict": _FIXED_S["verdict"] + WIZARD_SAMPLE_QUERIES / fast,
    }
    return TourEtas(seconds, fast_rate, backend)


def tour_compare_config(dataset: str, splits: Sequence[str], backend: str) -> dict[str, Any]:
    """The ``evaluate`` job: BM25, dense and hybrid with the default model on ``backend``."""
    options = CompareOptions(
        strategies=("bm25", "dense", "hybrid"), model=DEFAULT_BI_ENCODER, backend=backend
    )
    return EvaluateJob.build(dataset, options, splits).to_dict()


def tour_map_request(dataset: str, backend: str) -> ExploreRequest:
    """A PCA map of a sample of the corpus and queries (PCA: no compile step), from the corpus vectors the
    comparison cached on ``backend`` (nothing is encoded twice)."""
    return ExploreRequest(
        dataset=dataset,
        model=DEFAULT_BI_ENCODER,
        settings=ProjectionSettings(method="pca"),
        max_points=TOUR_MAP_POINTS,
        backend=backend,
    )


def tour_plan(plan: Any, compare_config: Mapping[str, Any], compare_run: str) -> Any:
    """The wizard's plan measured on the tour's comparison: same strategy names, the tour's specs (its
    backend), and that run to reuse."""
    strategies = dict(compare_config["strategies"])
    specs = {name: strategies[name] for name in plan.specs if name in strategies}
    if len(specs) != len(plan.specs):
        return plan  # the plan asks for more than the tour measured: let it measure
    return dataclasses.replace(plan, specs=specs, reuse_comparison=compare_run)


# --------------------------------------------------------------------------------------------------
# service calls
# --------------------------------------------------------------------------------------------------
def import_tour_dataset(ws: Workspace) -> str:
    """Import Cranfield from the data folder (once; later tours reuse it); returns its name."""
    if ws.get_dataset(TOUR_DATASET) is not None:
        return TOUR_DATASET
    folder = get_settings().data_dir / TOUR_DATASET
    if not folder.is_dir():
        raise NotFound(
            f"The tour's data set is not in the data folder ({TOUR_DATASET}/ under ESL_DATA_DIR); import "
            "your own on the Datasets page instead."
        )
    record, _ = import_dataset(ws, folder, name=TOUR_DATASET)
    return record.name


def submit_compare(ws: Workspace, ds: RetrievalDataset, backend: str) -> tuple[str, dict[str, Any]]:
    config = tour_compare_config(ds.name, ds.splits, backend)
    run_id = jobs.submit(ws, "evaluate", config, title=f"Tour: {ds.name} BM25 / dense / hybrid", queue="eval")
    return run_id, config


def submit_map(ws: Workspace, dataset: str, backend: str) -> tuple[str, dict[str, Any]]:
    request = tour_map_request(dataset, backend).to_dict()
    return jobs.submit(ws, "project", request, title=f"Tour: map of {dataset}", queue="project"), request


def start_verdict(
    ws: Workspace,
    ds: RetrievalDataset,
    compare_config: Mapping[str, Any],
    compare_run: str,
    encoder: Any,
    progress: Callable[[Any], None] | None = None,
) -> tuple[dict[str, Any], str]:
    """Measure the answers (with the tour's fast ``encoder``), recommend, and start the verification that
    reuses the tour's comparison. Returns the recommendation JSON and the verify run id."""
    measured = measure_answers(ds, ws, encoder=encoder, max_docs=WIZARD_SAMPLE_DOCS, progress=progress)
    answers, sources = complete_answers({}, measured.values)
    rec = recommend(answers, sources).to_json()
    plan = tour_plan(plan_verification(rec, ds, ws, include_extras=False), compare_config, compare_run)
    started = start_verification(ws, plan, rec)
    return rec, started["verify_run"]
