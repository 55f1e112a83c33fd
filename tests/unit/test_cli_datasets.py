"""``python -m core datasets import|list|show|rename|delete|scan``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import main
from core.runtime import Workspace
from tests.tiny_data import LABELED, workspace_state, write_beir, write_labeled

REPO = Path(__file__).resolve().parents[2]
KEYS = {"name", "kind", "documents", "queries", "qrels", "rows", "labels", "splits"}


def run_cli(capsys, *args: str) -> tuple[int, object, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def test_import_retrieval_prints_the_summary(capsys, tmp_path):
    code, summary, err = run_cli(capsys, "datasets", "import", str(write_beir(tmp_path / "tiny")))
    assert code == 0, err
    assert set(summary) == KEYS
    assert summary == {
        "name": "tiny",
        "kind": "retrieval",
        "documents": 4,
        "queries": 3,
        "qrels": 5,
        "rows": None,
        "labels": None,
        "splits": {"train": {"queries": 1, "qrels": 2}, "test": {"queries": 2, "qrels": 3}},
    }


def test_import_classification_with_columns_and_split_options(capsys, tmp_path):
    rows = [{"body": r["text"], "tag": r["label"]} for r in LABELED]
    path = write_labeled(tmp_path / "odd.tsv", rows)
    code, summary, err = run_cli(
        capsys,
        "datasets", "import", str(path), "--name", "reviews", "--kind", "classification",
        "--text-col", "body", "--label-col", "tag", "--test-size", "0.5", "--seed", "3",
    )  # fmt: skip
    assert code == 0, err
    assert set(summary) == KEYS
    assert summary["name"] == "reviews"
    assert (summary["rows"], summary["labels"]) == (20, 2)
    assert (summary["documents"], summary["queries"], summary["qrels"]) == (None, None, None)
    assert summary["splits"] == {"train": {"rows": 10}, "test": {"rows": 10}}
    assert "warning: made a stratified 50%/50% train/test split (seed 3)" in err


def test_list_show_rename_delete(capsys, tmp_path):
    run_cli(capsys, "datasets", "import", str(write_beir(tmp_path / "b")), "--name", "one")
    _, imported, _ = run_cli(
        capsys, "datasets", "import", str(write_labeled(tmp_path / "c.csv")), "--name", "two"
    )
    code, listed, _ = run_cli(capsys, "datasets", "list")
    assert code == 0
    assert [d["name"] for d in listed] == ["one", "two"]
    assert all(set(d) == KEYS for d in listed)
    code, shown, _ = run_cli(capsys, "datasets", "show", "two")
    assert code == 0 and shown == imported
    assert run_cli(capsys, "datasets", "rename", "two", "deux")[0] == 0
    code, shown, _ = run_cli(capsys, "datasets", "show", "deux")
    assert shown == imported | {"name": "deux"}
    assert run_cli(capsys, "datasets", "delete", "deux")[0] == 0
    assert [d["name"] for d in run_cli(capsys, "datasets", "list")[1]] == ["one"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["datasets", "show", "nope"], "No dataset named 'nope'"),
        (["datasets", "rename", "nope", "x"], "No dataset named 'nope'"),
        (["datasets", "delete", "nope"], "No dataset named 'nope'"),
        (["datasets", "import", "/no/such/folder"], "folder: file or folder not found"),
    ],
)
def test_user_errors_exit_2_with_one_line(capsys, args, fragment):
    code, out, err = run_cli(capsys, *args)
    assert code == 2
    assert out is None
    assert err.count("\n") == 1 and err.startswith("error: ") and fragment in err


def test_bad_input_exits_2_with_one_line_and_stores_nothing(tmp_path, isolated_home):
    """A real process: the exit code, a single stderr line naming file, line and problem, nothing stored."""
    folder = write_beir(tmp_path / "bad", qrels={"test": [("q1", "d1", 1), ("q2", "ghost", 1)]})
    env = os.environ | {"ESL_HOME": str(isolated_home)}
    proc = subprocess.run(
        [sys.executable, "-m", "core", "datasets", "import", str(folder)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == ["error: test.tsv, line 3: document id 'ghost' is not in the corpus"]
    ws = Workspace(isolated_home)
    assert workspace_state(ws) == ((), ())


def test_scan_lists_the_data_folder(capsys, tmp_path, monkeypatch):
    write_beir(tmp_path / "data" / "mini")
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path / "data"))
    code, found, _ = run_cli(capsys, "datasets", "scan")
    assert code == 0
    assert found == [
        {"name": "mini", "kind": "retrieval", "path": str(tmp_path / "data" / "mini"), "description": ""}
    ]
