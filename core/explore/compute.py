"""The one entry point the page, the CLI and the ``project`` job share::

    result = explore(ws, ExploreRequest("banking77", model="all-MiniLM-L6-v2", splits=("test",)))
    result.points        # id, text, label, split, x, y (and x_b, y_b for a second model)
    result.silhouette    # label separation in the original space (cosine)

Steps: sample the points (:mod:`core.explore.points`), encode them (embedding cache of
:mod:`core.encoding`), fit the map and align a second model's (:mod:`core.explore.projection`), score
label separation and neighbourhood change in the original spaces, store the result
(:mod:`core.explore.results`). A request computed before is loaded instead.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.data import Dataset, LabeledDataset, RetrievalDataset, resolve_dataset
from core.encoding import (
    EmbeddingCache,
    Encoder,
    EncodeSettings,
    encode_corpus,
    encoder_cache_key,
    encoder_fingerprint,
    make_encoder,
)
from core.explore.points import PointSet, dataset_points
from core.explore.projection import align_procrustes, check_map_size, fit_projection
from core.explore.results import ExploreResult, load_result, result_from_meta, result_key, store_result
from core.explore.settings import ExploreRequest
from core.explore.space_metrics import knn_label_agreement, label_silhouette, neighbourhood_kept
from core.models import model_fingerprint, quiet_transformers, resolve_model
from core.runtime import InvalidInput, JobContext, Progress, Reporter, Workspace, report

__all__ = [
    "cached_result",
    "explore",
    "model_location",
    "project_job",
    "quiet_model_loading",
    "with_kept",
]

EncoderFactory = Callable[[str], Encoder]
Fingerprints = tuple[str, str | None]  # encoder fingerprints of the model and the second model
NO_LABELS = "no labels: silhouette and k-NN label agreement need a classification dataset"


# --------------------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------------------
def model_location(name: str, ws: Workspace | None) -> str:
    """What to load as a bi-encoder for ``name``: the name itself, or for a SetFit model saved with its
    body in a sub-folder, that folder."""
    info = resolve_model(name, ws)
    root = Path(info.location)
    if not info.is_local or (root / "modules.json").exists() or (root / "config.json").exists():
        return name
    for sub in ("body", "model_body", "sentence_transformer", "encoder"):
        if (root / sub / "config.json").exists():
            return str(root / sub)
    return name


def _encoder_fingerprint(name: str, ws: Workspace | None, backend: str = "torch") -> str:
    """The fingerprint :func:`core.encoding.make_encoder` gives this model, without loading it."""
    if backend != "torch":
        return encoder_fingerprint(model_location(name, ws), ws, backend=backend)
    info = resolve_model(model_location(name, ws), ws)
    return encoder_cache_key(model_fingerprint(info), EncodeSettings())


def _default_encoder_factory(ws: Workspace | None, backend: str = "torch") -> EncoderFactory:
    def make(name: str) -> Encoder:
        return make_encoder(model_location(name, ws), ws, backend=backend)

    return make


def _fingerprints(ws: Workspace, request: ExploreRequest, factory: EncoderFactory | None) -> Fingerprints:
    if factory is not None:
        fp_a = factory(request.model).fingerprint
        fp_b = factory(request.compare_model).fingerprint if request.compare_model else None
    else:
        fp_a = _encoder_fingerprint(request.model, ws, request.backend)
        fp_b = (
            _encoder_fingerprint(request.compare_model, ws, request.backend)
            if request.compare_model
            else None
        )
    return fp_a, fp_b


# --------------------------------------------------------------------------------------------------
# the steps of a map
# --------------------------------------------------------------------------------------------------
def _resolve(ws: Workspace, dataset: str | Dataset) -> Dataset:
    if isinstance(dataset, LabeledDataset | RetrievalDataset):
        return dataset
    return resolve_dataset(ws, dataset)


def _sample(ds: Dataset, request: ExploreRequest, progress: Reporter | None) -> PointSet:
    """The points of the map (refused before anything is encoded when there are too few)."""
    report(progress, "sample", 0, 1, "choosing points")
    points = dataset_points(
        ds, splits=request.splits, max_points=request.max_points, seed=request.settings.seed
    )
    sampled = f"{len(points.frame):,} of {points.total:,} points"
    stratified = " (stratified sample)" if len(points.frame) < points.total else ""
    report(progress, "sample", 1, 1, sampled + stratified)
    check_map_size(len(points.frame), request.settings)
    return points


def _vectors_of(
    model: str,
    fingerprint: str,
    points: PointSet,
    cache: EmbeddingCache,
    factory: EncoderFactory,
    progress: Reporter | None,
) -> tuple[np.ndarray, list[Any]]:
    """The points' vectors from ``model`` (the model is loaded only when the cache misses) and the
    embedding-cache key they are stored under."""
    n_texts = len(points.encode_texts)
    full = cache.get(fingerprint, points.encode_fingerprint, n_texts)  # cached: no model to load
    if full is not None:
        report(progress, "encode", n_texts, n_texts, f"{model}: loaded from the embedding cache")
    else:
        report(progress, "model", 0, 1, f"loading {model}")
        encoder = factory(model)
        report(progress, "model", 1, 1, f"{model} loaded")
        full, _ = encode_corpus(
            encoder, points.encode_texts, points.encode_fingerprint, cache, progress=progress
        )
        fingerprint = encoder.fingerprint
    return full[points.frame["row"].to_numpy()], [fingerprint, points.encode_fingerprint, n_texts]


def _encode(
    ws: Workspace,
    request: ExploreRequest,
    points: PointSet,
    fingerprints: Fingerprints,
    factory: EncoderFactory,
    progress: Reporter | None,
    timings: dict[str, float],
) -> tuple[np.ndarray, np.ndarray | None, dict[str, list[Any]]]:
    """``(vectors of the model, of the second model or None, embedding keys by "a" / "b")``."""
    cache = EmbeddingCache(ws)
    models = {"a": (request.model, fingerprints[0])}
    if request.compare_model:
        assert fingerprints[1] is not None
        models["b"] = (request.compare_model, fingerprints[1])
    vectors: dict[str, np.ndarray] = {}
    keys: dict[str, list[Any]] = {}
    for which, (model, fingerprint) in models.items():
        t0 = time.perf_counter()
        vectors[which], keys[which] = _vectors_of(model, fingerprint, points, cache, factory, progress)
        timings[f"encode_{which}"] = time.perf_counter() - t0
    return vectors["a"], vectors.get("b"), keys


def _project(
    vec_a: np.ndarray, vec_b: np.ndarray | None, request: ExploreRequest, progress: Reporter | None
) -> tuple[np.ndarray, np.ndarray | None, Any]:
    """``(coordinates of the model, of the second model aligned to them or None, the reducer)``: one
    joint map of both models' vectors, or one map each with the second rotated onto the first."""
    settings = request.settings
    if vec_b is not None and request.align == "joint":
        if vec_a.shape[1] != vec_b.shape[1]:
            raise InvalidInput(
                f"A joint map needs vectors of the same size ({vec_a.shape[1]} vs {vec_b.shape[1]}); "
                "use the Procrustes alignment for these two models."
            )
        both, reducer = fit_projection(np.vstack([vec_a, vec_b]), settings, progress)
        return both[: len(vec_a)], both[len(vec_a) :], reducer
    coords_a, reducer = fit_projection(vec_a, settings, progress)
    if vec_b is None:
        return coords_a, None, reducer
    coords_b, _ = fit_projection(vec_b, settings, progress)
    return coords_a, align_procrustes(coords_a, coords_b), reducer


