"""Fusion of any two or three first stages (BM25, SPLADE, dense) with ranx, weights tuned on a labelled split.

- ``convex``: Σ wᵢ · normᵢ(score) (ranx ``wsum`` after ``minmax`` or ``zscore`` normalisation per query);
  :func:`tune_weights` scores every weight vector on a grid over the simplex (step 0.1, or 0.05 for two parts:
  the grid of :func:`~core.retrieval.hybrid.alpha_sweep`) with ranx and keeps the best;
- ``rrf``: reciprocal rank fusion.

The two-part BM25 + dense :class:`~core.retrieval.hybrid.HybridSpec` (strategy ``hybrid``) is untouched; a
:class:`FusionSpec` is what the strategies ``hybrid_splade`` (SPLADE + dense), ``hybrid_bm25_splade`` and
``hybrid3`` (BM25 + SPLADE + dense) are.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from core.retrieval.base import Hits, Retriever
from core.retrieval.bm25 import BM25Spec
from core.retrieval.dense import DenseSpec
from core.retrieval.hybrid import _RANX_NORM, HybridRetriever, _run_to_hits
from core.retrieval.sparse import SparseSpec
from core.runtime import InvalidInput

__all__ = [
    "FusionRetriever",
    "FusionSpec",
    "fuse_many",
    "fused_parts",
    "tune_weights",
    "tuned_fusion",
    "weight_grid",
]

PartSpec = BM25Spec | SparseSpec | DenseSpec
_PART_NAMES = {"bm25": "BM25", "splade": "SPLADE", "dense": "dense"}


def _default_parts() -> tuple[PartSpec, ...]:
    return (BM25Spec(), SparseSpec(), DenseSpec())


@dataclass(frozen=True)
class FusionSpec:
    """Fusion of 2 or 3 first stages (``parts``: BM25, SPLADE and / or dense specs). ``weights``: one per
    part, summing to 1 (None: equal); ``tune_split``: tune them on that split before evaluating."""

    kind: str = "fusion"
    parts: tuple[PartSpec, ...] = field(default_factory=_default_parts)
    weights: tuple[float, ...] | None = None
    fusion: str = "convex"
    norm: str = "minmax"
    rrf_k: int = 60
    depth: int = 100
    tune_split: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", tuple(self.parts))
        if not 2 <= len(self.parts) <= 3:
            raise InvalidInput(f"A fusion takes 2 or 3 first stages, got {len(self.parts)}.")
        if any(not isinstance(p, (BM25Spec, SparseSpec, DenseSpec)) for p in self.parts):
            raise InvalidInput("A fusion's parts are BM25, SPLADE or dense strategies.")
        if len(set(self.parts)) != len(self.parts):
            raise InvalidInput("A fusion's parts must differ.")
        if self.fusion not in ("rrf", "convex"):
            raise InvalidInput(f"Unknown fusion {self.fusion!r}: use 'rrf' or 'convex'.")
        if self.norm not in _RANX_NORM:
            raise InvalidInput(f"Unknown normalisation {self.norm!r}: use 'minmax' or 'zscore'.")
        if self.depth < 1:
            raise InvalidInput(f"depth must be at least 1, got {self.depth}.")
        if self.weights is not None:
            weights = tuple(float(w) for w in self.weights)
            if len(weights) != len(self.parts) or any(w < 0 for w in weights) or abs(sum(weights) - 1) > 1e-6:
                raise InvalidInput(
                    f"weights must be {len(self.parts)} non-negative numbers summing to 1, got {self.weights}."
                )
            object.__setattr__(self, "weights", weights)

    @property
    def resolved_weights(self) -> tuple[float, ...]:
        return self.weights or tuple(1.0 / len(self.parts) for _ in self.parts)

    @property
    def label(self) -> str:
        names = "+".join(_PART_NAMES[p.kind] for p in self.parts)
        if self.fusion == "rrf":
            return f"Hybrid {names} RRF (k={self.rrf_k})"
        weights = "/".join(f"{w:.2f}" for w in self.resolved_weights)
        return f"Hybrid {names} {self.norm} w={weights}{' tuned' if self.tune_split else ''}"


def fuse_many(
    runs: Sequence[Mapping[str, Mapping[str, float]]],
    weights: Sequence[float],
    *,
    fusion: str = "convex",
    norm: str = "minmax",
    rrf_k: int = 60,
) -> dict[str, dict[str, float]]:
    """Fuse runs ``{qid: {doc: score}}`` with ranx. A query that some parts found nothing for is fused from
    the others (their weights rescaled); one part alone keeps its own ranking."""
    from ranx import Run, fuse

    qids = list(dict.fromkeys(q for run in runs for q in run))
    groups: dict[tuple[int, ...], list[str]] = {}
    for q in qids:
        have = tuple(i for i, run in enumerate(runs) if run.get(q))
        groups.setdefault(have, []).append(q)
    fused: dict[str, dict[str, float]] = {}
    for have, group in groups.items():
        if not have:
            fused.update({q: {} for q in group})
        elif len(have) == 1:
            fused.update({q: dict(runs[have[0]][q]) for q in group})
        else:
            parts = [Run.from_dict({q: dict(runs[i][q]) for q in group}, name=f"part{i}") for i in have]
            if fusion == "rrf":
                out = fuse(parts, norm=None, method="rrf", params={"k": rrf_k})
            else:
                total = sum(weights[i] for i in have) or 1.0
                params = {"weights": [weights[i] / total for i in have]}
                out = fuse(parts, norm=_RANX_NORM[norm], method="wsum", params=params)
            fused.update({q: dict(docs) for q, docs in out.to_dict().items()})
    return fused


def _best_passages(hits: Sequence[Hits]) -> dict[str, str]:
    """``{doc: passage}`` from the part that ranked the document highest (earlier parts on a tie)."""
    out: dict[str, tuple[int, str]] = {}
    for h in hits:
        for rank, (doc, passage) in enumerate(h.passage_of().items()):
            if doc not in out or rank < out[doc][0]:
                out[doc] = (rank, passage)
    return {doc: passage for doc, (_, passage) in out.items()}


class FusionRetriever:
    """Runs every part to ``depth`` and fuses their rankings."""

    def __init__(self, parts: Sequence[Retriever], spec: FusionSpec = FusionSpec()):
        if len(parts) != len(spec.parts):
            raise InvalidInput(f"{len(spec.parts)} retrievers expected, got {len(parts)}.")
        self.parts = list(parts)
        self.spec = spec
        self.name = spec.label
        self.index_s = 0.0  # the parts build (and time) their own indexes
        self.last_fusion_s = 0.0

    def with_weights(self, weights: Sequence[float]) -> FusionRetriever:
        return FusionRetriever(self.parts, replace(self.spec, weights=tuple(float(w) for w in weights)))

    def component_runs(self, queries: Sequence[str]) -> list[dict[str, dict[str, float]]]:
        """Each part's run (keys are query positions as strings), to ``depth``."""
        return self._components(queries)[0]

    def _components(self, queries: Sequence[str]) -> tuple[list[dict], list[dict[str, str]] | None]:
        qids = [str(i) for i in range(len(queries))]
        hits = [part.search(queries, self.spec.depth) for part in self.parts]
        runs = [
            {q: dict(zip(h.doc_ids, h.scores, strict=True)) for q, h in zip(qids, part_hits, strict=True)}
            for part_hits in hits
        ]
        passages = None
        if any(h.passage_ids is not None for part_hits in hits for h in part_hits):
            passages = [_best_passages(per_query) for per_query in zip(*hits, strict=True)]
        return runs, passages

    def search(self, queries: Sequence[str], k: int) -> list[Hits]:
        if not queries:
            return []
        runs, passages = self._components(queries)
        t0 = time.perf_counter()
        spec = self.spec
        fused = fuse_many(runs, spec.resolved_weights, fusion=spec.fusion, norm=spec.norm, rrf_k=spec.rrf_k)
        self.last_fusion_s = time.perf_counter() - t0
        return _run_to_hits(fused, [str(i) for i in range(len(queries))], k, passages)


