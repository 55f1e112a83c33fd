"""What a comparison measured: :class:`StrategyResult` per strategy and the :class:`ComparisonReport` of
one dataset split (metrics, p-values against a baseline, latency and index costs, the ranked lists).

:func:`composite_check` tells whether a composite strategy (hybrid, rerank) is significantly better than
its best component (``extra["composite_not_better"]``, :meth:`ComparisonReport.simpler_alternatives` for the
wizard); :func:`with_latency` puts a strategy's isolated latency (core.evaluate.latency) into its result."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

from core.evaluate.latency import LatencyProfile, latency_caption
from core.evaluate.metrics import DEFAULT_STAT_TEST, PRIMARY_METRIC, evaluate_run, paired_significance
from core.retrieval import FusionSpec, HybridSpec, RerankSpec, StrategySpec

__all__ = [
    "SIGNIFICANCE",
    "ComparisonReport",
    "StrategyResult",
    "component_specs",
    "composite_check",
    "rerank_warnings",
    "with_latency",
]

SIGNIFICANCE = 0.05  # p below which a difference counts as significant
Run = dict[str, dict[str, float]]
# what the CLI and --json state about how a strategy ran (every fallback and tuned value)
SETTING_KEYS = ("alpha", "alpha_tuned", "alpha_source", "fusion", "backend", "index", "from_cache")
LATENCY_KEYS = ("latency_p50_ms", "latency_p95_ms", "throughput_qps", "latency_components")


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

    @property
    def composite_not_better(self) -> bool:
        """Whether this composite strategy is not significantly better than its best component."""
        return bool(self.extra.get("composite_not_better", False))

    def settings(self) -> dict[str, Any]:
        """How it ran: alpha and how it was chosen, backend, index type (what it fell back to)."""
        return {k: self.extra[k] for k in SETTING_KEYS if k in self.extra}

    def latency(self) -> dict[str, Any]:
        """Single-query p50 / p95 and batched throughput, measured alone (core.evaluate.latency)."""
        return {k: self.extra[k] for k in LATENCY_KEYS if k in self.extra}


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
    stat_test: str = DEFAULT_STAT_TEST
    created: float = field(default_factory=time.time)
    run_id: str | None = None
    corpus_fingerprint: str | None = None  # of the corpus searched (ranked lists need the same corpus)
    started: float | None = None  # when the comparison began (its run's true start)
    load: dict[str, Any] = field(default_factory=dict)  # machine load while latency was measured

    def to_json(self) -> dict[str, Any]:
        """``{"dataset", "split", "queries", "strategies": {name: {metrics, latency, index_s}}, "settings",
        "latency", "notes", "warnings", "composite_not_better", "load", "latency_caption"}``."""
        return {
            "dataset": self.dataset,
            "split": self.split,
            "queries": self.queries,
            "strategies": {name: r.summary() for name, r in self.strategies.items()},
            "settings": {name: r.settings() for name, r in self.strategies.items()},
            "latency": {name: r.latency() for name, r in self.strategies.items()},
            "notes": {name: list(r.notes) for name, r in self.strategies.items()},
            "warnings": {name: list(r.warnings) for name, r in self.strategies.items()},
            "composite_not_better": {
                name: r.composite_not_better
                for name, r in self.strategies.items()
                if "composite_not_better" in r.extra
            },
            "load": dict(self.load),
            "latency_caption": self.latency_caption(),
        }

    def latency_caption(self) -> str:
        """``"latency measured on a machine with load 1.83 (2 CPUs)"``."""
        return f"latency {latency_caption(self.load)}"

    def simpler_alternatives(self) -> dict[str, str]:
        """Composite strategy name -> the label of its simpler component that does as well (no significant
        gain): what the wizard should prefer."""
        return {
            name: str(r.extra.get("best_component", ""))
            for name, r in self.strategies.items()
            if r.composite_not_better
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


def component_specs(spec: StrategySpec) -> dict[str, StrategySpec]:
    """The simpler strategies a composite is built from (label -> spec): a hybrid's two sides, a
    reranker's first stage; empty for a plain strategy."""
    if isinstance(spec, HybridSpec):
        return {spec.sparse.label: spec.sparse, spec.dense.label: spec.dense}
    if isinstance(spec, FusionSpec):
        return {part.label: part for part in spec.parts}
    if isinstance(spec, RerankSpec):
        return {spec.first_stage.label: spec.first_stage}
    return {}