def _with_coordinates(
    frame: pd.DataFrame, coords_a: np.ndarray, coords_b: np.ndarray | None, kept: np.ndarray | None
) -> pd.DataFrame:
    """``frame`` with ``x, y (z)``, and for a second model ``x_b, y_b (z_b)``, ``moved`` (distance between
    the two positions on the aligned maps) and ``kept`` (share of the point's k nearest neighbours both
    models agree on, in the original spaces)."""
    frame = frame.copy()
    axes = ["x", "y", "z"][: coords_a.shape[1]]
    for i, axis in enumerate(axes):
        frame[axis] = coords_a[:, i]
    if coords_b is not None:
        for i, axis in enumerate(axes):
            frame[f"{axis}_b"] = coords_b[:, i]
        frame["moved"] = np.linalg.norm(coords_b - coords_a, axis=1)
    if kept is not None:
        frame["kept"] = kept
    return frame


def _scores(
    vec_a: np.ndarray,
    vec_b: np.ndarray | None,
    labels: list[str] | None,
    request: ExploreRequest,
    progress: Reporter | None,
) -> tuple[dict[str, float | None], np.ndarray | None]:
    """Silhouette and k-NN label agreement per model (with labels), neighbourhood overlap (two models),
    all in the original spaces; and for two models each point's share of neighbours kept."""
    report(progress, "metrics", 0, 1, "silhouette and neighbourhoods")
    seed, k = request.settings.seed, request.knn_k
    two = vec_b is not None
    kept = neighbourhood_kept(vec_a, vec_b, k) if vec_b is not None else None
    scores = {
        "silhouette": label_silhouette(vec_a, labels, seed=seed) if labels else None,
        "silhouette_compare": label_silhouette(vec_b, labels, seed=seed) if labels and two else None,
        "knn_agreement": knn_label_agreement(vec_a, labels, k) if labels else None,
        "knn_agreement_compare": knn_label_agreement(vec_b, labels, k) if labels and two else None,
        "neighbourhood_overlap": float(np.mean(kept)) if kept is not None and len(kept) > 1 else None,
    }
    report(progress, "metrics", 1, 1, "done")
    return scores, kept


