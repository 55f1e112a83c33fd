"""Encoding backends: torch | onnx | onnx-int8 | bf16 for bi-encoders and cross-encoders.

:func:`make_backend_encoder` and :func:`make_backend_reranker` build an encoder (the
:class:`core.embeddings.Encoder` contract) or a reranker (``score(query, passages)``) on the requested
backend, exporting and quantising ONNX files into the workspace on first use. Each returned object has
a ``plan`` (:class:`BackendPlan`) saying which backend, device and precision really run, and why when
the request fell back to torch. :func:`estimate_encode_time` and :func:`truncation_stats` help decide
before a long encode.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from core.backends.estimate import EncodeEstimate, TruncationStats, estimate_encode_time, truncation_stats
from core.backends.parallel import encode_parallel
from core.backends.support import (
    BACKEND_DESCRIPTIONS,
    BACKENDS,
    BackendPlan,
    BackendStatus,
    backend_statuses,
    bf16_support,
    cpu_flags,
    onnx_support,
    plan_backend,
)
from core.store import Workspace

__all__ = [
    "BACKENDS",
    "BACKEND_DESCRIPTIONS",
    "BackendPlan",
    "BackendStatus",
    "EncodeEstimate",
    "TruncationStats",
    "backend_statuses",
    "backend_variants",
    "bf16_support",
    "cpu_flags",
    "encode_parallel",
    "encoder_fingerprint",
    "ensure_onnx_export",
    "estimate_encode_time",
    "make_backend_encoder",
    "make_backend_reranker",
    "onnx_support",
    "plan_backend",
    "truncation_stats",
]


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
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
    from core.backends import onnx as ox
    from core.models import load_cross_encoder, load_sentence_transformer, model_fingerprint, resolve_model

    ws = ws or Workspace()
    info = resolve_model(model, ws, kind=kind)
    folder = ox.onnx_files(ws, model_fingerprint(info), kind)
    with _folder_lock(folder):
        if not (folder / ox.FP32_FILE).exists() or not (folder / ox.META_FILE).exists():
            if kind == "cross-encoder":
                ox.export_cross_encoder(load_cross_encoder(model, ws, device="cpu"), folder)
            else:
                ox.export_bi_encoder(load_sentence_transformer(model, ws, device="cpu"), folder)
        if int8 and not (folder / ox.INT8_FILE).exists():
            ox.quantize_int8(folder)
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
    from core.embeddings import EncodeSettings, encoder_cache_key
    from core.models import model_fingerprint, resolve_model

    plan = plan_backend(backend, device)
    info = resolve_model(model, ws, kind="bi-encoder")
    settings = EncodeSettings(plan.backend, max_seq_length, precision=plan.precision)
    return encoder_cache_key(model_fingerprint(info), settings)


def make_backend_encoder(
    model: str,
    ws: Workspace | None = None,
    *,
    backend: str = "torch",
    max_seq_length: int | None = None,
    device: str | None = None,
    sort_by_length: bool = True,
    threads: int | None = None,
    plan: BackendPlan | None = None,
) -> Any:
    """``model`` as an :class:`core.embeddings.Encoder` on ``backend`` (falling back to torch with a
    reason in ``encoder.plan`` when the backend cannot run here). ``threads`` caps ONNX Runtime's
    threads (torch's are process-wide: ``torch.set_num_threads``); ``plan`` overrides
    :func:`plan_backend`."""
    from core.embeddings import EncodeSettings, SentenceTransformerEncoder, encoder_cache_key
    from core.models import load_sentence_transformer, model_fingerprint, resolve_model

    plan = plan or plan_backend(backend, device)
    info = resolve_model(model, ws, kind="bi-encoder")
    model_fp = model_fingerprint(info)
    settings = EncodeSettings(plan.backend, max_seq_length, precision=plan.precision)
    encoder: Any
    if plan.backend in ("onnx", "onnx-int8"):
        from core.backends.onnx import OnnxEncoder

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
    return encoder


def make_backend_reranker(
    model: str,
    ws: Workspace | None = None,
    *,
    backend: str = "torch",
    batch_size: int = 32,
    max_length: int = 512,
    device: str | None = None,
) -> Any:
    """A cross-encoder reranker (``score(query, passages)``) on ``backend``; ``plan`` as for encoders."""
    from core.models import cross_encoder_head_is_trained, load_cross_encoder, resolve_model
    from core.retrieval.rerank import CrossEncoderReranker

    plan = plan_backend(backend, device)
    info = resolve_model(model, ws, kind="cross-encoder")
    trained = cross_encoder_head_is_trained(info.location)
    reranker: Any
    if plan.backend in ("onnx", "onnx-int8"):
        from core.backends.onnx import OnnxCrossEncoder

        int8 = plan.backend == "onnx-int8"
        folder = ensure_onnx_export(model, ws, kind="cross-encoder", int8=int8)
        reranker = OnnxCrossEncoder(
            folder,
            name=info.name,
            head_trained=trained,
            int8=int8,
            batch_size=batch_size,
            max_length=max_length,
        )
    else:
        ce = load_cross_encoder(model, ws, device=plan.device, max_length=max_length)
        if plan.precision in ("bf16", "fp16"):
            import torch

            ce.to(torch.bfloat16 if plan.precision == "bf16" else torch.float16)
        reranker = CrossEncoderReranker(ce, info.name, trained, batch_size)
    reranker.plan = plan
    return reranker


def backend_variants(specs: Mapping[str, Any], backends: Sequence[str]) -> dict[str, Any]:
    """``specs`` plus, for each dense strategy, one copy per extra backend (named ``dense-onnx-int8``
    …): run them in one comparison to see what each backend costs in quality next to torch fp32."""
    from core.retrieval import DenseSpec

    out = dict(specs)
    for name, spec in specs.items():
        if not isinstance(spec, DenseSpec):
            continue
        for backend in backends:
            if backend == spec.backend:
                continue
            plan_backend(backend, "cpu")  # validates the name
            out[f"{name}-{backend}"] = dataclasses.replace(spec, backend=backend)
    return out
