"""Silhouette, k-NN agreement, neighbourhood overlap, clustering and the suggested cluster count."""

from __future__ import annotations

import numpy as np

from core.explore import (
    cluster_agreement,
    exact_cosine_knn,
    hdbscan_clusters,
    kmeans_clusters,
    knn_indices,
    knn_label_agreement,
    label_silhouette,
    neighbourhood_kept,
    neighbourhood_overlap,
    suggest_cluster_count,
)


def blobs(k: int = 4, n_per: int = 30, dim: int = 24, noise: float = 0.25, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim)) * 3
    x = np.vstack([c + rng.normal(size=(n_per, dim)) * noise for c in centres])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), [f"c{i}" for i in range(k) for _ in range(n_per)]


def test_silhouette_and_knn_agreement_tell_separated_from_mixed():
    x, labels = blobs()
    shuffled = list(np.random.default_rng(1).permutation(labels))
    assert label_silhouette(x, labels) > 0.5
    assert abs(label_silhouette(x, shuffled)) < 0.1
    assert knn_label_agreement(x, labels, k=5) > 0.95
    assert knn_label_agreement(x, shuffled, k=5) < 0.5
    assert label_silhouette(x, ["one"] * len(x)) is None  # undefined for a single label
    # sampled silhouette for large sets stays close to the exact one
    assert abs(label_silhouette(x, labels, sample_size=60) - label_silhouette(x, labels)) < 0.1


def test_knn_indices_exclude_self_and_match_brute_force():
    x, _ = blobs(k=2, n_per=10)
    nn = knn_indices(x, 3)
    assert nn.shape == (20, 3) and not any(i in row for i, row in enumerate(nn))
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    assert (nn[:, 0] == sims.argmax(axis=1)).all()
    idx, dist = exact_cosine_knn(x, x, 3)
    assert (idx[:, 0] == np.arange(20)).all() and np.allclose(dist[:, 0], 0.0, atol=1e-5)
    assert (idx[:, 1:] == nn[:, :2]).all()


def test_neighbourhood_overlap_of_same_rotated_and_unrelated_spaces():
    x, _ = blobs()
    q, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(24, 24)))
    assert neighbourhood_overlap(x, x) == 1.0
    assert neighbourhood_overlap(x, (x @ q).astype(np.float32)) == 1.0  # rotation keeps neighbourhoods
    noise = np.random.default_rng(3).normal(size=x.shape).astype(np.float32)
    assert neighbourhood_overlap(x, noise, k=5) < 0.2


def test_neighbourhood_kept_per_point_is_independent_of_any_map():
    x, _ = blobs(k=2, n_per=20)
    q, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(24, 24)))
    assert np.all(neighbourhood_kept(x, (x @ q).astype(np.float32), k=5) == 1.0)  # rotation: nothing changed
    changed = x.copy()
    changed[:10] = np.random.default_rng(4).normal(size=(10, 24)).astype(np.float32)  # 10 points moved
    changed[:10] /= np.linalg.norm(changed[:10], axis=1, keepdims=True)
    kept = neighbourhood_kept(x, changed, k=5)
    assert kept.shape == (40,) and kept.min() >= 0.0 and kept.max() <= 1.0
    assert kept[:10].mean() < kept[20:].mean()  # the moved points kept fewer neighbours
    assert np.all(kept[20:] == 1.0)  # the other blob's neighbourhoods are untouched
    assert neighbourhood_overlap(x, changed, k=5) == float(kept.mean())


def test_clusters_and_suggested_count_find_the_blobs():
    x, labels = blobs(k=4)
    ids = kmeans_clusters(x, 4)
    assert len(set(ids)) == 4 and cluster_agreement(ids, labels) > 0.95
    scores = suggest_cluster_count(x, [2, 3, 4, 5, 6, 8])
    assert list(scores.columns) == ["k", "silhouette"]
    assert int(scores.loc[scores["silhouette"].idxmax(), "k"]) == 4
    coords = np.vstack([np.random.default_rng(i).normal(loc=10 * i, size=(30, 2)) for i in range(3)])
    dens = hdbscan_clusters(coords, min_cluster_size=10)
    assert len(set(dens) - {-1}) == 3
