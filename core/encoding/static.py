"""Static embeddings: model2vec models distilled from a sentence-transformer, and their encoder.

A static model keeps one vector per token of its teacher's vocabulary (computed once by running the teacher
on every token, then PCA and SIF weighting: model2vec's ``distill``); encoding a text is a lookup and a mean,
no transformer forward pass, which makes it one to two orders of magnitude faster on a CPU at a loss in
quality. :func:`distill_static` makes one offline from any local bi-encoder folder and registers it in the
workspace (kind :data:`STATIC_KIND`); :class:`StaticEncoder` is the :class:`~core.encoding.Encoder` for it,
used wherever a dense model is (``make_encoder`` picks it by the model's kind).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.encoding.backends import BackendPlan
from core.encoding.embeddings import EncodeSettings, encoder_cache_key, normalize_rows
from core.models import ModelInfo, model_fingerprint, quiet_transformers, resolve_model
from core.runtime import (
    InvalidInput,
    ModelNotAvailable,
    RateTracker,
    Reporter,
    StoreError,
    Workspace,
    log,
    report,
)

__all__ = [
    "DEFAULT_STATIC_MODEL",
    "STATIC_KIND",
    "StaticEncoder",
    "distill_static",
    "is_static_folder",
    "static_plan",
]

STATIC_KIND = "static"  # the kind of a registered static model
DEFAULT_STATIC_MODEL = "minilm-static"  # what the ``static`` strategy uses unless told otherwise
DEFAULT_PCA_DIMS = 256  # model2vec's default: PCA of the token vectors to 256 dimensions
_CHUNK = 8192  # texts per progress report (a static model encodes ~10^4-10^5 texts/s)


def is_static_folder(path: str | Path) -> bool:
    """True when ``path`` holds a model2vec static model (config.json with ``model_type`` model2vec)."""
    try:
        config = json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("model_type") == "model2vec"


def static_plan(requested: str = "torch") -> BackendPlan:
    """What any backend request becomes for a static model: a lookup table on the CPU."""
    return BackendPlan(
        requested, "static", "cpu", "fp32", note="static model: token lookup and mean, no transformer"
    )


class StaticEncoder:
    """An :class:`~core.encoding.Encoder` over a model2vec static model (L2-normalised float32 vectors).
    Its fingerprint is the folder's weight fingerprint with backend ``static`` (never shared with a
    transformer's vectors)."""

    def __init__(self, info: ModelInfo, *, max_seq_length: int | None = None):
        if not is_static_folder(info.location):
            raise ModelNotAvailable(f"{info.name!r} ({info.location}) is not a model2vec static model.")
        from model2vec import StaticModel  # lazy: only static models need it

        try:
            self.model = StaticModel.from_pretrained(info.location, force_download=False)
        except Exception as err:  # broken or partial folder: say which and why
            raise ModelNotAvailable(
                f"Could not load static model {info.name!r} from {info.location}: {err}"
            ) from err
        self.name = info.name
        self.max_seq_length = max_seq_length
        settings = EncodeSettings("static", max_seq_length, precision="fp32")
        self.fingerprint = encoder_cache_key(model_fingerprint(info), settings)
        self.dim = int(self.model.dim)
        self.plan = static_plan()

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 1024, progress: Reporter | None = None
    ) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        kwargs: dict[str, Any] = {"show_progress_bar": False, "use_multiprocessing": False}
        if self.max_seq_length:
            kwargs["max_length"] = self.max_seq_length
        tracker = RateTracker()
        parts = []
        for start in range(0, len(texts), _CHUNK):
            part = texts[start : start + _CHUNK]
            parts.append(self.model.encode(part, batch_size=max(batch_size, 256), **kwargs))
            done = start + len(part)
            report(progress, "encode", done, len(texts), "static lookup", rate=tracker.rate(done))
        return normalize_rows(np.concatenate(parts).astype(np.float32, copy=False))


def _distill(location: str, pca_dims: int | None) -> Any:
    from model2vec.distill import distill  # lazy: imports torch and transformers

    quiet_transformers()
    try:
        return distill(location, pca_dims=pca_dims, trust_remote_code=False, device="cpu")
    except Exception as err:  # not a transformer folder, broken weights, too few dimensions for PCA ...
        raise ModelNotAvailable(f"Could not distil a static model from {location}: {err}") from err


def _check_distill(source: ModelInfo, pca_dims: int | None) -> None:
    if not source.is_local:
        raise ModelNotAvailable(
            f"Distil from a local model folder: {source.name!r} would come from the hub. "
            "Download it first and give its folder."
        )
    if source.kind not in ("bi-encoder", "mlm") or is_static_folder(source.location):
        raise InvalidInput(
            f"{source.name!r} is a {source.kind if not is_static_folder(source.location) else STATIC_KIND} "
            "model; distil from a sentence-transformer (bi-encoder) folder."
        )
    if pca_dims is not None and (isinstance(pca_dims, bool) or not isinstance(pca_dims, int) or pca_dims < 2):
        raise InvalidInput(f"pca_dims must be a whole number of at least 2 (or none), not {pca_dims!r}.")


def distill_static(
    source: str,
    name: str,
    ws: Workspace,
    *,
    pca_dims: int | None = DEFAULT_PCA_DIMS,
    progress: Reporter | None = None,
) -> ModelInfo:
    """Distil a static model from bi-encoder ``source`` (a registered, packaged or local model; offline:
    only its folder is read) and register it as ``name`` (kind ``static``, ``base`` the source). Nothing is
    registered or left behind when it fails."""
    name = ws.check_name(name, "model name")
    if ws.get_model(name) is not None:
        raise StoreError(f"A model named {name!r} is already registered; choose another name.")
    info = resolve_model(source, ws, kind="bi-encoder")
    _check_distill(info, pca_dims)
    config = Path(info.location) / "config.json"
    if not config.is_file():
        raise ModelNotAvailable(f"{info.location} is not a model folder (no config.json).")
    log(progress, f"distilling {name!r} from {info.name} (PCA {pca_dims or 'off'})")
    staging = ws.staging_dir()
    try:
        model = _distill(info.location, pca_dims)
        staged = staging / "model"
        model.save_pretrained(str(staged))
        meta = {
            "description": f"static (model2vec) distilled from {info.name}, {int(model.dim)}-d",
            "dim": int(model.dim),
            "pca_dims": pca_dims,
            "teacher_fingerprint": model_fingerprint(info),
        }
        record = ws.install_model(name, STATIC_KIND, staged, base=info.name, meta=meta)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report(progress, "distill", 1, 1, f"{name}: {meta['dim']}-d static model")
    return ModelInfo(
        record.name, record.kind, record.path, "workspace", meta["description"], record.base, meta
    )
