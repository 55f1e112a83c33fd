"""The shard store under the embedding cache, with the fake encoder: float16 shards, resume after a partial
run, torn or damaged shard files re-encoded alone, another layout starting over, nothing half-written ever
served, whole-corpus files of earlier versions still read; and the ``encode`` job's config."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.encoding import (
    EmbeddingCache,
    EncodeJob,
    ShardLayout,
    ShardStore,
    encode_corpus,
)
from core.runtime import Cancelled, InvalidInput, StoreError
from tests.fakes import HashingEncoder

TEXTS = [
    f"passage {i} about {['cats', 'dogs', 'fish', 'birds'][i % 4]} and number {i * 7}" for i in range(23)
]
SIZE = 5  # 23 rows: shards of 5, 5, 5, 5, 3


def _cache(ws) -> EmbeddingCache:  # type: ignore[no-untyped-def]
    return EmbeddingCache(ws)


def _store(cache: EmbeddingCache, enc: HashingEncoder) -> ShardStore:
    return cache.store(enc.fingerprint, "corpus")


def _files(store: ShardStore) -> list[str]:
    return sorted(p.name for p in store.folder.iterdir())


class StopAfter:
    """A reporter that cancels (as a job's reporter does) once ``shards`` shards are finished."""

    def __init__(self, store: ShardStore, shards: int):
        self.store, self.shards = store, shards

    def __call__(self, p) -> None:  # type: ignore[no-untyped-def]
        if not p.is_log and len(self.store.finished()) >= self.shards:
            raise Cancelled("stop")


def test_vectors_are_stored_as_float16_shards_and_read_back_as_float32(ws):
    enc = HashingEncoder(dim=16)
    cache = _cache(ws)
    vecs, from_cache = encode_corpus(enc, TEXTS, "corpus", cache, shard_size=SIZE)
    store = _store(cache, enc)
    assert not from_cache and vecs.dtype == np.float32 and vecs.shape == (23, 16)
    assert _files(store) == [".lock", "manifest.json", *[f"shard-0000{i}.npy" for i in range(5)]]
    manifest = json.loads((store.folder / "manifest.json").read_text())
    assert manifest["layout"] == {
        "encoder": enc.fingerprint,
        "corpus": "corpus",
        "rows": 23,
        "dim": 16,
        "shard_size": SIZE,
        "dtype": "float16",
    }
    assert sorted(manifest["finished"], key=int) == ["0", "1", "2", "3", "4"]
    first = store.shard(0)
    assert isinstance(first, np.memmap) and first.dtype == np.float16 and first.shape == (5, 16)
    np.testing.assert_array_equal(vecs, enc.encode(TEXTS).astype(np.float16).astype(np.float32))
    again, from_cache = encode_corpus(enc, TEXTS, "corpus", cache)
    assert from_cache and np.array_equal(again, vecs)  # the first call already returned what the cache holds
    blocks = list(cache.iter_vectors(enc.fingerprint, "corpus", 23))
    assert [s for s, _ in blocks] == [0, 5, 10, 15, 20] and np.array_equal(
        np.vstack([b for _, b in blocks]), vecs
    )


def test_a_stopped_encoding_resumes_from_its_last_finished_shard(ws, tmp_path):
    enc = HashingEncoder(dim=16)
    cache = _cache(ws)
    store = _store(cache, enc)
    with pytest.raises(Cancelled):
        encode_corpus(enc, TEXTS, "corpus", cache, shard_size=SIZE, progress=StopAfter(store, 2))
    assert sorted(store.finished()) == [0, 1]
    assert _files(store) == [".lock", "manifest.json", "shard-00000.npy", "shard-00001.npy"]
    assert cache.get(enc.fingerprint, "corpus", 23) is None and not cache.has(enc.fingerprint, "corpus", 23)
    assert cache.iter_vectors(enc.fingerprint, "corpus", 23) is None
    with pytest.raises(StoreError, match="not complete"):
        store.matrix()

    resumed = HashingEncoder(dim=16)
    vecs, _ = encode_corpus(resumed, TEXTS, "corpus", cache)  # shard size taken from the unfinished store
    assert resumed.encoded == 23 - 10  # shards 0 and 1 were not encoded again
    fresh, _ = encode_corpus(
        HashingEncoder(dim=16), TEXTS, "corpus", EmbeddingCache(_other_ws(tmp_path)), shard_size=SIZE
    )
    assert np.array_equal(vecs, fresh)


def _other_ws(tmp_path):  # type: ignore[no-untyped-def]
    from core.runtime import Workspace

    return Workspace(tmp_path / "other-home")


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "delete"])
def test_a_torn_or_damaged_shard_is_encoded_again_and_only_that_one(ws, damage):
    enc = HashingEncoder(dim=16)
    cache = _cache(ws)
    good, _ = encode_corpus(enc, TEXTS, "corpus", cache, shard_size=SIZE)
    path = _store(cache, enc).folder / "shard-00002.npy"
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        path.write_bytes(data[:-4] + bytes(b ^ 0xFF for b in data[-4:]))  # same size, wrong bytes
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.unlink()
    assert cache.get(enc.fingerprint, "corpus", 23) is None  # never served
    again = HashingEncoder(dim=16)
    vecs, from_cache = encode_corpus(again, TEXTS, "corpus", cache)
    assert not from_cache and again.encoded == SIZE and np.array_equal(vecs, good)


