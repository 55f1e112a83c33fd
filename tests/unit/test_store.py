"""Workspace store: survives restarts, two writers at once corrupt nothing, failed writes leave no trace."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from core.data import import_dataset, load_dataset
from core.runtime import StoreError, Workspace
from tests.tiny_data import workspace_state, write_beir, write_labeled

REPO = Path(__file__).resolve().parents[2]


def _python(code: str, home: Path, *args: str, **kwargs) -> subprocess.Popen:
    env = os.environ | {"ESL_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_everything_survives_a_restart(ws, tmp_path):
    import_dataset(ws, write_beir(tmp_path / "b"), name="beir")
    import_dataset(ws, write_labeled(tmp_path / "c.csv"), name="cls")
    ws.register_model("my-model", "bi-encoder", tmp_path, base="all-MiniLM-L6-v2", meta={"epochs": 2})
    run_id = ws.create_run("evaluate", {"dataset": "beir"}, title="first")
    ws.add_event(run_id, "progress", step=3, total=10, loss=0.5, message="half")
    ws.update_run(run_id, status="done", result={"ndcg@10": 0.5}, finished=time.time())

    again = Workspace(ws.home)  # a new handle, as after an app restart
    assert [r.name for r in again.list_datasets()] == ["beir", "cls"]
    assert load_dataset(again, "beir").doc_ids == ["d1", "d2", "d3", "d4"]
    assert again.get_model("my-model").meta == {"epochs": 2}
    assert again.get_run(run_id).result == {"ndcg@10": 0.5}
    assert again.get_run(run_id).step == 3

    proc = _python(
        """
        import json
        from core.data import load_dataset
        from core.runtime import Workspace
        ws = Workspace()
        ds = load_dataset(ws, "cls")
        print(json.dumps({
            "datasets": [r.name for r in ws.list_datasets()],
            "rows": len(ds.data),
            "models": [m.name for m in ws.list_models()],
            "runs": [(r.id, r.status, r.result) for r in ws.list_runs()],
            "events": [e.message for e in ws.events(ws.list_runs()[0].id)],
        }))
        """,
        ws.home,
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    seen = json.loads(out)
    assert seen == {
        "datasets": ["beir", "cls"],
        "rows": 20,
        "models": ["my-model"],
        "runs": [[run_id, "done", {"ndcg@10": 0.5}]],
        "events": ["half"],
    }


WRITER = """
import sys, time
from pathlib import Path
from core.data import import_dataset
from core.runtime import Workspace
who, beir, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
ws = Workspace()
while not go.exists():
    time.sleep(0.01)
for k in range(4):
    import_dataset(ws, beir, name=f"{who}-{k}")
    for j in range(10):
        run = ws.create_run("evaluate", {"who": who, "k": k, "j": j})
        ws.add_event(run, "progress", step=j, total=10)
        ws.update_run(run, status="done", result={"j": j})
print("ok")
"""


def test_two_processes_writing_at_once_corrupt_nothing(ws, tmp_path):
    beir = write_beir(tmp_path / "b")
    go = tmp_path / "go"
    procs = [_python(WRITER, ws.home, who, str(beir), str(go)) for who in ("alpha", "beta")]
    time.sleep(1.0)
    go.touch()  # both start writing together
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert out.strip() == "ok"
    names = [r.name for r in ws.list_datasets()]
    assert names == [f"{who}-{k}" for who in ("alpha", "beta") for k in range(4)]
    for name in names:
        assert load_dataset(ws, name).qrels_dict("test") == {"q1": {"d1": 2, "d2": 0}, "q2": {"d2": 1}}
    runs = ws.list_runs()
    assert len(runs) == 80
    assert all(r.status == "done" for r in runs)
    assert sum(len(ws.events(r.id)) for r in runs) == 80
    with sqlite3.connect(ws.db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert list((ws.home / "tmp").iterdir()) == []
    assert len(list((ws.home / "datasets").iterdir())) == 8


def test_threads_racing_for_one_name_get_one_dataset(ws, tmp_path):
    beir = write_beir(tmp_path / "b")
    results: list[str] = []
    barrier = threading.Barrier(4)

    def attempt() -> None:
        barrier.wait()
        try:
            import_dataset(ws, beir, name="contested")
            results.append("stored")
        except StoreError:
            results.append("refused")

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(results) == ["refused", "refused", "refused", "stored"]
    assert [r.name for r in ws.list_datasets()] == ["contested"]
    assert len(list((ws.home / "datasets").iterdir())) == 1
    assert list((ws.home / "tmp").iterdir()) == []


def test_failed_write_leaves_no_row_no_folder_no_staging(ws, tmp_path):
    import_dataset(ws, write_beir(tmp_path / "b"), name="kept")
    before = workspace_state(ws)

    def half_written(folder: Path) -> None:
        (folder / "corpus.parquet").write_bytes(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        ws.add_dataset("broken", "retrieval", half_written, {"name": "broken"})
    assert workspace_state(ws) == before


def test_name_taken_while_staging_leaves_nothing(ws):
    other = Workspace(ws.home)

    def slow_write(folder: Path) -> None:
        (folder / "data.parquet").write_bytes(b"x")
        other.add_dataset("race", "classification", lambda f: (f / "meta.json").write_text("{}"), {})

    before_files = set((ws.home / "datasets").iterdir())
    with pytest.raises(StoreError, match="already exists"):
        ws.add_dataset("race", "classification", slow_write, {})
    assert [r.name for r in ws.list_datasets()] == ["race"]
    assert len(set((ws.home / "datasets").iterdir()) - before_files) == 1  # only the winner's folder
    assert list((ws.home / "tmp").iterdir()) == []


def test_killed_import_is_invisible_and_its_staging_is_cleaned(ws, tmp_path):
    proc = _python(
        """
        import time
        from core.runtime import Workspace
        def write(folder):
            (folder / "corpus.parquet").write_bytes(b"half")
            print("staged", flush=True)
            time.sleep(60)
        Workspace().add_dataset("crashy", "retrieval", write, {})
        """,
        ws.home,
    )
    assert proc.stdout.readline().strip() == "staged"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert ws.get_dataset("crashy") is None
    assert list((ws.home / "datasets").iterdir()) == []
    assert len(list((ws.home / "tmp").iterdir())) == 1  # the crash left its staging folder …
    assert ws.cleanup_staging(older_than_s=0) == 1  # … which the next start removes
    assert list((ws.home / "tmp").iterdir()) == []


def test_rename_and_delete(ws, tmp_path):
    record, _ = import_dataset(ws, write_labeled(tmp_path / "x.csv"), name="old name")
    ws.rename_dataset("old name", "new name")
    renamed = ws.get_dataset("new name")
    assert ws.get_dataset("old name") is None
    assert renamed.summary["name"] == "new name"
    assert renamed.folder == record.folder
    assert len(load_dataset(ws, "new name").data) == 20
    with pytest.raises(StoreError, match="already exists"):
        import_dataset(ws, write_labeled(tmp_path / "y.csv"), name="other")
        ws.rename_dataset("other", "new name")
    with pytest.raises(StoreError, match="Invalid dataset name"):
        ws.rename_dataset("new name", "../escape")
    ws.delete_dataset("new name")
    assert ws.get_dataset("new name") is None
    assert not record.folder.exists()
    with pytest.raises(StoreError, match="No dataset"):
        ws.delete_dataset("new name")
