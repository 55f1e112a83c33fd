"""The Ray engine on a local Ray with 2 CPUs: all-MiniLM-L6-v2 over 200 SciFact passages gives the local
engine's vectors (cosine >= 0.9999) in shards of the same layout, written into the same kind of store by a
pool of actors; a missing shard is the only one Ray encodes again."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from core.data import load_path
from core.encoding import EmbeddingCache, encoder_fingerprint
from core.models import DEFAULT_BI_ENCODER
from core.runtime import Workspace, jobs
from tests.tiny_data import write_beir

pytestmark = pytest.mark.integration

ROWS, SHARD = 200, 50


@pytest.fixture(scope="module")
def passages(data_dir, tmp_path_factory):
    lines = (data_dir / "scifact" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[:ROWS]
    docs = [json.loads(line) for line in lines]
    return write_beir(
        tmp_path_factory.mktemp("ray-engine") / "scifact200",
        docs,
        [{"_id": "q1", "text": "a query"}],
        {"test": [("q1", docs[0]["_id"], 1)]},
    )


def _encode(ws: Workspace, passages, **config):  # type: ignore[no-untyped-def]
    run = jobs.run_inline(
        ws, "encode", {"dataset": str(passages), "model": DEFAULT_BI_ENCODER, "shard_size": SHARD, **config}
    )
    assert run.status == "done", run.error
    return run


def _store(ws: Workspace, passages):  # type: ignore[no-untyped-def]
    fp = encoder_fingerprint(DEFAULT_BI_ENCODER, ws, device="cpu")
    return EmbeddingCache(ws).store(fp, load_path(passages).fingerprint)


def test_ray_engine_writes_the_local_engines_vectors_in_the_same_shards(tmp_path, passages):
    local_ws, ray_ws = Workspace(tmp_path / "local"), Workspace(tmp_path / "ray")
    local = _encode(local_ws, passages)
    ray = _encode(ray_ws, passages, engine="ray", ray_cpus=2)
    assert ray.result["engine"] == "ray" and ray.result["workers"] == 2
    assert ray.result["encoded_shards"] == local.result["encoded_shards"] == [0, 1, 2, 3]
    written_by = [
        e.message for e in ray_ws.events(ray.id, kind="log") if "written by Ray worker" in e.message
    ]
    assert len(written_by) == 4

    a, b = _store(local_ws, passages), _store(ray_ws, passages)
    assert a.layout() == b.layout() and a.layout().rows == ROWS and a.layout().shards == 4
    assert sorted(p.name for p in a.folder.glob("shard-*")) == sorted(
        p.name for p in b.folder.glob("shard-*")
    )
    for i in range(4):
        assert a.shard(i).dtype == b.shard(i).dtype == np.float16 and a.shard(i).shape == b.shard(i).shape
    va, vb = a.matrix(), b.matrix()
    cosine = (va * vb).sum(1) / (np.linalg.norm(va, axis=1) * np.linalg.norm(vb, axis=1))
    assert cosine.min() >= 0.9999, cosine.min()

    (b.folder / "shard-00002.npy").unlink()  # lost: Ray encodes that shard and no other
    again = _encode(ray_ws, passages, engine="ray", ray_cpus=2)
    assert again.result["encoded_shards"] == [2] and again.result["skipped_shards"] == 3
    assert again.result["workers"] == 1  # never more actors than shards to encode
    assert any(re.match(r"3 of 4 shard", e.message) for e in ray_ws.events(again.id, kind="log"))
    np.testing.assert_allclose(b.matrix(), vb, atol=1e-3)
