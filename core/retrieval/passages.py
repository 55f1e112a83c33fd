"""Strategies on passages, results per document.

A BM25 or dense spec with ``chunking`` indexes the passages of the corpus (:class:`PassageSet`, cut by
:func:`core.data.chunk_corpus` with the model's own tokenizer) and searches them deep enough to rank
documents; :func:`aggregate_hits` scores each document from its passages — its best passage (MaxP), the sum
of its ``top`` best, or its first — and keeps which passage matched (``Hits.passage_ids``). So evaluation
stays at document level (qrels are document ids) whatever the chunking.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.data import ChunkSpec, Passages, chunk_corpus
from core.models import DEFAULT_BI_ENCODER, quiet_transformers, resolve_model
from core.retrieval.base import Corpus, Hits, Retriever
from core.retrieval.bm25 import BM25Spec
from core.retrieval.dense import DenseSpec
from core.retrieval.hybrid import HybridSpec
from core.retrieval.rerank import RerankSpec
from core.runtime import InvalidInput, Reporter, Workspace

__all__ = [
    "PassageRetriever",
    "PassageSet",
    "aggregate_hits",
    "chunkings",
    "load_tokenizer",
    "make_passage_set",
    "resolve_chunking",
]

_MIN_VOCABULARY = 100  # tokens; fewer means the folder had no tokenizer files


@dataclass(frozen=True, eq=False)
class PassageSet:
    """The passages of a corpus and the corpus the passage retrievers index: its ids are the passages'
    positions (``"0"``, ``"1"``, …), its fingerprint the passages' (corpus + chunking + tokenizer)."""

    passages: Passages
    corpus: Corpus
    tokenizer: str
    chunk_s: float
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.passages)

    def text_of(self, passage_id: str) -> str:
        """Text of a passage named by its id (``<doc id>#p<n>``)."""
        if not self._index:
            self._index.update((p, i) for i, p in enumerate(self.passages.passage_ids))
        return self.passages.texts[self._index[passage_id]]

    def describe(self) -> dict[str, Any]:
        """Small JSON-able facts for a report."""
        per = self.passages.per_document()
        return {
            "chunking": self.passages.spec.label,
            "tokenizer": self.tokenizer,
            "passages": len(self),
            "documents": len(per),
            "passages_per_doc": round(float(per.mean()), 2) if len(per) else 0.0,
            "chunk_s": round(self.chunk_s, 3),
        }


def load_tokenizer(name: str, ws: Workspace | None = None) -> Any:
    """The fast tokenizer of a model (registry name, folder or hub id), without loading its weights."""
    from transformers import AutoTokenizer

    info = resolve_model(name, ws)
    quiet_transformers()
    try:
        tokenizer = AutoTokenizer.from_pretrained(info.location, use_fast=True)
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"Model {name!r} has no tokenizer that chunking can use: {exc}") from exc
    if not getattr(tokenizer, "is_fast", False):
        raise InvalidInput(
            f"Model {name!r} has no fast tokenizer (one with character offsets) to chunk with."
        )
    if len(tokenizer) <= _MIN_VOCABULARY:  # transformers makes an empty one for a folder without its files
        raise InvalidInput(
            f"Model {name!r} has no tokenizer files (vocabulary of {len(tokenizer)} tokens): chunking needs the "
            "model's own tokenizer (tokenizer.json or vocab.txt beside config.json)."
        )
    return tokenizer


def make_passage_set(
    corpus: Corpus, chunking: ChunkSpec, tokenizer: Any, *, progress: Reporter | None = None
) -> PassageSet:
    """Cut ``corpus`` as ``chunking`` says (title in front of every passage when asked and known)."""
    start = time.perf_counter()
    with_titles = chunking.title and corpus.titles is not None
    passages = chunk_corpus(
        corpus.doc_ids,
        corpus.bodies() if with_titles else corpus.texts,
        tokenizer,
        chunking,
        titles=corpus.titles if with_titles else None,
        corpus_fingerprint=corpus.fingerprint,
        progress=progress,
    )
    inner = Corpus(tuple(str(i) for i in range(len(passages))), passages.texts, passages.fingerprint)
    return PassageSet(passages, inner, chunking.tokenizer or "", time.perf_counter() - start)


def _chunked(spec: BM25Spec | DenseSpec, name: str) -> BM25Spec | DenseSpec:
    if spec.chunking is None or spec.chunking.tokenizer:
        return spec
    return dataclasses.replace(spec, chunking=dataclasses.replace(spec.chunking, tokenizer=name))