def composite_check(
    qrels: dict[str, dict[str, int]],
    label: str,
    run: Run,
    metrics: dict[str, float],
    component_runs: dict[str, Run],
    *,
    stat_test: str = DEFAULT_STAT_TEST,
) -> tuple[dict[str, Any], str | None]:
    """A composite strategy against its best component (each run searched alone): ``extra`` entries
    (``best_component``, ``best_component_metrics``, ``composite_p``, ``composite_not_better``) and a
    warning when the composite is not significantly better (p < :data:`SIGNIFICANCE` and higher
    nDCG@10)."""
    scored = {name: evaluate_run(qrels, r)[0] for name, r in component_runs.items()}
    best = max(scored, key=lambda name: scored[name].get(PRIMARY_METRIC, 0.0))
    ours, theirs = metrics.get(PRIMARY_METRIC, 0.0), scored[best].get(PRIMARY_METRIC, 0.0)
    p = paired_significance(
        qrels, {"best": component_runs[best], "composite": run}, "best", stat_test=stat_test
    )
    p_value = p.get("composite", {}).get(PRIMARY_METRIC)
    better = ours > theirs and p_value is not None and p_value < SIGNIFICANCE
    found = {
        "best_component": best,
        "best_component_metrics": scored[best],
        "composite_p": p_value,
        "composite_not_better": not better,
    }
    if better:
        return found, None
    sig = f", p={p_value:.3g}" if p_value is not None else ""
    return found, (
        f"{label} is not significantly better than its best component {best}: nDCG@10 {ours:.3f} against "
        f"{theirs:.3f} ({ours - theirs:+.3f}{sig}). Prefer the simpler {best}."
    )


def with_latency(res: StrategyResult, profile: LatencyProfile, load: dict[str, Any]) -> StrategyResult:
    """``res`` with the latency measured alone and the machine load beside it."""
    extra = dict(res.extra)
    extra.update(
        latency_p50_ms=profile.p50_ms,
        latency_p95_ms=profile.p95_ms,
        throughput_qps=profile.throughput_qps,
        latency_components=dict(profile.components),
        latency_remeasured=profile.remeasured,
        load=dict(load),
    )
    notes = [*res.notes, profile.note] if profile.note else list(res.notes)
    return dataclasses.replace(
        res, latency_ms_p50=profile.p50_ms, latency_ms_p95=profile.p95_ms, extra=extra, notes=notes
    )


def rerank_warnings(
    reranker: Any,
    first_metrics: dict[str, float],
    metrics: dict[str, float],
    p_value: float | None,
) -> list[str]:
    """Plain-words warnings when a reranker is untrained or makes the ranking worse."""
    out = []
    name = reranker.name
    if not reranker.head_trained:
        out.append(
            f"Reranker {name!r} has an untrained classification head: its scores are random until it is "
            "fine-tuned (Adapt page)."
        )
    before, after = first_metrics.get(PRIMARY_METRIC, 0.0), metrics.get(PRIMARY_METRIC, 0.0)
    if after < before:
        sig = f", p={p_value:.3g}" if p_value is not None else ""
        out.append(
            f"Reranking with {name!r} made the ranking worse: nDCG@10 {after:.3f} against {before:.3f} for "
            f"its first stage alone ({after - before:+.3f}{sig}). Keep the first stage, or train the "
            "reranker on more queries."
        )
    return out
