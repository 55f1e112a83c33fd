"""A computed map (:class:`ExploreResult`) and its on-disk cache.

Results are stored under a key made of the model fingerprints, the dataset fingerprint, the sample and
every setting (:func:`result_key`): the points as Parquet, the numbers as JSON and the fitted reducer
(to place new points) with joblib, written to a staging folder and moved into place.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from core.data import Dataset
from core.encoding import EmbeddingCache
from core.explore.points import PointSet, default_splits
from core.explore.settings import ExploreRequest
from core.runtime import Workspace, atomic_write_json

__all__ = [
    "CACHE_VERSION",
    "ExploreResult",
    "load_reducer",
    "load_result",
    "result_from_meta",
    "result_key",
    "store_result",
]

CACHE_VERSION = 1  # maps stored before ``kept`` existed stay valid: :func:`core.explore.with_kept` adds it


@dataclass(frozen=True, eq=False)
class ExploreResult:
    """A computed map with its numbers. ``points``: id, text, split, label (classification), row, x, y
    (z), and for a second model x_b, y_b (z_b) aligned to the first, ``moved`` (distance between the two
    positions; comparable only on a joint map) and ``kept`` (share of the point's k nearest neighbours that
    both models agree on, in the original spaces)."""

    key: str
    points: pd.DataFrame
    request: ExploreRequest
    dataset: str
    kind: str
    total: int
    dims: tuple[int, ...]
    silhouette: float | None
    silhouette_compare: float | None
    knn_agreement: float | None
    knn_agreement_compare: float | None
    neighbourhood_overlap: float | None
    compute_seconds: float
    seconds: float
    from_cache: bool
    embedding_keys: dict[str, list[Any]]
    folder: Path
    notes: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def method(self) -> str:
        return self.request.settings.method

    @property
    def has_compare(self) -> bool:
        return "x_b" in self.points.columns

    def to_json(self) -> dict[str, Any]:
        """What the CLI prints (and the page shows)."""
        return {
            "points": len(self.points),
            "total": self.total,
            "method": self.method,
            "silhouette": self.silhouette,
            "silhouette_compare": self.silhouette_compare,
            "knn_agreement": self.knn_agreement,
            "knn_agreement_compare": self.knn_agreement_compare,
            "neighbourhood_overlap": self.neighbourhood_overlap,
            "knn_k": self.request.knn_k,
            "seconds": round(self.seconds, 3),
            "compute_seconds": round(self.compute_seconds, 3),
            "from_cache": self.from_cache,
            "dataset": self.dataset,
            "kind": self.kind,
            "model": self.request.model,
            "compare_model": self.request.compare_model,
            "splits": list(self.request.splits),
            "align": self.request.align if self.has_compare else None,
            "key": self.key,
            "notes": list(self.notes),
        }

    def vectors(self, ws: Workspace, which: str = "a") -> np.ndarray | None:
        """The points' vectors in the original space (from the embedding cache), or None if evicted."""
        entry = self.embedding_keys.get(which)
        if not entry:
            return None
        encoder_fp, texts_fp, rows = entry
        full = EmbeddingCache(ws).get(encoder_fp, texts_fp, int(rows))
        return None if full is None else full[self.points["row"].to_numpy()]

    def reducer(self) -> Any | None:
        """The fitted projection of the first model (to place new points), or None."""
        return load_reducer(self.folder)


def load_reducer(folder: Path) -> Any | None:
    """The fitted reducer stored in a result's ``folder``, or None."""
    path = Path(folder) / "reducer.joblib"
    if not path.exists():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return joblib.load(path)


def result_key(request: ExploreRequest, ds: Dataset, points: PointSet, fp_a: str, fp_b: str | None) -> str:
    """The cache key of a map: dataset and sample, model fingerprints (``fp_b`` of the second model) and
    every setting."""
    payload = {
        "v": CACHE_VERSION,
        "dataset": ds.fingerprint,
        "kind": ds.kind,
        "splits": list(request.splits) or list(default_splits(ds)),
        "sample": points.sample_fingerprint,
        "max_points": request.max_points,
        "model": fp_a,
        "compare": fp_b,
        "settings": dataclasses.asdict(request.settings),
        "align": request.align if fp_b else None,
        "knn_k": request.knn_k,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


def _results_dir(ws: Workspace) -> Path:
    return ws.cache_dir("projections")


def result_from_meta(
    meta: dict[str, Any],
    *,
    key: str,
    points: pd.DataFrame,
    request: ExploreRequest,
    dataset: str,
    folder: Path,
    started: float,
    from_cache: bool,
) -> ExploreResult:
    """The result whose numbers are ``meta`` (as stored in ``meta.json``); ``seconds`` counts from
    ``started``."""
    return ExploreResult(
        key=key,
        points=points,
        request=request,
        dataset=dataset,
        kind=meta["kind"],
        total=int(meta["total"]),
        dims=tuple(meta["dims"]),
        silhouette=meta["silhouette"],
        silhouette_compare=meta["silhouette_compare"],
        knn_agreement=meta["knn_agreement"],
        knn_agreement_compare=meta["knn_agreement_compare"],
        neighbourhood_overlap=meta["neighbourhood_overlap"],
        compute_seconds=float(meta["compute_seconds"]),
        seconds=time.perf_counter() - started,
        from_cache=from_cache,
        embedding_keys=meta["embedding_keys"],
        folder=folder,
        notes=tuple(meta.get("notes", [])),
        timings=meta.get("timings", {}),
    )


def load_result(
    ws: Workspace, key: str, request: ExploreRequest, dataset: str, started: float
) -> ExploreResult | None:
    """The stored result under ``key``, or None when there is none (or it cannot be read)."""
    folder = _results_dir(ws) / key
    meta_path, points_path = folder / "meta.json", folder / "points.parquet"
    if not (meta_path.exists() and points_path.exists()):
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        points = pd.read_parquet(points_path)
    except (OSError, ValueError):
        return None
    return result_from_meta(
        meta,
        key=key,
        points=points,
        request=request,
        dataset=dataset,
        folder=folder,
        started=started,
        from_cache=True,
    )


def store_result(ws: Workspace, key: str, frame: pd.DataFrame, meta: dict[str, Any], reducer: Any) -> Path:
    """Write the result into a staging folder, then move it into place (readers never see half of it)."""
    target = _results_dir(ws) / key
    stage = ws.staging_dir()
    try:
        frame.to_parquet(stage / "points.parquet", index=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            joblib.dump(reducer, stage / "reducer.joblib")
        atomic_write_json(stage / "meta.json", meta)
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        stage.rename(target)
    except OSError:
        if not (target / "meta.json").exists():
            raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return target
