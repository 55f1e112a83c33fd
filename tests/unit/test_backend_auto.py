"""Backend ``auto``: the parity check's decision (fake encoders), its memory per model and machine (a broken
or foreign file is checked again), the real thing with bert-tiny, and the one thread count (ESL_THREADS)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.encoding import (
    AUTO,
    BACKENDS,
    AutoChoice,
    BackendCheck,
    ParityThresholds,
    choose_backend,
    configure_threads,
    encoding_threads,
    load_choice,
    machine_id,
    make_encoder,
    parity_check,
    parity_sample,
    pick_backend,
    plan_backend,
    save_choice,
)
from core.evaluate import CompareOptions
from core.models import TINY_MODEL
from core.runtime import ConfigError
from tests.fakes import HashingEncoder

_WORDS = [
    "cell",
    "protein",
    "gene",
    "tumour",
    "immune",
    "response",
    "vaccine",
    "dose",
    "trial",
    "patient",
    "blood",
    "study",
]
TEXTS = [
    f"item{i} " + " ".join(_WORDS[(i * 7 + j) % len(_WORDS)] for j in range(5 + i % 9)) for i in range(300)
]


class Noisy(HashingEncoder):
    """The fake encoder's vectors plus noise: a backend that is fast but loses the vectors."""

    def __init__(self, scale: float):
        super().__init__()
        self.scale = scale

    def encode(self, texts, *, batch_size=32, progress=None):  # type: ignore[no-untyped-def]
        v = super().encode(texts, batch_size=batch_size)
        rng = np.random.default_rng(len(texts))
        return v + self.scale * rng.standard_normal(v.shape).astype(np.float32)


class Rounded(HashingEncoder):
    """The fake encoder's vectors rounded to float16: a backend that keeps the vectors up to rounding."""

    def encode(self, texts, *, batch_size=32, progress=None):  # type: ignore[no-untyped-def]
        return super().encode(texts, batch_size=batch_size).astype(np.float16).astype(np.float32)


def _broken() -> HashingEncoder:
    raise RuntimeError("onnxruntime crashed")


def test_parity_check_passes_the_same_vectors_and_fails_lossy_or_broken_backends_with_a_reason():
    docs, queries = parity_sample(TEXTS)
    checks = {
        c.backend: c
        for c in parity_check(
            {
                "torch": HashingEncoder,
                "onnx": HashingEncoder,
                "onnx-int8": lambda: Noisy(0.5),
                "bf16": _broken,
            },
            docs,
            queries,
        )
    }
    assert checks["torch"].passed and checks["onnx"].passed
    assert checks["onnx"].mean_cosine == pytest.approx(1.0) and checks["onnx"].top10_overlap == 1.0
    lossy = checks["onnx-int8"]
    assert not lossy.passed and "cosine" in lossy.reason and lossy.mean_cosine < 0.99
    assert not checks["bf16"].passed and "onnxruntime crashed" in checks["bf16"].reason
    assert "failed" in lossy.text and "failed" in checks["bf16"].text


def test_slight_noise_passes_the_stated_thresholds_and_larger_noise_does_not():
    docs, queries = parity_sample(TEXTS)
    th = ParityThresholds()
    small = parity_check({"torch": HashingEncoder, "onnx-int8": Rounded}, docs, queries)[1]
    assert small.passed and small.mean_cosine >= th.mean_cosine and small.top10_overlap >= th.top10_overlap
    strict = ParityThresholds(mean_cosine=0.9999999, min_cosine=0.9, top10_overlap=0.5)
    assert not parity_check(
        {"torch": HashingEncoder, "onnx-int8": lambda: Noisy(0.002)}, docs, queries, thresholds=strict
    )[1].passed


