"""Faults: what killed processes leave is cleaned at the next start, cancels are synchronous and never
lost, finished workers are reaped, connections are closed — and a seeded loop of kill -9 at random moments
of an import, an encode and a training leaves a consistent workspace every time."""

from __future__ import annotations

import errno
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from core.cli import main
from core.data import load_dataset
from core.runtime import DiskFull, Workspace, is_disk_full, jobs, owner_tag, scheduler
from tests.tiny_data import write_beir, zip_folder

REPO = Path(__file__).resolve().parents[2]


def _env(home: Path, tmpdir: Path | None = None) -> dict[str, str]:
    env = os.environ | {"ESL_HOME": str(home), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    return env


def _python(code: str, home: Path, tmpdir: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        env=_env(home, tmpdir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _killed_after_line(code: str, home: Path, tmpdir: Path | None = None) -> int:
    """Run ``code`` in a child, SIGKILL it once it printed a line; returns its pid."""
    proc = _python(code, home, tmpdir)
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return proc.pid


def _wait_for(predicate, timeout: float = 60.0, poll: float = 0.1):  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError("condition not met in time")


# --------------------------------------------------------------------------------------------------
# start-up clean-up
# --------------------------------------------------------------------------------------------------
def test_staging_of_a_killed_process_goes_at_the_next_start_a_live_one_stays(ws):
    _killed_after_line(
        """
        from core.runtime import Workspace
        stage = Workspace().staging_dir()
        (stage / "corpus.parquet").write_bytes(b"half")
        print("ready", flush=True)
        import time; time.sleep(60)
        """,
        ws.home,
    )
    mine = ws.staging_dir()  # this process is alive: its staging is in use
    old_unowned = ws.home / "tmp" / "legacy-folder"
    old_unowned.mkdir()
    assert len(list((ws.home / "tmp").iterdir())) == 3
    removed = ws.clean_up()
    assert removed["staging"] == 1  # the dead owner's, at once (no hour to wait)
    assert sorted(p.name for p in (ws.home / "tmp").iterdir()) == sorted([mine.name, "legacy-folder"])
    os.utime(old_unowned, (time.time() - 7200, time.time() - 7200))
    assert ws.clean_up()["staging"] == 1  # a folder without an owner only once it is old
    assert [p.name for p in (ws.home / "tmp").iterdir()] == [mine.name]


SCRATCH_USER = """
from core.runtime import scratch_dir
with scratch_dir("zip") as tmp:
    (tmp / "corpus.jsonl").write_text("{}")
    print("ready", flush=True)
    import time; time.sleep(60)
"""


def test_unpacked_archive_of_a_killed_import_goes_at_the_next_start(ws, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    _killed_after_line(SCRATCH_USER, ws.home, scratch)
    live = _python(SCRATCH_USER, ws.home, scratch)  # an import still unpacking: its folder is in use
    try:
        assert live.stdout.readline().strip() == "ready"
        (scratch / "esl-zip-young1234").mkdir()  # an older version's name, no owner: kept while young
        (scratch / "unrelated").mkdir()
        assert len(list(scratch.iterdir())) == 4
        next_command = subprocess.run(
            [sys.executable, "-m", "core", "datasets", "list"], cwd=REPO, env=_env(ws.home, scratch)
        )
        assert next_command.returncode == 0
        left = sorted(p.name for p in scratch.iterdir())
        assert len(left) == 3 and "esl-zip-young1234" in left and "unrelated" in left
        assert any(name.startswith(f"esl-zip-p{live.pid}.") for name in left)
    finally:
        live.kill()
        live.wait(timeout=30)


def test_dataset_and_model_folders_never_recorded_are_removed_under_the_write_lock(ws, tmp_path):
    record = ws.add_dataset("kept", "classification", lambda f: (f / "meta.json").write_text("{}"), {})
    staged = ws.staging_dir() / "m"
    staged.mkdir()
    (staged / "config.json").write_text("{}")
    model = ws.install_model("kept-model", "bi-encoder", staged)
    # what a kill between the rename and the commit leaves: folders no row points to
    (ws.home / "datasets" / "0123abcd").mkdir()
    (ws.home / "datasets" / "0123abcd" / "corpus.parquet").write_bytes(b"x")
    (ws.home / "models" / "half-model").mkdir()
    assert ws.clean_up()["orphans"] == 2
    assert sorted(p.name for p in (ws.home / "datasets").iterdir()) == [record.folder.name]
    assert [str(p) for p in (ws.home / "models").iterdir()] == [model.path]
    assert ws.clean_up()["orphans"] == 0


def test_a_moved_workspace_keeps_its_models(ws, tmp_path):
    staged = ws.staging_dir() / "m"
    staged.mkdir()
    (staged / "config.json").write_text("{}")
    ws.install_model("mine", "bi-encoder", staged)
    ws.close()
    moved = tmp_path / "elsewhere"
    shutil.copytree(ws.home, moved)  # its rows still name the old place
    with Workspace(moved) as again:
        assert again.clean_up()["orphans"] == 0
        assert [p.name for p in (moved / "models").iterdir()] == ["mine"]


def test_temporary_files_of_killed_atomic_writes_go_open_ones_stay(ws):
    folder = ws.cache_dir("embeddings")
    dead = folder / ".abc-def.npy.k3j4h5g6"
    dead.write_bytes(b"half")
    busy = folder / ".abc-xyz.npy.q1w2e3r4"
    complete = folder / "abc-def.npy"
    complete.write_bytes(b"whole")
    past = time.time() - 60
    with open(busy, "wb") as writing:  # a write in progress (open in this process)
        writing.write(b"partial")
        writing.flush()
        for path in (dead, busy):
            os.utime(path, (past, past))
        assert ws.clean_up()["temp files"] == 1
        assert sorted(p.name for p in folder.iterdir()) == sorted([busy.name, complete.name])


def test_the_cli_start_cleans_up(ws):
    _killed_after_line(
        """
        from core.runtime import Workspace
        (Workspace().staging_dir() / "x").write_bytes(b"half")
        print("ready", flush=True)
        import time; time.sleep(60)
        """,
        ws.home,
    )
    assert len(list((ws.home / "tmp").iterdir())) == 1
    assert main(["runs", "list"]) == 0
    assert list((ws.home / "tmp").iterdir()) == []


# --------------------------------------------------------------------------------------------------
# jobs: reaping, cancel
# --------------------------------------------------------------------------------------------------
def test_finished_workers_are_reaped_without_anyone_asking(ws):
    run_id = jobs.submit(ws, "sleep", {"steps": 1, "delay": 0.0})
    pid = _wait_for(lambda: ws.get_run(run_id).pid)
    _wait_for(lambda: not ws.get_run(run_id).is_active)  # reads the store only: nothing calls reconcile
    # a zombie still "exists"; reaped, it is gone
    _wait_for(lambda: not psutil.pid_exists(pid), timeout=10 * scheduler.REAP_EVERY_S)


def test_cancel_racing_the_queue_is_never_lost(ws):
    """cancel and kick decide in one transaction each: a job cancelled while queued never starts, and one
    that started anyway sees its cancel — every one of them ends cancelled."""
    for _ in range(4):
        run_id = jobs.submit(ws, "sleep", {"steps": 1000, "delay": 0.05}, start=False)
        barrier = threading.Barrier(2)

        def do_kick(barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            jobs.kick(ws)

        def do_cancel(run_id: str = run_id, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            jobs.cancel(ws, run_id)

        threads = [threading.Thread(target=do_kick), threading.Thread(target=do_cancel)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        run = jobs.wait(ws, run_id, timeout=60, poll=0.1)
        assert run.status == "cancelled" and run.cancel_requested
        assert (run.step or 0) < 1000


FOREGROUND = """
import json, sys
from core.runtime import Workspace, jobs
run = jobs.run_inline(Workspace(), "sleep", json.loads(sys.argv[1]), title="foreground")
print(json.dumps({"status": run.status}), flush=True)
"""


def _foreground(ws, config: dict, step: int = 0) -> tuple[subprocess.Popen, str]:  # type: ignore[no-untyped-def]
    """A foreground run (``run_inline`` in a CLI-like process), once its job has started (and reached
    ``step``)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", FOREGROUND, json.dumps(config)],
        cwd=REPO,
        env=_env(ws.home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def started():  # type: ignore[no-untyped-def]
        for run in ws.list_runs():
            logs = [e.message or "" for e in ws.events(run.id, kind="log")]
            if run.pid and (run.step or 0) >= step and any(m.startswith("started") for m in logs):
                return run
        return None

    return proc, _wait_for(started).id


def test_cancel_of_a_foreground_run_returns_once_it_has_stopped(ws, capsys):
    # one step of 600 s: the job never reaches a cancel check by itself (the 39 s of the bug report)
    proc, run_id = _foreground(ws, {"steps": 2, "delay": 600})
    assert main(["runs", "cancel", run_id]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["status"] == "cancelled" and ws.get_run(run_id).status == "cancelled"
    out, _ = proc.communicate(timeout=60)
    assert json.loads(out) == {"status": "cancelled"}  # the process itself recorded it and went on


def test_cancel_of_a_foreground_run_deaf_to_sigterm_kills_it(ws, capsys, monkeypatch):
    monkeypatch.setattr(scheduler, "KILL_GRACE_S", 1.0)
    config = {"steps": 1000, "delay": 0.05, "ignore_term": True, "model_name": "m"}
    proc, run_id = _foreground(ws, config, step=1)  # past the point where it starts ignoring SIGTERM
    assert main(["runs", "cancel", run_id]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "cancelled"
    assert proc.wait(timeout=30) == -signal.SIGKILL
    assert ws.get_model("m") is None and list((ws.home / "tmp").iterdir()) == []
    assert any("killed" in (e.message or "") for e in ws.events(run_id, kind="log"))


def test_cancel_that_cannot_finish_in_time_says_so(ws, capsys, monkeypatch):
    monkeypatch.setattr(scheduler, "KILL_GRACE_S", 600.0)
    proc, run_id = _foreground(ws, {"steps": 1000, "delay": 0.05, "ignore_term": True}, step=1)
    try:
        assert main(["runs", "cancel", run_id, "--wait", "0.5"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and "still running" in err
        assert ws.get_run(run_id).cancel_requested
    finally:
        proc.kill()
        proc.wait(timeout=30)


# --------------------------------------------------------------------------------------------------
# connections, disk-full recognition
# --------------------------------------------------------------------------------------------------
def _open_db_files(ws: Workspace) -> list[str]:
    return [f.path for f in psutil.Process().open_files() if f.path.startswith(str(ws.db_path))]


def test_every_connection_is_closed(isolated_home):
    ws = Workspace(isolated_home)
    run_id = ws.create_run("sleep", {})
    ws.add_event(run_id, "log", message="x")
    assert ws.get_run(run_id) is not None
    assert _open_db_files(ws), "one idle anchor keeps the WAL open between transactions"
    ws.close()
    assert _open_db_files(ws) == []
    with Workspace(isolated_home) as again:
        assert again.get_run(run_id) is not None
    assert _open_db_files(ws) == []
    Workspace(isolated_home).list_runs()  # a handle nobody keeps closes when it is collected
    assert _open_db_files(ws) == []
    with sqlite3.connect(f"file:{ws.db_path}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_full_disk_errors_are_told_apart():
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"), Path("/"))
    assert is_disk_full(DiskFull("disk full: x"))
    assert not is_disk_full(ValueError("x"))


# --------------------------------------------------------------------------------------------------
# the kill -9 loop
# --------------------------------------------------------------------------------------------------
KILLS = {"import": 10, "encode": 7, "train": 7}
MIN_KILLS = 20  # the issue asks for a seeded loop of at least 20 kills
ATOMIC_TEMP = re.compile(r"^\..+\.[A-Za-z0-9_]{8}$")  # tempfile.mkstemp(prefix=".<name>.")


def _beir(folder: Path, docs: int, seed: int = 15) -> Path:
    rng = random.Random(seed)
    words = [
        "cat",
        "dog",
        "fish",
        "bird",
        "tree",
        "leaf",
        "river",
        "stone",
        "cloud",
        "rain",
        "wind",
        "sun",
        "moon",
        "star",
        "sea",
        "sand",
    ]
    corpus = [
        {"_id": f"d{i}", "title": f"doc {i}", "text": " ".join(rng.choices(words, k=30))} for i in range(docs)
    ]
    queries = [{"_id": f"q{i}", "text": " ".join(rng.choices(words, k=4))} for i in range(60)]
    qrels = {
        "test": [(f"q{i}", f"d{rng.randrange(docs)}", 1) for i in range(30)],
        "train": [(f"q{i}", f"d{rng.randrange(docs)}", 1) for i in range(30, 60)],
    }
    return write_beir(folder, corpus=corpus, queries=queries, qrels=qrels)


def _command(kind: str, i: int, medium_zip: Path) -> list[str]:
    if kind == "import":
        return ["datasets", "import", str(medium_zip), "--name", f"medium-{i}"]
    if kind == "encode":  # a new max length each time: a new cache key, so it always encodes
        return ["encode", "--dataset", "small", "--model", "bert-tiny", "--max-seq-length", str(16 + i)]
    train = ["train", "mlm", "--dataset", "small", "--base", "bert-tiny", "--max-steps", "2", "--no-eval"]
    return [*train, "--name", f"tiny-{i}"]


def _start(home: Path, scratch: Path, args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "core", *args],
        cwd=REPO,
        env=_env(home, scratch),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group: anything it started shows up in the check below
    )


def _cli(home: Path, scratch: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        cwd=REPO,
        env=_env(home, scratch),
        capture_output=True,
        text=True,
        timeout=600,
    )


def _atomic_temps(home: Path) -> list[Path]:
    return [p for sub in ("cache", "runs") for p in (home / sub).rglob("*") if ATOMIC_TEMP.match(p.name)]


def _assert_consistent(home: Path, scratch: Path, checked: set[str]) -> None:
    """After the next command: sound SQLite, every row with its files and every folder with its row, no
    active run, no half model, no leftovers in tmp/, the scratch folder or the cache."""
    with sqlite3.connect(f"file:{home / 'workspace.sqlite'}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with Workspace(home) as ws:
        datasets = ws.list_datasets()
        assert sorted(p.name for p in (home / "datasets").iterdir()) == sorted(
            r.folder.name for r in datasets
        )
        for record in datasets:
            if record.name not in checked:
                load_dataset(ws, record.name)  # every recorded dataset reads back whole
                checked.add(record.name)
        models = ws.list_models()
        assert sorted(str(p) for p in (home / "models").iterdir()) == sorted(m.path for m in models)
        for model in models:
            assert (Path(model.path) / "config.json").exists()
            assert ws.get_run(model.run_id).status == "done"  # no model from a killed run
        runs = ws.list_runs()
        assert {r.status for r in runs} <= {"done", "lost"}, [(r.status, r.error) for r in runs]
    assert list((home / "tmp").iterdir()) == []
    assert [p for p in scratch.iterdir() if p.name.startswith("esl-")] == []  # (torch keeps a cache there)
    assert _atomic_temps(home) == []
    for path in (home / "cache" / "embeddings").glob("*.npy"):
        assert np.load(path).ndim == 2  # an interrupted write never shows under the final name


@pytest.mark.slow
def test_kill_minus_nine_at_random_moments_leaves_a_consistent_workspace(tmp_path, isolated_home):
    home, scratch = isolated_home, tmp_path / "scratch"
    scratch.mkdir()
    medium = zip_folder(_beir(tmp_path / "medium", docs=60_000), tmp_path / "medium.zip")
    small = _beir(tmp_path / "small", docs=200)
    assert _cli(home, scratch, "datasets", "import", str(small), "--name", "small").returncode == 0
    took = {}
    for kind in KILLS:  # how long each takes here, run to the end once: the kills land inside that
        start = time.monotonic()
        done = _cli(home, scratch, *_command(kind, 100, medium))
        assert done.returncode == 0, done.stderr
        took[kind] = time.monotonic() - start
    rng = random.Random(15)
    plan = [kind for kind, n in KILLS.items() for _ in range(n)]
    rng.shuffle(plan)
    # a run that finishes before its kill moment (a busy machine times unevenly) is not a kill: a second
    # seeded round is drawn until at least MIN_KILLS processes were killed
    plan += rng.sample(plan, len(plan))
    killed, checked, debris = 0, set(), 0
    for i, kind in enumerate(plan):
        if killed >= MIN_KILLS and i >= len(plan) // 2:
            break
        proc = _start(home, scratch, _command(kind, i, medium))
        try:
            proc.wait(timeout=rng.uniform(0.05, 0.95) * took[kind])
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.communicate(timeout=60)
        assert proc.returncode in (0, -signal.SIGKILL), proc.stderr.read() if proc.stderr else ""
        with pytest.raises(ProcessLookupError):  # nothing it started lives on
            os.killpg(proc.pid, 0)
        with Workspace(home) as ws:  # what the kill left, before anyone cleans up
            left = list((home / "tmp").iterdir()) + [
                p for p in scratch.iterdir() if p.name.startswith("esl-")
            ]
            debris += bool(left or ws.list_runs(status=("running",)))
        after = _cli(home, scratch, "runs", "list")  # the next command cleans up
        assert after.returncode == 0, after.stderr
        if _atomic_temps(home):  # a write cut midway: its temporary file goes once untouched for 2 s
            time.sleep(2.5)
            assert _cli(home, scratch, "datasets", "list").returncode == 0
        _assert_consistent(home, scratch, checked)
    assert killed >= MIN_KILLS
    assert debris >= 1, "some kills landed while files were staged or a run was recorded as running"
    assert _cli(home, scratch, "datasets", "import", str(medium), "--name", "after").returncode == 0
    with Workspace(home) as ws:
        assert ws.get_dataset("after").summary["documents"] == 60_000


def test_owner_tag_names_this_process():
    assert owner_tag().startswith(f"p{os.getpid()}.")
