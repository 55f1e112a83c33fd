"""Dense bi-encoder retrieval: sentence-transformers vectors in a FAISS inner-product index.

Vectors are L2-normalised, so inner product is cosine similarity. The index is chosen by corpus size
(``index="auto"``: exact up to :data:`~core.retrieval.ann.AUTO_EXACT_LIMIT` vectors, approximate above)
or named (``exact`` | ``hnsw`` | ``ivf``); :mod:`core.retrieval.ann` builds it, the workspace's
:class:`~core.retrieval.index_store.IndexStore` keeps it for the next build, and
:meth:`DenseRetriever.recall_vs_exact` tells how many of the exact neighbours an approximate one finds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.data import ChunkSpec
from core.encoding import EmbeddingCache, Encoder, encode_corpus
from core.models import DEFAULT_BI_ENCODER
from core.retrieval.ann import (
    DEFAULT_RECALL_SAMPLE,
    ann_recall,
    build_index,
    check_index_settings,
    load_or_build_index,
    plan_index,
)
from core.retrieval.base import Corpus, Hits
from core.retrieval.index_store import IndexStore
from core.retrieval.quantized import (
    DEFAULT_RESCORE,
    CompressedIndex,
    check_compression,
    compression_label,
    index_nbytes,
    is_compressed,
    rescore_candidates,
)
from core.runtime import InvalidInput, Reporter, report

__all__ = ["DenseRetriever", "DenseSpec", "build_faiss_index", "hnsw_recall"]


@dataclass(frozen=True)
class DenseSpec:
    """Bi-encoder settings. ``index``: ``auto`` (exact for small corpora, HNSW above), ``exact``, ``hnsw``
    or ``ivf``; ``ivf_nlist`` / ``ivf_nprobe``: None = scaled with the corpus size; ``chunking``: encode
    passages instead of whole documents (None: each document truncated at ``max_seq_length``;
    core.retrieval.passages). Compression (core.retrieval.quantized): ``quantization`` float32 | float16 |
    int8 | binary, ``rescore`` (candidates per result rescored with float vectors: binary, or
    ``rescore_with``), ``dims`` / ``reduce`` (PCA or truncation to fewer dimensions). ``rescore_with``: a
    second bi-encoder whose float vectors rescore this one's top ``k × rescore`` (a static first stage under
    a transformer; its corpus vectors come from the embedding cache, so the transformer still encodes the
    corpus once)."""

    kind: str = "dense"
    model: str = DEFAULT_BI_ENCODER
    backend: str = "torch"
    index: str = "auto"
    hnsw_m: int = 32
    hnsw_ef_search: int = 128
    hnsw_ef_construction: int = 200
    ivf_nlist: int | None = None
    ivf_nprobe: int | None = None
    max_seq_length: int | None = None
    batch_size: int = 32
    chunking: ChunkSpec | None = None
    quantization: str = "float32"
    rescore: int = DEFAULT_RESCORE
    dims: int | None = None
    reduce: str = "pca"
    rescore_with: str | None = None

    def __post_init__(self) -> None:
        check_index_settings(self)
        check_compression(self)
        if self.rescore_with is not None and (
            not isinstance(self.rescore_with, str) or not self.rescore_with
        ):
            raise InvalidInput("rescore_with must name a bi-encoder (or be none).")
        if self.rescore_with is not None and self.rescore < 1:
            raise InvalidInput("Rescoring with a second model needs rescore of at least 1.")

    @property
    def rescore_spec(self) -> DenseSpec | None:
        """The plain dense spec of the rescoring model (None without ``rescore_with``)."""
        if self.rescore_with is None:
            return None
        return DenseSpec(
            model=self.rescore_with,
            backend=self.backend,
            max_seq_length=self.max_seq_length,
            batch_size=self.batch_size,
        )

    @property
    def label(self) -> str:
        suffix = "" if self.backend in ("torch", "auto") else f" [{self.backend}]"
        suffix += {"hnsw": " HNSW", "ivf": " IVF"}.get(self.index, "")
        suffix += compression_label(self)
        if self.rescore_with:
            suffix += f" → {self.rescore_with} (×{self.rescore})"
        suffix += f" · {self.chunking.label}" if self.chunking else ""
        return f"Dense ({self.model}){suffix}"


def build_faiss_index(vectors: np.ndarray, spec: DenseSpec, *, progress: Reporter | None = None):  # type: ignore[no-untyped-def]
    """A FAISS inner-product index over ``vectors`` as ``spec`` says (``auto`` decided by their number)."""
    return build_index(vectors, plan_index(spec, len(vectors)), progress=progress)


class DenseRetriever:
    """Encodes the corpus once (through the embedding cache), then answers queries from FAISS."""

    def __init__(
        self,
        corpus: Corpus,
        encoder: Encoder,
        spec: DenseSpec = DenseSpec(),
        *,
        cache: EmbeddingCache | None = None,
        index_store: IndexStore | None = None,
        progress: Reporter | None = None,
        rescorer: DenseRetriever | None = None,
    ):
        """``rescorer``: the dense retriever of ``spec.rescore_with`` over the same corpus."""
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
        self.plan = plan_index(spec, len(self.doc_vectors))
        self.rescorer = rescorer
        if rescorer is not None and len(rescorer.doc_vectors) != len(self.doc_vectors):
            raise InvalidInput("The rescoring model must cover the same corpus.")
        self.compressed = is_compressed(spec)
        if self.compressed:  # built each time (from the cached vectors), not saved
            index = CompressedIndex(
                self.doc_vectors, spec, self.plan, rescore=rescorer is None, progress=progress
            )
            self.index, self.index_info = (
                index,
                {
                    "loaded": False,
                    "built_s": index.built_s,
                    "seconds": index.built_s,
                    "bytes": 0,
                },
            )
            self.index_nbytes = index.nbytes
        else:
            source = f"{encoder.fingerprint}-{corpus.fingerprint}"
            self.index, self.index_info = load_or_build_index(
                self.doc_vectors, self.plan, index_store, source, progress=progress
            )
            self.index_nbytes = index_nbytes(self.index)
        self.faiss_s = float(self.index_info["seconds"])  # building it, or loading it from the workspace
        # index build time = encoding + FAISS (encoding is skipped when the cache had the vectors)
        self.index_s = self.encode_s + self.faiss_s
        self._recall: dict[tuple, float] = {}
        report(
            progress,
            "index",
            len(corpus),
            len(corpus),
            f"{self.plan.label} index over {len(corpus):,} vectors",
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
        return self._hits(scores, idx)

    def _hits(self, scores: np.ndarray, idx: np.ndarray) -> list[Hits]:
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
        if self.rescorer is None:
            return self.search_vectors(self.encode_queries(queries), k)
        k = min(k, len(self.corpus))
        depth = min(len(self.corpus), k * self.spec.rescore)
        q = np.ascontiguousarray(self.encode_queries(queries), dtype=np.float32)
        _, candidates = self.index.search(q, max(k, depth))
        final = np.ascontiguousarray(self.rescorer.encode_queries(queries), dtype=np.float32)
        return self._hits(*rescore_candidates(final, self.rescorer.doc_vectors, candidates, k))

    def recall_vs_exact(
        self, queries: Sequence[str], k: int = 10, *, sample: int = DEFAULT_RECALL_SAMPLE, seed: int = 0
    ) -> float:
        """Share of the exact top-``k`` neighbours of (a seeded sample of ``sample``) ``queries`` that this
        index returns: 1.0 for an exact index; below 1.0 is what HNSW or IVF loses for its speed."""
        if (self.plan.kind == "exact" and not self.compressed) or not queries:
            return 1.0
        chosen = list(queries)
        if len(chosen) > sample:
            picks = np.sort(np.random.default_rng(seed).choice(len(chosen), size=sample, replace=False))
            chosen = [chosen[i] for i in picks]
        key = (tuple(chosen), k)
        if key not in self._recall:
            self._recall[key] = ann_recall(self.doc_vectors, self.encode_queries(chosen), self.index, k)
        return self._recall[key]

    def describe_index(self, queries: Sequence[str], k: int = 10) -> tuple[dict[str, Any], list[str]]:
        """What a result says about the index: ``extra`` entries (``index``, ``index_params``,
        ``index_loaded``, ``index_bytes``, ``ann_recall@10`` for HNSW / IVF, also as ``hnsw_recall@10`` for
        HNSW) and notes."""
        plan, info = self.plan, self.index_info
        extra: dict[str, Any] = {
            "index": plan.kind,
            "index_params": plan.params,
            "index_loaded": info["loaded"],
        }
        notes: list[str] = []
        if info["bytes"]:
            extra["index_bytes"] = info["bytes"]
        extra.update(self.describe_compression())
        if plan.auto and plan.kind != "exact":
            notes.append(f"index chosen by size: {plan.label} for {plan.n:,} vectors")
        if info["loaded"]:
            notes.append(
                f"FAISS index loaded from the workspace in {info['seconds']:.1f}s "
                f"(built in {info['built_s']:.1f}s); the index time shows the load"
            )
        if (plan.kind != "exact" or self.compressed) and queries:
            used = min(len(queries), DEFAULT_RECALL_SAMPLE)
            recall = self.recall_vs_exact(queries, k)
            extra[f"ann_recall@{k}"] = recall
            extra["recall_queries"] = used
            if plan.kind == "hnsw":
                extra[f"hnsw_recall@{k}"] = recall
            name = {"hnsw": "HNSW", "ivf": "IVF"}.get(plan.kind, "the compressed index")
            notes.append(f"{name} finds {recall:.1%} of the exact top-{k} neighbours ({used:,} queries)")
        return extra, notes

    def describe_compression(self) -> dict[str, Any]:
        """Size and speed entries of a result: ``quantization``, ``dims``, ``index_bytes_per_vector``,
        ``index_mb``, ``rescore`` / ``rescore_with`` when rescored, ``encode_passages_per_s`` when the
        corpus was encoded here (not loaded from the cache)."""
        spec, n = self.spec, max(1, len(self.doc_vectors))
        extra: dict[str, Any] = {
            "quantization": spec.quantization,
            "dims": spec.dims or int(self.doc_vectors.shape[1]),
            "index_bytes_per_vector": self.index_nbytes / n,
            "index_mb": self.index_nbytes / 1e6,
        }
        if spec.dims is not None:
            extra["reduce"] = spec.reduce
        if spec.rescore_with or (spec.quantization == "binary" and spec.rescore):
            extra["rescore"] = spec.rescore
        if spec.rescore_with:
            extra["rescore_with"] = spec.rescore_with
        if not self.from_cache and self.encode_s > 0:
            extra["encode_passages_per_s"] = len(self.doc_vectors) / self.encode_s
        return extra


def hnsw_recall(
    doc_vectors: np.ndarray,
    query_vectors: np.ndarray,
    k: int = 10,
    spec: DenseSpec | None = None,
    *,
    approx=None,  # type: ignore[no-untyped-def]
) -> float:
    """Share of the exact top-k neighbours that an approximate index also returns (1.0 = no loss).
    ``approx``: an index already built over ``doc_vectors`` (built from ``spec`` otherwise: HNSW unless
    ``spec`` names IVF)."""
    if approx is None:
        spec = spec if spec is not None and spec.index in ("hnsw", "ivf") else DenseSpec(index="hnsw")
        approx = build_faiss_index(doc_vectors, spec)
    return ann_recall(doc_vectors, query_vectors, approx, k)
