"""Loading models safely (``trust_remote_code`` off, safetensors preferred) and fingerprinting their weights
(the cache keys of every vector computed with them)."""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from core.models.registry import SPARSE_KIND, ModelInfo, is_sparse_folder, resolve_model
from core.runtime import ModelNotAvailable, Workspace, configure_environment, detect_device

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "DEFAULT_SPARSE_MAX_LENGTH",
    "load_cross_encoder",
    "load_sentence_transformer",
    "load_sparse_encoder",
    "model_fingerprint",
    "quiet_transformers",
]

DEFAULT_MAX_LENGTH = 512  # tokens a model reads when neither the caller nor the model says otherwise
DEFAULT_SPARSE_MAX_LENGTH = 256  # tokens a SPLADE model reads per text unless told otherwise


@functools.lru_cache(maxsize=64)
def _folder_fingerprint(path: str, stamp: tuple) -> str:
    h = hashlib.sha256()
    root = Path(path)
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = file.relative_to(root).as_posix()
        if rel.startswith(("onnx/", ".")) or "/." in rel:
            continue
        size = file.stat().st_size
        h.update(f"{rel}:{size}\n".encode())
        with open(file, "rb") as fh:
            if size <= 4 << 20:
                h.update(fh.read())
            else:  # large weight files: head, middle and tail are enough to tell versions apart
                for offset in (0, size // 2, max(0, size - (1 << 20))):
                    fh.seek(offset)
                    h.update(fh.read(1 << 20))
    return h.hexdigest()[:20]


def model_fingerprint(info: ModelInfo) -> str:
    """Stable id of a model's weights and config (used in cache keys)."""
    if not info.is_local:
        return "hub-" + hashlib.sha256(info.location.encode()).hexdigest()[:16]
    root = Path(info.location)
    stamp = tuple(
        (p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in sorted(root.iterdir()) if p.is_file()
    )
    return _folder_fingerprint(str(root), stamp)


def _safe_model_kwargs(location: str) -> dict[str, Any]:
    path = Path(location)
    if path.is_dir() and not any(path.glob("*.safetensors")) and any(path.glob("*.bin")):
        return {}  # only .bin weights: torch.load with weights_only (torch >= 2.6 default) keeps this safe
    return {"use_safetensors": True} if path.is_dir() else {}


def _refuse_custom_code(info: ModelInfo) -> None:
    """Local folders whose config asks for their own Python code are refused (trust_remote_code is off)."""
    if not info.is_local:
        return
    config = Path(info.location) / "config.json"
    try:
        auto_map = json.loads(config.read_text(encoding="utf-8")).get("auto_map")
    except (OSError, json.JSONDecodeError, AttributeError):
        return
    if auto_map:
        raise ModelNotAvailable(
            f"Model {info.name!r} ({info.location}) needs its own Python code (auto_map in config.json); "
            "it is not run because trust_remote_code is off. Use a model that standard transformers classes load."
        )


def load_sentence_transformer(
    name_or_path: str, ws: Workspace | None = None, *, device: str | None = None
) -> Any:
    """Load a bi-encoder as a ``SentenceTransformer`` (trust_remote_code off)."""
    configure_environment()
    info = resolve_model(name_or_path, ws, kind="bi-encoder")
    _refuse_custom_code(info)
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(
            info.location,
            device=device or detect_device(),
            trust_remote_code=False,
            model_kwargs=_safe_model_kwargs(info.location),
        )
    except Exception as err:  # network or format problems: say which model and why
        raise ModelNotAvailable(f"Could not load model {name_or_path!r} from {info.location}: {err}") from err


def load_cross_encoder(
    name_or_path: str,
    ws: Workspace | None = None,
    *,
    device: str | None = None,
    max_length: int = DEFAULT_MAX_LENGTH,
) -> Any:
    """Load a ``CrossEncoder`` (1 logit). A folder without a trained head gets a random one: check
    :func:`cross_encoder_head_is_trained` and tell the user."""
    configure_environment()
    info = resolve_model(name_or_path, ws, kind="cross-encoder")
    _refuse_custom_code(info)
    from sentence_transformers import CrossEncoder

    try:
        return CrossEncoder(
            info.location,
            num_labels=1,
            device=device or detect_device(),
            max_length=max_length,
            trust_remote_code=False,
            model_kwargs=_safe_model_kwargs(info.location),
        )
    except Exception as err:
        raise ModelNotAvailable(
            f"Could not load cross-encoder {name_or_path!r} from {info.location}: {err}"
        ) from err


def load_sparse_encoder(
    name_or_path: str,
    ws: Workspace | None = None,
    *,
    device: str | None = None,
    max_seq_length: int | None = None,
) -> Any:
    """Load a SPLADE model as a sentence-transformers ``SparseEncoder``: a saved SparseEncoder folder or hub
    id as it is, a plain masked-LM folder (``BertForMaskedLM``, e.g. the packaged ``splade-tiny``) as its MLM
    head followed by SPLADE max pooling (``log(1 + relu(logits))``, max over tokens)."""
    configure_environment()
    info = resolve_model(name_or_path, ws, kind=SPARSE_KIND)
    _refuse_custom_code(info)
    from sentence_transformers import SparseEncoder

    limit = max_seq_length or DEFAULT_SPARSE_MAX_LENGTH
    path = Path(info.location)
    try:
        if not info.is_local or is_sparse_folder(path):
            model = SparseEncoder(
                info.location,
                device=device or detect_device(),
                trust_remote_code=False,
                model_kwargs=_safe_model_kwargs(info.location),
            )
        else:
            from sentence_transformers.base.modules import Transformer
            from sentence_transformers.sparse_encoder.modules import SpladePooling

            mlm = Transformer(
                info.location,
                transformer_task="fill-mask",
                max_seq_length=limit,
                model_kwargs=_safe_model_kwargs(info.location),
            )
            model = SparseEncoder(modules=[mlm, SpladePooling("max")], device=device or detect_device())
    except Exception as err:  # a folder without an MLM head, a bad file, no network: say which and why
        raise ModelNotAvailable(
            f"Could not load SPLADE model {name_or_path!r} from {info.location}: {err}. A SPLADE model is a "
            "saved SparseEncoder folder or a masked-LM folder (config.json with *ForMaskedLM)."
        ) from err
    model.max_seq_length = limit
    return model


def quiet_transformers() -> None:
    """Silence transformers' per-load reports in worker processes (errors still surface)."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
    except ImportError:  # pragma: no cover
        pass