def fused_parts(retriever: Any) -> list[Any]:
    """The first stages a hybrid (BM25 and dense) or a fusion (2 or 3 of BM25, SPLADE, dense) fuses; empty
    for any other retriever."""
    if isinstance(retriever, FusionRetriever):
        return list(retriever.parts)
    if isinstance(retriever, HybridRetriever):
        return [retriever.sparse, retriever.dense]
    return []


def weight_grid(n: int, step: float | None = None) -> list[tuple[float, ...]]:
    """Every weight vector of ``n`` parts on the simplex with ``step`` (default 0.05 for 2 parts, 0.1 above)."""
    step = step or (0.05 if n == 2 else 0.1)
    units = round(1 / step)
    out = []
    for combo in itertools.product(range(units + 1), repeat=n - 1):
        if sum(combo) <= units:
            out.append((*tuple(round(c * step, 4) for c in combo), round((units - sum(combo)) * step, 4)))
    return out


def tune_weights(
    retriever: FusionRetriever,
    queries: Sequence[str],
    query_ids: Sequence[str],
    qrels: Mapping[str, Mapping[str, int]],
    *,
    metric: str = "ndcg@10",
    step: float | None = None,
) -> tuple[tuple[float, ...], list[tuple[tuple[float, ...], float]]]:
    """Score every weight vector of :func:`weight_grid` on a labelled split (convex fusion); returns
    ``(best weights, [(weights, score)])``; ties go to the most even weights."""
    from ranx import Qrels, Run, evaluate

    runs = retriever.component_runs(queries)
    pos_to_qid = {str(i): q for i, q in enumerate(query_ids)}
    qrels_obj = Qrels.from_dict({q: dict(v) for q, v in qrels.items()})
    n = len(retriever.parts)
    curve = []
    for weights in weight_grid(n, step):
        fused = fuse_many(runs, weights, fusion="convex", norm=retriever.spec.norm)
        run = {pos_to_qid[q]: docs for q, docs in fused.items() if docs}
        score = float(evaluate(qrels_obj, Run.from_dict(run), metric)) if run else 0.0
        curve.append((weights, score))
    best = max(curve, key=lambda t: (t[1], -sum(abs(w - 1 / n) for w in t[0])))[0]
    return best, curve


def tuned_fusion(
    spec: FusionSpec,
    retriever: FusionRetriever,
    queries: Sequence[str],
    query_ids: Sequence[str],
    qrels: Mapping[str, Mapping[str, int]],
) -> tuple[FusionSpec, dict[str, Any], list[str]]:
    """``spec`` with weights tuned with ``retriever`` (its parts) on a labelled split (``queries``), what a
    result records of the tuning (``extra``: curve, weights, split) and a note; ``spec.tune_split`` names it."""
    best, curve = tune_weights(retriever, queries, query_ids, qrels)
    shown = "/".join(f"{w:.2f}" for w in best)
    split = spec.tune_split or "the tuning split"
    note = f"fusion weights tuned on {split} ({len(queries)} queries): best {shown}"
    extra = {
        "weight_curve": [[list(w), s] for w, s in curve],
        "tuned_weights": list(best),
        "tune_split": split,
    }
    return replace(spec, weights=best), extra, [note]
