"""Backend ``auto``: the fastest backend whose vectors pass a parity check on the user's own corpus.

On first use of a model on a machine, :func:`parity_check` encodes a sample of the corpus (200 passages and
50 pseudo-queries: the first words of 50 other passages) with torch fp32 (the reference) and with every
backend that runs here (onnx, onnx-int8, bf16 where native), and measures for each one the cosine of its
vectors to the reference's, the overlap of the top-10 of a tiny search (the pseudo-queries over the 200
passages) with the reference's, and its encoding time. :func:`pick_backend` takes the fastest backend that
passes :class:`ParityThresholds` (and beats torch by :data:`MIN_SPEEDUP`); a backend that fails is never
picked, and its reason is kept. The :class:`AutoChoice` is remembered per (model fingerprint,
:func:`machine_id`) in the workspace (one JSON file, written atomically; a broken one is checked again).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import platform
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.encoding.backends import AUTO, BACKENDS, BackendPlan, backend_statuses, cpu_flags, plan_backend
from core.encoding.threads import encoding_threads
from core.runtime import Workspace, atomic_write_json

__all__ = [
    "AUTO",
    "BACKEND_CHOICES",
    "MIN_SPEEDUP",
    "AutoChoice",
    "BackendCheck",
    "ParityThresholds",
    "auto_plan",
    "choose_backend",
    "load_choice",
    "machine_id",
    "parity_check",
    "parity_sample",
    "pick_backend",
    "remembered_choices",
    "save_choice",
]

BACKEND_CHOICES = (AUTO, *BACKENDS)
REFERENCE = "torch"
MIN_SPEEDUP = 1.1  # a backend must beat torch fp32 by 10% to be picked (timing noise on shared machines)
SAMPLE_PASSAGES = 200
SAMPLE_QUERIES = 50
QUERY_WORDS = 12
TOP_K = 10
_VERSION = 1
_LIBRARIES = ("torch", "onnxruntime", "sentence-transformers", "transformers", "numpy")


@dataclass(frozen=True)
class ParityThresholds:
    """What a backend's vectors must reach against torch fp32 to be picked: the mean and the lowest
    cosine over the sample's passages and queries, and the mean top-10 overlap of the tiny search."""

    mean_cosine: float = 0.99
    min_cosine: float = 0.95
    top10_overlap: float = 0.95

    def failures(self, mean_cos: float, min_cos: float, overlap: float) -> list[str]:
        out = []
        if mean_cos < self.mean_cosine:
            out.append(f"mean cosine {mean_cos:.4f} < {self.mean_cosine}")
        if min_cos < self.min_cosine:
            out.append(f"lowest cosine {min_cos:.4f} < {self.min_cosine}")
        if overlap < self.top10_overlap:
            out.append(f"top-10 overlap {overlap:.3f} < {self.top10_overlap}")
        return out


@dataclass(frozen=True)
class BackendCheck:
    """One backend's result in the parity check (``passed`` False: ``reason`` says why)."""

    backend: str
    passed: bool
    mean_cosine: float = 0.0
    min_cosine: float = 0.0
    top10_overlap: float = 0.0
    seconds: float = 0.0  # encoding the sample's passages
    speedup: float = 0.0  # torch fp32's time / this one's
    reason: str = ""

    @property
    def text(self) -> str:
        if not self.seconds and not self.passed:
            return f"{self.backend}: failed — {self.reason}"
        head = (
            f"{self.backend}: cosine {self.mean_cosine:.3f} (min {self.min_cosine:.3f}), "
            f"top-10 overlap {self.top10_overlap:.2f}, {self.speedup:.1f}x torch"
        )
        return head + ("" if self.passed else f" — failed: {self.reason}")