def test_the_fastest_passing_backend_is_picked_and_a_failed_one_never_is():
    checks = [
        BackendCheck("torch", True, 1, 1, 1, 10.0, 1.0),
        BackendCheck("onnx", True, 1, 1, 1, 5.0, 2.0),
        BackendCheck("onnx-int8", False, 0.9, 0.8, 0.7, 1.0, 10.0, "mean cosine 0.9000 < 0.99"),
        BackendCheck("bf16", True, 1, 1, 0.99, 4.0, 2.5),
    ]
    assert pick_backend(checks) == ("bf16", "")
    only_lossy_fast = [checks[0], checks[2], BackendCheck("onnx", True, 1, 1, 1, 9.8, 1.02)]
    backend, reason = pick_backend(only_lossy_fast)
    assert backend == "torch" and "1.1x faster" in reason
    assert pick_backend([checks[0]]) == ("torch", "no other backend runs here")
    assert pick_backend([checks[0], checks[2]])[1] == "no other backend passed the check"


def test_parity_sample_takes_passages_and_pseudo_queries_from_other_texts():
    docs, queries = parity_sample(TEXTS)
    assert len(docs) == 200 and len(queries) == 50
    query_sources = {t for t in TEXTS if any(t.startswith(q) for q in queries)}
    assert len(query_sources) == 50 and not set(docs) & query_sources
    assert all(len(q.split()) <= 12 for q in queries)
    few_docs, few_q = parity_sample(["a b", "", "c d", "e f", "g h", "i j", "   "])
    assert len(few_docs) + len(few_q) == 5 and len(few_q) == 1
    assert parity_sample(TEXTS) == (docs, queries)  # deterministic


class _Makers:
    def __init__(self, int8_scale: float = 0.0):
        self.calls: list[str] = []
        self.int8_scale = int8_scale

    def __call__(self, backend: str) -> HashingEncoder:
        self.calls.append(backend)
        return Noisy(self.int8_scale) if backend == "onnx-int8" else HashingEncoder()


def test_a_choice_is_remembered_per_model_and_machine_and_shows_its_numbers(ws):
    make = _Makers()
    first = choose_backend(ws, "model-a", make, TEXTS, candidates=["onnx", "onnx-int8"])
    assert make.calls and first.backend in BACKENDS and first.machine == machine_id()
    assert {c.backend for c in first.checks} == {"torch", "onnx", "onnx-int8"}
    assert first.passages == 200 and first.queries == 50
    make.calls.clear()
    again = choose_backend(ws, "model-a", make, TEXTS, candidates=["onnx", "onnx-int8"])
    assert again == first and make.calls == []  # no check on the second use
    assert load_choice(ws, "model-a") == first and load_choice(ws, "model-b") is None
    summary = AutoChoice(
        "onnx-int8", "m", "x", (BackendCheck("onnx-int8", True, 0.9981, 0.99, 0.97, 1, 3.14),)
    ).summary
    assert summary == "onnx-int8 (auto: cosine 0.998, top-10 overlap 0.97, 3.1x torch)"


def test_a_lossy_backend_is_never_picked_and_its_reason_is_kept(ws):
    choice = choose_backend(ws, "model-a", _Makers(int8_scale=0.5), TEXTS, candidates=["onnx-int8"])
    assert choice.backend == "torch" and "no other backend passed" in choice.summary
    assert choice.rejected and choice.rejected[0].startswith("onnx-int8: ")


@pytest.mark.parametrize(
    "content",
    [b"", b"{not json", b"[]", b'{"version": 1}', b'{"version": 1, "backend": "gpu-magic"}', b"\xff\xfe\x00"],
)
def test_a_broken_remembered_file_is_checked_again_and_rewritten(ws, content):
    make = _Makers()
    path = save_choice(ws, choose_backend(ws, "model-a", make, TEXTS, candidates=["onnx"]))
    path.write_bytes(content)
    assert load_choice(ws, "model-a") is None
    make.calls.clear()
    again = choose_backend(ws, "model-a", make, TEXTS, candidates=["onnx"])
    assert make.calls and load_choice(ws, "model-a") == again
    assert json.loads(path.read_text())["backend"] == again.backend
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp files left


