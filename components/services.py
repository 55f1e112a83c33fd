"""Thin cached service layer between pages and ``core``.

``st.cache_resource`` holds live objects keyed by names (workspace, models); ``st.cache_data`` holds
results keyed by names and fingerprints. Pages call these functions instead of ``core`` loaders.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.config import get_settings
from core.store import Workspace


@st.cache_resource(show_spinner=False)
def _workspace(home: str) -> Workspace:
    ws = Workspace(home)
    from core.datasets import cleanup_stale_files

    cleanup_stale_files(ws)
    return ws


def workspace() -> Workspace:
    """The workspace of ``ESL_HOME`` (one handle per folder)."""
    return _workspace(str(get_settings().home))


@st.cache_resource(show_spinner=False, max_entries=8)
def _dataset(home: str, name: str, created: float) -> Any:
    from core.datasets import load_dataset

    return load_dataset(Workspace(home), name)


def dataset(name: str) -> Any:
    """A stored dataset by name (cached until it is re-imported)."""
    ws = workspace()
    record = ws.get_dataset(name)
    if record is None:
        from core.store import StoreError

        raise StoreError(f"No dataset named {name!r}.")
    return _dataset(str(ws.home), name, record.created)


def clear_dataset_cache() -> None:
    _dataset.clear()


@st.cache_resource(show_spinner="Loading model…", max_entries=4)
def encoder(model: str, backend: str = "torch", max_seq_length: int | None = None) -> Any:
    """A bi-encoder as a ``core.embeddings.Encoder``, loaded once per (model, backend, max length)."""
    from core.embeddings import get_encoder

    return get_encoder(model, workspace(), backend=backend, max_seq_length=max_seq_length)


@st.cache_data(show_spinner=False, ttl=3600)
def device_name() -> str:
    from core.config import detect_device

    return detect_device()


@st.cache_data(show_spinner=False, ttl=600)
def offline() -> bool:
    from core.config import is_offline

    return is_offline()


@st.cache_data(show_spinner=False, max_entries=16)
def _dataset_stats(home: str, name: str, created: float) -> dict[str, Any]:
    from components.data_views import dataset_stats

    return dataset_stats(_dataset(home, name, created))


def dataset_stats(name: str) -> dict[str, Any]:
    """Statistics tables of a stored dataset (for the Data page charts), cached per import."""
    ws = workspace()
    record = ws.get_dataset(name)
    if record is None:
        from core.store import StoreError

        raise StoreError(f"No dataset named {name!r}.")
    return _dataset_stats(str(ws.home), name, record.created)


@st.cache_data(show_spinner=False, max_entries=8)
def inspect_upload(file_id: str, file_name: str, _data: bytes) -> Any:
    """Columns and guesses of an uploaded table (keyed by the upload's id, not its bytes)."""
    from core.datasets import inspect_table, staged_files

    with staged_files(workspace(), {file_name: _data}) as paths:
        return inspect_table(paths[file_name])


@st.cache_data(show_spinner=False, max_entries=8)
def inspect_path(path: str, mtime: float) -> Any:
    """Columns and guesses of a table (or folder of split tables) on disk."""
    from core.datasets import inspect_table

    return inspect_table(path)


# -- few-shot classification (Classify page) ---------------------------------------------------------
@st.cache_resource(show_spinner="Loading the SetFit model…", max_entries=2)
def _setfit_model(path: str, stamp: float) -> Any:
    from core.training.setfit import load_setfit

    return load_setfit(path)


def setfit_model(path: str) -> Any:
    """A saved SetFit model folder, loaded once (reloaded if the folder changes)."""
    from pathlib import Path

    return _setfit_model(path, (Path(path) / "model_head.pkl").stat().st_mtime)


@st.cache_data(show_spinner="Packing the model…", max_entries=2)
def zipped_folder(path: str, stamp: float) -> bytes:
    """A folder as zip bytes (for download buttons)."""
    import io
    import zipfile
    from pathlib import Path

    root = Path(path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            zf.write(file, Path(root.name) / file.relative_to(root))
    return buf.getvalue()


@st.cache_resource(show_spinner="Loading the dataset…", max_entries=4)
def _resolved_dataset(home: str, name_or_path: str, stamp: float) -> Any:
    from core.datasets import resolve_dataset

    return resolve_dataset(Workspace(home), name_or_path)


def resolved_dataset(name_or_path: str) -> Any:
    """A stored dataset by name or one loaded from a path (not imported), cached."""
    ws = workspace()
    record = ws.get_dataset(name_or_path)
    return _resolved_dataset(str(ws.home), name_or_path, record.created if record else 0.0)


# -- encoding backends (core.backends) ---------------------------------------------------------------
@st.cache_data(show_spinner=False, ttl=3600)
def backend_statuses() -> list[Any]:
    """Every encoding backend with whether it runs on this machine's device, and why not."""
    from core.backends import backend_statuses as statuses
    from core.config import detect_device

    return statuses(detect_device())


@st.cache_data(show_spinner=False, ttl=3600)
def backend_plan(backend: str) -> Any:
    """What ``backend`` becomes here (backend, device, precision, fallback reason)."""
    from core.backends import plan_backend

    return plan_backend(backend)


def dataset_size(name: str) -> int:
    return len(dataset(name).corpus)


def corpus_cached(name: str, model: str, backend: str, max_seq_length: int | None = None) -> bool:
    """Whether the embedding cache already holds the corpus of ``name`` for this model and backend."""
    from core.backends import encoder_fingerprint
    from core.embeddings import EmbeddingCache

    ds = dataset(name)
    fp = encoder_fingerprint(model, workspace(), backend=backend, max_seq_length=max_seq_length)
    return EmbeddingCache(workspace()).path(fp, ds.fingerprint).exists()


@st.cache_data(show_spinner=False, max_entries=32)
def _encode_estimate(home: str, name: str, created: float, model: str, backend: str, msl: int | None) -> Any:
    from core.backends import estimate_encode_time

    return estimate_encode_time(encoder(model, backend, msl), dataset(name).doc_texts())


def encode_estimate(name: str, model: str, backend: str, max_seq_length: int | None = None) -> Any:
    """Expected time to encode the corpus of ``name`` (a short timed sample, cached per dataset import)."""
    ws = workspace()
    record = ws.get_dataset(name)
    created = record.created if record is not None else 0.0
    return _encode_estimate(str(ws.home), name, created, model, backend, max_seq_length)


@st.cache_data(show_spinner=False, max_entries=32)
def _truncation(home: str, name: str, created: float, model: str, msl: int) -> Any:
    from core.backends import truncation_stats

    return truncation_stats(encoder(model).tokenizer, dataset(name).doc_texts(), msl)


def truncation(name: str, model: str, max_seq_length: int) -> Any:
    """Share of the corpus of ``name`` longer than ``max_seq_length`` tokens of ``model``."""
    ws = workspace()
    record = ws.get_dataset(name)
    return _truncation(str(ws.home), name, record.created if record else 0.0, model, int(max_seq_length))
