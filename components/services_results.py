"""Cached services of the pages' results: stored comparisons and free-text search (Compare), SetFit models
and folder downloads (Classify), maps, clusters and query overlays (Explore), measurements and strategy
bundles (Wizard). They build on :mod:`components.services_data`."""

from __future__ import annotations

import dataclasses
import io
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import streamlit as st

from components.services_data import cached_dataset, dataset, dataset_record, encoder, workspace
from core.evaluate import load_comparison
from core.explore import (
    ExploreRequest,
    cached_result,
    hdbscan_clusters,
    kmeans_clusters,
    model_location,
    query_overlay,
    suggest_cluster_count,
)
from core.retrieval import Corpus, RetrieverBuilder, spec_from_dict
from core.runtime import NotFound, Workspace
from core.training import load_setfit
from core.wizard import measure_answers, write_bundle

__all__ = [
    "comparison",
    "explore_cluster_scores",
    "explore_clusters",
    "explore_overlay",
    "explore_result",
    "free_text_search",
    "retriever_builder",
    "setfit_model",
    "strategy_bundle",
    "wizard_measurements",
    "zipped_folder",
]

GONE_VECTORS = "the embeddings of this map are no longer in the cache; compute the map again"


# -- Compare page -----------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=16)
def _comparison(home: str, run_id: str, finished: float | None) -> Any:
    return load_comparison(Workspace(home), run_id)


def comparison(run_id: str) -> Any:
    """A stored comparison report (``core.evaluate.ComparisonReport``), cached per run."""
    ws = workspace()
    run = ws.get_run(run_id)
    return _comparison(str(ws.home), run_id, run.finished if run else None)


@st.cache_resource(show_spinner="Building the indexes…", max_entries=2)
def _retriever_builder(home: str, name: str, created: float) -> Any:
    ds = cached_dataset(home, name, created)
    return RetrieverBuilder(
        Corpus.from_dataset(ds),
        Workspace(home),
        encoder_factory=lambda model, backend, msl: encoder(model, backend, msl),
    )


def retriever_builder(name: str) -> Any:
    """A ``RetrieverBuilder`` over a stored dataset's corpus, kept per (dataset, import): its BM25
    index, encoders and FAISS indexes are built once (corpus vectors come from the embedding cache)."""
    return _retriever_builder(str(workspace().home), name, dataset_record(name).created)


@st.cache_data(show_spinner="Searching…", max_entries=64)
def free_text_search(
    dataset: str, created: float, specs: tuple[tuple[str, str], ...], query: str, k: int = 10
) -> dict[str, list[tuple[str, float]]]:
    """Ranked ``(doc_id, score)`` lists of a free-text query for each ``(name, spec JSON)``."""
    builder = retriever_builder(dataset)
    out = {}
    for name, spec_json in specs:
        hits = builder.build(spec_from_dict(json.loads(spec_json))).search([query], k)[0]
        out[name] = list(zip(hits.doc_ids, hits.scores, strict=True))
    return out


# -- few-shot classification (Classify page) ---------------------------------------------------------
@st.cache_resource(show_spinner="Loading the SetFit model…", max_entries=2)
def _setfit_model(path: str, stamp: float) -> Any:
    return load_setfit(path)


def setfit_model(path: str) -> Any:
    """A saved SetFit model folder, loaded once (reloaded if the folder changes)."""
    return _setfit_model(path, (Path(path) / "model_head.pkl").stat().st_mtime)


@st.cache_data(show_spinner="Packing the model…", max_entries=2)
def zipped_folder(path: str, stamp: float) -> bytes:
    """A folder as zip bytes (for download buttons)."""
    root = Path(path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            zf.write(file, Path(root.name) / file.relative_to(root))
    return buf.getvalue()


# -- embedding explorer ----------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=16)
def _explore_hit(home: str, request_json: str, dataset_created: float) -> Any:
    result = cached_result(Workspace(home), ExploreRequest.from_dict(json.loads(request_json)))
    if result is None:
        raise NotFound("not computed yet")  # not cached: st.cache_data keeps only returned values
    return result


def explore_result(request: Any) -> Any:
    """The stored map of an ``ExploreRequest`` (None until it has been computed)."""
    ws = workspace()
    record = ws.get_dataset(request.dataset)
    created = record.created if record is not None else 0.0
    try:
        return _explore_hit(str(ws.home), json.dumps(request.to_dict(), sort_keys=True), created)
    except NotFound:
        return None


@st.cache_data(show_spinner="Clustering…", max_entries=32)
def _clusters(home: str, key: str, _result: Any, method: str, size: int, seed: int) -> list[str]:
    if method == "hdbscan":
        axes = [a for a in ("x", "y", "z") if a in _result.points.columns]
        ids = hdbscan_clusters(_result.points[axes].to_numpy(), min_cluster_size=size)
    else:
        vectors = _result.vectors(Workspace(home))
        if vectors is None:
            raise NotFound(GONE_VECTORS)
        ids = kmeans_clusters(vectors, size, seed=seed)
    return ["noise" if i < 0 else f"cluster {i}" for i in ids]


def explore_clusters(result: Any, method: str, size: int, seed: int = 42) -> list[str]:
    """Cluster name per point: k-means (k = ``size``) on the embeddings, or HDBSCAN (minimum cluster
    size ``size``) on the map. ``NotFound`` when the map's embeddings left the cache."""
    return _clusters(str(workspace().home), result.key, result, method, int(size), int(seed))


@st.cache_data(show_spinner="Trying cluster counts…", max_entries=16)
def _cluster_scores(home: str, key: str, _result: Any, seed: int) -> Any:
    vectors = _result.vectors(Workspace(home))
    if vectors is None:
        raise NotFound(GONE_VECTORS)
    return suggest_cluster_count(vectors, seed=seed)


def explore_cluster_scores(result: Any, seed: int = 42) -> Any:
    """Silhouette of k-means per cluster count (``k``, ``silhouette``) for a map's points; ``NotFound``
    when the map's embeddings left the cache."""
    return _cluster_scores(str(workspace().home), result.key, result, int(seed))


@st.cache_data(show_spinner=False, max_entries=32)
def _overlay(
    home: str, key: str, _result: Any, dataset_name: str, query_id: str, strategies: tuple, k: int
) -> Any:
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


# -- decision wizard -------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=16)
def _wizard_measurements(home: str, name: str, created: float, model: str) -> dict[str, Any]:
    ws = Workspace(home)
    return dataclasses.asdict(measure_answers(cached_dataset(home, name, created), ws, model=model))


def wizard_measurements(name: str, model: str) -> dict[str, Any]:
    """The wizard's answers measured on a stored dataset with ``model``: {values, notes, details}."""
    return _wizard_measurements(str(workspace().home), name, dataset_record(name).created, model)


@st.cache_data(show_spinner=False, max_entries=8)
def strategy_bundle(card_json: str) -> dict[str, Any]:
    """The strategy bundle of a card (JSON text): {"files": {relative path: bytes}, "zip": bytes}."""
    with tempfile.TemporaryDirectory(prefix="esl-bundle-") as tmp:
        root = Path(tmp) / "strategy"
        paths = write_bundle(root, json.loads(card_json))
        files = {p.relative_to(root).as_posix(): p.read_bytes() for p in paths.values()}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, data in files.items():
            zf.writestr(f"strategy/{rel}", data)
    return {"files": files, "zip": buf.getvalue()}
