"""Thin cached service layer between pages and ``core``.

``st.cache_resource`` holds live objects keyed by names (workspace, models); ``st.cache_data`` holds
results keyed by names and fingerprints. Pages call these functions instead of ``core`` loaders.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.runtime import Workspace, get_settings


@st.cache_resource(show_spinner=False)
def _workspace(home: str) -> Workspace:
    ws = Workspace(home)
    from core.data import cleanup_stale_files

    cleanup_stale_files(ws)
    return ws


def workspace() -> Workspace:
    """The workspace of ``ESL_HOME`` (one handle per folder)."""
    return _workspace(str(get_settings().home))


@st.cache_resource(show_spinner=False, max_entries=8)
def _dataset(home: str, name: str, created: float) -> Any:
    from core.data import load_dataset

    return load_dataset(Workspace(home), name)


def dataset(name: str) -> Any:
    """A stored dataset by name (cached until it is re-imported)."""
    ws = workspace()
    record = ws.get_dataset(name)
    if record is None:
        from core.runtime import StoreError

        raise StoreError(f"No dataset named {name!r}.")
    return _dataset(str(ws.home), name, record.created)


def clear_dataset_cache() -> None:
    _dataset.clear()


@st.cache_resource(show_spinner="Loading model…", max_entries=4)
def encoder(model: str, backend: str = "torch", max_seq_length: int | None = None) -> Any:
    """A bi-encoder as a ``core.encoding.Encoder``, loaded once per (model, backend, max length)."""
    from core.encoding import make_encoder

    return make_encoder(model, workspace(), backend=backend, max_seq_length=max_seq_length)


@st.cache_data(show_spinner=False, ttl=3600)
def device_name() -> str:
    from core.runtime import detect_device

    return detect_device()


@st.cache_data(show_spinner=False, ttl=600)
def offline() -> bool:
    from core.runtime import is_offline

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
        from core.runtime import StoreError

        raise StoreError(f"No dataset named {name!r}.")
    return _dataset_stats(str(ws.home), name, record.created)


@st.cache_data(show_spinner=False, max_entries=8)
def inspect_upload(file_id: str, file_name: str, _data: bytes) -> Any:
    """Columns and guesses of an uploaded table (keyed by the upload's id, not its bytes)."""
    from core.data import inspect_table, staged_files

    with staged_files(workspace(), {file_name: _data}) as paths:
        return inspect_table(paths[file_name])


@st.cache_data(show_spinner=False, max_entries=8)
def inspect_path(path: str, mtime: float) -> Any:
    """Columns and guesses of a table (or folder of split tables) on disk."""
    from core.data import inspect_table

    return inspect_table(path)


# -- Compare page -----------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=16)
def _comparison(home: str, run_id: str, finished: float | None) -> Any:
    from core.evaluate import load_comparison

    return load_comparison(Workspace(home), run_id)


def comparison(run_id: str) -> Any:
    """A stored comparison report (``core.evaluate.ComparisonReport``), cached per run."""
    ws = workspace()
    run = ws.get_run(run_id)
    return _comparison(str(ws.home), run_id, run.finished if run else None)


@st.cache_resource(show_spinner=False, max_entries=4)
def _corpus_lookup(home: str, name: str, created: float) -> dict[str, tuple[str, str]]:
    ds = _dataset(home, name, created)
    return {
        d: (str(t or ""), str(x or ""))
        for d, t, x in zip(ds.corpus["doc_id"], ds.corpus["title"], ds.corpus["text"], strict=True)
    }


def corpus_lookup(name: str) -> dict[str, tuple[str, str]]:
    """``{doc_id: (title, text)}`` of a stored retrieval dataset (for ranked lists)."""
    ws = workspace()
    record = ws.get_dataset(name)
    if record is None:
        from core.runtime import StoreError

        raise StoreError(f"No dataset named {name!r}.")
    return _corpus_lookup(str(ws.home), name, record.created)


@st.cache_resource(show_spinner="Building the indexes…", max_entries=2)
def _retriever_builder(home: str, name: str, created: float) -> Any:
    from core.retrieval import Corpus, RetrieverBuilder

    ds = _dataset(home, name, created)
    return RetrieverBuilder(
        Corpus.from_dataset(ds),
        Workspace(home),
        encoder_factory=lambda model, backend, msl: encoder(model, backend, msl),
    )


def retriever_builder(name: str) -> Any:
    """A ``RetrieverBuilder`` over a stored dataset's corpus, kept per (dataset, import): its BM25
    index, encoders and FAISS indexes are built once (corpus vectors come from the embedding cache)."""
    ws = workspace()
    record = ws.get_dataset(name)
    if record is None:
        from core.runtime import StoreError

        raise StoreError(f"No dataset named {name!r}.")
    return _retriever_builder(str(ws.home), name, record.created)


@st.cache_data(show_spinner="Searching…", max_entries=64)
def free_text_search(
    dataset: str, created: float, specs: tuple[tuple[str, str], ...], query: str, k: int = 10
) -> dict[str, list[tuple[str, float]]]:
    """Ranked ``(doc_id, score)`` lists of a free-text query for each ``(name, spec JSON)``."""
    import json

    from core.retrieval import spec_from_dict

    builder = retriever_builder(dataset)
    out = {}
    for name, spec_json in specs:
        hits = builder.build(spec_from_dict(json.loads(spec_json))).search([query], k)[0]
        out[name] = list(zip(hits.doc_ids, hits.scores, strict=True))
    return out


# -- few-shot classification (Classify page) ---------------------------------------------------------
@st.cache_resource(show_spinner="Loading the SetFit model…", max_entries=2)
def _setfit_model(path: str, stamp: float) -> Any:
    from core.training import load_setfit

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
    from core.data import resolve_dataset

    return resolve_dataset(Workspace(home), name_or_path)


def resolved_dataset(name_or_path: str) -> Any:
    """A stored dataset by name or one loaded from a path (not imported), cached."""
    ws = workspace()
    record = ws.get_dataset(name_or_path)
    return _resolved_dataset(str(ws.home), name_or_path, record.created if record else 0.0)


# -- embedding explorer ----------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=16)
def _explore_hit(home: str, request_json: str, dataset_created: float) -> Any:
    import json

    from core.explore import ExploreRequest, cached_result

    result = cached_result(Workspace(home), ExploreRequest.from_dict(json.loads(request_json)))
    if result is None:
        raise LookupError("not computed yet")  # not cached: st.cache_data keeps only returned values
    return result


def explore_result(request: Any) -> Any:
    """The stored map of an ``ExploreRequest`` (None until it has been computed)."""
    import json

    ws = workspace()
    record = ws.get_dataset(request.dataset)
    created = record.created if record is not None else 0.0
    try:
        return _explore_hit(str(ws.home), json.dumps(request.to_dict(), sort_keys=True), created)
    except LookupError:
        return None


@st.cache_data(show_spinner="Clustering…", max_entries=32)
def _clusters(home: str, key: str, _result: Any, method: str, size: int, seed: int) -> list[str]:
    from core.explore import hdbscan_clusters, kmeans_clusters

    if method == "hdbscan":
        axes = [a for a in ("x", "y", "z") if a in _result.points.columns]
        ids = hdbscan_clusters(_result.points[axes].to_numpy(), min_cluster_size=size)
    else:
        vectors = _result.vectors(Workspace(home))
        if vectors is None:
            raise LookupError("the embeddings of this map are no longer in the cache; compute the map again")
        ids = kmeans_clusters(vectors, size, seed=seed)
    return ["noise" if i < 0 else f"cluster {i}" for i in ids]


def explore_clusters(result: Any, method: str, size: int, seed: int = 42) -> list[str]:
    """Cluster name per point: k-means (k = ``size``) on the embeddings, or HDBSCAN (minimum cluster
    size ``size``) on the map."""
    return _clusters(str(workspace().home), result.key, result, method, int(size), int(seed))


@st.cache_data(show_spinner="Trying cluster counts…", max_entries=16)
def _cluster_scores(home: str, key: str, _result: Any, seed: int) -> Any:
    from core.explore import suggest_cluster_count

    vectors = _result.vectors(Workspace(home))
    if vectors is None:
        raise LookupError("the embeddings of this map are no longer in the cache; compute the map again")
    return suggest_cluster_count(vectors, seed=seed)


def explore_cluster_scores(result: Any, seed: int = 42) -> Any:
    """Silhouette of k-means per cluster count (``k``, ``silhouette``) for a map's points."""
    return _cluster_scores(str(workspace().home), result.key, result, int(seed))


@st.cache_data(show_spinner=False, max_entries=32)
def _overlay(
    home: str, key: str, _result: Any, dataset_name: str, query_id: str, strategies: tuple, k: int
) -> Any:
    from core.explore import model_location, query_overlay

    ws = Workspace(home)
    return query_overlay(
        ws,
        _result,
        dataset(dataset_name),
        query_id,
        strategies=strategies,
        k=k,
        encoder=encoder(model_location(_result.request.model, ws)),
    )


def explore_overlay(result: Any, dataset_name: str, query_id: str, strategies: tuple, k: int) -> Any:
    """Query, judged-relevant and retrieved documents placed on a retrieval map (a DataFrame)."""
    return _overlay(
        str(workspace().home), result.key, result, dataset_name, query_id, tuple(strategies), int(k)
    )


# -- encoding backends (core.encoding) ---------------------------------------------------------------
@st.cache_data(show_spinner=False, ttl=3600)
def backend_statuses() -> list[Any]:
    """Every encoding backend with whether it runs on this machine's device, and why not."""
    from core.encoding import backend_statuses as statuses
    from core.runtime import detect_device

    return statuses(detect_device())


@st.cache_data(show_spinner=False, ttl=3600)
def backend_plan(backend: str) -> Any:
    """What ``backend`` becomes here (backend, device, precision, fallback reason)."""
    from core.encoding import plan_backend

    return plan_backend(backend)


def dataset_size(name: str) -> int:
    return len(dataset(name).corpus)


def corpus_cached(name: str, model: str, backend: str, max_seq_length: int | None = None) -> bool:
    """Whether the embedding cache already holds the corpus of ``name`` for this model and backend."""
    from core.encoding import EmbeddingCache, encoder_fingerprint

    ds = dataset(name)
    fp = encoder_fingerprint(model, workspace(), backend=backend, max_seq_length=max_seq_length)
    return EmbeddingCache(workspace()).path(fp, ds.fingerprint).exists()


@st.cache_data(show_spinner=False, max_entries=32)
def _encode_estimate(home: str, name: str, created: float, model: str, backend: str, msl: int | None) -> Any:
    from core.encoding import estimate_encode_time

    return estimate_encode_time(encoder(model, backend, msl), dataset(name).doc_texts())


def encode_estimate(name: str, model: str, backend: str, max_seq_length: int | None = None) -> Any:
    """Expected time to encode the corpus of ``name`` (a short timed sample, cached per dataset import)."""
    ws = workspace()
    record = ws.get_dataset(name)
    created = record.created if record is not None else 0.0
    return _encode_estimate(str(ws.home), name, created, model, backend, max_seq_length)


@st.cache_data(show_spinner=False, max_entries=32)
def _truncation(home: str, name: str, created: float, model: str, msl: int) -> Any:
    from core.encoding import truncation_stats

    return truncation_stats(encoder(model).tokenizer, dataset(name).doc_texts(), msl)


def truncation(name: str, model: str, max_seq_length: int) -> Any:
    """Share of the corpus of ``name`` longer than ``max_seq_length`` tokens of ``model``."""
    ws = workspace()
    record = ws.get_dataset(name)
    return _truncation(str(ws.home), name, record.created if record else 0.0, model, int(max_seq_length))


# -- decision wizard -------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=16)
def _wizard_measurements(home: str, name: str, created: float, model: str) -> dict[str, Any]:
    import dataclasses

    from core.wizard import measure_answers

    ws = Workspace(home)
    return dataclasses.asdict(measure_answers(_dataset(home, name, created), ws, model=model))


def wizard_measurements(name: str, model: str) -> dict[str, Any]:
    """The wizard's answers measured on a stored dataset with ``model``: {values, notes, details}."""
    ws = workspace()
    record = ws.get_dataset(name)
    if record is None:
        from core.runtime import StoreError

        raise StoreError(f"No dataset named {name!r}.")
    return _wizard_measurements(str(ws.home), name, record.created, model)


@st.cache_data(show_spinner=False, max_entries=8)
def strategy_bundle(card_json: str) -> dict[str, Any]:
    """The strategy bundle of a card (JSON text): {"files": {relative path: bytes}, "zip": bytes}."""
    import io
    import json
    import tempfile
    import zipfile
    from pathlib import Path

    from core.wizard import write_bundle

    with tempfile.TemporaryDirectory(prefix="esl-bundle-") as tmp:
        root = Path(tmp) / "strategy"
        paths = write_bundle(root, json.loads(card_json))
        files = {p.relative_to(root).as_posix(): p.read_bytes() for p in paths.values()}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, data in files.items():
            zf.writestr(f"strategy/{rel}", data)
    return {"files": files, "zip": buf.getvalue()}
