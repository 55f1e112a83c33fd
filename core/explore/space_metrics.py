"""Numbers that describe an embedding space: how well labels separate, how neighbourhoods change between
two models, and clusters (with a suggested cluster count).

All functions take L2-normalised vectors (as :mod:`core.encoding` produces) and work in the original
embedding space with the cosine metric, never in a 2-D projection (except HDBSCAN on a map, which says so).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.runtime import InvalidInput

__all__ = [
    "SILHOUETTE_SAMPLE",
    "cluster_agreement",
    "hdbscan_clusters",
    "kmeans_clusters",
    "knn_indices",
    "knn_label_agreement",
    "label_silhouette",
    "neighbourhood_kept",
    "neighbourhood_overlap",
    "suggest_cluster_count",
]

SILHOUETTE_SAMPLE = 5000  # silhouette is O(n²): larger sets are scored on a seeded sample


def _codes(labels: Sequence[str]) -> np.ndarray:
    _, codes = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    return codes


def label_silhouette(
    vectors: np.ndarray, labels: Sequence[str], *, seed: int = 42, sample_size: int = SILHOUETTE_SAMPLE
) -> float | None:
    """Mean silhouette of the label groups under the cosine metric (−1 … 1; higher = classes separate
    better). ``None`` when it is undefined (fewer than 2 labels, or every point its own label)."""
    from sklearn.metrics import silhouette_score

    codes = _codes(labels)
    n_labels = len(np.unique(codes))
    if len(codes) < 3 or not 2 <= n_labels <= len(codes) - 1:
        return None
    size = sample_size if len(codes) > sample_size else None
    return float(silhouette_score(vectors, codes, metric="cosine", sample_size=size, random_state=seed))


def knn_indices(vectors: np.ndarray, k: int) -> np.ndarray:
    """Indices of each row's ``k`` nearest other rows by cosine similarity (exact), shape ``(n, k)``."""
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(x)
    k = max(1, min(k, n - 1))
    out = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, 1024):  # blocks keep memory at 1024 x n floats
        sims = x[start : start + 1024] @ x.T
        rows = np.arange(sims.shape[0])
        sims[rows, start + rows] = -np.inf  # never your own neighbour
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1, kind="stable")
        out[start : start + len(rows)] = np.take_along_axis(part, order, axis=1)
    return out


def knn_label_agreement(vectors: np.ndarray, labels: Sequence[str], k: int = 10) -> float | None:
    """Share of each point's ``k`` nearest neighbours (cosine) that carry its label, averaged (0 … 1)."""
    codes = _codes(labels)
    if len(codes) < 2:
        return None
    nn = knn_indices(vectors, k)
    return float((codes[nn] == codes[:, None]).mean())


def neighbourhood_kept(a: np.ndarray, b: np.ndarray, k: int = 10) -> np.ndarray:
    """Per point, the share of its ``k`` nearest neighbours (cosine, in each original space) that two
    embeddings of the same points have in common (0 … 1). It needs no map: it says how much a point's
    neighbourhood changed whatever the coordinates of any projection."""
    if len(a) != len(b):
        raise InvalidInput(f"both embeddings must cover the same points ({len(a)} vs {len(b)} rows)")
    if len(a) < 2:
        return np.ones(len(a), dtype=np.float64)
    na, nb = knn_indices(a, k), knn_indices(b, k)
    shared = [len(set(ra).intersection(rb)) for ra, rb in zip(na.tolist(), nb.tolist(), strict=True)]
    return np.asarray(shared, dtype=np.float64) / na.shape[1]


def neighbourhood_overlap(a: np.ndarray, b: np.ndarray, k: int = 10) -> float | None:
    """Mean share of each point's ``k`` nearest neighbours that two embeddings of the same points have in
    common (1 = the models agree on every neighbourhood, ~k/n = unrelated): the mean of
    :func:`neighbourhood_kept`."""
    if len(a) != len(b):
        raise InvalidInput(f"both embeddings must cover the same points ({len(a)} vs {len(b)} rows)")
    if len(a) < 2:
        return None
    return float(np.mean(neighbourhood_kept(a, b, k)))


def kmeans_clusters(vectors: np.ndarray, k: int, *, seed: int = 42) -> np.ndarray:
    """k-means cluster ids (0 … k-1) of unit vectors (Euclidean k-means on the sphere ≈ cosine)."""
    from sklearn.cluster import KMeans

    k = max(1, min(int(k), len(vectors)))
    return KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(vectors).astype(np.int64)


def hdbscan_clusters(coords: np.ndarray, *, min_cluster_size: int = 15) -> np.ndarray:
    """HDBSCAN cluster ids of 2-D / 3-D map coordinates; ``-1`` marks noise. Density clustering needs a
    low-dimensional space, so it runs on the map (as BERTopic does), not on the raw embeddings."""
    from sklearn.cluster import HDBSCAN

    size = max(2, min(int(min_cluster_size), len(coords)))
    return HDBSCAN(min_cluster_size=size, copy=True).fit_predict(coords).astype(np.int64)


def suggest_cluster_count(
    vectors: np.ndarray,
    candidates: Sequence[int] | None = None,
    *,
    seed: int = 42,
    sample_size: int = 2000,
) -> pd.DataFrame:
    """Silhouette (cosine) of k-means for several cluster counts: columns ``k``, ``silhouette``; the
    suggested count is the row with the highest silhouette."""
    from sklearn.metrics import silhouette_score

    n = len(vectors)
    if candidates is None:
        candidates = [2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100]
    ks = sorted({int(k) for k in candidates if 2 <= int(k) <= max(2, n // 3)})
    rows = []
    for k in ks:
        if k >= n:
            continue
        ids = kmeans_clusters(vectors, k, seed=seed)
        if len(np.unique(ids)) < 2:
            continue
        size = sample_size if n > sample_size else None
        score = silhouette_score(vectors, ids, metric="cosine", sample_size=size, random_state=seed)
        rows.append({"k": k, "silhouette": float(score)})
    return pd.DataFrame(rows, columns=["k", "silhouette"])


def cluster_agreement(clusters: Sequence[int], labels: Sequence[str]) -> float | None:
    """Adjusted Rand index between clusters and labels (1 = identical grouping, ~0 = unrelated)."""
    from sklearn.metrics import adjusted_rand_score

    if len(clusters) < 2:
        return None
    return float(adjusted_rand_score(_codes(labels), np.asarray(clusters)))
