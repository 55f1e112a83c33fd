"""The on-disk embedding cache: corpus vectors under ``cache/embeddings``, keyed by encoder fingerprint
and corpus fingerprint, so a second evaluation with the same model and corpus never encodes the corpus
again, and vectors of different backends or settings never mix."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.encoding.embeddings import Encoder
from core.runtime import Reporter, Workspace, atomic_write_bytes, report

__all__ = ["EmbeddingCache", "encode_corpus"]


class EmbeddingCache:
    """``.npy`` files under ``cache/embeddings``, keyed by encoder fingerprint and corpus fingerprint."""

    def __init__(self, ws: Workspace):
        self.folder = ws.cache_dir("embeddings")
        self.hits = 0
        self.misses = 0

    def path(self, encoder_fp: str, corpus_fp: str) -> Path:
        return self.folder / f"{encoder_fp}-{corpus_fp}.npy"

    def get(self, encoder_fp: str, corpus_fp: str, expected_rows: int) -> np.ndarray | None:
        path = self.path(encoder_fp, corpus_fp)
        if not path.exists():
            return None
        try:
            arr = np.load(path, mmap_mode="r")
        except (OSError, ValueError):
            return None
        if arr.shape[0] != expected_rows:
            return None
        return np.asarray(arr)

    def put(self, encoder_fp: str, corpus_fp: str, vectors: np.ndarray) -> None:
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(vectors, dtype=np.float32))
        atomic_write_bytes(self.path(encoder_fp, corpus_fp), buf.getvalue())


def encode_corpus(
    encoder: Encoder,
    texts: Sequence[str],
    corpus_fingerprint: str,
    cache: EmbeddingCache | None,
    *,
    batch_size: int = 32,
    progress: Reporter | None = None,
) -> tuple[np.ndarray, bool]:
    """Corpus vectors from the cache, or encoded and stored. Returns ``(vectors, from_cache)``."""
    if cache is not None:
        hit = cache.get(encoder.fingerprint, corpus_fingerprint, len(texts))
        if hit is not None:
            cache.hits += 1
            report(progress, "encode", len(texts), len(texts), "loaded from the embedding cache")
            return hit, True
        cache.misses += 1
    vectors = encoder.encode(texts, batch_size=batch_size, progress=progress)
    if cache is not None:
        cache.put(encoder.fingerprint, corpus_fingerprint, vectors)
    return vectors, False
