"""The guided tour of the home page: import Cranfield → compare BM25, dense and hybrid → a map → the wizard's
verdict, each one click, on real data, with the fastest backend that runs here.

Pure parts (unit-tested): :func:`tour_backend` (the backend the tour encodes with), :func:`tour_etas` (each
step's expected time from encoding rates measured now by :func:`measure_tour_rates`: the corpus and the
queries in batches, and single queries, which the comparison's latency measurement encodes one by one), :func:`tour_compare_config` and
:func:`tour_map_request` (the job configs), :func:`tour_plan` (the wizard's verification plan pointed at the
tour's own comparison, so nothing is encoded twice). The service calls (:func:`import_tour_dataset`,
:func:`submit_compare`, :func:`submit_map`, :func:`start_verdict`) are thin.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.data import RetrievalDataset, import_dataset
from core.encoding import estimate_encode_time, format_duration
from core.evaluate import DEFAULT_LATENCY_SAMPLE, CompareOptions, EvaluateJob
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
    "TourRates",
    "import_tour_dataset",
    "measure_tour_rates",
    "ranx_compiled",
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
# the comparison's encodes besides the corpus (core.evaluate): every dense search is timed with the query
# vectors forgotten first, so dense and hybrid each encode the split's queries in a batch; the latency stage
# then encodes single queries: per sampled query a warm-up and a timed pass of dense alone, of the hybrid's
# dense part and of the whole hybrid
QUERY_BATCH_PASSES = 2
SINGLE_QUERY_ENCODES = 2 * 3
# seconds besides encoding: worker start, model and index loads, BM25, significance tests (the wizard's
# tokenizer and sampling); not measured before the step, the estimate names them. Measured on Cranfield on
# this 2-core machine: the comparison in process took 20.5 s with ranx's numba code already compiled, 12 s
# of it encoding; 52.8 s on a fresh workspace, where ranx compiled its metrics first (32 s). The map step took
# 0.8 s in all (bench/demo.py: the warm worker, PCA on cached vectors), the verdict 8.5 s
_FIXED_S = {"compare": 15.0, "map": 1.5, "verdict": 8.0}
_COMPILE_S = 30.0  # ranx's numba compile on a fresh workspace (the comparison's first use), measured here
SINGLE_QUERY_SAMPLE = 8  # single-query encodes timed at import


def ranx_compiled(cache_dir: Path | str | None = None) -> bool:
    """Whether ranx's numba code (metrics, fusion, paired tests) is already in the numba disk cache of this
    workspace (``NUMBA_CACHE_DIR``): on a fresh workspace the comparison compiles it first."""
    raw = cache_dir if cache_dir is not None else os.environ.get("NUMBA_CACHE_DIR")
    folder = Path(raw) if raw else None
    if folder is None or not folder.is_dir():
        return False
    for prefix in ("metrics_", "fusion_", "statistical_tests_"):
        entries = [p for p in folder.iterdir() if p.is_dir() and p.name.startswith(prefix)]
        if not any(any(e.glob("*.nbi")) for e in entries):
            return False
    return True


def tour_backend(plans: Mapping[str, Any]) -> str:
    """The fastest backend of :data:`FASTEST_FIRST` whose plan here is itself (no fallback)."""
    for name in FASTEST_FIRST:
        plan = plans.get(name)
        if plan is not None and plan.backend == name and not plan.reason:
            return name
    return "torch"


@dataclass(frozen=True)
class TourRates:
    """Encoding rates measured on this machine just before the tour: corpus texts and queries per second
    in batches, and seconds per query encoded alone (as the latency measurement does)."""

    doc_rate: float
    query_rate: float
    single_query_s: float


def measure_tour_rates(
    encoder: Any,
    queries: Sequence[str],
    *,
    doc_rate: float,
    sample: int = SINGLE_QUERY_SAMPLE,
    clock: Callable[[], float] = time.perf_counter,
) -> TourRates:
    """Time ``encoder`` on a sample of ``queries``: in one batch, and one at a time (after a warm-up
    call); ``doc_rate`` is the corpus rate measured on a sample of the corpus."""
    batch = estimate_encode_time(encoder, list(queries), sample_size=64)
    chosen = list(queries)[: max(1, sample)]
    if not chosen:
        return TourRates(doc_rate, batch.rate or doc_rate, 1.0 / max(doc_rate, 1e-9))
    encoder.encode(chosen[:1], batch_size=1)  # warm-up: first-call costs are not extrapolated
    start = clock()
    for text in chosen:
        encoder.encode([text], batch_size=1)
    single = (clock() - start) / len(chosen)
    return TourRates(doc_rate, batch.rate or doc_rate, single)


@dataclass(frozen=True)
class TourEtas:
    """Expected seconds per step, from the encoding rates measured just before, and what each is made of
    (``parts``: step -> (what, seconds))."""

    seconds: dict[str, float]
    fast_rate: float
    backend: str
    parts: dict[str, tuple[tuple[str, float], ...]] = dataclasses.field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    def text(self, step: str) -> str:
        return f"about {format_duration(self.seconds[step])}"

    def breakdown(self, step: str) -> str:
        """E.g. ``corpus 1,400 texts 16 s + queries … + start-up, loads and tests ~25 s``."""
        return " + ".join(f"{what} {format_duration(sec)}" for what, sec in self.parts.get(step, ()))


def _rates(fast_rate: float | None, rates: TourRates | None) -> TourRates:
    if rates is not None:
        return rates
    fast = max(fast_rate or 0.0, 1e-9)
    return TourRates(fast, fast, 1.0 / fast)  # no query timings: a query costs as much as a document


def tour_etas(
    *,
    documents: int,
    queries: int,
    backend: str,
    map_points: int,
    fast_rate: float | None = None,
    rates: TourRates | None = None,
    latency_sample: int = DEFAULT_LATENCY_SAMPLE,
    metrics_compiled: bool = True,
) -> TourEtas:
    """Compare encodes the corpus once with ``backend`` (hybrid reuses the dense vectors), the queries in
    a batch for each dense search, and single queries for the latency of each strategy alone; the map reads
    the corpus vectors the comparison cached (its queries are encoded with ``backend``); the wizard encodes
    a sample of queries for its BM25-vs-dense overlap. Fixed costs (worker start, model loads, BM25, tests;
    ranx's numba compile when :func:`ranx_compiled` says it is not cached yet) are added and named in
    :meth:`TourEtas.breakdown`."""
    r = _rates(fast_rate, rates)
    doc_rate, query_rate = max(r.doc_rate, 1e-9), max(r.query_rate, 1e-9)
    singles = min(latency_sample, queries) * SINGLE_QUERY_ENCODES
    parts = {
        "compare": (
            (f"corpus ({documents:,} texts)", documents / doc_rate),
            (f"queries ({QUERY_BATCH_PASSES} × {queries:,})", QUERY_BATCH_PASSES * queries / query_rate),
            (f"latency ({singles:,} single queries)", singles * r.single_query_s),
            ("start-up, loads and tests", _FIXED_S["compare"]),
            *(() if metrics_compiled else (("compiling ranx's metrics (first use)", _COMPILE_S),)),
        ),
        "map": (
            (f"queries ({min(map_points, queries):,})", min(map_points, queries) / query_rate),
            ("start-up and projection", _FIXED_S["map"]),
        ),
        "verdict": (
            (f"queries ({WIZARD_SAMPLE_QUERIES})", WIZARD_SAMPLE_QUERIES / query_rate),
            ("tokenizer, sampling and checks", _FIXED_S["verdict"]),
        ),
    }
    seconds = {step: sum(sec for _, sec in items) for step, items in parts.items()}
    return TourEtas(seconds, doc_rate, backend, parts)


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
