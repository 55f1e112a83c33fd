"""What a comparison measured: :class:`StrategyResult` per strategy and the :class:`ComparisonReport` of
one dataset split (metrics, p-values against a baseline, latency and index costs, the ranked lists)."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

from core.evaluate.metrics import DEFAULT_STAT_TEST

__all__ = ["ComparisonReport", "StrategyResult"]


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
    stat_test: str = DEFAULT_STAT_TEST
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
