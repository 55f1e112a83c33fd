"""Hybrid retrieval: fuse a sparse (BM25) and a dense ranking with ranx.

- ``rrf``: reciprocal rank fusion, score = Σ 1 / (rrf_k + rank);
- ``convex``: alpha · dense + (1 − alpha) · sparse after normalising each run's scores per query
  (``minmax`` or ``zscore``). ``alpha`` can be tuned on a train / dev split with :func:`alpha_sweep`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from core.retrieval.base import Hits, Retriever
from core.retrieval.bm25 import BM25Spec
from core.retrieval.dense import DenseSpec
from core.runtime import InvalidInput

__all__ = ["HybridRetriever", "HybridSpec", "alpha_sweep", "fuse_runs"]

_RANX_NORM = {"minmax": "min-max", "zscore": "zmuv"}


@dataclass(frozen=True)
class HybridSpec:
    """Fusion of ``sparse`` and ``dense``. ``tune_split``: tune alpha on that split before evaluating."""

    kind: str = "hybrid"
    sparse: BM25Spec = field(default_factory=BM25Spec)
    dense: DenseSpec = field(default_factory=DenseSpec)
    fusion: str = "convex"
    alpha: float = 0.5
    norm: str = "minmax"
    rrf_k: int = 60
    depth: int = 100
    tune_split: str | None = None

    def __post_init__(self) -> None:
        if self.fusion not in ("rrf", "convex"):
            raise InvalidInput(f"Unknown fusion {self.fusion!r}: use 'rrf' or 'convex'.")
        if self.norm not in _RANX_NORM:
            raise InvalidInput(f"Unknown normalisation {self.norm!r}: use 'minmax' or 'zscore'.")
        if not 0.0 <= self.alpha <= 1.0:
            raise InvalidInput(f"alpha must be within [0, 1], got {self.alpha}.")

    @property
    def label(self) -> str:
        if self.fusion == "rrf":
            base = f"Hybrid RRF (k={self.rrf_k})"
        else:
            base = f"Hybrid {self.norm} α={self.alpha:.2f}{' tuned' if self.tune_split else ''}"
        return base + _chunking_suffix(self.sparse, self.dense)


def _chunking_suffix(sparse: BM25Spec, dense: DenseSpec) -> str:
    """`` · passages 256/64`` when both parts cut alike; each part's cut when they differ."""
    s, d = sparse.chunking, dense.chunking
    if s is None and d is None:
        return ""
    if s is not None and d is not None and s.label == d.label:
        return f" · {s.label}"
    return f" · BM25 {s.label if s else 'documents'} / dense {d.label if d else 'documents'}"


def fuse_runs(
    sparse: Mapping[str, Mapping[str, float]],
    dense: Mapping[str, Mapping[str, float]],
    *,
    fusion: str = HybridSpec.fusion,
    alpha: float = HybridSpec.alpha,
    norm: str = HybridSpec.norm,
    rrf_k: int = HybridSpec.rrf_k,
) -> dict[str, dict[str, float]]:
    """Fuse two runs ``{qid: {doc: score}}`` with ranx; returns the fused run."""
    from ranx import Run, fuse

    qids = (
        [q for q in dense if q in sparse]
        + [q for q in dense if q not in sparse]
        + [q for q in sparse if q not in dense]
    )
    # ranx needs every query in both runs with at least one document
    s_run = {q: dict(sparse.get(q) or {}) for q in qids}
    d_run = {q: dict(dense.get(q) or {}) for q in qids}
    missing = [q for q in qids if not s_run[q] or not d_run[q]]
    fused: dict[str, dict[str, float]] = {}
    full = [q for q in qids if q not in set(missing)]
    if full:
        runs = [
            Run.from_dict({q: s_run[q] for q in full}, name="sparse"),
            Run.from_dict({q: d_run[q] for q in full}, name="dense"),
        ]
        if fusion == "rrf":
            out = fuse(runs, norm=None, method="rrf", params={"k": rrf_k})
        else:
            out = fuse(runs, norm=_RANX_NORM[norm], method="wsum", params={"weights": [1.0 - alpha, alpha]})
        fused = {q: dict(docs) for q, docs in out.to_dict().items()}
    for q in missing:  # one side returned nothing: the other side's ranking stands
        fused[q] = dict(s_run[q] or d_run[q])
    return fused