def resolve_chunking(spec: Any, default_tokenizer: str = DEFAULT_BI_ENCODER) -> Any:
    """``spec`` with every chunking's tokenizer named: a dense part's own model, a hybrid's dense model for
    its BM25 part, the default bi-encoder for BM25 alone."""
    if isinstance(spec, DenseSpec):
        return _chunked(spec, spec.model)
    if isinstance(spec, BM25Spec):
        return _chunked(spec, default_tokenizer)
    if isinstance(spec, HybridSpec):
        return dataclasses.replace(
            spec, sparse=resolve_chunking(spec.sparse, spec.dense.model), dense=resolve_chunking(spec.dense)
        )
    if isinstance(spec, RerankSpec):
        return dataclasses.replace(spec, first_stage=resolve_chunking(spec.first_stage, default_tokenizer))
    return spec


def chunkings(spec: Any) -> list[ChunkSpec | None]:
    """The chunking of each first-stage part of ``spec`` (None for a part on whole documents)."""
    if isinstance(spec, (BM25Spec, DenseSpec)):
        return [spec.chunking]
    if isinstance(spec, HybridSpec):
        return [spec.sparse.chunking, spec.dense.chunking]
    if isinstance(spec, RerankSpec):
        return chunkings(spec.first_stage)
    return []


def aggregate_hits(hits: Hits, passages: Passages, chunking: ChunkSpec, k: int) -> Hits:
    """Documents ranked by their passages' scores (``hits``: passages by position id) as ``chunking``
    aggregates them, best first, at most ``k``; ties keep the order of the documents' best passages."""
    if not len(hits):
        return Hits((), (), ())
    pos = np.fromiter(map(int, hits.doc_ids), dtype=np.int64, count=len(hits))
    scores = np.asarray(hits.scores, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    pos, scores = pos[order], scores[order]
    if chunking.aggregate == "first":
        keep = passages.position[pos] == 0
        pos, scores = pos[keep], scores[keep]
    docs = passages.doc_index[pos]
    uniq, first = np.unique(docs, return_index=True)  # first occurrence = the document's best passage
    doc_scores = scores[first]
    if chunking.aggregate == "sum_top":
        by_doc = np.argsort(docs, kind="stable")
        group = np.searchsorted(uniq, docs[by_doc])
        rank = np.arange(len(by_doc)) - np.searchsorted(docs[by_doc], docs[by_doc], side="left")
        top = rank < chunking.top
        doc_scores = np.bincount(group[top], weights=scores[by_doc][top], minlength=len(uniq))
    ranked = np.lexsort((first, -doc_scores))[:k]
    return Hits(
        tuple(passages.doc_ids[d] for d in uniq[ranked]),
        tuple(float(s) for s in doc_scores[ranked]),
        tuple(passages.passage_ids[p] for p in pos[first[ranked]]),
    )


class PassageRetriever:
    """Searches a retriever over passages deep enough to rank ``k`` documents, and aggregates.

    MaxP and first-passage rankings are exact (the search deepens until ``k`` documents are found or the
    passages run out); a sum of the top passages counts the passages within the depth searched."""

    def __init__(self, inner: Retriever, passages: PassageSet, chunking: ChunkSpec, name: str):
        self.inner = inner
        self.passages = passages
        self.chunking = chunking
        self.name = name
        self.index_s = float(getattr(inner, "index_s", 0.0)) + passages.chunk_s

    def over(self, inner: Retriever) -> PassageRetriever:
        """The same passages and aggregation over another retriever of those passages (e.g. a
        :class:`~core.retrieval.PCADenseRetriever` of :attr:`inner`)."""
        return PassageRetriever(inner, self.passages, self.chunking, f"{self.name} ({inner.name})")

    def _depth(self, k: int) -> int:
        per_doc = len(self.passages) / max(1, len(self.passages.passages.doc_ids))
        return min(len(self.passages), k * max(2, math.ceil(per_doc)))

    def search(self, queries: Sequence[str], k: int) -> list[Hits]:
        if not queries:
            return []
        n, depth = len(self.passages), self._depth(k)
        agg: Callable[[Hits], Hits] = lambda h: aggregate_hits(h, self.passages.passages, self.chunking, k)  # noqa: E731
        found = self.inner.search(queries, depth)
        out = [agg(h) for h in found]
        todo = [i for i, h in enumerate(found) if len(out[i]) < k and len(h) >= depth]
        while todo and depth < n:
            depth = min(n, depth * 4)
            deeper = self.inner.search([queries[i] for i in todo], depth)
            for i, h in zip(todo, deeper, strict=True):
                out[i] = agg(h)
            todo = [i for i, h in zip(todo, deeper, strict=True) if len(out[i]) < k and len(h) >= depth]
        return out
