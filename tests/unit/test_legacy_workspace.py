"""A workspace made by the flat layout (before the layered packages) opens with the current code.

The fixture was written by ``tests/fixtures/make_legacy_workspace.py`` against the old layout: it holds
datasets, a stored comparison, a cached UMAP map whose reducer pickles ``core.projection.ExactCosineIndex``,
and an exported bundle whose rebuild script imports ``core.gotchas``, ``core.datasets`` and friends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from core.data import load_dataset
from core.evaluate import load_comparison
from core.explore import ExploreRequest, cached_result
from core.runtime import REPO_ROOT, Workspace
from tests.fakes import HashingEncoder

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_workspace.tar.gz"


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(tmp_path, filter="data")
    return tmp_path / "workspace"


def test_datasets_and_the_stored_comparison_reopen_with_the_same_numbers(legacy: Path):
    ws = Workspace(legacy)
    facts = json.loads((legacy / "legacy.json").read_text())
    assert [r.name for r in ws.list_datasets()] == ["films", "pets"]
    assert len(load_dataset(ws, "pets").corpus) == 6
    rep = load_comparison(ws, facts["comparison"])
    assert {n: r.metrics for n, r in rep.strategies.items()} == facts["metrics"]
    assert set(rep.strategies["bm25"].run) == set(load_dataset(ws, "pets").qrels_dict("test"))


def test_the_cached_map_and_its_pickled_reducer_load(legacy: Path):
    ws = Workspace(legacy)
    request = ExploreRequest.from_dict(json.loads((legacy / "legacy.json").read_text())["request"])
    result = cached_result(ws, request, encoder_factory=lambda name: HashingEncoder(dim=32))
    assert result is not None and len(result.points) == 40
    reducer = result.reducer()  # unpickles core.projection.ExactCosineIndex from the old path
    assert type(reducer.__dict__.get("_knn_search_index", None)).__module__.startswith("core.explore")
    placed = reducer.transform(HashingEncoder(dim=32).encode(["a great film, number 3"]))
    assert placed.shape == (1, 2) and np.isfinite(placed).all()


def test_old_entry_points_still_run(legacy: Path):
    env = dict(os.environ, ESL_HOME=str(legacy), ESL_REPO=str(REPO_ROOT), PYTHONPATH=str(REPO_ROOT))
    worker = subprocess.run(
        [sys.executable, "-m", "core.jobs", "worker", "no-such-run"], env=env, capture_output=True, text=True
    )
    assert worker.returncode == 2 and "no run no-such-run" in worker.stderr
    script = legacy / "exports" / "bundle" / "rebuild_pipeline.py"
    helped = subprocess.run([sys.executable, str(script), "--help"], env=env, capture_output=True, text=True)
    assert helped.returncode == 0 and "--dataset" in helped.stdout


@pytest.mark.integration
def test_the_old_rebuild_script_rebuilds_its_pipeline(legacy: Path):
    """The script imports core.gotchas.PCADenseRetriever, core.datasets, core.evaluation, core.store."""
    env = dict(os.environ, ESL_HOME=str(legacy), ESL_REPO=str(REPO_ROOT), HF_HUB_OFFLINE="1")
    script = legacy / "exports" / "bundle" / "rebuild_pipeline.py"
    done = subprocess.run(
        [sys.executable, str(script), "--dataset", "pets", "--query", "young cat", "--k", "2", "--evaluate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert out["results"][0]["hits"][0]["doc_id"] == "d5"
    assert out["evaluation"]["ndcg@10"] > 0.5
