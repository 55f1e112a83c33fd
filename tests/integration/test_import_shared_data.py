"""Importing the shared datasets through the CLI reports what their files hold."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def cli_import(path: Path, home: Path) -> tuple[dict, list[str]]:
    proc = subprocess.run(
        [sys.executable, "-m", "core", "datasets", "import", str(path)],
        cwd=REPO,
        env=os.environ | {"ESL_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr.splitlines()


def qrels_file_counts(path: Path) -> dict[str, int]:
    with open(path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return {"queries": len({r["query-id"] for r in rows}), "qrels": len(rows)}


def test_scifact_via_cli(data_dir, isolated_home):
    folder = data_dir / "scifact"
    summary, warnings = cli_import(folder, isolated_home)
    assert warnings == []
    with open(folder / "corpus.jsonl", encoding="utf-8") as fh:
        documents = sum(1 for line in fh if line.strip())
    assert summary["documents"] == documents == 5183
    assert summary["splits"] == {
        "train": qrels_file_counts(folder / "qrels" / "train.tsv"),
        "test": qrels_file_counts(folder / "qrels" / "test.tsv"),
    }
    assert summary["splits"] == {
        "train": {"queries": 809, "qrels": 919},
        "test": {"queries": 300, "qrels": 339},
    }
    assert summary["queries"] == 1109 and summary["qrels"] == 1258


def test_cranfield_skips_its_two_empty_documents_with_warnings(data_dir, isolated_home):
    summary, warnings = cli_import(data_dir / "cranfield", isolated_home)
    assert summary["documents"] == 1400 - 2
    assert summary["splits"] == {"test": {"queries": 225, "qrels": 1837 - 1}}
    assert warnings[0].startswith("warning: corpus.jsonl: skipped 2 document(s) with empty text")
    assert warnings[1].startswith("warning: test.tsv: dropped 1 judgement(s) of skipped empty documents")


def test_classification_sets_via_cli(data_dir, isolated_home):
    sst2, _ = cli_import(data_dir / "sst2", isolated_home)
    assert sst2["splits"] == {"train": {"rows": 6920}, "validation": {"rows": 872}, "test": {"rows": 1821}}
    assert sst2["labels"] == 2
    banking, _ = cli_import(data_dir / "banking77", isolated_home)
    assert banking["labels"] == 77
    assert banking["splits"] == {"train": {"rows": 10003}, "test": {"rows": 3080}}
