"""SPLADE-tiny on a slice of SciFact through the CLI: ``evaluate --strategies bm25,splade,hybrid_bm25_splade``
ranks, tunes the fusion weights on train, and a second run reads the corpus activations from the workspace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.slices import write_scifact_slice

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _evaluate(folder: Path, home: Path) -> dict:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "core",
            "evaluate",
            "--dataset",
            str(folder),
            "--strategies",
            "bm25,splade,hybrid_bm25_splade",
            "--json",
        ],
        cwd=REPO,
        env=os.environ | {"ESL_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_splade_through_the_cli_on_a_scifact_slice(data_dir, tmp_path):
    folder = write_scifact_slice(data_dir, tmp_path / "slice", train=30, test=20, extra_docs=120)
    home = tmp_path / "home"
    out = _evaluate(folder, home)
    assert list(out["strategies"]) == ["bm25", "splade", "hybrid_bm25_splade"]
    splade = out["strategies"]["splade"]
    assert 0.3 < splade["ndcg@10"] <= 1.0  # a trained SPLADE model finds the judged abstracts
    cached = list((home / "cache" / "sparse").glob("*.npz"))
    assert cached, "the corpus activations are kept in the workspace"
    stamp = {p: p.stat().st_mtime_ns for p in cached}
    again = _evaluate(folder, home)
    assert again["strategies"]["splade"]["ndcg@10"] == splade["ndcg@10"]
    assert all(p.stat().st_mtime_ns == t for p, t in stamp.items())  # read, not rewritten
