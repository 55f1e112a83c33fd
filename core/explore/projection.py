"""Fitting maps: UMAP or PCA to 2-D / 3-D, placing new vectors on a fitted map, Procrustes alignment.

- Projections are seeded and use the cosine metric. Up to ``EXACT_KNN_LIMIT`` points UMAP's neighbour
  graph is computed exactly (:func:`exact_cosine_knn`, :class:`ExactCosineIndex`) instead of by
  pynndescent. Fitted reducers are pickled with the map and reference ``ExactCosineIndex`` by this
  module's path, so it stays here (and in the face).
- UMAP compiles with numba on first use. :func:`warm_up` does it on a tiny input (callable in the
  background) and switches on numba's on-disk cache for umap's functions, so later processes load the
  compiled code from ``NUMBA_CACHE_DIR`` instead of compiling again.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import warnings
from typing import Any

import numpy as np

from core.explore.settings import ProjectionSettings
from core.runtime import InvalidInput, Reporter, configure_environment, report

__all__ = [
    "EXACT_KNN_LIMIT",
    "ExactCosineIndex",
    "align_procrustes",
    "check_map_size",
    "exact_cosine_knn",
    "fit_projection",
    "place",
    "umap_ready",
    "warm_up",
    "warm_up_in_background",
    "warm_up_status",
]

EXACT_KNN_LIMIT = 10_000  # UMAP neighbours computed exactly up to this many points

# --------------------------------------------------------------------------------------------------
# UMAP compile (numba) and warm-up
# --------------------------------------------------------------------------------------------------
_UMAP_LOCK = threading.Lock()
_WARM: dict[str, Any] = {"state": "cold", "seconds": None, "error": None}
_WARM_THREAD: threading.Thread | None = None


def _enable_numba_disk_cache() -> int:
    """umap-learn's jitted functions are compiled anew in every process (only one asks numba to cache).
    Ask for the on-disk cache on all of them before their first call, so the compile happens once per
    machine (in ``NUMBA_CACHE_DIR``) rather than once per process. Returns how many were switched."""
    import numba
    from numba.core.caching import NullCache
    from numba.core.dispatcher import Dispatcher

    if not getattr(numba.config, "CACHE_DIR", "") and os.environ.get("NUMBA_CACHE_DIR"):
        numba.config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]  # numba was imported before it was set
    switched = 0
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in ("umap", "pynndescent"):
            continue
        for obj in list(vars(module).values()):
            if isinstance(obj, Dispatcher) and isinstance(obj._cache, NullCache) and not obj.overloads:
                with contextlib.suppress(Exception):  # a function numba cannot cache just stays uncached
                    obj.enable_caching()
                    switched += 1
    return switched


def umap_ready() -> bool:
    """True once UMAP has been compiled (or loaded from the numba cache) in this process."""
    return _WARM["state"] == "ready"


def warm_up(progress: Reporter | None = None) -> float:
    """Compile UMAP's numba code on a tiny input (fit and transform, along the same code path as real
    maps) so the first real map does not wait for it. With a warm ``NUMBA_CACHE_DIR`` this only loads
    the compiled code. Safe to call from several threads. Returns the seconds it took (0 when done)."""
    if umap_ready():
        return 0.0
    with _UMAP_LOCK:
        if umap_ready():
            return 0.0

        configure_environment()
        _WARM.update(state="warming", error=None)
        report(progress, "compile", 0, 1, "compiling UMAP (first use in this process)")
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import umap  # noqa: F401  (numba code is compiled below, on first call)

                _enable_numba_disk_cache()
                rng = np.random.default_rng(0)
                x = rng.normal(size=(64, 8)).astype(np.float32)
                x /= np.linalg.norm(x, axis=1, keepdims=True)
                reducer = _fit_umap(x, ProjectionSettings(n_neighbors=5, seed=0), n_epochs=10)
                reducer.transform(x[:2])
        except BaseException as err:
            _WARM.update(state="failed", error=f"{type(err).__name__}: {err}")
            raise
        seconds = time.perf_counter() - start
        _WARM.update(state="ready", seconds=seconds)
        report(progress, "compile", 1, 1, f"UMAP ready ({seconds:.1f} s)")
        return seconds


def warm_up_in_background() -> threading.Thread | None:
    """Start :func:`warm_up` in a daemon thread (once per process: the app calls it at start, the explore
    page again; a failed warm-up is not retried in the background, the first map then says why);
    returns it (None when done or failed)."""
    global _WARM_THREAD
    if umap_ready() or _WARM["state"] == "failed":
        return None
    if _WARM_THREAD is None or not _WARM_THREAD.is_alive():
        if _WARM["state"] == "warming":
            return _WARM_THREAD

        def run() -> None:
            with contextlib.suppress(Exception):
                warm_up()

        _WARM_THREAD = threading.Thread(target=run, name="umap-warm-up", daemon=True)
        _WARM_THREAD.start()
    return _WARM_THREAD


def warm_up_status() -> dict[str, Any]:
    """``{"state": cold|warming|ready|failed, "seconds", "error"}`` of this process's UMAP warm-up."""
    return dict(_WARM)


