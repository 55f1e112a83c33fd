"""Sampling, fitting, alignment, caching and the explore pipeline (fake encoder, tiny data)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from core.data import LabeledDataset, RetrievalDataset
from core.explore import (
    ExploreRequest,
    ProjectionSettings,
    align_procrustes,
    cached_result,
    dataset_points,
    explore,
    fit_projection,
    stratified_sample,
    with_kept,
)
from tests.fakes import HashingEncoder

TOPICS = {
    "cards": "card arrived lost stolen delivery plastic pin",
    "transfers": "transfer bank account wire iban sent money",
    "fees": "fee charge commission cost extra paid",
}


def labeled(n_per: int = 12, splits: tuple[str, ...] = ("train", "test")) -> LabeledDataset:
    rows = []
    for split in splits:
        for label, words in TOPICS.items():
            vocab = words.split()
            for i in range(n_per):
                text = " ".join(vocab[(i + j) % len(vocab)] for j in range(4)) + f" {split} {i}"
                rows.append({"text": text, "label": label, "split": split})
    frame = pd.DataFrame(rows)
    return LabeledDataset("topics", frame, tuple(TOPICS))


def retrieval(n_docs: int = 30) -> RetrievalDataset:
    docs = [
        {"doc_id": f"d{i}", "title": "", "text": f"{list(TOPICS.values())[i % 3]} document {i}"}
        for i in range(n_docs)
    ]
    queries = pd.DataFrame({"query_id": ["q1", "q2"], "text": ["lost card pin", "wire transfer iban"]})
    qrels = pd.DataFrame(
        {
            "split": ["test", "test", "test", "train"],
            "query_id": ["q1", "q1", "q2", "q2"],
            "doc_id": ["d0", "d27", "d1", "d4"],
            "score": [2, 1, 1, 1],
        }
    )
    return RetrievalDataset("tinyret", pd.DataFrame(docs), queries, qrels)


class Factory:
    """Encoder factory for explore(): one HashingEncoder per model name (dims from the name)."""

    def __init__(self) -> None:
        self.encoders: dict[str, HashingEncoder] = {}

    def __call__(self, name: str) -> HashingEncoder:
        dim = 32 if name.endswith("32") else 64
        return self.encoders.setdefault(name, HashingEncoder(dim=dim, name=name))

    @property
    def encoded(self) -> int:
        return sum(e.encoded for e in self.encoders.values())


PCA = ProjectionSettings(method="pca")


# -- sampling ---------------------------------------------------------------------------------------
def test_stratified_sample_keeps_group_shares_and_is_seeded():
    groups = ["a"] * 600 + ["b"] * 300 + ["c"] * 100
    idx = stratified_sample(groups, 100, seed=1)
    assert len(idx) == 100 and len(set(idx)) == 100
    picked = pd.Series([groups[i] for i in idx]).value_counts().to_dict()
    assert picked == {"a": 60, "b": 30, "c": 10}
    assert np.array_equal(idx, stratified_sample(groups, 100, seed=1))
    assert not np.array_equal(idx, stratified_sample(groups, 100, seed=2))


def test_stratified_sample_small_groups_and_forced_rows():
    groups = ["big"] * 995 + ["rare1", "rare2", "rare3", "rare4", "rare5"]
    idx = stratified_sample(groups, 20, seed=0, must_include=[3, 4])
    assert len(idx) == 20
    assert {3, 4} <= set(idx.tolist())
    assert {groups[i] for i in idx} >= {"rare1", "rare2", "rare3", "rare4", "rare5"}  # one per group
    assert np.array_equal(stratified_sample(groups[:15], 20), np.arange(15))  # all rows when few


def test_dataset_points_classification_defaults_to_test_split_and_samples():
    ds = labeled(n_per=20)
    points = dataset_points(ds)
    assert set(points.frame["split"]) == {"test"} and points.total == 60 and len(points.frame) == 60
    both = dataset_points(ds, splits=("train", "test"), max_points=30, seed=3)
    assert len(both.frame) == 30 and both.total == 120
    assert both.frame.groupby(["split", "label"]).size().tolist() == [5] * 6
    assert list(both.encode_texts) == both.frame["text"].tolist()
    with pytest.raises(KeyError, match="no split 'dev'"):
        dataset_points(ds, splits=("dev",))


def test_dataset_points_retrieval_keeps_relevant_docs_and_corpus_rows():
    ds = retrieval(60)
    points = dataset_points(ds, max_points=12, seed=0)
    frame = points.frame
    assert len(frame) == 12 and points.total == 60
    assert {"d0", "d27", "d1"} <= set(frame["id"])  # judged relevant in the test split: always shown
    assert points.encode_fingerprint == ds.fingerprint  # whole corpus: shares the retriever's cache entry
    assert all(ds.doc_ids[r] == i for r, i in zip(frame["row"], frame["id"], strict=True))
    assert set(frame["split"]) <= {"test", "train", "not judged"}


# -- fitting and alignment --------------------------------------------------------------------------
def blobs(n_per: int = 20, dim: int = 16, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, dim)) * 4
    x = np.vstack([c + rng.normal(size=(n_per, dim)) * 0.3 for c in centres]).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True), [f"c{i}" for i in range(3) for _ in range(n_per)]


def test_pca_projection_is_seeded_and_places_new_points():
    x, _ = blobs()
    coords, reducer = fit_projection(x, PCA)
    again, _ = fit_projection(x, PCA)
    assert coords.shape == (60, 2) and np.allclose(coords, again)
    assert np.allclose(reducer.transform(x[:3]), coords[:3], atol=1e-5)
    three, _ = fit_projection(x, ProjectionSettings(method="pca", n_components=3))
    assert three.shape == (60, 3)


def test_umap_projection_separates_blobs_and_caches_its_compile(monkeypatch):
    import os
    from pathlib import Path

    from core.explore import projection

    x, labels = blobs(n_per=25)
    coords, reducer = fit_projection(x, ProjectionSettings(method="umap", n_neighbors=10))
    assert projection.umap_ready() and projection.warm_up_status()["state"] == "ready"
    assert coords.shape == (75, 2)
    centres = np.array([coords[np.array(labels) == c].mean(axis=0) for c in ("c0", "c1", "c2")])
    spread = max(
        np.linalg.norm(coords[np.array(labels) == c] - centres[i], axis=1).mean()
        for i, c in enumerate(("c0", "c1", "c2"))
    )
    gaps = [np.linalg.norm(centres[i] - centres[j]) for i in range(3) for j in range(i + 1, 3)]
    assert min(gaps) > 2 * spread  # three separate islands
    again, _ = fit_projection(x, ProjectionSettings(method="umap", n_neighbors=10))
    assert np.allclose(coords, again, atol=1e-4)  # seeded
    placed = projection.place(reducer, x[:2])
    assert placed.shape == (2, 2)
    # umap's own functions were switched to numba's on-disk cache (the compile survives the process)
    cache_dir = Path(os.environ["NUMBA_CACHE_DIR"])
    assert any(p.suffix == ".nbi" for p in cache_dir.rglob("*umap*"))


def test_umap_refuses_too_few_points():
    x, _ = blobs(n_per=3)
    with pytest.raises(ValueError, match="at least 10 points"):
        fit_projection(x, ProjectionSettings(method="umap"))


def test_procrustes_undoes_rotation_scale_and_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 2))
    theta = 1.1
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    moved = (a @ rot) * 3.5 + np.array([10.0, -4.0])
    mirrored = moved * np.array([1.0, -1.0])
    assert np.allclose(align_procrustes(a, moved), a, atol=1e-5)
    assert np.allclose(align_procrustes(a, mirrored), a, atol=1e-5)


# -- the pipeline -----------------------------------------------------------------------------------
def test_explore_scores_labels_and_caches_the_result(ws):
    ds, factory = labeled(), Factory()
    request = ExploreRequest("topics", model="m64", settings=PCA)
    assert cached_result(ws, request, dataset=ds, encoder_factory=factory) is None
    first = explore(ws, request, dataset=ds, encoder_factory=factory)
    assert not first.from_cache and factory.encoded == 36
    summary = first.to_json()
    assert {"points", "method", "silhouette", "silhouette_compare", "seconds"} <= set(summary)
    assert summary["points"] == 36 and summary["method"] == "pca" and summary["silhouette_compare"] is None
    assert 0.0 < first.silhouette <= 1.0 and first.knn_agreement > 0.5
    assert list(first.points.columns) >= ["id", "text", "label", "split", "row", "x", "y"]

    again = explore(ws, request, dataset=ds, encoder_factory=factory)
    assert again.from_cache and factory.encoded == 36  # nothing encoded, nothing projected
    assert again.silhouette == first.silhouette
    pd.testing.assert_frame_equal(again.points, first.points)
    looked_up = cached_result(ws, request, dataset=ds, encoder_factory=factory)
    assert looked_up is not None and looked_up.key == first.key
    expected = HashingEncoder(64, "m64").encode(first.points["text"].tolist())
    assert np.allclose(first.vectors(ws), expected, atol=1e-3)  # the cache stores float16

    other = explore(
        ws,
        ExploreRequest("topics", model="m64", settings=ProjectionSettings(method="pca", seed=7)),
        dataset=ds,
        encoder_factory=factory,
    )
    assert other.key != first.key and not other.from_cache
    assert factory.encoded == 36  # the embedding cache still served the vectors


def test_explore_before_after_procrustes_and_joint(ws):
    ds, factory = labeled(), Factory()
    req = ExploreRequest("topics", model="m64", compare_model="n64", settings=PCA)
    res = explore(ws, req, dataset=ds, encoder_factory=factory)
    assert res.has_compare and {"x_b", "y_b", "moved", "kept"} <= set(res.points.columns)
    assert np.allclose(res.points["kept"], 1.0)  # same neighbourhoods, point by point
    stored_before = dataclasses.replace(res, points=res.points.drop(columns="kept"))  # a map from before
    assert np.allclose(with_kept(ws, stored_before)["kept"], 1.0)  # measured again from the cached vectors
    assert res.silhouette_compare is not None and res.knn_agreement_compare is not None
    assert res.neighbourhood_overlap == pytest.approx(1.0)  # same fake encoder: same neighbourhoods
    assert np.allclose(res.points[["x", "y"]], res.points[["x_b", "y_b"]], atol=1e-4)  # aligned
    assert res.to_json()["align"] == "procrustes"

    joint = explore(
        ws,
        ExploreRequest("topics", model="m64", compare_model="n64", settings=PCA, align="joint"),
        dataset=ds,
        encoder_factory=factory,
    )
    assert joint.key != res.key and np.allclose(
        joint.points[["x", "y"]], joint.points[["x_b", "y_b"]], atol=1e-4
    )
    with pytest.raises(ValueError, match="same size"):
        explore(
            ws,
            ExploreRequest("topics", model="m64", compare_model="m32", settings=PCA, align="joint"),
            dataset=ds,
            encoder_factory=factory,
        )
    small = explore(
        ws,
        ExploreRequest("topics", model="m64", compare_model="m32", settings=PCA),
        dataset=ds,
        encoder_factory=factory,
    )
    assert small.dims == (64, 32) and small.neighbourhood_overlap < 1.0


def test_explore_retrieval_has_no_label_numbers(ws):
    ds = retrieval(30)
    res = explore(
        ws,
        ExploreRequest("tinyret", model="m64", settings=PCA, max_points=10),
        dataset=ds,
        encoder_factory=Factory(),
    )
    assert res.kind == "retrieval" and len(res.points) == 10 and res.total == 30
    assert res.silhouette is None and "label" not in res.points.columns
    assert any("no labels" in n for n in res.notes)


def test_request_round_trips_and_validates():
    req = ExploreRequest(
        "x", compare_model="y", splits=("test",), settings=ProjectionSettings("pca", 3), max_points=50
    )
    assert ExploreRequest.from_dict(req.to_dict()) == req
    assert ExploreRequest("x", compare_model="  ").compare_model is None
    with pytest.raises(ValueError):
        ExploreRequest("x", max_points=5)
    with pytest.raises(ValueError):
        ProjectionSettings(method="tsne")
    with pytest.raises(ValueError):
        ExploreRequest("x", align="sideways")
