"""Before and after: how a trained model changes retrieval on the evaluation split.

- bi-encoders (MLM, TSDAE, contrastive): dense retrieval with the base model (*before*) vs the trained
  model (*after*);
- SPLADE (sparse encoders): learned sparse retrieval with the base SPLADE model (*before*) vs the trained
  one (*after*);
- cross-encoders: the first stage alone (*before*, hybrid BM25 + dense by default) vs the same first stage
  reranked by the trained cross-encoder (*after*).

:func:`evaluate_change` runs both as one comparison (:func:`core.evaluate.run_comparison`) and sums it up
with a :func:`verdict` on nDCG@10.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any

from core.data import RetrievalDataset
from core.evaluate import DEFAULT_K, PRIMARY_METRIC, ComparisonReport, run_comparison
from core.models import DEFAULT_BI_ENCODER
from core.retrieval import (
    DEFAULT_RERANK_DEPTH,
    DEFAULT_RERANK_MAX_LENGTH,
    BM25Spec,
    DenseSpec,
    HybridSpec,
    RerankSpec,
    SparseSpec,
    StrategySpec,
)
from core.runtime import InvalidInput, Reporter, Workspace

__all__ = ["EVAL_METRICS", "NOT_EVALUATED", "evaluate_change", "subset_queries", "verdict"]

EVAL_METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10", "map@100", "p@10")
HARM_THRESHOLD = 0.005  # nDCG@10 change below which a model is reported as "no change"
NOT_EVALUATED = "not evaluated"
LATENCY_SAMPLE = 5  # queries timed per side: the verdict is about quality, latency is a side note


def verdict(delta: float | None) -> str:
    """``better`` / ``worse`` / ``no change`` from the nDCG@10 difference."""
    if delta is None:
        return NOT_EVALUATED
    if delta >= HARM_THRESHOLD:
        return "better"
    if delta <= -HARM_THRESHOLD:
        return "worse"
    return "no change"


def subset_queries(ds: RetrievalDataset, split: str, limit: int | None, seed: int = 42) -> RetrievalDataset:
    """The dataset with ``split`` cut to ``limit`` queries (seeded sample; other splits untouched)."""
    if not limit:
        return ds
    qids = sorted(ds.qrels_dict(split))
    if limit >= len(qids):
        return ds

    keep = set(random.Random(seed).sample(qids, limit))
    mask = (ds.qrels["split"] != split) | ds.qrels["query_id"].isin(keep)
    return dataclasses.replace(ds, qrels=ds.qrels[mask].reset_index(drop=True))


def _first_stage(ds: RetrievalDataset, split: str, first_stage: str, model: str) -> StrategySpec:
    """The ranking a trained cross-encoder rescores (a hybrid tunes alpha on train, unless train is
    evaluated)."""
    dense = DenseSpec(model=model)
    tune = "train" if "train" in ds.splits and split != "train" else None
    stages = {"bm25": BM25Spec(), "dense": dense, "hybrid": HybridSpec(dense=dense, tune_split=tune)}
    if first_stage not in stages:
        raise InvalidInput("first_stage must be bm25, dense or hybrid.")
    return stages[first_stage]


def _summary(rep: ComparisonReport, split: str, labels: dict[str, str]) -> dict[str, Any]:
    """Metrics before and after, their differences, the p-value and verdict on nDCG@10, and how many
    queries got better or worse."""
    before = {m: round(rep.strategies["before"].metrics[m], 4) for m in EVAL_METRICS}
    after = {m: round(rep.strategies["after"].metrics[m], 4) for m in EVAL_METRICS}
    per_b = rep.strategies["before"].per_query.get(PRIMARY_METRIC, {})
    per_a = rep.strategies["after"].per_query.get(PRIMARY_METRIC, {})
    diffs = [per_a.get(q, 0.0) - per_b.get(q, 0.0) for q in per_b]
    delta = round(after[PRIMARY_METRIC] - before[PRIMARY_METRIC], 4)
    return {
        "split": split,
        "queries": rep.queries,
        "labels": labels,
        "before": before,
        "after": after,
        "delta": {m: round(after[m] - before[m], 4) for m in EVAL_METRICS},
        "p_value": rep.p_values.get("after", {}).get(PRIMARY_METRIC),
        "verdict": verdict(delta),
        "queries_better": sum(d > 1e-9 for d in diffs),
        "queries_worse": sum(d < -1e-9 for d in diffs),
        # both sides of a rerank share the first stage, and with it its notes: each note once
        "notes": list(dict.fromkeys(n for r in rep.strategies.values() for n in r.notes)),
    }


def evaluate_change(
    ws: Workspace,
    ds: RetrievalDataset,
    split: str,
    method: str,
    base: str,
    trained: str,
    *,
    first_stage: str = "hybrid",
    first_stage_model: str = DEFAULT_BI_ENCODER,
    top_k: int = DEFAULT_RERANK_DEPTH,
    rerank_max_length: int = DEFAULT_RERANK_MAX_LENGTH,
    progress: Reporter | None = None,
) -> tuple[dict[str, Any], ComparisonReport]:
    """Before/after metrics on ``split``: ``({"before", "after", "delta", "p_value", "verdict", ...},
    ComparisonReport)``. ``first_stage`` (``bm25``, ``dense`` with ``first_stage_model``, or ``hybrid``),
    ``top_k`` and ``rerank_max_length`` apply to a cross-encoder only."""
    reranks = method == "cross-encoder"
    if reranks:
        fs = _first_stage(ds, split, first_stage, first_stage_model)
        reranked = RerankSpec(
            first_stage=fs, reranker=str(trained), top_k=top_k, max_length=rerank_max_length
        )
        specs: dict[str, StrategySpec] = {"before": fs, "after": reranked}
    elif method == "splade":
        specs = {"before": SparseSpec(model=base), "after": SparseSpec(model=str(trained))}
    else:
        specs = {"before": DenseSpec(model=base), "after": DenseSpec(model=str(trained))}
    rep = run_comparison(
        ds,
        split,
        specs,
        ws=ws,
        k=DEFAULT_K,
        baseline="before",
        latency_sample=LATENCY_SAMPLE,
        progress=progress,
    )
    if not reranks:
        family = "SPLADE" if method == "splade" else "Dense"
        labels = {"before": f"{family} ({Path(base).name or base}, base)", "after": f"{family} (trained)"}
        return _summary(rep, split, labels), rep
    tuned = rep.strategies["before"].label  # of the tuned first stage (alpha known only now)
    labels = {"before": f"{tuned} (first stage alone)", "after": f"{tuned} → trained reranker@{top_k}"}
    out = _summary(rep, split, labels)
    out["first_stage"] = rep.strategies["before"].spec
    out["rerank_top_k"] = top_k
    return out, rep
