"""Static (model2vec) models distilled offline from the packaged bert-tiny: registered, encoded through
make_encoder with their own fingerprint, usable as a dense strategy (``static``, ``static_rescore``), and
the failures of distillation: one clear error, nothing registered, nothing left in the workspace."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.encoding import STATIC_KIND, StaticEncoder, distill_static, encoder_fingerprint, make_encoder
from core.evaluate import CompareOptions, run_comparison
from core.models import TINY_MODEL, resolve_model
from core.runtime import InvalidInput, ModelNotAvailable, StoreError, Workspace
from tests.unit.test_retrieval_core import tiny  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def _left_behind(ws: Workspace) -> list[Path]:
    return [p for p in (ws.home / "tmp").iterdir()] + [p for p in (ws.home / "models").iterdir()]


def test_distil_registers_a_static_model_that_encodes_fast_and_differently(ws, tiny):  # noqa: F811
    info = distill_static(TINY_MODEL, "tiny-static", ws, pca_dims=64)
    assert (info.kind, info.base, info.meta["dim"]) == (STATIC_KIND, TINY_MODEL, 64)
    assert resolve_model("tiny-static", ws).kind == STATIC_KIND
    assert resolve_model(info.location).kind == STATIC_KIND  # a static folder is recognised by itself too
    encoder = make_encoder("tiny-static", ws, backend="onnx")  # any backend: a static model is a lookup
    assert isinstance(encoder, StaticEncoder) and encoder.plan.backend == "static"
    vectors = encoder.encode(["lung cancer in smokers", "interest rates", ""])
    assert vectors.shape == (3, 64) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, rtol=1e-5)
    assert encoder.fingerprint == encoder_fingerprint("tiny-static", ws)
    assert encoder.fingerprint != encoder_fingerprint(TINY_MODEL, ws)
    assert not list((ws.home / "tmp").iterdir())

    opts = CompareOptions(
        strategies=("dense", "static", "static:binary", "static_rescore"),
        model=TINY_MODEL,
        static_model="tiny-static",
    )
    report = run_comparison(tiny, "test", opts.specs(tiny.splits), ws=ws, k=5)
    static = report.strategies["static"]
    assert static.label == "Dense (tiny-static)"
    assert static.extra["encode_passages_per_s"] > 0 and static.extra["dims"] == 64
    assert report.strategies["static:binary"].extra["index_bytes_per_vector"] < 16
    assert report.strategies["static_rescore"].extra["rescore_with"] == TINY_MODEL


def test_distil_from_a_folder_that_is_not_a_model_is_one_error_and_leaves_nothing(ws, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "config.json").write_text(json.dumps({"model_type": "bert"}), encoding="utf-8")
    (fake / "model.safetensors").write_bytes(b"not weights")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json", encoding="utf-8")
    for source in (empty, fake, broken, tmp_path / "missing"):
        with pytest.raises(ModelNotAvailable):
            distill_static(str(source), "nope", ws)
        assert ws.get_model("nope") is None
        assert not _left_behind(ws)


def test_bad_distil_requests_are_refused_before_any_work(ws):
    with pytest.raises(InvalidInput):
        distill_static(TINY_MODEL, "x", ws, pca_dims=1)
    with pytest.raises(InvalidInput):
        distill_static(TINY_MODEL, "x", ws, pca_dims=True)
    with pytest.raises(StoreError):
        distill_static(TINY_MODEL, "../escape", ws)
    distill_static(TINY_MODEL, "once", ws, pca_dims=None)
    with pytest.raises(StoreError, match="already registered"):
        distill_static(TINY_MODEL, "once", ws)
    with pytest.raises(InvalidInput, match="static"):
        distill_static("once", "twice", ws)  # a static model is no teacher
    assert [m.name for m in ws.list_models()] == ["once"]


def test_a_distil_killed_midway_leaves_no_model_and_its_scratch_is_removed(isolated_home):
    env = {**os.environ, "ESL_HOME": str(isolated_home), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "core", "models", "distill", "--from", TINY_MODEL, "--name", "killed"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    tmp = isolated_home / "tmp"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (tmp.is_dir() and any(tmp.iterdir())):
        time.sleep(0.05)  # wait until it stages (it is distilling then)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    ws = Workspace(isolated_home)
    ws.cleanup_staging()
    assert ws.get_model("killed") is None
    assert not list(tmp.iterdir()) and not list((isolated_home / "models").iterdir())


def test_the_cli_distils_and_lists_the_static_model(isolated_home):
    env = {**os.environ, "ESL_HOME": str(isolated_home), "PYTHONPATH": str(REPO)}
    run = [sys.executable, "-m", "core", "models"]
    out = subprocess.run(
        [*run, "distill", "--from", TINY_MODEL, "--name", "cli-static", "--pca-dims", "32"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout)["kind"] == STATIC_KIND
    listed = subprocess.run(
        [*run, "list", "--kind", STATIC_KIND], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    assert [m["name"] for m in json.loads(listed.stdout)] == ["cli-static"]
    bad = subprocess.run(
        [*run, "distill", "--from", str(isolated_home), "--name", "bad"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
