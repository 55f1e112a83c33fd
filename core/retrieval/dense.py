"""Dense bi-encoder retrieval: sentence-transformers vectors in a FAISS inner-product index.

Vectors are L2-normalised, so inner product is cosine similarity. The index is exact (``IndexFlatIP``)
by default; HNSW (``IndexHNSWFlat``) is an option for large corpora, with :func:`hnsw_recall` telling
how many of the exact neighbours it finds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.data import ChunkSpec
from core.encoding import EmbeddingCache, Encoder, encode_corpus
from core.models import DEFAULT_BI_ENCODER
from core.retrieval.base import Corpus, Hits
from core.runtime import InvalidInput, Reporter, report

__all__ = ["DenseRetriever", "DenseSpec", "build_faiss_index", "hnsw_recall"]


@dataclass(frozen=True)
class DenseSpec:
    """Bi-encoder settings. ``index``: ``exact`` or ``hnsw``; ``chunking``: encode passages instead of
    whole documents (None: each document truncated at ``max_seq_length``; core.retrieval.passages)."""

    kind: str = "dense"
    model: str = DEFAULT_BI_ENCODER
    backend: str = "torch"
    index: str = "exact"
    hnsw_m: int = 32
    hnsw_ef_search: int = 128
    hnsw_ef_construction: int = 200
    max_seq_length: int | None = None
    batch_size: int = 32
    chunking: ChunkSpec | None = None

    @property
    def label(self) -> str:
        suffix = "" if self.backend == "torch" else f" [{self.backend}]"
        suffix += " HNSW" if self.index == "hnsw" else ""
        suffix += f" · {self.chunking.label}" if self.chunking else ""
        return f"Dense ({self.model}){suffix}"


def build_faiss_index(vectors: np.ndarray, spec: DenseSpec):  # type: ignore[no-untyped-def]
    """A FAISS inner-product index over ``vectors`` (exact or HNSW)."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    if spec.index == "exact":
        index = faiss.IndexFlatIP(dim)
    elif spec.index == "hnsw":
        index = faiss.IndexHNSWFlat(dim, spec.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = spec.hnsw_ef_construction
        index.hnsw.efSearch = spec.hnsw_ef_search
    else:
        raise InvalidInput(f"Unknown index type {spec.index!r}: use 'exact' or 'hnsw'.")
    index.add(vectors)
    return index


class DenseRetriever:
    """Encodes the corpus once (through the embedding cache), then answers queries from FAISS."""

    def __init__(
        self,
        corpus: Corpus,
        encoder: Encoder,
        spec: DenseSpec = DenseSpec(),
        *,
        cache: EmbeddingCache | None = None,
        progress: Reporter | None = None,
    ):
        self.spec = spec
        self.name = spec.label
        self.corpus = corpus
        self.encoder = encoder
        self._batches: dict[tuple[str, ...], np.ndarray] = {}  # last query batches and their vectors
        start = time.perf_counter()
        self.doc_vectors, self.from_cache = encode_corpus(
            encoder, corpus.texts, corpus.fingerprint, cache, batch_size=spec.batch_size, progress=progress
        )
        self.encode_s = time.perf_counter() - start
        t0 = time.perf_counter()
        self.index = build_faiss_index(self.doc_vectors, spec)
        self.faiss_s = time.perf_counter() - t0
        # index build time = encoding + FAISS (encoding is skipped when the cache had the vectors)
        self.index_s = self.encode_s + self.faiss_s
        report(
            progress, "index", len(corpus), len(corpus), f"{spec.index} index over {len(corpus):,} vectors"
        )

    def encode_queries(self, queries: Sequence[str]) -> np.ndarray:
        """Query vectors. A batch of several queries seen before (the same split searched by the dense
        strategy and by a hybrid built on it) is not encoded again; single queries always are, so
        per-query latency includes encoding."""
        key = tuple(queries)
        if len(key) > 1 and key in self._batches:
            return self._batches[key]
        vectors = self.encoder.encode(list(queries), batch_size=self.spec.batch_size)
        if len(key) > 1:
            if len(self._batches) >= 4:
                self._batches.pop(next(iter(self._batches)))
            self._batches[key] = vectors
        return vectors

    def search_vectors(self, query_vectors: np.ndarray, k: int) -> list[Hits]:
        k = min(k, len(self.corpus))
        scores, idx = self.index.search(np.ascontiguousarray(query_vectors, dtype=np.float32), k)
        out = []
        for row_s, row_i in zip(scores, idx, strict=True):
            keep = row_i >= 0
            out.append(
                Hits(tuple(self.corpus.doc_ids[i] for i in row_i[keep]), tuple(float(s) for s in row_s[keep]))
            )
        return out

    def search(self, queries: Sequence[str], k: int) -> list[Hits]:
        if not queries:
            return []
        return self.search_vectors(self.encode_queries(queries), k)

    def recall_vs_exact(self, queries: Sequence[str], k: int = 10) -> float:
        """Share of the exact top-``k`` neighbours of ``queries`` that this index returns (1.0 for an
        exact index; below 1.0 is what HNSW loses for its speed)."""
        if self.spec.index == "exact" or not queries:
            return 1.0
        return hnsw_recall(self.doc_vectors, self.encode_queries(queries), k, self.spec, approx=self.index)


def hnsw_recall(
    doc_vectors: np.ndarray,
    query_vectors: np.ndarray,
    k: int = 10,
    spec: DenseSpec | None = None,
    *,
    approx=None,  # type: ignore[no-untyped-def]
) -> float:
    """Share of the exact top-k neighbours that the HNSW index also returns (1.0 = no loss).
    ``approx``: an HNSW index already built over ``doc_vectors`` (built from ``spec`` otherwise)."""
    spec = spec or DenseSpec(index="hnsw")
    exact = build_faiss_index(doc_vectors, DenseSpec(index="exact"))
    if approx is None:
        approx = build_faiss_index(doc_vectors, spec if spec.index == "hnsw" else DenseSpec(index="hnsw"))
    k = min(k, len(doc_vectors))
    _, e = exact.search(np.ascontiguousarray(query_vectors, dtype=np.float32), k)
    _, a = approx.search(np.ascontiguousarray(query_vectors, dtype=np.float32), k)
    found = sum(len(set(er) & set(ar)) for er, ar in zip(e, a, strict=True))
    return found / (k * len(e)) if len(e) else 1.0
