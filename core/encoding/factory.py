"""The one encoder factory: :func:`make_encoder` builds an :class:`~core.encoding.Encoder` for a model on
the requested backend (torch | onnx | onnx-int8 | bf16), exporting and quantising ONNX files into the
workspace on first use. Every encoder has a ``plan`` (:class:`BackendPlan`) saying which backend, device
and precision really run, and why when the request fell back to torch.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from core.encoding.auto import auto_plan, choose_backend, load_choice
from core.encoding.backends import AUTO, BackendPlan, plan_backend
from core.encoding.embeddings import EncodeSettings, SentenceTransformerEncoder, encoder_cache_key
from core.encoding.onnx import (
    FP32_FILE,
    INT8_FILE,
    META_FILE,
    OnnxEncoder,
    export_bi_encoder,
    export_cross_encoder,
    onnx_files,
    quantize_int8,
)
from core.encoding.static import STATIC_KIND, StaticEncoder, static_plan
from core.encoding.threads import configure_threads
from core.models import (
    load_cross_encoder,
    load_sentence_transformer,
    memoized,
    model_fingerprint,
    resolve_model,
)
from core.runtime import Workspace

__all__ = ["encoder_fingerprint", "ensure_onnx_export", "folder_lock", "make_encoder", "resolve_backend"]


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """One exporter per folder across processes (the app, a job worker and the CLI may all ask)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: atomic renames still keep files whole
        yield
        return
    with open(folder / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_onnx_export(
    model: str, ws: Workspace | None, *, kind: str = "bi-encoder", int8: bool = False
) -> Path:
    """The export folder of ``model`` (``kind``: bi-encoder or cross-encoder), exporting the fp32 graph
    and, with ``int8``, the quantised one when they are not cached yet."""

    ws = ws or Workspace()
    info = resolve_model(model, ws, kind=kind)
    folder = onnx_files(ws, model_fingerprint(info), kind)
    with folder_lock(folder):
        if not (folder / FP32_FILE).exists() or not (folder / META_FILE).exists():
            if kind == "cross-encoder":
                export_cross_encoder(load_cross_encoder(model, ws, device="cpu"), folder)
            else:
                export_bi_encoder(load_sentence_transformer(model, ws, device="cpu"), folder)
        if int8 and not (folder / INT8_FILE).exists():
            quantize_int8(folder)
    return folder


def encoder_fingerprint(
    model: str,
    ws: Workspace | None = None,
    *,
    backend: str = "torch",
    max_seq_length: int | None = None,
    device: str | None = None,
) -> str:
    """The fingerprint the encoder of :func:`make_backend_encoder` would have, without loading it
    (to ask the embedding cache whether a corpus is already encoded)."""

    info = resolve_model(model, ws, kind="bi-encoder")
    if info.kind == STATIC_KIND:  # one encoding whatever the backend (StaticEncoder's fingerprint)
        settings = EncodeSettings("static", max_seq_length, precision="fp32")
        return encoder_cache_key(model_fingerprint(info), settings)
    model_fp = model_fingerprint(info)
    remembered = load_choice(ws or Workspace(), model_fp) if backend == AUTO else None
    plan = plan_backend(remembered.backend if remembered else backend, device)  # auto unchecked: torch
    settings = EncodeSettings(plan.backend, max_seq_length, precision=plan.precision)
    return encoder_cache_key(model_fp, settings)


def make_encoder(
    model: str,
    ws: Workspace | None = None,
    *,
    backend: str = "torch",
    max_seq_length: int | None = None,
    device: str | None = None,
    sort_by_length: bool = True,
    threads: int | None = None,
    plan: BackendPlan | None = None,
    sample: Sequence[str] | None = None,
) -> Any:
    """``model`` as an :class:`core.encoding.Encoder` on ``backend`` (falling back to torch with a
    reason in ``encoder.plan`` when the backend cannot run here). ``threads`` caps ONNX Runtime's
    threads (torch's are process-wide: ``torch.set_num_threads``); ``plan`` overrides
    :func:`plan_backend`. ``auto``: the backend remembered for this model and machine, else the one a
    parity check on ``sample`` (corpus texts) picks (core.encoding.auto); torch without a sample. In a
    warm job worker the encoder is kept between jobs (``core.models.memoized``), keyed by the weights'
    fingerprint and every setting; elsewhere every call builds one. A static model (kind ``static``)
    becomes a :class:`StaticEncoder` whatever the backend (its plan says so)."""
    configure_threads(threads)
    info = resolve_model(model, ws, kind="bi-encoder")
    if info.kind == STATIC_KIND:
        static = StaticEncoder(info, max_seq_length=max_seq_length)
        static.plan = static_plan(backend)
        return static
    model_fp = model_fingerprint(info)
    plan = plan or resolve_backend(
        model, ws, backend, sample=sample, device=device, max_seq_length=max_seq_length, model_fp=model_fp
    )
    key = f"encoder|{model_fp}|{plan}|{max_seq_length}|{sort_by_length}|{threads}|{ws and ws.home}"
    build = functools.partial(_build_encoder, model, ws, info, model_fp, plan, max_seq_length=max_seq_length)
    return memoized(key, functools.partial(build, sort_by_length=sort_by_length, threads=threads))


def _build_encoder(
    model: str,
    ws: Workspace | None,
    info: Any,
    model_fp: str,
    plan: BackendPlan,
    *,
    max_seq_length: int | None,
    sort_by_length: bool,
    threads: int | None,
) -> Any:
    """The encoder of :func:`make_encoder`, built afresh."""
    settings = EncodeSettings(plan.backend, max_seq_length, precision=plan.precision)
    encoder: Any
    if plan.backend in ("onnx", "onnx-int8"):
        int8 = plan.backend == "onnx-int8"
        folder = ensure_onnx_export(model, ws, kind="bi-encoder", int8=int8)
        encoder = OnnxEncoder(
            folder,
            name=info.name,
            fingerprint=encoder_cache_key(model_fp, settings),
            int8=int8,
            max_seq_length=max_seq_length,
            threads=threads,
            sort_by_length=sort_by_length,
        )
    else:
        st_model = load_sentence_transformer(model, ws, device=plan.device)
        encoder = SentenceTransformerEncoder(
            st_model, info.name, model_fp, settings, sort_by_length=sort_by_length
        )
    encoder.plan = plan
    configure_threads(threads)  # again once torch is loaded
    return encoder


def resolve_backend(
    model: str,
    ws: Workspace | None,
    backend: str,
    *,
    sample: Sequence[str] | None = None,
    device: str | None = None,
    max_seq_length: int | None = None,
    model_fp: str | None = None,
) -> BackendPlan:
    """What ``backend`` becomes for ``model`` here: :func:`plan_backend`, and for ``auto`` the remembered
    choice of this model and machine or a parity check on ``sample`` (see :func:`make_encoder`)."""
    if backend != AUTO:
        return plan_backend(backend, device)
    device = device or plan_backend("torch").device
    model_fp = model_fp or model_fingerprint(resolve_model(model, ws, kind="bi-encoder"))

    def make(backend: str) -> Any:
        return make_encoder(model, ws, backend=backend, max_seq_length=max_seq_length, device=device)

    choice = choose_backend(ws or Workspace(), model_fp, make, sample, device=device, model=model)
    return auto_plan(choice, device)
