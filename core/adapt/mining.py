"""Hard-negative mining for contrastive and cross-encoder training, with false-negative protection.

For every (query, positive) pair of a split, candidates come from a ranking of the whole corpus by BM25
(bm25s), by a dense bi-encoder (corpus vectors through the embedding cache), by both (the two lists
are filtered separately, then interleaved), or by SPLADE (learned sparse, activations through the workspace's
SPLADE cache). Three rules keep likely false negatives out, and each one
reports how many candidates it removed:

- ``judged_positive``: documents judged relevant (score > 0) for the query in any split are never negatives;
- ``top_ranks``: the first ``skip_top`` ranks are skipped (unjudged relevant documents gather there);
- ``relative_margin``: a candidate scoring above ``pos - |pos| * relative_margin`` (``pos``: the lowest
  score of the query's judged positives under the same ranker) is too close to a positive to trust
  (the NV-Retriever "TopK-PercPos" rule that sentence-transformers' ``mine_hard_negatives`` also uses).

Why not only ``sentence_transformers.util.mine_hard_negatives``: it has no BM25, re-encodes the corpus
(no use of the workspace embedding cache), works on texts rather than ids (duplicate texts merge), skips
``range_min`` after filtering rather than by rank, and prints its filter counts instead of returning them.
Its rules are reproduced here (and checked against it in an integration test).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.encoding import EmbeddingCache, encode_corpus, make_encoder
from core.models import DEFAULT_BI_ENCODER, DEFAULT_SPARSE_MODEL
from core.retrieval import BM25Retriever, Corpus, SparseCache, SparseRetriever, SparseSpec
from core.runtime import InvalidInput, Reporter, report

__all__ = [
    "MINING_METHODS",
    "RULES",
    "TRAIN_SPLIT",
    "MiningConfig",
    "MiningResult",
    "ScoreFn",
    "bm25_scorer",
    "dense_scorer",
    "mine_dataset",
    "mine_negatives",
    "splade_scorer",
]

MINING_METHODS = ("bm25", "dense", "both", "splade")
RULES = ("judged_positive", "top_ranks", "relative_margin")
TRAIN_SPLIT = "train"  # the split negatives are mined on (and models trained on)
ScoreFn = Callable[[Sequence[str]], np.ndarray]  # queries -> (n_queries, n_docs) scores


@dataclass(frozen=True)
class MiningConfig:
    """How negatives are mined. ``depth``: candidates looked at per query (ranks 1..depth);
    ``skip_top``: ranks skipped at the top; ``relative_margin``: None switches the margin rule off;
    ``sampling``: ``top`` (hardest surviving candidates) or ``random`` (seeded, among survivors)."""

    method: str = "bm25"
    num_negatives: int = 1
    skip_top: int = 3
    depth: int = 30
    relative_margin: float | None = 0.05
    sampling: str = "top"
    seed: int = 42
    model: str = DEFAULT_BI_ENCODER  # dense ranker (method dense / both)
    sparse_model: str = DEFAULT_SPARSE_MODEL  # SPLADE ranker (method splade)

    def __post_init__(self) -> None:
        if self.method not in MINING_METHODS:
            raise InvalidInput(
                f"Unknown mining method {self.method!r}: use one of {', '.join(MINING_METHODS)}."
            )
        if self.num_negatives < 1:
            raise InvalidInput("num_negatives must be at least 1.")
        if self.skip_top < 0:
            raise InvalidInput("skip_top cannot be negative.")
        if self.depth <= self.skip_top:
            raise InvalidInput(f"depth ({self.depth}) must be larger than skip_top ({self.skip_top}).")
        if self.num_negatives > self.depth - self.skip_top:
            raise InvalidInput(
                f"Cannot mine {self.num_negatives} negatives from ranks {self.skip_top + 1}–{self.depth}: "
                "raise depth or lower skip_top / num_negatives."
            )
        if self.relative_margin is not None and not 0.0 <= self.relative_margin < 1.0:
            raise InvalidInput("relative_margin must be in [0, 1) (e.g. 0.05), or None to switch it off.")
        if self.sampling not in ("top", "random"):
            raise InvalidInput("sampling must be 'top' or 'random'.")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, **defaults: Any) -> MiningConfig:
        """A config from stored settings over ``defaults`` (e.g. ``model=``); unknown names fail."""
        settings = {**defaults, **(data or {})}
        unknown = set(settings) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise InvalidInput(f"Unknown mining settings: {sorted(unknown)}")
        return cls(**settings)


@dataclass(frozen=True)
class MiningResult:
    """Mined negatives, one row per (query, positive, negative): columns ``query_id, positive_id, doc_id,
    rank, score, positive_score, source``; ``filtered``: candidates removed per rule;
    ``short``: queries that got fewer negatives than asked for."""

    split: str
    config: MiningConfig
    negatives: pd.DataFrame
    filtered: dict[str, int]
    candidates: int
    queries: int
    short: int = 0
    dropped: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "method": self.config.method,
            "queries": self.queries,
            "negatives": len(self.negatives),
            "candidates": self.candidates,
            "filtered": dict(self.filtered),
            "queries_short_of_negatives": self.short,
            "dropped_in_review": self.dropped,
        }

    def drop(self, pairs: Iterable[tuple[str, str]]) -> MiningResult:
        """Remove (query_id, doc_id) negatives that a reviewer marked as suspicious."""
        bad = {(str(q), str(d)) for q, d in pairs}
        if not bad:
            return self
        keys = list(zip(self.negatives["query_id"], self.negatives["doc_id"], strict=True))
        keep = [k not in bad for k in keys]
        kept = self.negatives[keep].reset_index(drop=True)
        return dataclasses.replace(self, negatives=kept, dropped=self.dropped + (len(keys) - len(kept)))

    def to_json(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "config": dataclasses.asdict(self.config),
            "negatives": self.negatives.to_dict(orient="list"),
            "filtered": self.filtered,
            "candidates": self.candidates,
            "queries": self.queries,
            "short": self.short,
            "dropped": self.dropped,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MiningResult:
        return cls(
            split=data["split"],
            config=MiningConfig(**data["config"]),
            negatives=pd.DataFrame(data["negatives"]),
            filtered=dict(data["filtered"]),
            candidates=int(data["candidates"]),
            queries=int(data["queries"]),
            short=int(data.get("short", 0)),
            dropped=int(data.get("dropped", 0)),
        )


COLUMNS = ["query_id", "positive_id", "doc_id", "rank", "score", "positive_score", "source"]


def _filter_one(
    scores: np.ndarray,
    positives: Sequence[int],
    judged: set[int],
    cfg: MiningConfig,
    counts: dict[str, int],
) -> tuple[list[tuple[int, int, float]], float]:
    """Surviving candidates ``(doc index, rank, score)`` of one query, best first, and the positive score."""
    depth = min(cfg.depth, len(scores))
    top = np.argpartition(-scores, depth - 1)[:depth] if depth < len(scores) else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    pos_score = float(min(scores[p] for p in positives))
    threshold = None
    if cfg.relative_margin is not None:
        threshold = pos_score - abs(pos_score) * cfg.relative_margin
    keep = []
    for rank0, idx in enumerate(top):
        idx = int(idx)
        if idx in judged:
            counts["judged_positive"] += 1
        elif rank0 < cfg.skip_top:
            counts["top_ranks"] += 1
        elif threshold is not None and scores[idx] > threshold:
            counts["relative_margin"] += 1
        else:
            keep.append((idx, rank0 + 1, float(scores[idx])))
    return keep, pos_score


def mine_negatives(
    query_ids: Sequence[str],
    query_texts: Sequence[str],
    doc_ids: Sequence[str],
    qrels: dict[str, dict[str, int]],
    scorers: dict[str, ScoreFn],
    cfg: MiningConfig,
    *,
    split: str = TRAIN_SPLIT,
    judged_elsewhere: dict[str, set[str]] | None = None,
    progress: Reporter | None = None,
    batch: int = 256,
) -> MiningResult:
    """Mine negatives for every (query, positive) in ``qrels`` with one or two rankers (``scorers``:
    name -> function giving scores of all documents for a batch of queries)."""
    pos_index = {d: i for i, d in enumerate(doc_ids)}
    counts = dict.fromkeys(RULES, 0)
    rng = random.Random(cfg.seed)
    rows: list[tuple] = []
    short = 0
    candidates = 0
    todo = [
        (qid, text)
        for qid, text in zip(query_ids, query_texts, strict=True)
        if any(s > 0 and d in pos_index for d, s in qrels.get(qid, {}).items())
    ]
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        texts = [t for _, t in chunk]
        per_source = {name: fn(texts) for name, fn in scorers.items()}
        for row, (qid, _) in enumerate(chunk):
            judged_docs = {d for d, s in qrels[qid].items() if s > 0}
            judged_docs |= (judged_elsewhere or {}).get(qid, set())
            judged = {pos_index[d] for d in judged_docs if d in pos_index}
            positives = [pos_index[d] for d, s in qrels[qid].items() if s > 0 and d in pos_index]
            lists = []
            for name, mat in per_source.items():
                before = sum(counts.values())
                keep, pos_score = _filter_one(
                    np.asarray(mat[row], dtype=np.float32), positives, judged, cfg, counts
                )
                candidates += len(keep) + sum(counts.values()) - before
                lists.append([(idx, rank, score, pos_score, name) for idx, rank, score in keep])
            merged = _interleave(lists)
            if cfg.sampling == "random":
                merged = rng.sample(merged, k=min(cfg.num_negatives, len(merged)))
                merged.sort(key=lambda c: c[1])
            chosen = merged[: cfg.num_negatives]
            if len(chosen) < cfg.num_negatives:
                short += 1
            for pos in positives:
                for idx, rank, score, pos_score, name in chosen:
                    rows.append((qid, doc_ids[pos], doc_ids[idx], rank, score, pos_score, name))
        report(progress, "mine", min(start + batch, len(todo)), len(todo), f"{len(rows):,} negatives")
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return MiningResult(split, cfg, frame, counts, candidates, len(todo), short)


def _interleave(lists: list[list[tuple]]) -> list[tuple]:
    """Round-robin merge of candidate lists, first occurrence of a document wins."""
    seen: set[int] = set()
    out = []
    for i in range(max((len(x) for x in lists), default=0)):
        for lst in lists:
            if i < len(lst) and lst[i][0] not in seen:
                seen.add(lst[i][0])
                out.append(lst[i])
    return out


# --------------------------------------------------------------------------------------------------
# rankers
# --------------------------------------------------------------------------------------------------
def bm25_scorer(retriever: Any) -> ScoreFn:
    """Scores of all documents from a :class:`core.retrieval.BM25Retriever`."""

    def score(queries: Sequence[str]) -> np.ndarray:
        return np.stack([retriever.scores(q) for q in queries]) if queries else np.zeros((0, 0))

    return score


def dense_scorer(encoder: Any, doc_vectors: np.ndarray) -> ScoreFn:
    """Cosine scores of all documents (unit vectors) for queries encoded by ``encoder``."""
    docs = np.ascontiguousarray(doc_vectors, dtype=np.float32)

    def score(queries: Sequence[str]) -> np.ndarray:
        return encoder.encode(list(queries), batch_size=64) @ docs.T

    return score


def splade_scorer(retriever: Any) -> ScoreFn:
    """SPLADE scores (dot products of activations) of all documents from a
    :class:`core.retrieval.SparseRetriever`."""

    def score(queries: Sequence[str]) -> np.ndarray:
        return retriever.scores(queries) if queries else np.zeros((0, 0))

    return score


def mine_dataset(
    ds: Any,
    cfg: MiningConfig,
    *,
    split: str = TRAIN_SPLIT,
    ws: Any = None,
    encoder: Any = None,
    progress: Reporter | None = None,
) -> MiningResult:
    """Mine negatives for ``split`` of a :class:`core.data.RetrievalDataset`. ``encoder`` overrides
    the dense model of ``cfg`` (tests pass a fake one)."""
    if split not in ds.splits:
        raise InvalidInput(
            f"Dataset {ds.name!r} has no {split!r} split to mine from (it has {ds.splits}); "
            "training needs judged (query, positive) pairs outside the test split."
        )
    corpus = Corpus.from_dataset(ds)
    scorers: dict[str, ScoreFn] = {}
    if cfg.method in ("bm25", "both"):
        report(progress, "index", 0, len(corpus), "BM25 index")
        scorers["bm25"] = bm25_scorer(BM25Retriever(corpus))
    if cfg.method in ("dense", "both"):
        enc = encoder or make_encoder(cfg.model, ws)
        cache = EmbeddingCache(ws) if ws is not None else None
        vectors, _ = encode_corpus(enc, corpus.texts, corpus.fingerprint, cache, progress=progress)
        scorers["dense"] = dense_scorer(enc, vectors)
    if cfg.method == "splade":
        cache = SparseCache(ws) if ws is not None else None
        splade = SparseRetriever(
            corpus, SparseSpec(model=cfg.sparse_model), ws=ws, cache=cache, progress=progress
        )
        scorers["splade"] = splade_scorer(splade)
    queries = ds.split_queries(split)
    qrels = ds.qrels_dict(split)
    elsewhere: dict[str, set[str]] = {}
    for other in ds.splits:
        if other == split:
            continue
        for qid, docs in ds.qrels_dict(other).items():
            elsewhere.setdefault(qid, set()).update(d for d, s in docs.items() if s > 0)
    return mine_negatives(
        queries["query_id"].tolist(),
        queries["text"].tolist(),
        list(corpus.doc_ids),
        qrels,
        scorers,
        cfg,
        split=split,
        judged_elsewhere=elsewhere,
        progress=progress,
    )
