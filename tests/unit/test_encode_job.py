"""The ``encode`` job in real worker processes with bert-tiny: SIGKILL midway, then resume, gives the vectors
of an uninterrupted run and re-encodes at most one shard; cancel keeps the finished shards and the CLI
resumes from them; bad settings exit 2 with one line."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import time

import numpy as np
import pytest

from core.cli import main
from core.data import load_path
from core.encoding import EmbeddingCache, encoder_fingerprint
from core.models import TINY_MODEL
from core.runtime import Workspace, jobs
from tests.tiny_data import write_beir

ROWS, SHARD = 3000, 150  # 20 shards
CONFIG = {"model": TINY_MODEL, "shard_size": SHARD, "max_seq_length": 64, "batch_size": 32}
_WORDS = ["cell", "protein", "gene", "tumour", "immune", "response", "vaccine", "dose", "trial", "patient"]


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    rng = random.Random(0)
    docs = [
        {"_id": f"d{i}", "title": f"doc {i}", "text": " ".join(rng.choices(_WORDS, k=rng.randint(5, 60)))}
        for i in range(ROWS)
    ]
    return write_beir(
        tmp_path_factory.mktemp("encode-job") / "passages",
        docs,
        [{"_id": "q1", "text": "immune response"}],
        {"test": [("q1", "d1", 1)]},
    )


def _vectors(ws: Workspace, corpus_dir) -> np.ndarray | None:  # type: ignore[no-untyped-def]
    ds = load_path(corpus_dir)
    fp = encoder_fingerprint(TINY_MODEL, ws, max_seq_length=64, device="cpu")
    return EmbeddingCache(ws).get(fp, ds.fingerprint, ROWS)


def _store(ws: Workspace, corpus_dir):  # type: ignore[no-untyped-def]
    fp = encoder_fingerprint(TINY_MODEL, ws, max_seq_length=64, device="cpu")
    return EmbeddingCache(ws).store(fp, load_path(corpus_dir).fingerprint)


def _wait_for_shards(ws: Workspace, run_id: str, store, n: int = 1, timeout: float = 120.0):  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while time.time() < deadline:
        run = ws.get_run(run_id)
        if run.status != "running" and run.status != "queued":
            raise AssertionError(f"the job ended ({run.status}: {run.error}) before it could be stopped")
        if run.pid and len(store.finished()) >= n:
            return run
        time.sleep(0.005)
    raise AssertionError("no shard finished in time")


def _started_shards(ws: Workspace, run_id: str) -> set[int]:
    found = (re.match(r"shard (\d+)/\d+: encoding", e.message or "") for e in ws.events(run_id, kind="log"))
    return {int(m.group(1)) - 1 for m in found if m}


def test_a_job_killed_midway_resumes_to_the_vectors_of_an_uninterrupted_run(ws, tmp_path, corpus_dir):
    config = CONFIG | {"dataset": str(corpus_dir)}
    store = _store(ws, corpus_dir)
    first = jobs.submit(ws, "encode", config)
    run = _wait_for_shards(ws, first, store)
    os.killpg(run.pid, signal.SIGKILL)
    assert jobs.wait(ws, first, timeout=60, poll=0.2).status == "lost"
    finished_at_kill = set(store.finished())
    started = _started_shards(ws, first)
    assert finished_at_kill and len(finished_at_kill) < ROWS // SHARD, "killed midway"
    assert _vectors(ws, corpus_dir) is None  # a partial store is never served

    second = jobs.submit(ws, "encode", config)
    resumed = jobs.wait(ws, second, timeout=300)
    assert resumed.status == "done", resumed.error
    encoded_again = set(resumed.result["encoded_shards"])
    assert not encoded_again & finished_at_kill
    assert encoded_again | finished_at_kill == set(range(ROWS // SHARD))
    assert len(started & encoded_again) <= 1  # only the shard that was being encoded when it died
    assert resumed.result["skipped_shards"] == len(finished_at_kill)
    assert not [p for p in store.folder.iterdir() if p.name.startswith(".shard")]

    other = Workspace(tmp_path / "uninterrupted")
    whole = jobs.wait(other, jobs.submit(other, "encode", config), timeout=300)
    assert whole.status == "done" and whole.result["encoded_shards"] == list(range(ROWS // SHARD))
    assert np.array_equal(_vectors(ws, corpus_dir), _vectors(other, corpus_dir))


def test_cancel_keeps_finished_shards_and_the_cli_resumes_from_them(ws, corpus_dir, capsys):
    config = CONFIG | {"dataset": str(corpus_dir)}
    store = _store(ws, corpus_dir)
    run_id = jobs.submit(ws, "encode", config)
    _wait_for_shards(ws, run_id, store, n=8)
    jobs.cancel(ws, run_id)
    run = jobs.wait(ws, run_id, timeout=30, poll=0.1)
    assert run.status == "cancelled"
    kept = set(store.finished())
    assert kept and not [p for p in store.folder.iterdir() if p.name.startswith(".shard")]

    code = main(
        [
            *("encode", "--dataset", str(corpus_dir), "--model", TINY_MODEL, "--shard-size", str(SHARD)),
            *(
                "--max-seq-length",
                "64",
                "--backend",
                "torch",
                "--json",
            ),  # the job's backend (CLI default: auto)
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    result = json.loads(out)
    assert not result["cached"] and result["skipped_shards"] == len(kept)
    assert set(result["encoded_shards"]) == set(range(20)) - kept
    assert _vectors(ws, corpus_dir).shape == (ROWS, 128)
    progress = [e.message or "" for r in ws.list_runs() for e in ws.events(r.id, kind="progress")]
    assert any(re.search(r"shard \d+/20 done · [\d,.]+ passages/s · ETA", m) for m in progress), progress


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--shard-size", "0"], "shard_size must be a positive"),
        (["--workers", "-2"], "workers must be a positive"),
    ],
)
def test_bad_cli_settings_exit_2_with_one_line(corpus_dir, capsys, args, match):
    code = main(["encode", "--dataset", str(corpus_dir), "--model", TINY_MODEL, *args])
    err = capsys.readouterr().err
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1