@dataclass(frozen=True)
class AutoChoice:
    """The backend ``auto`` runs for one model on one machine, with the check that chose it."""

    backend: str
    model_fingerprint: str
    machine: str
    checks: tuple[BackendCheck, ...] = ()
    passages: int = 0
    queries: int = 0
    thresholds: ParityThresholds = field(default_factory=ParityThresholds)
    reason: str = ""  # why auto ran torch without a check (e.g. no corpus sample), or why torch won
    checked_at: float = 0.0
    model: str = ""  # the model's name, for display

    def check(self, backend: str) -> BackendCheck | None:
        return next((c for c in self.checks if c.backend == backend), None)

    @property
    def summary(self) -> str:
        """E.g. ``onnx-int8 (auto: cosine 0.998, top-10 overlap 0.97, 3.1x torch)``."""
        chosen = self.check(self.backend)
        if chosen is None or self.backend == REFERENCE:
            why = self.reason or "no other backend passed and was faster"
            return f"{self.backend} (auto: {why})"
        return (
            f"{self.backend} (auto: cosine {chosen.mean_cosine:.3f}, top-10 overlap "
            f"{chosen.top10_overlap:.2f}, {chosen.speedup:.1f}x torch)"
        )

    @property
    def rejected(self) -> list[str]:
        """``backend: reason`` for every backend that failed the check."""
        return [f"{c.backend}: {c.reason}" for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        return {"version": _VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AutoChoice:
        """Raises ``ValueError`` (``KeyError``, ``TypeError``) when ``data`` is not a stored choice."""
        if not isinstance(data, Mapping) or data.get("version") != _VERSION:
            raise ValueError("not a stored backend choice")
        checks = tuple(BackendCheck(**c) for c in data["checks"])
        choice = cls(
            backend=str(data["backend"]),
            model_fingerprint=str(data["model_fingerprint"]),
            machine=str(data["machine"]),
            checks=checks,
            passages=int(data["passages"]),
            queries=int(data["queries"]),
            thresholds=ParityThresholds(**data["thresholds"]),
            reason=str(data.get("reason", "")),
            checked_at=float(data.get("checked_at", 0.0)),
            model=str(data.get("model", "")),
        )
        if choice.backend not in BACKENDS:
            raise ValueError(f"unknown backend {choice.backend!r}")
        return choice


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def machine_id() -> str:
    """Id of what decides backend speed here: CPU model, its flags, the cores and threads encoding uses,
    and the versions of the libraries that run the backends."""
    parts = {
        "cpu": _cpu_model(),
        "arch": platform.machine(),
        "flags": sorted(cpu_flags()),
        "threads": encoding_threads(),
        "libraries": {p: _version(p) for p in _LIBRARIES},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _choice_path(ws: Workspace, model_fp: str, machine: str) -> Path:
    return ws.cache_dir("backend-choice") / f"{model_fp}-{machine}.json"


def load_choice(ws: Workspace, model_fp: str, machine: str | None = None) -> AutoChoice | None:
    """The remembered choice for ``model_fp`` on this machine; None when there is none or the file is
    broken or not this model's and machine's (then the check runs again and overwrites it)."""
    machine = machine or machine_id()
    path = _choice_path(ws, model_fp, machine)
    try:
        choice = AutoChoice.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if choice.model_fingerprint != model_fp or choice.machine != machine:
        return None
    return choice


def remembered_choices(ws: Workspace, machine: str | None = None) -> list[AutoChoice]:
    """Every choice remembered in ``ws`` for this machine (broken files left out), newest first."""
    machine = machine or machine_id()
    out = []
    for path in ws.cache_dir("backend-choice").glob(f"*-{machine}.json"):
        choice = load_choice(ws, path.name[: -len(f"-{machine}.json")], machine)
        if choice is not None:
            out.append(choice)
    return sorted(out, key=lambda c: -c.checked_at)


def save_choice(ws: Workspace, choice: AutoChoice) -> Path:
    path = _choice_path(ws, choice.model_fingerprint, choice.machine)
    atomic_write_json(path, choice.to_dict())
    return path


def parity_sample(
    texts: Sequence[str], *, passages: int = SAMPLE_PASSAGES, queries: int = SAMPLE_QUERIES, seed: int = 0
) -> tuple[list[str], list[str]]:
    """``passages`` random texts of the corpus and ``queries`` pseudo-queries (the first
    :data:`QUERY_WORDS` words of other texts); fewer when the corpus is small."""
    usable = [i for i, t in enumerate(texts) if isinstance(t, str) and t.strip()]
    rng = random.Random(seed)
    picked = rng.sample(usable, min(len(usable), passages + queries))
    n_q = min(queries, len(picked) // 5)
    docs = [texts[i] for i in picked[: len(picked) - n_q]]
    qs = [" ".join(texts[i].split()[:QUERY_WORDS]) for i in picked[len(picked) - n_q :]]
    return docs, qs


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _top(queries: np.ndarray, docs: np.ndarray, k: int) -> np.ndarray:
    scores = queries @ docs.T
    k = min(k, docs.shape[0])
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def _encode_timed(encoder: Any, docs: list[str], queries: list[str]) -> tuple[np.ndarray, np.ndarray, float]:
    encoder.encode(docs[:4], batch_size=32)  # warm-up: one-off start costs are not timed
    start = time.perf_counter()
    d = encoder.encode(docs, batch_size=32)
    seconds = max(time.perf_counter() - start, 1e-6)
    q = encoder.encode(queries, batch_size=32) if queries else np.zeros((0, d.shape[1]), np.float32)
    return _unit(d), _unit(q), seconds


def _compare(
    name: str,
    got: tuple[np.ndarray, np.ndarray, float],
    ref: tuple[np.ndarray, np.ndarray, float],
    th: ParityThresholds,
) -> BackendCheck:
    d, q, seconds = got
    rd, rq, ref_s = ref
    if d.shape != rd.shape or q.shape != rq.shape:
        return BackendCheck(name, False, reason=f"vectors of shape {d.shape} instead of {rd.shape}")
    cos = np.concatenate([(d * rd).sum(1), (q * rq).sum(1)])
    if len(q):
        mine, theirs = _top(q, d, TOP_K), _top(rq, rd, TOP_K)
        overlap = float(np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(mine, theirs, strict=True)]))
    else:
        overlap = 1.0
    mean_cos, min_cos = float(cos.mean()), float(cos.min())
    failed = th.failures(mean_cos, min_cos, overlap)
    return BackendCheck(
        name, not failed, mean_cos, min_cos, overlap, seconds, ref_s / seconds, "; ".join(failed)
    )


def parity_check(
    makers: Mapping[str, Callable[[], Any]],
    docs: Sequence[str],
    queries: Sequence[str],
    *,
    thresholds: ParityThresholds | None = None,
) -> tuple[BackendCheck, ...]:
    """Encode ``docs`` and ``queries`` with every backend of ``makers`` (name -> a function building its
    encoder; ``torch`` is the reference and must be there) and compare each with the reference. A backend
    whose encoder cannot be built or fails to encode fails the check with that error as its reason."""
    th = thresholds or ParityThresholds()
    docs, queries = list(docs), list(queries)
    ref = _encode_timed(makers[REFERENCE](), docs, queries)
    out = [BackendCheck(REFERENCE, True, 1.0, 1.0, 1.0, ref[2], 1.0)]
    for name, make in makers.items():
        if name == REFERENCE:
            continue
        try:
            got = _encode_timed(make(), docs, queries)
        except Exception as err:
            out.append(BackendCheck(name, False, reason=f"{type(err).__name__}: {err}"[:300]))
            continue
        out.append(_compare(name, got, ref, th))
    return tuple(out)


def pick_backend(checks: Sequence[BackendCheck], *, min_speedup: float = MIN_SPEEDUP) -> tuple[str, str]:
    """``(backend, reason)``: the fastest backend that passed and beats torch fp32 by ``min_speedup``;
    torch when none does (``reason`` says so)."""
    fast = [c for c in checks if c.passed and c.backend != REFERENCE and c.speedup >= min_speedup]
    if fast:
        return max(fast, key=lambda c: c.speedup).backend, ""
    passed_slow = [c.backend for c in checks if c.passed and c.backend != REFERENCE]
    if passed_slow:
        return (
            REFERENCE,
            f"no backend was {min_speedup:.1f}x faster than torch fp32 ({', '.join(passed_slow)} passed)",
        )
    return REFERENCE, "no other backend passed the check" if len(checks) > 1 else "no other backend runs here"


def choose_backend(
    ws: Workspace,
    model_fp: str,
    make: Callable[[str], Any],
    sample: Sequence[str] | None,
    *,
    device: str = "cpu",
    candidates: Sequence[str] | None = None,
    thresholds: ParityThresholds | None = None,
    force: bool = False,
    model: str = "",
) -> AutoChoice:
    """The backend ``auto`` runs for the model ``model_fp``: the remembered choice for this machine, or
    (``force``, none remembered, or a broken file) a parity check of ``candidates`` (default: every backend
    that runs on ``device``) on ``sample`` (corpus texts), remembered in ``ws``. ``make(backend)`` builds an
    encoder. On a GPU, or without a sample, torch runs and nothing is remembered."""
    machine = machine_id()
    if not force and (remembered := load_choice(ws, model_fp, machine)) is not None:
        return remembered
    if not device.startswith("cpu"):
        return AutoChoice(REFERENCE, model_fp, machine, reason=f"on {device} torch is the fast path")
    if candidates is None:
        candidates = [s.backend for s in backend_statuses(device) if s.available]
    docs, queries = parity_sample(list(sample or ()))
    if len(docs) < 2:
        return AutoChoice(REFERENCE, model_fp, machine, reason="no corpus sample to check the backends on")
    makers = {b: functools.partial(make, b) for b in dict.fromkeys([REFERENCE, *candidates])}
    th = thresholds or ParityThresholds()
    checks = parity_check(makers, docs, queries, thresholds=th)
    backend, reason = pick_backend(checks)
    choice = AutoChoice(
        backend, model_fp, machine, checks, len(docs), len(queries), th, reason, time.time(), model
    )
    save_choice(ws, choice)
    return choice


def auto_plan(choice: AutoChoice, device: str | None = None) -> BackendPlan:
    """The :class:`BackendPlan` of ``choice``: requested ``auto``, its summary as the label."""
    plan = plan_backend(choice.backend, device)
    chosen = choice.check(choice.backend)
    rate = choice.passages / chosen.seconds if chosen is not None and chosen.seconds else 0.0
    return dataclasses.replace(plan, requested=AUTO, auto=choice.summary, texts_per_s=rate)