# --------------------------------------------------------------------------------------------------
# fitting and aligning
# --------------------------------------------------------------------------------------------------
class ExactCosineIndex:
    """Exact cosine nearest neighbours behind the query interface umap's ``transform`` uses
    (pynndescent's ``query`` and ``_angular_trees``), for maps fitted on precomputed neighbours."""

    _angular_trees = True

    def __init__(self, data: np.ndarray):
        self.data = data

    def query(self, queries: np.ndarray, k: int = 10, epsilon: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
        return exact_cosine_knn(np.asarray(queries, dtype=np.float32), self.data, k)


def exact_cosine_knn(
    queries: np.ndarray, data: np.ndarray, k: int, *, block: int = 2048
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (int32) and cosine distances (float32) of each query's ``k`` nearest rows of ``data``,
    nearest first. A query that is also a row of ``data`` finds itself first, at distance 0."""
    q = np.ascontiguousarray(queries, dtype=np.float32)
    d = np.ascontiguousarray(data, dtype=np.float32)
    qn = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    dn = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
    k = min(k, len(d))
    indices = np.empty((len(q), k), dtype=np.int32)
    dists = np.empty((len(q), k), dtype=np.float32)
    for start in range(0, len(q), block):
        sims = qn[start : start + block] @ dn.T
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        part_sims = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-part_sims, axis=1, kind="stable")
        indices[start : start + len(sims)] = np.take_along_axis(part, order, axis=1)
        dists[start : start + len(sims)] = np.maximum(0.0, 1.0 - np.take_along_axis(part_sims, order, axis=1))
    return indices, dists


def _fit_umap(x: np.ndarray, settings: ProjectionSettings, n_epochs: int | None = None) -> Any:
    """A fitted ``umap.UMAP``. Up to ``EXACT_KNN_LIMIT`` points the neighbour graph is computed exactly
    here (a matrix product) instead of by pynndescent, whose code numba would compile in every process."""
    import umap

    n = len(x)
    k = min(settings.n_neighbors, n - 1)
    options: dict[str, Any] = {}
    if n <= EXACT_KNN_LIMIT and settings.metric == "cosine":
        indices, dists = exact_cosine_knn(x, x, k)
        options["precomputed_knn"] = (indices, dists, ExactCosineIndex(x))
    reducer = umap.UMAP(
        n_components=settings.n_components,
        n_neighbors=k,
        min_dist=settings.min_dist,
        metric=settings.metric,
        random_state=settings.seed,
        transform_seed=settings.seed,
        n_jobs=1,
        n_epochs=n_epochs,
        **options,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reducer.fit(x)
    return reducer


def check_map_size(n: int, settings: ProjectionSettings) -> None:
    """Refuse maps that cannot be made before anything is encoded."""
    if settings.method == "umap" and n < 10:
        raise InvalidInput(f"UMAP needs at least 10 points (got {n}); use PCA for so few.")
    if settings.method == "pca" and n < settings.n_components + 1:
        raise InvalidInput(
            f"PCA to {settings.n_components}-D needs at least {settings.n_components + 1} points."
        )


def fit_projection(
    vectors: np.ndarray,
    settings: ProjectionSettings = ProjectionSettings(),
    progress: Reporter | None = None,
) -> tuple[np.ndarray, Any]:
    """Project ``vectors`` to ``settings.n_components`` dimensions. Returns ``(coords, reducer)``; the
    reducer's ``transform`` places new vectors (a query, a document outside the sample) on the map."""
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(x)
    check_map_size(n, settings)
    if settings.method == "pca":
        from sklearn.decomposition import PCA

        report(progress, "fit", 0, 1, f"PCA of {n:,} points")
        reducer = PCA(n_components=settings.n_components, random_state=settings.seed).fit(x)
        coords = reducer.transform(x)
    else:
        warm_up(progress)
        how = "exact" if n <= EXACT_KNN_LIMIT else "approximate (pynndescent)"
        report(
            progress,
            "fit",
            0,
            1,
            f"UMAP of {n:,} points ({settings.metric}, {how} neighbours, seed {settings.seed})",
        )
        reducer = _fit_umap(x, settings)
        coords = reducer.embedding_
    report(progress, "fit", 1, 1, f"{settings.method.upper()} done")
    return np.asarray(coords, dtype=np.float32), reducer


def place(reducer: Any, vectors: np.ndarray) -> np.ndarray:
    """Coordinates of new vectors on a fitted map."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if type(reducer).__module__.startswith("umap"):
            warm_up()
        return np.asarray(
            reducer.transform(np.ascontiguousarray(vectors, dtype=np.float32)), dtype=np.float32
        )


def align_procrustes(reference: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """``moving`` rotated / reflected, scaled and shifted onto ``reference`` (orthogonal Procrustes on
    centred, unit-norm point clouds), so that two maps of the same points can be compared."""
    from scipy.linalg import orthogonal_procrustes

    ref = np.asarray(reference, dtype=np.float64)
    mov = np.asarray(moving, dtype=np.float64)
    if ref.shape != mov.shape:
        raise InvalidInput(f"maps must have the same shape ({ref.shape} vs {mov.shape})")
    mu_r, mu_m = ref.mean(axis=0), mov.mean(axis=0)
    r, m = ref - mu_r, mov - mu_m
    nr, nm = np.linalg.norm(r) or 1.0, np.linalg.norm(m) or 1.0
    rotation, _ = orthogonal_procrustes(m / nm, r / nr)
    return ((m / nm) @ rotation * nr + mu_r).astype(np.float32)