# --------------------------------------------------------------------------------------------------
# entry points
# --------------------------------------------------------------------------------------------------
def cached_result(
    ws: Workspace,
    request: ExploreRequest,
    *,
    dataset: Dataset | None = None,
    encoder_factory: EncoderFactory | None = None,
) -> ExploreResult | None:
    """The stored result of ``request`` if it was computed before (no model is loaded)."""
    started = time.perf_counter()
    ds = dataset if dataset is not None else _resolve(ws, request.dataset)
    points = dataset_points(
        ds, splits=request.splits, max_points=request.max_points, seed=request.settings.seed
    )
    key = result_key(request, ds, points, *_fingerprints(ws, request, encoder_factory))
    return load_result(ws, key, request, ds.name, started)


def explore(
    ws: Workspace,
    request: ExploreRequest,
    *,
    dataset: Dataset | None = None,
    progress: Reporter | None = None,
    encoder_factory: EncoderFactory | None = None,
    use_cache: bool = True,
) -> ExploreResult:
    """Compute (or load) the map of ``request``: sample, encode (cached), project, align a second model,
    and score label separation and neighbourhood change in the original spaces."""
    started = time.perf_counter()
    ds = dataset if dataset is not None else _resolve(ws, request.dataset)
    points = _sample(ds, request, progress)
    fingerprints = _fingerprints(ws, request, encoder_factory)
    key = result_key(request, ds, points, *fingerprints)
    if use_cache:
        hit = load_result(ws, key, request, ds.name, started)
        if hit is not None:
            report(progress, "done", 1, 1, "loaded from the projection cache")
            return hit
    timings: dict[str, float] = {}
    factory = encoder_factory or _default_encoder_factory(ws, request.backend)
    vec_a, vec_b, embedding_keys = _encode(ws, request, points, fingerprints, factory, progress, timings)
    t0 = time.perf_counter()
    coords_a, coords_b, reducer = _project(vec_a, vec_b, request, progress)
    timings["project"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    labels = points.frame["label"].tolist() if points.has_labels else None
    scores, kept = _scores(vec_a, vec_b, labels, request, progress)
    timings["metrics"] = time.perf_counter() - t0
    frame = _with_coordinates(points.frame, coords_a, coords_b, kept)
    meta = {
        "kind": ds.kind,
        "dataset": ds.name,
        "total": points.total,
        "dims": [len(vec_a[0]), *([len(vec_b[0])] if vec_b is not None else [])],
        **scores,
        "compute_seconds": time.perf_counter() - started,
        "embedding_keys": embedding_keys,
        "notes": [*points.notes, *([NO_LABELS] if labels is None else [])],
        "timings": timings,
        "request": request.to_dict(),
    }
    folder = store_result(ws, key, frame, meta, reducer)
    return result_from_meta(
        meta,
        key=key,
        points=frame,
        request=request,
        dataset=ds.name,
        folder=folder,
        started=started,
        from_cache=False,
    )


def with_kept(ws: Workspace, result: ExploreResult) -> pd.DataFrame:
    """The points of a before / after map with ``kept`` per point; a map stored before that column existed
    gets it from both models' vectors in the embedding cache (unchanged when they were evicted)."""
    points = result.points
    if not result.has_compare or "kept" in points.columns:
        return points
    vec_a, vec_b = result.vectors(ws, "a"), result.vectors(ws, "b")
    if vec_a is None or vec_b is None:
        return points
    return points.assign(kept=neighbourhood_kept(vec_a, vec_b, result.request.knn_k))


# --------------------------------------------------------------------------------------------------
# background job
# --------------------------------------------------------------------------------------------------
_STAGE_NAMES = {
    "sample": "Sampling",
    "model": "Loading model",
    "encode": "Encoding",
    "compile": "Compiling UMAP",
    "fit": "Projecting",
    "metrics": "Scoring",
    "done": "Done",
}


def quiet_model_loading() -> None:
    """No per-load reports or weight-loading progress bars from transformers (errors still surface)."""
    quiet_transformers()
    with contextlib.suppress(ImportError):
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()


def _job_reporter(ctx: JobContext) -> Reporter:
    """Progress rows named by stage (every stage but encoding written at once); raises ``Cancelled``
    when the user cancels."""

    def record(p: Progress) -> None:
        ctx.check_cancel()
        label = _STAGE_NAMES.get(p.stage, p.stage)
        ctx.progress(
            p.done,
            p.total,
            message=f"{label}: {p.message}" if p.message else label,
            force=p.stage != "encode",
        )

    return record


def project_job(ctx: JobContext, config: dict[str, Any]) -> dict[str, Any]:
    """Job handler (kind ``project``): compute a map and store it; the result holds its cache key. The
    config is an :class:`ExploreRequest` (:meth:`~ExploreRequest.to_dict`), parsed once here."""
    quiet_model_loading()
    request = ExploreRequest.from_dict(config)
    result = explore(ctx.ws, request, progress=_job_reporter(ctx))
    return result.to_json()
