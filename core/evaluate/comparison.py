"""Side-by-side comparison of retrieval strategies on one dataset split, stored as a workspace run.

:func:`run_comparison` builds every strategy (sharing indexes and cached corpus vectors), tunes hybrid
alpha on a train / dev split when asked, searches all judged queries (timed: batched throughput), scores
them with ranx, checks a composite against its best component, then — every index built and warm —
times each strategy alone (core.evaluate.latency), tests significance against a baseline, and returns a
:class:`~core.evaluate.report.ComparisonReport`; :mod:`core.evaluate.store` persists it. Progress is
weighted by the planned work (core.evaluate.progress).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

from core.data import RetrievalDataset, resolve_dataset
from core.evaluate.describe import backend_notes, dense_parts, describe_passages, index_seconds
from core.evaluate.latency import measure_strategies, timed_search
from core.evaluate.metrics import (
    CURVE_DEPTH,
    DEFAULT_LATENCY_SAMPLE,
    DEFAULT_STAT_TEST,
    PRIMARY_METRIC,
    evaluate_run,
    paired_significance,
    rank_curves,
)
from core.evaluate.options import DEFAULT_K, EvaluateJob
from core.evaluate.progress import STAGE, ComparisonProgress, comparison_plan
from core.evaluate.report import (
    ComparisonReport,
    StrategyResult,
    component_specs,
    composite_check,
    rerank_warnings,
    with_latency,
)
from core.evaluate.store import save_comparison
from core.retrieval import (
    Corpus,
    FusionSpec,
    HybridSpec,
    RerankRetriever,
    RerankSpec,
    RetrieverBuilder,
    StrategySpec,
    alpha_sweep,
    describe_indexes,
    results_to_run,
    spec_to_dict,
    tuned_fusion,
)
from core.runtime import InvalidInput, Reporter, Workspace

__all__ = ["STAGE", "evaluate_job", "run_comparison"]


MATCHED_DEPTH = 10  # ranks per query whose matching passage a report keeps (strategies on passages)

Run = dict[str, dict[str, float]]


class _Comparison:
    """The strategies of one :func:`run_comparison` on one split: its queries, the shared builder, and the
    tuned hybrids and runs already computed (a spec is tuned and searched once, however many strategies
    use it)."""

    def __init__(
        self,
        ds: RetrievalDataset,
        split: str,
        builder: RetrieverBuilder,
        overall: ComparisonProgress,
        *,
        k: int,
        stat_test: str,
    ):
        queries = ds.split_queries(split)
        self.ds, self.builder, self.overall = ds, builder, overall
        self.qrels = ds.qrels_dict(split)
        self.qids, self.qtexts = queries["query_id"].tolist(), queries["text"].tolist()
        self.k, self.stat_test = k, stat_test
        self.retrievers: dict[str, Any] = {}  # strategy name -> its retriever, for the latency phase
        self.qps: dict[StrategySpec, float | None] = {}  # batched throughput of each spec's search
        self.searched: dict[str, StrategySpec] = {}  # strategy name -> the (tuned) spec searched
        self._tuned: dict[Any, tuple[Any, dict[str, Any], list[str]]] = {}
        self._runs: dict[StrategySpec, Run] = {}
        self._matched: dict[StrategySpec, dict[str, list[str]]] = {}

    def measure(self, name: str, spec: StrategySpec) -> StrategyResult:
        """Every number of one strategy but its latency (measured later, every strategy alone)."""
        notes: list[str] = []
        warnings: list[str] = []
        self.overall.begin(f"{name}:build", name, f"building {spec.label}")
        spec, extra = self.tuned(name, spec, notes)
        retriever = self.builder.build(spec)
        self.retrievers[name], self.searched[name] = retriever, spec
        notes.extend(backend_notes(retriever))
        self.describe_dense(retriever, extra, notes)
        describe_passages(retriever, extra, notes)
        self.overall.begin(f"{name}:search", name, f"searching {len(self.qtexts):,} queries")
        run = self.run_of(spec)
        if self._matched.get(spec):
            extra["matched_passages"] = self._matched[spec]  # {query id: passage id of ranks 1..10}
        means, per_query = evaluate_run(self.qrels, run)
        if isinstance(retriever, RerankRetriever):
            warnings.extend(self.check_rerank(retriever, spec, run, means, extra))
        notes.extend(self.check_composite(spec, run, means, extra, warnings))
        return StrategyResult(
            name=name,
            label=spec.label,
            spec=spec_to_dict(spec),
            metrics=means,
            per_query=per_query,
            latency_ms_p50=0.0,
            latency_ms_p95=0.0,
            index_s=index_seconds(retriever),
            curves=rank_curves(self.qrels, run, max_k=min(CURVE_DEPTH, self.k)),
            notes=notes,
            extra=extra,
            run=run,
            warnings=warnings,
        )

    def check_composite(
        self,
        spec: StrategySpec,
        run: Run,
        means: dict[str, float],
        extra: dict[str, Any],
        warnings: list[str],
    ) -> list[str]:
        """A hybrid or rerank against its best component (each searched alone): ``composite_not_better``
        and a note when it is not significantly better (core.evaluate.report.composite_check)."""
        parts = component_specs(spec)
        if not parts:
            return []
        runs = {label: self.run_of(part) for label, part in parts.items()}
        found, warning = composite_check(self.qrels, spec.label, run, means, runs, stat_test=self.stat_test)
        extra.update(found)
        harmful = any("made the ranking worse" in w for w in warnings)
        return [warning] if warning and not harmful else []

    def tuned(self, name: str, spec: StrategySpec, notes: list[str]) -> tuple[StrategySpec, dict[str, Any]]:
        """``spec`` with its hybrid (itself or a reranker's first stage) tuned, and what tuning found."""
        if isinstance(spec, (HybridSpec, FusionSpec)):
            return self.tune(name, spec, notes)
        if isinstance(spec, RerankSpec) and isinstance(spec.first_stage, (HybridSpec, FusionSpec)):
            first, extra = self.tune(name, spec.first_stage, notes)
            return dataclasses.replace(spec, first_stage=first), extra
        return spec, {}

    def tune(self, name: str, spec: Any, notes: list[str]) -> tuple[Any, dict[str, Any]]:
        """Alpha of a hybrid (weights of a fusion) picked on its ``tune_split`` (convex fusion only), once
        per spec; ``extra`` says what was used and how it was chosen (``alpha`` / ``weights``,
        ``alpha_tuned``, ``alpha_source``)."""
        if spec not in self._tuned:
            self._tuned[spec] = self._sweep(name, spec)
        new, extra, tune_notes = self._tuned[spec]
        notes.extend(tune_notes)
        return new, dict(extra)

    def _sweep(self, name: str, spec: Any) -> tuple[Any, dict[str, Any], list[str]]:
        if spec.fusion != "convex":
            return spec, {"fusion": spec.fusion, "alpha_source": f"{spec.fusion} fusion (no alpha)"}, []
        if isinstance(spec, FusionSpec):
            fixed: dict[str, Any] = {"weights": list(spec.weights or ()), "alpha_tuned": False}
            what = "fusion weights"
        else:
            fixed, what = {"alpha": spec.alpha, "alpha_tuned": False}, f"alpha; kept alpha={spec.alpha:.2f}"
        if not spec.tune_split:
            return spec, {**fixed, "alpha_source": "fixed (not tuned)"}, []
        if spec.tune_split not in self.ds.splits:
            why = (
                f"no {spec.tune_split!r} split to tune {what} on"
                if isinstance(spec, FusionSpec)
                else (f"no {spec.tune_split!r} split to tune alpha on; kept alpha={spec.alpha:.2f}")
            )
            return spec, {**fixed, "alpha_source": f"fallback: {why}"}, [why]
        hybrid = self.builder.build(dataclasses.replace(spec, tune_split=None))
        queries = self.ds.split_queries(spec.tune_split)
        self.overall.begin(
            f"{name}:tune",
            name,
            f"tuning {'weights' if isinstance(spec, FusionSpec) else 'alpha'} on "
            f"{len(queries):,} {spec.tune_split} queries",
        )
        if isinstance(spec, FusionSpec):  # 2 or 3 parts: a grid over the weights (core.retrieval.fusion)
            qrels = self.ds.qrels_dict(spec.tune_split)
            new, extra, notes = tuned_fusion(
                spec, hybrid, queries["text"].tolist(), queries["query_id"].tolist(), qrels
            )
            source = f"tuned on {spec.tune_split} ({len(queries)} queries)"
            extra.update(weights=list(new.weights or ()), alpha_tuned=True, alpha_source=source)
            return new, extra, notes
        best, curve = alpha_sweep(
            hybrid,
            queries["text"].tolist(),
            queries["query_id"].tolist(),
            self.ds.qrels_dict(spec.tune_split),
        )
        note = f"alpha tuned on {spec.tune_split} ({len(queries)} queries): best α={best:.2f}"
        source = f"tuned on {spec.tune_split} ({len(queries)} queries)"
        extra = {"alpha_curve": curve, "tuned_alpha": best, "tune_split": spec.tune_split}
        extra.update(alpha=best, alpha_tuned=True, alpha_source=source)
        return dataclasses.replace(spec, alpha=best), extra, [note]

    def run_of(self, spec: StrategySpec) -> Run:
        """The ranked lists of ``spec`` for every query (searched once per spec)."""
        if spec not in self._runs:
            hits, self.qps[spec] = timed_search(self.builder.build(spec), self.qtexts, self.k)
            self._runs[spec] = results_to_run(self.qids, hits)
            self._matched[spec] = {
                q: list(h.passage_ids[:MATCHED_DEPTH])
                for q, h in zip(self.qids, hits, strict=True)
                if h.passage_ids is not None
            }
        return self._runs[spec]

    def describe_dense(self, retriever: Any, extra: dict[str, Any], notes: list[str]) -> None:
        """Cache use, encoding time and backend of the first dense part; its indexes (type, loaded from
        the workspace, an approximate index's recall@10 against exact: ``describe_indexes``)."""
        for dense in dense_parts(retriever)[:1]:
            extra["from_cache"] = dense.from_cache
            extra["encode_s"] = dense.encode_s
            plan = getattr(dense.encoder, "plan", None)
            if plan is not None:
                extra["backend"] = plan.label
        more, said = describe_indexes(retriever, self.qtexts, k=10)
        extra.update(more)
        notes.extend(said)

    def check_rerank(
        self,
        retriever: RerankRetriever,
        spec: RerankSpec,
        run: Run,
        means: dict[str, float],
        extra: dict[str, Any],
    ) -> list[str]:
        """Score the first stage alone, record it in ``extra``; warnings when the reranker hurts."""
        first_run = self.run_of(spec.first_stage)
        first_means, _ = evaluate_run(self.qrels, first_run)
        p_first = paired_significance(
            self.qrels, {"first": first_run, "rerank": run}, "first", stat_test=self.stat_test
        )
        p = p_first.get("rerank", {}).get(PRIMARY_METRIC)
        extra.update(
            head_trained=retriever.reranker.head_trained,
            first_stage_label=spec.first_stage.label,
            first_stage_metrics=first_means,
            first_stage_p=p,
        )
        return rerank_warnings(retriever.reranker, first_means, means, p)


def run_comparison(
    ds: RetrievalDataset,
    split: str,
    specs: Mapping[str, StrategySpec],
    *,
    ws: Workspace | None = None,
    k: int = DEFAULT_K,
    baseline: str | None = None,
    stat_test: str = DEFAULT_STAT_TEST,
    latency_sample: int = DEFAULT_LATENCY_SAMPLE,
    builder: RetrieverBuilder | None = None,
    progress: Reporter | None = None,
) -> ComparisonReport:
    """Evaluate every spec on ``split`` of ``ds``; see the module docstring.

    A rerank strategy is also scored without its reranker (its first stage): when the reranker makes
    nDCG@10 worse, or its head is untrained, the result carries a warning. An approximate index (HNSW, IVF)
    reports its recall@10 against exact (``extra["ann_recall@10"]``, for HNSW also ``"hnsw_recall@10"``)."""
    if not specs:
        raise InvalidInput("Choose at least one strategy.")
    if baseline is not None and baseline not in specs:
        raise InvalidInput(f"Baseline {baseline!r} is not among the strategies {list(specs)}.")
    started = time.time()
    builder = builder or RetrieverBuilder(Corpus.from_dataset(ds), ws)
    tune = {s: len(ds.split_queries(s)) for s in ds.splits}
    n_queries, n_docs = tune.pop(split, 0), len(builder.corpus)
    plan = comparison_plan(
        specs, n_docs=n_docs, n_queries=n_queries, tune_queries=tune, latency_sample=latency_sample
    )
    overall = ComparisonProgress(progress, plan)
    builder.progress = overall.inner if progress is not None else None
    comparison = _Comparison(ds, split, builder, overall, k=k, stat_test=stat_test)
    results = {name: comparison.measure(name, spec) for name, spec in specs.items()}
    results, load = _measure_latency(comparison, results, latency_sample)
    overall.begin("significance", "", "significance tests")
    baseline = baseline or next(iter(specs))
    runs = {name: res.run for name, res in results.items()}
    p_values = (
        paired_significance(comparison.qrels, runs, baseline, stat_test=stat_test) if len(runs) > 1 else {}
    )
    overall.finish("comparison done")
    return ComparisonReport(
        ds.name,
        split,
        len(comparison.qids),
        k,
        results,
        baseline,
        p_values,
        stat_test,
        corpus_fingerprint=builder.corpus.fingerprint,
        started=started,
        load=load,
    )


def _measure_latency(
    comparison: _Comparison, results: dict[str, StrategyResult], sample: int
) -> tuple[dict[str, StrategyResult], dict[str, Any]]:
    """Every strategy's latency alone, now that every index is built and warm (core.evaluate.latency)."""
    c = comparison
    profiles, load = measure_strategies(
        c.retrievers,
        c.qtexts,
        c.k,
        sample=sample,
        throughput={name: c.qps.get(spec) for name, spec in c.searched.items()},
        on_strategy=lambda name: c.overall.begin(
            f"{name}:latency", name, f"timing single queries ({sample})"
        ),
    )
    return {name: with_latency(res, profiles[name], load) for name, res in results.items()}, load


# background job
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