def _run_to_hits(
    run: Mapping[str, Mapping[str, float]],
    qids: Sequence[str],
    k: int,
    passages: Sequence[Mapping[str, str]] | None = None,
) -> list[Hits]:
    """Ranked hits of a fused run; ``passages`` (per query ``{doc: passage id}``) names the passage that
    matched where the parts searched passages."""
    out = []
    for i, q in enumerate(qids):
        docs = sorted((run.get(q) or {}).items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        ids = tuple(d for d, _ in docs)
        matched = passages[i] if passages is not None else None
        out.append(
            Hits(
                ids,
                tuple(float(s) for _, s in docs),
                tuple(matched.get(d, "") for d in ids) if matched else None,
            )
        )
    return out


def _matches(sparse: Hits, dense: Hits) -> dict[str, str]:
    """``{doc: passage}``: the passage of the side that ranked the document higher (dense on a tie)."""
    out: dict[str, tuple[int, str]] = {}
    for hits in (dense, sparse):
        for rank, (doc, passage) in enumerate(hits.passage_of().items()):
            if doc not in out or rank < out[doc][0]:
                out[doc] = (rank, passage)
    return {doc: passage for doc, (_, passage) in out.items()}


class HybridRetriever:
    """Runs both retrievers to ``depth`` and fuses their rankings."""

    def __init__(self, sparse: Retriever, dense: Retriever, spec: HybridSpec = HybridSpec()):
        self.sparse = sparse
        self.dense = dense
        self.spec = spec
        self.name = spec.label
        self.index_s = 0.0  # both indexes are built (and timed) by the sub-retrievers
        self.last_fusion_s = 0.0

    def with_alpha(self, alpha: float) -> HybridRetriever:
        return HybridRetriever(self.sparse, self.dense, replace(self.spec, alpha=float(alpha)))

    def component_runs(self, queries: Sequence[str]) -> tuple[dict, dict]:
        """The sparse and dense runs (keys are query positions as strings), each to ``depth``."""
        s_run, d_run, _ = self._components(queries)
        return s_run, d_run

    def _components(self, queries: Sequence[str]) -> tuple[dict, dict, list[dict[str, str]] | None]:
        """Both runs, and per query the passage each document matched (dense side first) when a part
        searched passages."""
        depth = self.spec.depth
        qids = [str(i) for i in range(len(queries))]
        s_hits = self.sparse.search(queries, depth)
        d_hits = self.dense.search(queries, depth)
        s_run = {q: dict(zip(h.doc_ids, h.scores, strict=True)) for q, h in zip(qids, s_hits, strict=True)}
        d_run = {q: dict(zip(h.doc_ids, h.scores, strict=True)) for q, h in zip(qids, d_hits, strict=True)}
        passages = None
        if any(h.passage_ids is not None for h in [*s_hits, *d_hits]):
            passages = [_matches(s, d) for s, d in zip(s_hits, d_hits, strict=True)]
        return s_run, d_run, passages

    def search(self, queries: Sequence[str], k: int) -> list[Hits]:
        if not queries:
            return []
        s_run, d_run, passages = self._components(queries)
        t0 = time.perf_counter()
        spec = self.spec
        fused = fuse_runs(
            s_run, d_run, fusion=spec.fusion, alpha=spec.alpha, norm=spec.norm, rrf_k=spec.rrf_k
        )
        self.last_fusion_s = time.perf_counter() - t0
        return _run_to_hits(fused, [str(i) for i in range(len(queries))], k, passages)


def alpha_sweep(
    hybrid: HybridRetriever,
    queries: Sequence[str],
    query_ids: Sequence[str],
    qrels: Mapping[str, Mapping[str, int]],
    *,
    alphas: Sequence[float] = tuple(np.round(np.linspace(0.0, 1.0, 21), 2)),
    metric: str = "ndcg@10",
) -> tuple[float, list[tuple[float, float]]]:
    """Score every alpha on a labelled split (convex fusion); returns ``(best_alpha, [(alpha, score)])``.
    alpha = 0 is BM25 alone, alpha = 1 the dense model alone."""
    from ranx import Qrels, Run, evaluate, fuse

    s_run, d_run = hybrid.component_runs(queries)
    pos_to_qid = {str(i): q for i, q in enumerate(query_ids)}
    qrels_obj = Qrels.from_dict({q: dict(v) for q, v in qrels.items()})
    curve = []
    if all(s_run[q] and d_run[q] for q in s_run):
        # every query has documents on both sides (the usual case): build the two ranx runs once and score
        # ranx's fused run directly — no dict round trip per alpha, which was most of the sweep's time
        runs = [
            Run.from_dict({pos_to_qid[q]: docs for q, docs in s_run.items()}, name="sparse"),
            Run.from_dict({pos_to_qid[q]: docs for q, docs in d_run.items()}, name="dense"),
        ]
        for alpha in alphas:
            fused_run = fuse(
                runs,
                norm=_RANX_NORM[hybrid.spec.norm],
                method="wsum",
                params={"weights": [1.0 - alpha, alpha]},
            )
            curve.append((float(alpha), float(evaluate(qrels_obj, fused_run, metric))))
    else:  # a side returned nothing for some query: fuse_runs keeps the other side's ranking there
        for alpha in alphas:
            fused = fuse_runs(s_run, d_run, fusion="convex", alpha=float(alpha), norm=hybrid.spec.norm)
            run = {pos_to_qid[q]: docs for q, docs in fused.items() if docs}
            curve.append((float(alpha), float(evaluate(qrels_obj, Run.from_dict(run), metric))))
    best = max(curve, key=lambda t: (t[1], -abs(t[0] - 0.5)))[0]
    return best, curve