def test_a_file_of_another_machine_or_model_is_not_used(ws):
    choice = choose_backend(ws, "model-a", _Makers(), TEXTS, candidates=["onnx"])
    path = save_choice(ws, choice)
    data = json.loads(path.read_text()) | {"machine": "another-machine"}
    path.write_text(json.dumps(data))
    assert load_choice(ws, "model-a") is None


def test_without_a_sample_or_on_a_gpu_auto_runs_torch_and_remembers_nothing(ws):
    make = _Makers()
    assert choose_backend(ws, "m", make, None).backend == "torch"
    assert "no corpus sample" in choose_backend(ws, "m", make, []).summary
    assert choose_backend(ws, "m", make, TEXTS, device="cuda").backend == "torch"
    assert make.calls == [] and load_choice(ws, "m") is None


def test_auto_is_the_default_and_a_known_name_everywhere():
    assert CompareOptions().backend == AUTO
    plan = plan_backend(AUTO, "cpu")
    assert plan.requested == AUTO and not plan.fell_back and "(auto:" in plan.label
    with pytest.raises(Exception, match="auto, torch"):
        plan_backend("magic", "cpu")


def test_bert_tiny_auto_checks_once_then_reuses_the_choice(ws):
    enc = make_encoder(TINY_MODEL, ws, backend=AUTO, sample=TEXTS, device="cpu")
    plan = enc.plan
    assert plan.requested == AUTO and plan.backend in BACKENDS and "(auto:" in plan.label
    files = list(ws.cache_dir("backend-choice").iterdir())
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    again = make_encoder(TINY_MODEL, ws, backend=AUTO, device="cpu")  # no sample needed any more
    assert again.plan == plan and files[0].stat().st_mtime_ns == stamp
    forced = make_encoder(TINY_MODEL, ws, backend="torch", device="cpu")
    assert forced.plan.backend == "torch" and forced.plan.auto == ""
    vectors = enc.encode(TEXTS[:5])
    assert vectors.shape == (5, enc.dim) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-3)


@pytest.mark.parametrize("value", ["0", "-3", "two", "1.5"])
def test_a_bad_esl_threads_is_one_clear_error(monkeypatch, value):
    monkeypatch.setenv("ESL_THREADS", value)
    with pytest.raises(ConfigError, match="ESL_THREADS"):
        encoding_threads()


def test_esl_threads_sets_torch_and_blas_once(monkeypatch):
    import torch
    from threadpoolctl import threadpool_info

    before = torch.get_num_threads()
    monkeypatch.setenv("ESL_THREADS", "1")
    try:
        assert encoding_threads() == 1 and configure_threads() == 1
        assert torch.get_num_threads() == 1
        assert all(p["num_threads"] == 1 for p in threadpool_info() if p["user_api"] == "blas")
    finally:
        configure_threads(before)


_KILLED_MIDWAY = """
import os, signal, sys
from core.encoding import choose_backend
from core.runtime import Workspace
from tests.fakes import HashingEncoder

def make(backend):
    if backend == "onnx":
        os.kill(os.getpid(), signal.SIGKILL)  # kill -9 in the middle of the check
    return HashingEncoder()

texts = [f"item{i} cell protein gene {i % 7} tumour" for i in range(300)]
choose_backend(Workspace(sys.argv[1]), "model-a", make, texts, candidates=["onnx"])
"""


def test_a_check_killed_midway_leaves_nothing_and_the_next_use_checks_again(ws, tmp_path):
    import signal
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", _KILLED_MIDWAY, str(ws.home)], cwd=repo, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    folder = ws.cache_dir("backend-choice")
    assert list(folder.iterdir()) == [] and load_choice(ws, "model-a") is None
    make = _Makers()
    assert choose_backend(ws, "model-a", make, TEXTS, candidates=["onnx"]).backend in BACKENDS
    assert make.calls and load_choice(ws, "model-a") is not None
