"""Side-by-side comparison of retrieval strategies on one dataset split, stored as a workspace run.

:func:`run_comparison` builds every strategy (sharing indexes and cached corpus vectors), tunes hybrid
alpha on a train / dev split when asked, searches all judged queries, scores them with ranx, tests
significance against a baseline, measures per-query latency and index build time, and returns a
:class:`ComparisonReport`. :func:`save_comparison` / :func:`load_comparison` persist it (metrics in
SQL, one TREC run file per strategy beside it), so a comparison can be reopened later.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.data import RetrievalDataset, resolve_dataset
from core.evaluate.metrics import (
    evaluate_run,
    measure_latency,
    paired_significance,
    rank_curves,
    read_trec_run,
    write_trec_run,
)
from core.evaluate.options import EvaluateJob
from core.retrieval import (
    Corpus,
    DenseRetriever,
    HybridRetriever,
    HybridSpec,
    RerankRetriever,
    RerankSpec,
    RetrieverBuilder,
    StrategySpec,
    alpha_sweep,
    results_to_run,
    spec_to_dict,
)
from core.runtime import InvalidInput, NotFound, Progress, Reporter, StoreError, Workspace, report

__all__ = [
    "STAGE",
    "ComparisonReport",
    "StrategyResult",
    "evaluate_job",
    "load_comparison",
    "run_comparison",
    "save_comparison",
]


STAGE = "compare"  # the stage of run_comparison's overall progress records
SCALE = 1000  # progress units per strategy, so that inner stages (encoding) move the bar smoothly


@dataclass(frozen=True)
class StrategyResult:
    """Scores and costs of one strategy on one split."""

    name: str
    label: str
    spec: dict[str, Any]
    metrics: dict[str, float]
    per_query: dict[str, dict[str, float]]
    latency_ms_p50: float
    latency_ms_p95: float
    index_s: float
    curves: dict[str, list[float]]
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    run: dict[str, dict[str, float]] = field(default_factory=dict, repr=False)
    warnings: list[str] = field(default_factory=list)  # problems the user must see (e.g. a harmful reranker)

    def summary(self) -> dict[str, float]:
        """The numbers the CLI prints for this strategy."""
        return {
            **{k: round(v, 4) for k, v in self.metrics.items()},
            "latency_ms_p50": round(self.latency_ms_p50, 2),
            "latency_ms_p95": round(self.latency_ms_p95, 2),
            "index_s": round(self.index_s, 2),
        }


@dataclass(frozen=True)
class ComparisonReport:
    """All strategies on one dataset split, with p-values against ``baseline``."""

    dataset: str
    split: str
    queries: int
    k: int
    strategies: dict[str, StrategyResult]
    baseline: str | None
    p_values: dict[str, dict[str, float]]
    stat_test: str = "student"
    created: float = field(default_factory=time.time)
    run_id: str | None = None
    corpus_fingerprint: str | None = None  # of the corpus searched (ranked lists need the same corpus)

    def to_json(self) -> dict[str, Any]:
        """``{"dataset", "split", "queries", "strategies": {name: {metrics, latency, index_s}}}``."""
        return {
            "dataset": self.dataset,
            "split": self.split,
            "queries": self.queries,
            "strategies": {name: r.summary() for name, r in self.strategies.items()},
        }

    def to_record(self) -> dict[str, Any]:
        """Everything except the runs (which go to TREC files)."""
        data = dataclasses.asdict(self)
        for res in data["strategies"].values():
            res.pop("run", None)
        return data

    def metrics_table(self) -> list[dict[str, Any]]:
        """One row per strategy: name, label, metrics, p-values against the baseline, costs."""
        rows = []
        for name, res in self.strategies.items():
            row: dict[str, Any] = {"strategy": name, "label": res.label}
            row.update(res.metrics)
            for key, p in self.p_values.get(name, {}).items():
                row[f"p({key})"] = p
            row.update(
                latency_ms_p50=res.latency_ms_p50, latency_ms_p95=res.latency_ms_p95, index_s=res.index_s
            )
            rows.append(row)
        return rows


def _index_seconds(retriever: Any) -> float:
    """Build time of a retriever including the indexes of its parts."""
    if isinstance(retriever, HybridRetriever):
        return _index_seconds(retriever.sparse) + _index_seconds(retriever.dense)
    if isinstance(retriever, RerankRetriever):
        return _index_seconds(retriever.first_stage)
    return float(getattr(retriever, "index_s", 0.0))


def _backend_notes(retriever: Any) -> list[str]:
    """Why an encoder or reranker runs on another backend than its spec asked for (core.encoding)."""
    if isinstance(retriever, HybridRetriever):
        return _backend_notes(retriever.dense)
    if isinstance(retriever, RerankRetriever):
        plan = getattr(retriever.reranker, "plan", None)
        return _backend_notes(retriever.first_stage) + (
            [plan.reason] if plan is not None and plan.reason else []
        )
    plan = getattr(getattr(retriever, "encoder", None), "plan", None)
    return [plan.reason] if plan is not None and plan.reason else []


def _dense_parts(retriever: Any) -> list[DenseRetriever]:
    """The dense retrievers inside a strategy (itself, a hybrid's dense side, a rerank's first stage)."""
    if isinstance(retriever, DenseRetriever):
        return [retriever]
    if isinstance(retriever, HybridRetriever):
        return _dense_parts(retriever.dense)
    if isinstance(retriever, RerankRetriever):
        return _dense_parts(retriever.first_stage)
    return []


def _tune(
    builder: RetrieverBuilder, ds: RetrievalDataset, spec: HybridSpec, notes: list[str]
) -> tuple[HybridSpec, dict[str, Any]]:
    """Pick alpha on ``spec.tune_split`` (convex fusion only)."""
    if spec.fusion != "convex" or not spec.tune_split:
        return spec, {}
    if spec.tune_split not in ds.splits:
        notes.append(f"no {spec.tune_split!r} split to tune alpha on; kept alpha={spec.alpha:.2f}")
        return spec, {}
    hybrid = builder.build(dataclasses.replace(spec, tune_split=None))
    queries = ds.split_queries(spec.tune_split)
    best, curve = alpha_sweep(
        hybrid, queries["text"].tolist(), queries["query_id"].tolist(), ds.qrels_dict(spec.tune_split)
    )
    notes.append(f"alpha tuned on {spec.tune_split} ({len(queries)} queries): best α={best:.2f}")
    return dataclasses.replace(spec, alpha=best), {
        "alpha_curve": curve,
        "tuned_alpha": best,
        "tune_split": spec.tune_split,
    }


def _rerank_warnings(
    retriever: RerankRetriever,
    first_metrics: dict[str, float],
    metrics: dict[str, float],
    p_value: float | None,
) -> list[str]:
    """Plain-words warnings when a reranker is untrained or makes the ranking worse."""
    out = []
    name = retriever.reranker.name
    if not retriever.reranker.head_trained:
        out.append(
            f"Reranker {name!r} has an untrained classification head: its scores are random until it is "
            "fine-tuned (Adapt page)."
        )
    before, after = first_metrics.get("ndcg@10", 0.0), metrics.get("ndcg@10", 0.0)
    if after < before:
        sig = f", p={p_value:.3g}" if p_value is not None else ""
        out.append(
            f"Reranking with {name!r} made the ranking worse: nDCG@10 {after:.3f} against {before:.3f} for "
            f"its first stage alone ({after - before:+.3f}{sig}). Keep the first stage, or train the "
            "reranker on more queries."
        )
    return out


class _StrategyProgress:
    """One overall progress over the strategies of a comparison: each strategy is an equal share of
    :data:`STAGE` (in thousandths), and the inner stages of its build (encoding, indexing) move the bar within
    that share. Messages read ``[2/4] Dense (…) — encode: 1,024/5,183 412 texts/s``."""

    def __init__(self, reporter: Reporter | None, count: int):
        self.reporter = reporter
        self.count = max(1, count)
        self.index = 0
        self.label = ""

    def strategy(self, index: int, message: str) -> None:
        self.index, self.label = index, message
        shown = min(index + 1, self.count)
        report(self.reporter, STAGE, index * SCALE, self.count * SCALE, f"[{shown}/{self.count}] {message}")

    def inner(self, p: Progress) -> None:
        if p.is_log or self.reporter is None:
            if self.reporter is not None:
                self.reporter(p)
            return
        done = self.index * SCALE + int(SCALE * p.fraction * 0.95)
        detail = f"{p.stage}: {p.done:,}/{p.total:,} {p.message}".strip()
        message = f"[{self.index + 1}/{self.count}] {self.label} — {detail}"
        report(self.reporter, STAGE, done, self.count * SCALE, message, p.rate)


def run_comparison(
    ds: RetrievalDataset,
    split: str,
    specs: Mapping[str, StrategySpec],
    *,
    ws: Workspace | None = None,
    k: int = 100,
    baseline: str | None = None,
    stat_test: str = "student",
    latency_sample: int = 50,
    builder: RetrieverBuilder | None = None,
    progress: Reporter | None = None,
) -> ComparisonReport:
    """Evaluate every spec on ``split`` of ``ds``; see the module docstring.

    A rerank strategy is also scored without its reranker (its first stage): when the reranker makes
    nDCG@10 worse, or its head is untrained, the result carries a warning. An HNSW index reports its
    recall@10 against the exact index (``extra["hnsw_recall@10"]``)."""
    if not specs:
        raise InvalidInput("Choose at least one strategy.")
    if baseline is not None and baseline not in specs:
        raise InvalidInput(f"Baseline {baseline!r} is not among the strategies {list(specs)}.")
    queries = ds.split_queries(split)
    qrels = ds.qrels_dict(split)
    qids, qtexts = queries["query_id"].tolist(), queries["text"].tolist()
    overall = _StrategyProgress(progress, len(specs))
    builder = builder or RetrieverBuilder(Corpus.from_dataset(ds), ws)
    builder.progress = overall.inner if progress is not None else None
    runs: dict[str, dict[str, dict[str, float]]] = {}
    results: dict[str, StrategyResult] = {}
    by_spec: dict[StrategySpec, dict[str, dict[str, float]]] = {}  # runs already computed, per spec
    tuned: dict[HybridSpec, tuple[HybridSpec, dict[str, Any], list[str]]] = {}

    def tune(spec: HybridSpec, notes: list[str]) -> tuple[HybridSpec, dict[str, Any]]:
        if spec not in tuned:
            tune_notes: list[str] = []
            new, extra = _tune(builder, ds, spec, tune_notes)
            tuned[spec] = (new, extra, tune_notes)
        new, extra, tune_notes = tuned[spec]
        notes.extend(tune_notes)
        return new, dict(extra)

    def run_of(spec: StrategySpec) -> dict[str, dict[str, float]]:
        if spec not in by_spec:
            by_spec[spec] = results_to_run(qids, builder.build(spec).search(qtexts, k))
        return by_spec[spec]

    total = len(specs)
    for i, (name, spec) in enumerate(specs.items()):
        notes: list[str] = []
        warnings: list[str] = []
        extra: dict[str, Any] = {}
        overall.strategy(i, f"building {spec.label}")
        if isinstance(spec, HybridSpec):
            spec, extra = tune(spec, notes)
        elif isinstance(spec, RerankSpec) and isinstance(spec.first_stage, HybridSpec):
            first, extra = tune(spec.first_stage, notes)
            spec = dataclasses.replace(spec, first_stage=first)
        retriever = builder.build(spec)
        notes.extend(_backend_notes(retriever))
        for dense in _dense_parts(retriever)[:1]:
            extra["from_cache"] = dense.from_cache
            extra["encode_s"] = dense.encode_s
            plan = getattr(dense.encoder, "plan", None)
            if plan is not None:
                extra["backend"] = plan.label
            if dense.spec.index == "hnsw":
                recall = dense.recall_vs_exact(qtexts, k=10)
                extra["hnsw_recall@10"] = recall
                notes.append(f"HNSW finds {recall:.1%} of the exact top-10 neighbours")
        overall.strategy(i, f"searching {len(qtexts)} queries with {spec.label}")
        run = run_of(spec)
        means, per_query = evaluate_run(qrels, run)
        if isinstance(retriever, RerankRetriever):
            overall.strategy(i, f"scoring the first stage of {spec.label} alone")
            first_run = run_of(spec.first_stage)
            first_means, _ = evaluate_run(qrels, first_run)
            p_first = paired_significance(
                qrels, {"first": first_run, "rerank": run}, "first", stat_test=stat_test
            )
            p = p_first.get("rerank", {}).get("ndcg@10")
            extra.update(
                head_trained=retriever.reranker.head_trained,
                first_stage_label=spec.first_stage.label,
                first_stage_metrics=first_means,
                first_stage_p=p,
            )
            warnings.extend(_rerank_warnings(retriever, first_means, means, p))
        overall.strategy(i, f"timing {spec.label}")
        lat = measure_latency(retriever, qtexts, k, sample=latency_sample)
        results[name] = StrategyResult(
            name=name,
            label=spec.label,
            spec=spec_to_dict(spec),
            metrics=means,
            per_query=per_query,
            latency_ms_p50=lat.p50_ms,
            latency_ms_p95=lat.p95_ms,
            index_s=_index_seconds(retriever),
            curves=rank_curves(qrels, run, max_k=min(100, k)),
            notes=notes,
            extra=extra,
            run=run,
            warnings=warnings,
        )
        runs[name] = run
    overall.strategy(total, "significance tests")
    baseline = baseline or next(iter(specs))
    p_values = paired_significance(qrels, runs, baseline, stat_test=stat_test) if len(runs) > 1 else {}
    return ComparisonReport(
        ds.name,
        split,
        len(qids),
        k,
        results,
        baseline,
        p_values,
        stat_test,
        corpus_fingerprint=builder.corpus.fingerprint,
    )


# --------------------------------------------------------------------------------------------------
# persistence
# --------------------------------------------------------------------------------------------------
def save_comparison(
    ws: Workspace, rep: ComparisonReport, run_id: str | None = None, title: str | None = None
) -> str:
    """Store a report as a finished ``evaluate`` run (TREC files in its folder). Returns the run id."""
    if run_id is None:
        config = {
            "dataset": rep.dataset,
            "split": rep.split,
            "k": rep.k,
            "baseline": rep.baseline,
            "strategies": {n: r.spec for n, r in rep.strategies.items()},
        }
        run_id = ws.create_run(
            "evaluate", config, title=title or f"Compare on {rep.dataset}/{rep.split}", status="running"
        )
    folder = ws.run_dir(run_id)
    for name, res in rep.strategies.items():
        write_trec_run(res.run, folder / f"{_safe(name)}.trec", tag=_safe(name))
    record = dataclasses.replace(rep, run_id=run_id).to_record()
    (folder / "report.json").write_text(json.dumps(record, default=float), encoding="utf-8")
    ws.update_run(run_id, status="done", result=rep.to_json(), finished=time.time(), message="done")
    return run_id


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def load_comparison(ws: Workspace, run_id: str) -> ComparisonReport:
    """Reopen a stored comparison."""
    folder = ws.home / "runs" / run_id
    path = folder / "report.json"
    if not path.exists():
        raise NotFound(f"Run {run_id!r} has no comparison report.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        strategies = {}
        for name, res in data.pop("strategies").items():
            trec = folder / f"{_safe(name)}.trec"
            strategies[name] = StrategyResult(**res, run=read_trec_run(trec) if trec.exists() else {})
        return ComparisonReport(strategies=strategies, **data)
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as err:
        raise StoreError(
            f"Run {run_id!r} has no readable comparison report ({type(err).__name__}: {err})."
        ) from err


def trec_path(ws: Workspace, run_id: str, strategy: str) -> Path:
    return ws.home / "runs" / run_id / f"{_safe(strategy)}.trec"


# --------------------------------------------------------------------------------------------------
# background job
# --------------------------------------------------------------------------------------------------
def evaluate_job(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    """Job handler (kind ``evaluate``): config = {dataset, split, strategies: {name: spec dict}, k,
    baseline, stat_test, latency_sample}."""
    job = EvaluateJob.from_dict(config)
    ds = resolve_dataset(ctx.ws, job.dataset)
    if not isinstance(ds, RetrievalDataset):
        raise InvalidInput(
            f"{job.dataset!r} is a classification dataset; comparison needs a retrieval dataset."
        )
    rep = run_comparison(
        ds,
        job.split or ds.default_split,
        job.specs(),
        ws=ctx.ws,
        k=job.k,
        baseline=job.baseline,
        stat_test=job.stat_test,
        latency_sample=job.latency_sample,
        progress=ctx.reporter(),
    )
    save_comparison(ctx.ws, rep, run_id=ctx.run_id)
    return rep.to_json()
