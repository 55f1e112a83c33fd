"""The dense index chosen by size (auto / exact / HNSW / IVF), its settings checked, saved in the workspace
and reused, rebuilt when its file is damaged, and its recall@10 against exact."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from core.encoding import normalize_rows
from core.evaluate import run_comparison
from core.retrieval import (
    AUTO_ANN,
    AUTO_EXACT_LIMIT,
    Corpus,
    DenseRetriever,
    DenseSpec,
    IndexStore,
    ann_recall,
    build_index,
    exact_top_k,
    hnsw_recall,
    load_or_build_index,
    plan_index,
    spec_from_dict,
)
from core.runtime import InvalidInput
from tests.unit.test_retrieval_core import _builder, tiny  # noqa: F401  (fixture)


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    return normalize_rows(rng.standard_normal((n, dim)).astype(np.float32))


def _clustered(rng: np.random.Generator, n: int, dim: int, clusters: int) -> np.ndarray:
    """Random unit vectors around random unit centres (the shape embeddings of a corpus have)."""
    centres = _unit(rng, clusters, dim)
    return normalize_rows(centres[rng.integers(0, clusters, n)] + 0.6 * _unit(rng, n, dim))


# -- the choice ---------------------------------------------------------------------------------------
def test_auto_is_exact_up_to_the_limit_and_approximate_above():
    assert DenseSpec().index == "auto"
    small, large = plan_index(DenseSpec(), AUTO_EXACT_LIMIT), plan_index(DenseSpec(), AUTO_EXACT_LIMIT + 1)
    assert small.kind == "exact" and small.auto
    assert large.kind == AUTO_ANN and large.auto
    assert DenseSpec().label == "Dense (all-MiniLM-L6-v2)"  # auto keeps the plain label


def test_the_user_overrides_the_choice_and_ivf_scales_with_the_corpus():
    assert plan_index(DenseSpec(index="exact"), 10**7).kind == "exact"
    assert plan_index(DenseSpec(index="hnsw"), 10).kind == "hnsw"
    assert not plan_index(DenseSpec(index="hnsw"), 10).auto
    small, large = plan_index(DenseSpec(index="ivf"), 10**5), plan_index(DenseSpec(index="ivf"), 10**6)
    assert small.kind == large.kind == "ivf"
    assert large.ivf_nlist > small.ivf_nlist and large.ivf_nprobe >= small.ivf_nprobe
    assert 1 <= small.ivf_nprobe <= small.ivf_nlist
    fixed = plan_index(DenseSpec(index="ivf", ivf_nlist=64, ivf_nprobe=8), 10**6)
    assert (fixed.ivf_nlist, fixed.ivf_nprobe) == (64, 8)
    tiny_plan = plan_index(DenseSpec(index="ivf", ivf_nlist=4096, ivf_nprobe=64), 100)
    assert tiny_plan.ivf_nlist == 100 and tiny_plan.ivf_nprobe == 64  # never more lists than vectors
    assert DenseSpec(index="ivf").label.endswith(" IVF") and DenseSpec(index="hnsw").label.endswith(" HNSW")


@pytest.mark.parametrize(
    "settings, word",
    [
        ({"index": "flat"}, "Unknown index type"),
        ({"hnsw_m": 0}, "hnsw_m"),
        ({"hnsw_m": 1000}, "hnsw_m"),
        ({"hnsw_ef_search": -3}, "hnsw_ef_search"),
        ({"hnsw_ef_construction": 2.5}, "hnsw_ef_construction"),
        ({"ivf_nlist": 0}, "ivf_nlist"),
        ({"ivf_nprobe": True}, "ivf_nprobe"),
        ({"ivf_nlist": 16, "ivf_nprobe": 32}, "cannot exceed"),
    ],
)
def test_bad_index_settings_are_refused_with_one_clear_error(settings, word):
    with pytest.raises(InvalidInput, match=word):
        DenseSpec(**settings)
    with pytest.raises(InvalidInput, match=word):
        spec_from_dict({"kind": "dense", **settings})


# -- recall -------------------------------------------------------------------------------------------
def test_hnsw_at_its_defaults_finds_95_percent_of_the_exact_neighbours_of_random_unit_vectors():
    rng = np.random.default_rng(0)
    docs, queries = _unit(rng, 4000, 32), _unit(rng, 100, 32)
    index = build_index(docs, plan_index(DenseSpec(index="hnsw"), len(docs)))
    assert ann_recall(docs, queries, index, 10) >= 0.95
    assert hnsw_recall(docs, queries, 10) == pytest.approx(ann_recall(docs, queries, index, 10))


def test_ivf_at_its_defaults_finds_95_percent_of_the_exact_neighbours_of_clustered_unit_vectors():
    """IVF needs structure: on uniform random vectors any setting short of searching every list loses
    neighbours (bench/ann.py measures real-derived vectors)."""
    rng = np.random.default_rng(1)
    docs = _clustered(rng, 8000, 32, 50)
    queries = _clustered(np.random.default_rng(2), 100, 32, 50)
    plan = plan_index(DenseSpec(index="ivf"), len(docs))
    assert plan.ivf_nlist > 1
    assert ann_recall(docs, queries, build_index(docs, plan), 10) >= 0.95


def test_exact_top_k_over_shards_equals_one_brute_force_search():
    rng = np.random.default_rng(3)
    docs, queries = _unit(rng, 3000, 16), _unit(rng, 20, 16)
    whole = np.argsort(-(queries @ docs.T), axis=1)[:, :10]
    np.testing.assert_array_equal(exact_top_k(docs, queries, 10), whole)
    shards = [docs[:1000], docs[1000:1001], docs[1001:].astype(np.float16)]  # float16 shards too
    joined = np.concatenate([s.astype(np.float32) for s in shards])
    np.testing.assert_array_equal(
        exact_top_k(shards, queries, 10), np.argsort(-(queries @ joined.T), axis=1)[:, :10]
    )


def test_an_index_is_built_from_shards_and_float16_vectors():
    rng = np.random.default_rng(4)
    docs = _unit(rng, 500, 16)
    half = docs.astype(np.float16)
    for kind in ("exact", "hnsw", "ivf"):
        plan = plan_index(DenseSpec(index=kind), len(docs))
        index = build_index([half[:200], half[200:]], plan)
        assert index.ntotal == 500
        _, ids = index.search(docs[:5], 1)
        assert ids[:, 0].tolist() == [0, 1, 2, 3, 4]  # each vector finds itself


# -- persistence and reuse ----------------------------------------------------------------------------
def _vectors() -> np.ndarray:
    return _unit(np.random.default_rng(5), 300, 16)


def test_a_built_index_is_saved_and_the_next_build_loads_it(ws):
    store, vectors = IndexStore(ws), _vectors()
    plan = plan_index(DenseSpec(index="hnsw", hnsw_m=8), len(vectors))
    first, info = load_or_build_index(vectors, plan, store, "enc-corpus")
    assert not info["loaded"] and info["bytes"] > 0 and store.saves == 1
    assert store.path(_only_key(store), "faiss").is_file()
    again, info2 = load_or_build_index(vectors, plan, store, "enc-corpus")
    assert info2["loaded"] and store.loads == 1 and info2["built_s"] == pytest.approx(info["built_s"])
    q = vectors[:10]
    assert np.array_equal(first.search(q, 5)[1], again.search(q, 5)[1])
    # a search-time setting (efSearch) reuses the same file, and is applied to the loaded index
    faster = dataclasses.replace(plan, hnsw_ef_search=7)
    loaded, info3 = load_or_build_index(vectors, faster, store, "enc-corpus")
    assert info3["loaded"] and loaded.hnsw.efSearch == 7 and len(_keys(store)) == 1


def test_different_settings_or_vectors_get_different_files(ws):
    store, vectors = IndexStore(ws), _vectors()
    for spec in (
        DenseSpec(index="hnsw", hnsw_m=8),
        DenseSpec(index="hnsw", hnsw_m=16),
        DenseSpec(index="ivf"),
    ):
        load_or_build_index(vectors, plan_index(spec, len(vectors)), store, "enc-corpus")
    load_or_build_index(vectors, plan_index(DenseSpec(index="ivf", ivf_nlist=4), 300), store, "enc-corpus")
    other = vectors.copy()
    other[0] = -other[0]  # the first row is in every fingerprint's sample
    load_or_build_index(other, plan_index(DenseSpec(index="ivf"), 300), store, "enc-corpus")
    load_or_build_index(vectors, plan_index(DenseSpec(index="ivf"), 300), store, "other-model")
    assert len(_keys(store)) == 6 and store.loads == 0


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "no-manifest", "bad-manifest", "empty"])
def test_a_damaged_index_file_is_rebuilt(ws, damage):
    store, vectors = IndexStore(ws), _vectors()
    plan = plan_index(DenseSpec(index="hnsw", hnsw_m=8), len(vectors))
    good, _ = load_or_build_index(vectors, plan, store, "enc-corpus")
    key = _only_key(store)
    path, manifest = store.path(key, "faiss"), store.folder / f"{key}.faiss.json"
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        path.write_bytes(data[:100] + bytes([data[100] ^ 0xFF]) + data[101:])
    elif damage == "garbage":
        path.write_bytes(b"not a faiss index" * 10)
    elif damage == "no-manifest":
        manifest.unlink()
    elif damage == "bad-manifest":
        manifest.write_text("{not json")
    else:
        path.write_bytes(b"")
    rebuilt, info = load_or_build_index(vectors, plan, store, "enc-corpus")
    assert not info["loaded"]
    assert np.array_equal(rebuilt.search(vectors[:10], 5)[1], good.search(vectors[:10], 5)[1])
    _, info = load_or_build_index(vectors, plan, store, "enc-corpus")
    assert info["loaded"]  # the rebuilt file is good again


def test_a_failed_save_leaves_nothing_behind_and_keeps_the_index(ws, monkeypatch):
    import faiss

    store, vectors = IndexStore(ws), _vectors()

    def full_disk(index, path):
        with open(path, "wb") as fh:
            fh.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(faiss, "write_index", full_disk)
    index, info = load_or_build_index(vectors, plan_index(DenseSpec(index="ivf"), 300), store, "x")
    assert index.ntotal == 300 and info["bytes"] == 0
    assert list(store.folder.iterdir()) == []


def test_the_dense_retriever_reuses_its_index_and_reports_it(tiny, fake_encoder, ws):  # noqa: F811
    corpus = Corpus.from_dataset(tiny)
    spec = DenseSpec(index="hnsw", hnsw_m=4)
    store = IndexStore(ws)
    first = DenseRetriever(corpus, fake_encoder, spec, index_store=store)
    second = DenseRetriever(corpus, fake_encoder, spec, index_store=IndexStore(ws))
    assert not first.index_info["loaded"] and second.index_info["loaded"]
    assert first.search(["young cat"], 3) == second.search(["young cat"], 3)
    extra, notes = second.describe_index(["young cat", "markets fell"])
    assert extra["index"] == "hnsw" and extra["index_loaded"] is True and extra["index_bytes"] > 0
    assert extra["ann_recall@10"] == extra["hnsw_recall@10"] and 0 < extra["ann_recall@10"] <= 1
    assert any("loaded from the workspace" in n for n in notes)
    assert any("HNSW finds" in n for n in notes)
    exact = DenseRetriever(corpus, fake_encoder, DenseSpec(), index_store=store)
    extra, notes = exact.describe_index(["young cat"])
    assert extra["index"] == "exact" and "ann_recall@10" not in extra and notes == []
    assert len(list(store.folder.glob("*.faiss"))) == 1  # exact indexes are rebuilt, never saved


def test_an_exact_index_is_built_every_time_and_never_saved(ws):
    store, vectors = IndexStore(ws), _vectors()
    for _ in range(2):
        index, info = load_or_build_index(vectors, plan_index(DenseSpec(), len(vectors)), store, "x")
        assert index.ntotal == len(vectors) and not info["loaded"] and info["bytes"] == 0
    assert store.saves == 0 and list(store.folder.iterdir()) == []


def test_a_comparison_reports_ivf_recall_and_reused_indexes(tiny, fake_encoder, ws):  # noqa: F811
    specs = {"ivf": DenseSpec(index="ivf", ivf_nlist=2, ivf_nprobe=1), "auto": DenseSpec()}
    run = lambda: run_comparison(  # noqa: E731
        tiny, "test", specs, ws=ws, k=5, builder=_builder(tiny, fake_encoder, ws), latency_sample=2
    )
    first = run()
    ivf = first.strategies["ivf"]
    assert ivf.extra["index"] == "ivf" and 0.0 < ivf.extra["ann_recall@10"] <= 1.0
    assert "hnsw_recall@10" not in ivf.extra
    assert any(n.startswith("IVF finds") for n in ivf.notes)
    auto = first.strategies["auto"]
    assert auto.extra["index"] == "exact" and auto.notes == []  # small corpus: exact, nothing to say
    second = run()
    assert second.strategies["ivf"].extra["index_loaded"] is True
    assert second.strategies["ivf"].metrics == ivf.metrics


def _keys(store: IndexStore) -> set[str]:
    return {p.name.split(".")[0] for p in store.folder.glob("*.faiss")}


def _only_key(store: IndexStore) -> str:
    (key,) = _keys(store)
    return key
