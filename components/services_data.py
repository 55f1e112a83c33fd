"""Cached services of the workspace, its datasets, encoders and encoding backends (every page).

``st.cache_resource`` holds live objects keyed by names (workspace, datasets, models); ``st.cache_data``
holds results keyed by names and fingerprints (an import's ``created`` time, a file's mtime).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import streamlit as st

from components.data_views import dataset_stats as compute_dataset_stats
from core.data import (
    ChunkSpec,
    chunk_corpus,
    cleanup_stale_files,
    inspect_table,
    length_stats,
    load_dataset,
    resolve_dataset,
    staged_files,
)
from core.encoding import (
    AUTO,
    EmbeddingCache,
    encoder_fingerprint,
    estimate_encode_time,
    make_encoder,
    plan_backend,
    truncation_stats,
)
from core.encoding import backend_statuses as encoding_backend_statuses
from core.models import resolve_model
from core.retrieval import load_tokenizer, make_sparse_encoder
from core.runtime import (
    DatasetRecord,
    LabError,
    StoreError,
    Workspace,
    detect_device,
    get_settings,
    is_offline,
    jobs,
)

__all__ = [
    "backend_plan",
    "backend_statuses",
    "cached_dataset",
    "clear_dataset_cache",
    "corpus_cached",
    "corpus_lookup",
    "dataset",
    "dataset_record",
    "dataset_size",
    "dataset_stats",
    "device_name",
    "encode_estimate",
    "encoder",
    "inspect_path",
    "inspect_upload",
    "lengths",
    "model_window",
    "offline",
    "passage_text",
    "resolved_dataset",
    "tokenizer",
    "truncation",
    "workspace",
]


@st.cache_resource(show_spinner=False)
def _workspace(home: str) -> Workspace:
    ws = Workspace(home)
    cleanup_stale_files(ws)
    ws.clean_up()  # what killed processes left: staging, unpacked archives, unrecorded folders
    jobs.keep_warm(ws.home)  # the app's jobs run on one warm worker, started now (core.runtime.warm)
    with contextlib.suppress(LabError):  # a bad ESL_WORKER_MAX_MB shows on the first job instead
        jobs.start_warm_worker(ws)
    return ws


def workspace() -> Workspace:
    """The workspace of ``ESL_HOME`` (one handle per folder)."""
    return _workspace(str(get_settings().home))


def dataset_record(name: str) -> DatasetRecord:
    """The stored record of dataset ``name``; ``StoreError`` when there is none."""
    record = workspace().get_dataset(name)
    if record is None:
        raise StoreError(f"No dataset named {name!r}.")
    return record


def _created(name: str) -> float:
    """When dataset ``name`` was imported (0 when it is not stored): the key of its cached results."""
    record = workspace().get_dataset(name)
    return record.created if record is not None else 0.0


@st.cache_resource(show_spinner=False, max_entries=8)
def cached_dataset(home: str, name: str, created: float) -> Any:
    """The loaded dataset ``name`` of the workspace at ``home``, kept per import (``created``)."""
    return load_dataset(Workspace(home), name)


def dataset(name: str) -> Any:
    """A stored dataset by name (cached until it is re-imported)."""
    return cached_dataset(str(workspace().home), name, dataset_record(name).created)


def clear_dataset_cache() -> None:
    cached_dataset.clear()


@st.cache_resource(show_spinner="Loading model…", max_entries=4)
def encoder(model: str, backend: str = "torch", max_seq_length: int | None = None) -> Any:
    """A bi-encoder as a ``core.encoding.Encoder``, loaded once per (model, backend, max length)."""
    return make_encoder(model, workspace(), backend=backend, max_seq_length=max_seq_length)


@st.cache_resource(show_spinner="Loading SPLADE model…", max_entries=2)
def sparse_encoder(model: str) -> Any:
    """A SPLADE encoder (``core.retrieval.SpladeEncoder``), loaded once per model (match explanations)."""
    return make_sparse_encoder(model, workspace())


@st.cache_data(show_spinner=False, ttl=3600)
def device_name() -> str:
    return detect_device()


@st.cache_data(show_spinner=False, ttl=600)
def offline() -> bool:
    return is_offline()


@st.cache_data(show_spinner=False, max_entries=16)
def _dataset_stats(home: str, name: str, created: float) -> dict[str, Any]:
    return compute_dataset_stats(cached_dataset(home, name, created))


def dataset_stats(name: str) -> dict[str, Any]:
    """Statistics tables of a stored dataset (for the Data page charts), cached per import."""
    return _dataset_stats(str(workspace().home), name, dataset_record(name).created)


@st.cache_data(show_spinner=False, max_entries=8)
def inspect_upload(file_id: str, file_name: str, _data: bytes) -> Any:
    """Columns and guesses of an uploaded table (keyed by the upload's id, not its bytes)."""
    with staged_files(workspace(), {file_name: _data}) as paths:
        return inspect_table(paths[file_name])


@st.cache_data(show_spinner=False, max_entries=8)
def inspect_path(path: str, mtime: float) -> Any:
    """Columns and guesses of a table (or folder of split tables) on disk."""
    return inspect_table(path)


@st.cache_resource(show_spinner=False, max_entries=4)
def _corpus_lookup(home: str, name: str, created: float) -> dict[str, tuple[str, str]]:
    ds = cached_dataset(home, name, created)
    return {
        d: (str(t or ""), str(x or ""))
        for d, t, x in zip(ds.corpus["doc_id"], ds.corpus["title"], ds.corpus["text"], strict=True)
    }


def corpus_lookup(name: str) -> dict[str, tuple[str, str]]:
    """``{doc_id: (title, text)}`` of a stored retrieval dataset (for ranked lists)."""
    return _corpus_lookup(str(workspace().home), name, dataset_record(name).created)


@st.cache_resource(show_spinner="Loading the dataset…", max_entries=4)
def _resolved_dataset(home: str, name_or_path: str, stamp: float) -> Any:
    return resolve_dataset(Workspace(home), name_or_path)


def resolved_dataset(name_or_path: str) -> Any:
    """A stored dataset by name or one loaded from a path (not imported), cached."""
    return _resolved_dataset(str(workspace().home), name_or_path, _created(name_or_path))


# -- encoding backends (core.encoding) ---------------------------------------------------------------
@st.cache_data(show_spinner=False, ttl=3600)
def backend_statuses() -> list[Any]:
    """Every encoding backend with whether it runs on this machine's device, and why not."""
    return encoding_backend_statuses(detect_device())


@st.cache_data(show_spinner=False, ttl=3600)
def backend_plan(backend: str) -> Any:
    """What ``backend`` becomes here (backend, device, precision, fallback reason)."""
    return plan_backend(backend)


def dataset_size(name: str) -> int:
    return len(dataset(name).corpus)


def corpus_cached(name: str, model: str, backend: str, max_seq_length: int | None = None) -> bool:
    """Whether the embedding cache already holds the corpus of ``name`` for this model and backend."""
    ds = dataset(name)
    fp = encoder_fingerprint(model, workspace(), backend=backend, max_seq_length=max_seq_length)
    return EmbeddingCache(workspace()).has(fp, ds.fingerprint, len(ds.corpus))


@st.cache_data(show_spinner=False, max_entries=32)
def _encode_estimate(home: str, name: str, created: float, model: str, backend: str, msl: int | None) -> Any:
    texts = dataset(name).doc_texts()
    if backend == AUTO:  # the parity check runs on this corpus the first time (then it is remembered)
        enc = make_encoder(model, workspace(), backend=AUTO, max_seq_length=msl, sample=texts)
    else:
        enc = encoder(model, backend, msl)
    return estimate_encode_time(enc, texts)


def encode_estimate(name: str, model: str, backend: str, max_seq_length: int | None = None) -> Any:
    """Expected time to encode the corpus of ``name`` (a short timed sample, cached per dataset import)."""
    return _encode_estimate(str(workspace().home), name, _created(name), model, backend, max_seq_length)


@st.cache_data(show_spinner=False, max_entries=32)
def _truncation(home: str, name: str, created: float, model: str, msl: int) -> Any:
    return truncation_stats(encoder(model).tokenizer, dataset(name).doc_texts(), msl)


def truncation(name: str, model: str, max_seq_length: int) -> Any:
    """Share of the corpus of ``name`` longer than ``max_seq_length`` tokens of ``model``."""
    return _truncation(str(workspace().home), name, _created(name), model, int(max_seq_length))


# -- document lengths and passages (Compare page) -----------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=16)
def model_window(model: str) -> int:
    """The bi-encoder's window (``max_seq_length`` of its sentence-transformers config; 256 when it does
    not say), read without loading the weights."""
    try:
        folder = Path(resolve_model(model, workspace(), kind="bi-encoder").location)
        config = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return int(config.get("max_seq_length") or 256)
    except (LabError, OSError, ValueError, TypeError):
        return 256


@st.cache_resource(show_spinner=False, max_entries=4)
def tokenizer(model: str) -> Any:
    """The fast tokenizer of ``model`` (no weights loaded)."""
    return load_tokenizer(model, workspace())


@st.cache_data(show_spinner="Counting tokens per document…", max_entries=16)
def _lengths(
    home: str, name: str, created: float, model: str, window: int, cut: tuple[int, int] | None
) -> Any:
    spec = ChunkSpec(window=cut[0], overlap=cut[1]) if cut else None
    return length_stats(dataset(name).doc_texts(), tokenizer(model), window=window, spec=spec, sample=1000)


def lengths(name: str, model: str, window: int, cut: tuple[int, int] | None = None) -> Any:
    """Tokens per document of ``name`` (a seeded sample of 1,000) against ``window``, and with ``cut``
    (window, overlap) the passages per document (:func:`core.data.length_stats`), cached per import."""
    return _lengths(str(workspace().home), name, _created(name), model, int(window), cut)


@st.cache_data(show_spinner=False, max_entries=256)
def _passage_text(
    home: str, name: str, created: float, chunking: str, model: str, doc_id: str, pid: str
) -> str:
    ds = dataset(name)
    row = ds.corpus[ds.corpus["doc_id"] == doc_id]
    if row.empty:
        return ""
    spec = ChunkSpec(**json.loads(chunking))
    title, body = str(row["title"].fillna("").iloc[0]), str(row["text"].fillna("").iloc[0])
    text = body if spec.title else f"{title} {body}".strip()  # as the retriever cut it
    titles = [title] if spec.title else None
    passages = chunk_corpus([doc_id], [text], tokenizer(spec.tokenizer or model), spec, titles=titles)
    texts = dict(zip(passages.passage_ids, passages.texts, strict=True))
    return texts.get(pid, "")


def passage_text(name: str, chunking: dict[str, Any], model: str, doc_id: str, passage_id: str) -> str:
    """The text of passage ``passage_id`` of document ``doc_id``, cut again as ``chunking`` says (one
    document, so cheap); empty when the document is gone."""
    key = json.dumps(dict(chunking), sort_keys=True)
    return _passage_text(str(workspace().home), name, _created(name), key, model, doc_id, passage_id)
