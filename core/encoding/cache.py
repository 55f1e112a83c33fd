"""The on-disk embedding cache: corpus vectors under ``cache/embeddings``, keyed by encoder fingerprint
and corpus fingerprint, so a second evaluation with the same model and corpus never encodes the corpus
again, and vectors of different backends or settings never mix.

Vectors live in a shard store per key (``<encoder>-<corpus>/``, float16 shards, see
:mod:`core.encoding.shards`), so every encoding of a corpus resumes where a killed one stopped. Whole-corpus
``<encoder>-<corpus>.npy`` files (float32) written by earlier versions are still read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from core.encoding.embeddings import Encoder
from core.encoding.engines import encode_local
from core.encoding.estimate import announce_encode
from core.encoding.shards import DEFAULT_SHARD_SIZE, ShardLayout, ShardStore
from core.runtime import Reporter, StoreError, Workspace, report

__all__ = ["EmbeddingCache", "encode_corpus"]

_LEGACY_BLOCK = 4096  # rows per block when iterating a whole-corpus file of earlier versions


class EmbeddingCache:
    """Shard stores (and earlier whole-corpus ``.npy`` files) under ``cache/embeddings``, keyed by
    encoder fingerprint and corpus fingerprint."""

    def __init__(self, ws: Workspace):
        self.folder = ws.cache_dir("embeddings")
        self.hits = 0
        self.misses = 0

    def path(self, encoder_fp: str, corpus_fp: str) -> Path:
        """The whole-corpus float32 file of earlier versions (read when present, never written)."""
        return self.folder / f"{encoder_fp}-{corpus_fp}.npy"

    def store(self, encoder_fp: str, corpus_fp: str) -> ShardStore:
        """The shard store of this key (it may be empty, partial or complete)."""
        return ShardStore(self.folder / f"{encoder_fp}-{corpus_fp}")

    def legacy(self, encoder_fp: str, corpus_fp: str, rows: int | None) -> np.ndarray | None:
        """The memory-mapped whole-corpus file of an earlier version, when there is one of ``rows`` rows."""
        path = self.path(encoder_fp, corpus_fp)
        if not path.exists():
            return None
        try:
            arr = np.load(path, mmap_mode="r")
        except (OSError, ValueError):
            return None
        return arr if arr.ndim == 2 and (rows is None or arr.shape[0] == rows) else None

    def _complete(self, encoder_fp: str, corpus_fp: str, rows: int | None) -> ShardStore | None:
        store = self.store(encoder_fp, corpus_fp)
        layout = store.layout()
        if layout is None or (rows is not None and layout.rows != rows) or not store.is_complete():
            return None
        return store

    def has(self, encoder_fp: str, corpus_fp: str, expected_rows: int | None = None) -> bool:
        """Whether all vectors of this key are cached (a partial shard store does not count)."""
        return (
            self.legacy(encoder_fp, corpus_fp, expected_rows) is not None
            or self._complete(encoder_fp, corpus_fp, expected_rows) is not None
        )

    def get(self, encoder_fp: str, corpus_fp: str, expected_rows: int) -> np.ndarray | None:
        """All vectors (float32, corpus order), or None when they are not all cached."""
        legacy = self.legacy(encoder_fp, corpus_fp, expected_rows)
        if legacy is not None:
            return np.asarray(legacy)
        store = self._complete(encoder_fp, corpus_fp, expected_rows)
        if store is None:
            return None
        try:
            return store.matrix()
        except StoreError:  # a damaged shard: encoding again re-encodes that shard only
            return None

    def iter_vectors(
        self, encoder_fp: str, corpus_fp: str, expected_rows: int
    ) -> Iterator[tuple[int, np.ndarray]] | None:
        """``(first row, float32 block)`` shard by shard (one block in memory at a time, e.g. to fill a
        FAISS index), or None when the vectors are not all cached."""
        legacy = self.legacy(encoder_fp, corpus_fp, expected_rows)
        if legacy is not None:
            return (
                (s, np.asarray(legacy[s : s + _LEGACY_BLOCK], dtype=np.float32))
                for s in range(0, expected_rows, _LEGACY_BLOCK)
            )
        store = self._complete(encoder_fp, corpus_fp, expected_rows)
        return store.iter_shards() if store is not None else None

    def put(
        self, encoder_fp: str, corpus_fp: str, vectors: np.ndarray, *, shard_size: int | None = None
    ) -> None:
        """Store vectors encoded elsewhere (e.g. by :func:`~core.encoding.encode_parallel`) as shards."""
        layout = ShardLayout(
            encoder_fp,
            corpus_fp,
            int(vectors.shape[0]),
            int(vectors.shape[1]),
            shard_size or DEFAULT_SHARD_SIZE,
        )
        self.store(encoder_fp, corpus_fp).put(layout, vectors)


def encode_corpus(
    encoder: Encoder,
    texts: Sequence[str],
    corpus_fingerprint: str,
    cache: EmbeddingCache | None,
    *,
    batch_size: int = 32,
    progress: Reporter | None = None,
    shard_size: int | None = None,
) -> tuple[np.ndarray, bool]:
    """Corpus vectors from the cache, or encoded (shard by shard, resuming a store a killed run left)
    and stored. Returns ``(vectors, from_cache)``; the vectors are those the cache holds (float16 on disk,
    float32 here), whether they were just encoded or not."""
    if cache is None:
        announce_encode(encoder, texts, batch_size=batch_size, progress=progress)
        return encoder.encode(texts, batch_size=batch_size, progress=progress), False
    hit = cache.get(encoder.fingerprint, corpus_fingerprint, len(texts))
    if hit is not None:
        cache.hits += 1
        report(progress, "encode", len(texts), len(texts), "loaded from the embedding cache")
        return hit, True
    cache.misses += 1
    announce_encode(encoder, texts, batch_size=batch_size, progress=progress)
    store = cache.store(encoder.fingerprint, corpus_fingerprint)
    with store.writing():
        previous = store.layout()
        size = shard_size or (previous.shard_size if previous else DEFAULT_SHARD_SIZE)
        layout = ShardLayout(encoder.fingerprint, corpus_fingerprint, len(texts), int(encoder.dim), size)
        todo = store.prepare(layout)
        encode_local(store, layout, texts, encoder, todo, batch_size=batch_size, reporter=progress)
        return store.matrix(), False
