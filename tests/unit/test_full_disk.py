"""A full disk (a small tmpfs mounted for the test; needs root, skipped otherwise): reads and deletes still
work, every write fails with one clear "disk full" line, nothing is corrupted, and delete frees space."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.runtime import DiskFull, Workspace, free_bytes
from core.runtime.space import RESERVE_NAME
from tests.tiny_data import write_beir, write_labeled

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"ESL_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "core", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def _ok(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def _fill(mount: Path) -> Path:
    filler = mount / "filler"
    with open(filler, "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError as err:
            assert err.errno == errno.ENOSPC
    return filler


def _names(home: Path) -> list[str]:
    return [d["name"] for d in json.loads(_ok(_cli(home, "datasets", "list")))]


def _integrity(home: Path) -> str:
    with sqlite3.connect(f"file:{home / 'workspace.sqlite'}?mode=ro", uri=True) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def _beir(folder: Path, docs: int) -> Path:
    corpus = [{"_id": f"d{i}", "title": "t", "text": f"document number {i} " * 8} for i in range(docs)]
    queries = [{"_id": "q1", "text": "number"}]
    return write_beir(folder, corpus=corpus, queries=queries, qrels={"test": [("q1", "d1", 1)]})


def test_full_disk_reads_and_deletes_work_writes_fail_with_one_clear_line(small_disk, tmp_path):
    home = small_disk / "ws"
    _ok(_cli(home, "datasets", "import", str(write_labeled(tmp_path / "films.csv")), "--name", "small"))
    _ok(_cli(home, "datasets", "import", str(_beir(tmp_path / "b", 3000)), "--name", "big"))
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                from core.runtime import Workspace, jobs
                with Workspace() as ws:
                    run = jobs.run_inline(ws, "sleep", {"steps": 3, "delay": 0.0}, title="quick")
                    (ws.run_dir(run.id) / "artifact.bin").write_bytes(b"x" * 200_000)
                    print(run.id)
                """
            ),
        ],
        cwd=REPO,
        env=os.environ | {"ESL_HOME": str(home)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert (home / RESERVE_NAME).exists()  # made while space was plentiful
    filler = _fill(small_disk)

    # reads
    assert _names(home) == ["big", "small"]
    assert '"documents": 3000' in _ok(_cli(home, "datasets", "show", "big"))
    assert run in _ok(_cli(home, "runs", "list"))
    assert '"status": "done"' in _ok(_cli(home, "runs", "show", run))

    # a write: one line, exit 2, nothing left behind
    refused = _cli(home, "datasets", "import", str(_beir(tmp_path / "c", 3000)), "--name", "more")
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: disk full:") and refused.stderr.count("\n") == 1
    assert "free space or delete datasets/runs" in refused.stderr
    assert list((home / "tmp").iterdir()) == [] and len(list((home / "datasets").iterdir())) == 2
    with Workspace(home) as ws, pytest.raises(DiskFull, match="disk full"):
        ws.add_dataset("x", "classification", lambda f: (f / "data.bin").write_bytes(b"x" * 4_000_000), {})

    # deletes go through, and free space
    free = free_bytes(home)
    _ok(_cli(home, "runs", "delete", run))
    _ok(_cli(home, "datasets", "delete", "small"))  # tiny: the reserve pays for its record
    assert _names(home) == ["big"]
    assert free_bytes(home) > free
    free = free_bytes(home)
    _ok(_cli(home, "datasets", "delete", "big"))
    assert _names(home) == [] and free_bytes(home) > free
    assert list((home / "datasets").iterdir()) == [] and not (home / "runs" / run).exists()
    assert _integrity(home) == "ok"

    # with room again, writes work and the reserve is made again
    filler.unlink()
    _ok(_cli(home, "datasets", "import", str(_beir(tmp_path / "c", 3000)), "--name", "more"))
    assert _names(home) == ["more"] and (home / RESERVE_NAME).exists()
    assert _integrity(home) == "ok"
