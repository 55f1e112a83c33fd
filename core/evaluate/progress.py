"""The progress of one comparison, weighted by its planned work.

:func:`comparison_plan` lists the stages of :func:`~core.evaluate.comparison.run_comparison` with the work
each plans — passages to encode, queries to search (and to tune alpha on), rerank pairs, the single queries
of the latency measurement — in two kinds of unlike cost (texts a model reads, texts BM25 reads).
:class:`ComparisonProgress` turns it into one monotone bar with an ETA from the throughput measured in this
run (:class:`~core.runtime.StagedProgress`). Messages read
``dense: encoding corpus 1,200/5,183 passages, 41 passages/s``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.retrieval import BM25Spec, DenseSpec, FusionSpec, HybridSpec, RerankSpec, SparseSpec, StrategySpec
from core.runtime import PlannedStage, Progress, Reporter, StagedProgress

__all__ = ["MODEL", "PRIORS", "QUERY", "SINGLE", "SPARSE", "ComparisonProgress", "comparison_plan"]

STAGE = "compare"
# kinds of work, each with its own measured cost: passages a neural model reads (MODEL), queries it reads
# in batches (QUERY: a tenth of a passage's tokens, plus scoring), single queries timed one by one (SINGLE: one call
# each, with its overhead), texts BM25 reads (SPARSE)
MODEL, QUERY, SINGLE, SPARSE = "model", "query", "single", "sparse"
# relative cost of a unit before this run has measured it (replaced by the measured seconds per unit as
# soon as a stage of that kind has run): a query is ~15 tokens against a passage's ~250, a single-query
# call costs a few batched queries, and BM25 tokenises and scores a text in well under 1 % of the time a
# transformer encodes it on a CPU
PRIORS = {MODEL: 1.0, QUERY: 0.1, SINGLE: 0.2, SPARSE: 0.005}


def _leaves(spec: StrategySpec) -> list[StrategySpec]:
    if isinstance(spec, HybridSpec):
        return [spec.sparse, spec.dense]
    if isinstance(spec, FusionSpec):
        return list(spec.parts)
    if isinstance(spec, RerankSpec):
        return _leaves(spec.first_stage)
    return [spec]


def _components(spec: StrategySpec) -> list[StrategySpec]:
    """What a composite is checked against (core.evaluate.report.component_specs)."""
    if isinstance(spec, HybridSpec):
        return [spec.sparse, spec.dense]
    if isinstance(spec, FusionSpec):
        return list(spec.parts)
    return [spec.first_stage] if isinstance(spec, RerankSpec) else []


def _kind(spec: StrategySpec, model_kind: str = QUERY) -> str:
    """SPARSE when only BM25 reads the texts, else ``model_kind``."""
    return SPARSE if all(isinstance(s, BM25Spec) for s in _leaves(spec)) else model_kind


def _index_work(spec: StrategySpec, n_docs: int, seen: set[Any]) -> tuple[int, str]:
    """Texts the build of ``spec`` reads, counting each index once per comparison (later strategies reuse
    it)."""
    model = sparse = 0
    for leaf in _leaves(spec):
        key = (
            type(leaf).__name__,
            getattr(leaf, "model", None),
            getattr(leaf, "backend", None),
            leaf.chunking,
        )
        if key in seen:
            continue
        seen.add(key)
        if isinstance(leaf, (DenseSpec, SparseSpec)):  # a transformer encodes the corpus
            model += n_docs
        else:
            sparse += n_docs
    return (model, MODEL) if model else (sparse, SPARSE)


def comparison_plan(
    specs: Mapping[str, StrategySpec],
    *,
    n_docs: int,
    n_queries: int,
    tune_queries: Mapping[str, int],
    latency_sample: int,
) -> list[PlannedStage]:
    """The stages of a comparison of ``specs``: build, tune (a hybrid with a tune split), search (and a
    reranker's pairs), then the latency of each strategy alone and the significance tests."""
    plan: list[PlannedStage] = []
    seen: set[Any] = set()
    strategies = set(specs.values())
    for name, spec in specs.items():
        units, kind = _index_work(spec, n_docs, seen)
        plan.append(PlannedStage(f"{name}:build", max(1, units), kind))
        hybrid = spec.first_stage if isinstance(spec, RerankSpec) else spec
        if isinstance(hybrid, (HybridSpec, FusionSpec)) and hybrid.tune_split in tune_queries:
            plan.append(PlannedStage(f"{name}:tune", max(1, tune_queries[hybrid.tune_split]), QUERY))
        alone = [p for p in _components(spec) if p not in strategies]  # searched alone for the check
        search, kind = n_queries * (1 + len(alone)), _kind(spec)
        if isinstance(spec, RerankSpec):  # query-passage pairs through the cross-encoder: passage-sized
            search, kind = search + n_queries * spec.top_k, MODEL
        plan.append(PlannedStage(f"{name}:search", max(1, search), kind))
    sample = min(latency_sample, n_queries)
    for name, spec in specs.items():
        per_query = 2 * (1 + len(_leaves(spec)))  # warm-up and timed, the whole and each component
        pairs = spec.top_k * 2 if isinstance(spec, RerankSpec) else 0
        plan.append(
            PlannedStage(f"{name}:latency", max(1, sample * (per_query + pairs)), _kind(spec, SINGLE))
        )
    plan.append(PlannedStage("significance", max(1, len(specs)), SPARSE))
    return plan


class ComparisonProgress:
    """The bar of one comparison: :meth:`begin` a planned stage with a message, :meth:`inner` passes the
    records of the work inside it (encoding, indexing) on as progress within that stage."""

    def __init__(self, reporter: Reporter | None, plan: list[PlannedStage], clock: Any = None):
        kwargs = {"clock": clock} if clock is not None else {}
        self.staged = StagedProgress(reporter, STAGE, plan, priors=PRIORS, **kwargs)
        self.reporter = reporter
        self.label = ""
        self.units = {p.name: p.units for p in plan}
        self.name = ""

    def begin(self, name: str, label: str, message: str) -> None:
        """Planned stage ``name`` starts: ``label`` (the strategy) and what is done."""
        self.name, self.label = name, label
        self.staged.begin(name, f"{label}: {message}" if label else message)

    def inner(self, p: Progress) -> None:
        if self.reporter is None:
            return
        if p.is_log:
            self.reporter(p)
            return
        what = {"encode": "encoding corpus", "index": "indexing", "chunk": "cutting passages"}.get(
            p.stage, p.stage
        )
        detail = f"{what} {p.done:,}/{p.total:,}"
        if p.rate:
            detail += f", {p.rate:,.0f} texts/s"
        elif p.message:
            detail += f" ({p.message})"
        done = 0
        if p.stage == "encode":  # loading the model and choosing its backend are over: time units from here
            self.staged.mark_work()
            done = int(self.units.get(self.name, 0) * p.fraction)
        self.staged.advance(done, f"{self.label}: {detail}")

    def finish(self, message: str = "done") -> None:
        self.staged.finish(message)