def test_another_layout_or_a_broken_manifest_starts_over(ws):
    enc = HashingEncoder(dim=16)
    cache = _cache(ws)
    store = _store(cache, enc)
    with pytest.raises(Cancelled):
        encode_corpus(enc, TEXTS, "corpus", cache, shard_size=SIZE, progress=StopAfter(store, 3))
    other = HashingEncoder(dim=16)
    encode_corpus(other, TEXTS, "corpus", cache, shard_size=8)  # another shard size: nothing kept
    assert other.encoded == 23 and store.layout().shard_size == 8
    assert _files(store) == [
        ".lock",
        "manifest.json",
        "shard-00000.npy",
        "shard-00001.npy",
        "shard-00002.npy",
    ]

    (store.folder / "manifest.json").write_text("{not json")
    assert not cache.has(enc.fingerprint, "corpus", 23)
    third = HashingEncoder(dim=16)
    encode_corpus(third, TEXTS, "corpus", cache)
    assert third.encoded == 23 and store.is_complete()


def test_temporary_files_of_a_killed_writer_are_never_read_and_are_removed(ws):
    enc = HashingEncoder(dim=16)
    cache = _cache(ws)
    store = _store(cache, enc)
    store.folder.mkdir(parents=True)
    (store.folder / ".shard-00000.npy.abc123").write_bytes(b"half a shard")  # what SIGKILL mid-write leaves
    (store.folder / ".manifest.json.def456").write_text('{"format": 1')
    assert not cache.has(enc.fingerprint, "corpus", 23)
    encode_corpus(enc, TEXTS, "corpus", cache, shard_size=SIZE)
    assert not [n for n in _files(store) if n.startswith(".") and n != ".lock"]


def test_values_beyond_float16_keep_their_shard_in_float32(ws):
    cache = _cache(ws)
    vectors = np.ones((7, 4), dtype=np.float32)
    vectors[5, 0] = 1e6  # not representable in float16
    cache.put("enc", "big", vectors, shard_size=4)
    store = cache.store("enc", "big")
    assert store.shard(0).dtype == np.float16 and store.shard(1).dtype == np.float32
    np.testing.assert_array_equal(cache.get("enc", "big", 7), vectors)


def test_whole_corpus_files_of_earlier_versions_are_still_read(ws):
    enc = HashingEncoder(dim=16)
    cache = _cache(ws)
    legacy = enc.encode(TEXTS) + np.float32(1e-4)  # float32 values float16 could not hold
    np.save(cache.path(enc.fingerprint, "corpus"), legacy)
    calls = enc.calls
    vecs, from_cache = encode_corpus(enc, TEXTS, "corpus", cache)
    assert from_cache and enc.calls == calls and np.array_equal(vecs, legacy)
    assert cache.has(enc.fingerprint, "corpus", 23) and not cache.has(enc.fingerprint, "corpus", 24)
    blocks = list(cache.iter_vectors(enc.fingerprint, "corpus", 23))
    assert np.array_equal(np.vstack([b for _, b in blocks]), legacy)


def test_a_shard_of_the_wrong_shape_is_refused(ws):
    store = _cache(ws).store("enc", "c")
    layout = ShardLayout("enc", "c", rows=10, dim=4, shard_size=4)
    with store.writing():
        store.prepare(layout)
        with pytest.raises(StoreError, match="must hold 4 x 4"):
            store.write_shard(layout, 0, np.zeros((3, 4), dtype=np.float32))
        with pytest.raises(InvalidInput, match="No shard 3"):
            store.write_shard(layout, 3, np.zeros((2, 4), dtype=np.float32))
    assert layout.shards == 3 and layout.bounds(2) == (8, 10)


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"rows": -1}, "rows >= 0"),
        ({"dim": 0}, "dim >= 1"),
        ({"shard_size": 0}, "shard_size"),
        ({"dtype": "int8"}, "float16, float32"),
    ],
)
def test_bad_layouts_are_refused(values, match):
    base = {"encoder": "e", "corpus": "c", "rows": 10, "dim": 4}
    with pytest.raises(InvalidInput, match=match):
        ShardLayout(**(base | values))


# -- the encode job's config --------------------------------------------------------------------------
def test_encode_job_config_parses_once_with_defaults_and_round_trips():
    job = EncodeJob.from_dict({"dataset": "scifact", "shard_size": "64", "max_seq_length": None})
    assert job.shard_size == 64 and job.engine == "local" and job.max_seq_length is None
    assert EncodeJob.from_dict(job.to_dict()) == job
    ray = EncodeJob.from_dict(
        {"dataset": "d", "engine": "ray", "ray_address": "ray://head:10001", "workers": 4}
    )
    assert (ray.engine, ray.ray_address, ray.workers) == ("ray", "ray://head:10001", 4)


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"dataset": "d", "shards": 3}, "Unknown encode job settings"),
        ({"dataset": "d", "engine": "spark"}, "engine must be one of local, ray"),
        ({"dataset": "d", "backend": "tpu"}, "backend must be one of"),
        ({"dataset": "d", "shard_size": 0}, "shard_size must be a positive"),
        ({"dataset": "d", "shard_size": "lots"}, "shard_size must be a whole number"),
        ({"dataset": "d", "batch_size": 2.5}, "batch_size must be a positive"),
        ({"dataset": "d", "workers": True}, "workers must be a positive"),
        ({"dataset": "d", "restart": "yes"}, "restart must be true or false"),
        ({"dataset": 3}, "dataset must be a string"),
        ({}, "needs a dataset"),
    ],
)
def test_bad_encode_job_configs_fail_with_one_clear_error(config, match):
    with pytest.raises(InvalidInput, match=match):
        EncodeJob.from_dict(config)
