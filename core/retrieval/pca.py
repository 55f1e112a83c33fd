"""Dense retrieval in fewer dimensions: PCA fitted on the corpus vectors, vectors re-normalised, a new
inner-product index (exact or HNSW, as the dense spec says)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from core.encoding import normalize_rows
from core.retrieval.base import Hits
from core.retrieval.dense import DenseRetriever, build_faiss_index

__all__ = ["PCADenseRetriever", "fit_pca"]


def fit_pca(doc_vectors: np.ndarray, dim: int, *, fit_sample: int = 50_000, seed: int = 0) -> Any:
    """A scikit-learn PCA to ``dim`` components fitted on (a seeded sample of) the corpus vectors."""
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    idx = rng.choice(len(doc_vectors), size=min(fit_sample, len(doc_vectors)), replace=False)
    return PCA(n_components=min(dim, len(idx), doc_vectors.shape[1]), random_state=seed).fit(doc_vectors[idx])


class PCADenseRetriever:
    """A dense retriever searched in a PCA-reduced space: PCA fitted on its corpus vectors, vectors
    re-normalised, a new exact (or HNSW, as the dense spec says) inner-product index."""

    def __init__(self, dense: DenseRetriever, dim: int, *, fit_sample: int = 50_000, seed: int = 0):
        t0 = time.perf_counter()
        self.dense = dense
        self.corpus = dense.corpus
        self.pca = fit_pca(dense.doc_vectors, dim, fit_sample=fit_sample, seed=seed)
        self.dim = int(self.pca.n_components_)
        self.name = f"{dense.name} PCA {self.dim}-d"
        self.doc_vectors = normalize_rows(self.pca.transform(dense.doc_vectors))
        self.index = build_faiss_index(self.doc_vectors, dense.spec)
        self.index_s = dense.index_s + time.perf_counter() - t0

    def search(self, queries: Sequence[str], k: int) -> list[Hits]:
        if not queries:
            return []
        q = normalize_rows(self.pca.transform(self.dense.encode_queries(queries)))
        scores, idx = self.index.search(np.ascontiguousarray(q, dtype=np.float32), min(k, len(self.corpus)))
        return [
            Hits(
                tuple(self.corpus.doc_ids[i] for i in ri if i >= 0),
                tuple(float(x) for x, i in zip(rs, ri, strict=True) if i >= 0),
            )
            for rs, ri in zip(scores, idx, strict=True)
        ]
