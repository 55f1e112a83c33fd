"""Maps of an embedding space: UMAP or PCA to 2-D / 3-D, before / after views of two models.

:func:`explore` is the one entry point the page, the CLI and the ``project`` job share::

    result = explore(ws, ExploreRequest("banking77", model="all-MiniLM-L6-v2", splits=("test",)))
    result.points        # id, text, label, split, x, y (and x_b, y_b for a second model)
    result.silhouette    # label separation in the original space (cosine)

- Points: the texts of a classification dataset (chosen splits) or the documents of a retrieval corpus,
  sampled (stratified by label / judged split) down to ``max_points`` (default 5,000); the count is kept.
- Vectors come from the embedding cache (:mod:`core.encoding`); a retrieval corpus is encoded whole
  under the same key the dense retriever uses, so both share one encoding.
- Projections are seeded and use the cosine metric; results are cached on disk under a key made of the
  model fingerprints, the dataset fingerprint, the sample and every setting.
- UMAP compiles with numba on first use. :func:`warm_up` does it on a tiny input (callable in the
  background) and switches on numba's on-disk cache for umap's functions, so later processes load the
  compiled code from ``NUMBA_CACHE_DIR`` instead of compiling again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from core.data import Dataset, LabeledDataset, RetrievalDataset, resolve_dataset
from core.encoding import (
    EmbeddingCache,
    Encoder,
    EncodeSettings,
    encode_corpus,
    encoder_cache_key,
    make_encoder,
)
from core.explore.space_metrics import knn_label_agreement, label_silhouette, neighbourhood_overlap
from core.models import DEFAULT_BI_ENCODER, model_fingerprint, quiet_transformers, resolve_model
from core.runtime import (
    Cancelled,
    InvalidInput,
    NotFound,
    Reporter,
    Workspace,
    atomic_write_json,
    configure_environment,
    report,
)

__all__ = [
    "DEFAULT_MAX_POINTS",
    "METHODS",
    "ExactCosineIndex",
    "ExploreRequest",
    "ExploreResult",
    "PointSet",
    "ProjectionSettings",
    "align_procrustes",
    "cached_result",
    "dataset_points",
    "default_splits",
    "exact_cosine_knn",
    "explore",
    "fit_projection",
    "load_reducer",
    "model_location",
    "place",
    "project_job",
    "quiet_model_loading",
    "stratified_sample",
    "umap_ready",
    "warm_up",
    "warm_up_in_background",
    "warm_up_status",
]

DEFAULT_MAX_POINTS = 5000
METHODS = ("umap", "pca")
ALIGNS = ("procrustes", "joint")
EXACT_KNN_LIMIT = 10_000  # UMAP neighbours computed exactly up to this many points
FULL_ENCODE_LIMIT = 50_000  # retrieval corpora up to this size are encoded whole (shared with retrieval)
CACHE_VERSION = 1
UNJUDGED = "not judged"

EncoderFactory = Callable[[str], Encoder]


# --------------------------------------------------------------------------------------------------
# settings and requests
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProjectionSettings:
    """How vectors become a map: method, dimensions and the UMAP knobs (cosine metric, seeded)."""

    method: str = "umap"  # umap | pca
    n_components: int = 2
    n_neighbors: int = 15
    min_dist: float = 0.1
    seed: int = 42
    metric: str = "cosine"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InvalidInput(f"Unknown projection method {self.method!r}: use umap or pca.")
        if self.n_components not in (2, 3):
            raise InvalidInput(f"Projections have 2 or 3 dimensions, not {self.n_components}.")
        if self.n_neighbors < 2:
            raise InvalidInput("n_neighbors must be at least 2.")
        if not 0.0 <= self.min_dist <= 1.0:
            raise InvalidInput("min_dist must be between 0 and 1.")


@dataclass(frozen=True)
class ExploreRequest:
    """Everything that decides a map: dataset, model(s), points, projection settings.

    ``splits``: for classification the splits shown (default: test, else all); for retrieval the split
    whose judgements are used. ``align``: how a second model's map is put beside the first —
    ``procrustes`` (one map per model, the second rotated onto the first) or ``joint`` (one map fitted on
    both models' vectors, which must have the same size). ``knn_k``: k of the k-NN numbers."""

    dataset: str  # workspace name, path, or data-folder name
    model: str = DEFAULT_BI_ENCODER
    compare_model: str | None = None
    splits: tuple[str, ...] = ()
    settings: ProjectionSettings = ProjectionSettings()
    max_points: int = DEFAULT_MAX_POINTS
    align: str = "procrustes"
    knn_k: int = 10

    def __post_init__(self) -> None:
        if self.max_points < 10:
            raise InvalidInput(f"max points must be at least 10, got {self.max_points}.")
        if self.align not in ALIGNS:
            raise InvalidInput(f"Unknown alignment {self.align!r}: use procrustes or joint.")
        if self.knn_k < 1:
            raise InvalidInput("k of the k-NN numbers must be at least 1.")
        if self.compare_model is not None and not self.compare_model.strip():
            object.__setattr__(self, "compare_model", None)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"splits": list(self.splits)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExploreRequest:
        data = dict(data)
        data["settings"] = ProjectionSettings(**(data.get("settings") or {}))
        data["splits"] = tuple(data.get("splits") or ())
        return cls(**data)


# --------------------------------------------------------------------------------------------------
# points: which texts are shown
# --------------------------------------------------------------------------------------------------
def stratified_sample(
    groups: Sequence[Any], max_points: int, *, seed: int = 42, must_include: Sequence[int] = ()
) -> np.ndarray:
    """Sorted row indices: all rows when there are at most ``max_points``, else a seeded sample that keeps
    each group's share (largest-remainder rounding, at least one row per group when the budget allows).
    Rows in ``must_include`` are always taken (up to the budget) and count towards their group."""
    groups = np.asarray([str(g) for g in groups], dtype=object)
    n = len(groups)
    if n <= max_points:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    forced = np.unique(np.asarray(must_include, dtype=np.int64))[:max_points]
    chosen = set(forced.tolist())
    budget = max_points - len(forced)
    free = np.setdiff1d(np.arange(n), forced)
    if budget > 0 and len(free):
        keys, inverse = np.unique(groups[free], return_inverse=True)
        counts = np.bincount(inverse, minlength=len(keys))
        raw = counts * budget / counts.sum()
        quota = np.floor(raw).astype(np.int64)
        if budget >= len(keys):
            quota = np.maximum(quota, 1)
        quota = np.minimum(quota, counts)
        order = np.argsort(-(raw - np.floor(raw)), kind="stable")
        while quota.sum() < budget:  # hand out what rounding left, largest remainders first
            for g in order:
                if quota.sum() >= budget:
                    break
                if quota[g] < counts[g]:
                    quota[g] += 1
        while quota.sum() > budget:  # the one-per-group floor overshot: take from the largest quotas
            quota[int(np.argmax(quota))] -= 1
        for g in range(len(keys)):
            rows = free[inverse == g]
            chosen.update(rng.choice(rows, size=int(quota[g]), replace=False).tolist())
    return np.array(sorted(chosen), dtype=np.int64)


@dataclass(frozen=True, eq=False)
class PointSet:
    """The sampled points of a dataset and how to get their vectors.

    ``frame`` has ``id``, ``text``, ``split``, ``label`` (classification only) and ``row`` (index of the
    point in ``encode_texts``). ``total`` counts the points before sampling."""

    frame: pd.DataFrame
    kind: str
    total: int
    encode_texts: tuple[str, ...]
    encode_fingerprint: str
    notes: tuple[str, ...] = ()

    @property
    def has_labels(self) -> bool:
        return "label" in self.frame.columns

    @property
    def sample_fingerprint(self) -> str:
        h = hashlib.sha256()
        cols = [c for c in ("id", "label", "split", "row") if c in self.frame.columns]
        for values in zip(*(self.frame[c].astype(str) for c in cols), strict=True):
            h.update("\x00".join(values).encode())
            h.update(b"\x01")
        return h.hexdigest()[:24]


def _texts_fingerprint(texts: Sequence[str]) -> str:
    h = hashlib.sha256()
    for text in texts:
        h.update(text.encode())
        h.update(b"\x01")
    return h.hexdigest()[:24]


def default_splits(ds: Dataset) -> tuple[str, ...]:
    """Classification: the test split when there is one, else all; retrieval: the default qrels split."""
    if isinstance(ds, RetrievalDataset):
        return (ds.default_split,)
    return ("test",) if "test" in ds.splits else tuple(ds.splits)


def dataset_points(
    ds: Dataset, *, splits: Sequence[str] = (), max_points: int = DEFAULT_MAX_POINTS, seed: int = 42
) -> PointSet:
    """The points of ``ds`` shown on a map (see :class:`PointSet`)."""
    splits = tuple(splits) or default_splits(ds)
    if isinstance(ds, LabeledDataset):
        return _labeled_points(ds, splits, max_points, seed)
    return _retrieval_points(ds, splits[0], max_points, seed)


def _labeled_points(ds: LabeledDataset, splits: tuple[str, ...], max_points: int, seed: int) -> PointSet:
    frames = []
    for split in splits:
        part = ds.split(split)  # KeyError names the splits there are
        labels = [v[0] if v else "" for v in part["labels"]] if ds.multi_label else part["label"].tolist()
        frames.append(
            pd.DataFrame(
                {
                    "id": [f"{split}:{i}" for i in range(len(part))],
                    "text": part["text"].tolist(),
                    "label": [str(v) for v in labels],
                    "split": split,
                }
            )
        )
    full = pd.concat(frames, ignore_index=True)
    groups = full["split"] + "\x00" + full["label"]
    idx = stratified_sample(groups.tolist(), max_points, seed=seed)
    frame = full.iloc[idx].reset_index(drop=True)
    frame["row"] = np.arange(len(frame))
    texts = tuple(frame["text"].tolist())
    notes = []
    if ds.multi_label:
        notes.append("multi-label dataset: points are coloured and scored by their first label")
    return PointSet(frame, ds.kind, len(full), texts, _texts_fingerprint(texts), tuple(notes))


def _retrieval_points(ds: RetrievalDataset, split: str, max_points: int, seed: int) -> PointSet:
    if split not in ds.splits:
        raise NotFound(f"Dataset {ds.name!r} has no split {split!r}; it has {ds.splits}.")
    order = {s: i for i, s in enumerate(ds.splits)}
    relevant = ds.qrels[ds.qrels["score"] > 0]
    judged_in: dict[str, str] = {}
    for did, s in sorted(zip(relevant["doc_id"], relevant["split"], strict=True), key=lambda p: order[p[1]]):
        judged_in.setdefault(did, s)
    doc_ids = ds.doc_ids
    texts = ds.doc_texts()
    groups = [judged_in.get(d, UNJUDGED) for d in doc_ids]
    in_split = set(relevant.loc[relevant["split"] == split, "doc_id"])
    must = [i for i, d in enumerate(doc_ids) if d in in_split][: max_points // 2]
    idx = stratified_sample(groups, max_points, seed=seed, must_include=must)
    frame = pd.DataFrame(
        {
            "id": [doc_ids[i] for i in idx],
            "text": [texts[i] for i in idx],
            "split": [groups[i] for i in idx],
        }
    )
    if len(doc_ids) <= FULL_ENCODE_LIMIT:  # whole corpus: same cache entry as the dense retriever
        frame["row"] = idx
        return PointSet(frame, ds.kind, len(doc_ids), tuple(texts), ds.fingerprint)
    frame["row"] = np.arange(len(frame))
    sample_texts = tuple(frame["text"].tolist())
    return PointSet(frame, ds.kind, len(doc_ids), sample_texts, _texts_fingerprint(sample_texts))


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
    """Start :func:`warm_up` in a daemon thread (once per process); returns it (None when done)."""
    global _WARM_THREAD
    if umap_ready():
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


def _check_size(n: int, settings: ProjectionSettings) -> None:
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
    _check_size(n, settings)
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


def _encoder_fingerprint(name: str, ws: Workspace | None) -> str:
    """The fingerprint :func:`core.encoding.make_encoder` gives this model, without loading it."""
    info = resolve_model(model_location(name, ws), ws)
    return encoder_cache_key(model_fingerprint(info), EncodeSettings())


def _default_encoder_factory(ws: Workspace | None) -> EncoderFactory:
    def make(name: str) -> Encoder:
        return make_encoder(model_location(name, ws), ws)

    return make


# --------------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ExploreResult:
    """A computed map with its numbers. ``points``: id, text, split, label (classification), row, x, y
    (z), and for a second model x_b, y_b (z_b) aligned to the first and ``moved`` (distance on the map)."""

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
    path = Path(folder) / "reducer.joblib"
    if not path.exists():
        return None

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return joblib.load(path)


def _result_key(request: ExploreRequest, ds: Dataset, points: PointSet, fp_a: str, fp_b: str | None) -> str:
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


def _load_result(
    ws: Workspace, key: str, request: ExploreRequest, dataset: str, started: float
) -> ExploreResult | None:
    folder = _results_dir(ws) / key
    meta_path, points_path = folder / "meta.json", folder / "points.parquet"
    if not (meta_path.exists() and points_path.exists()):
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        points = pd.read_parquet(points_path)
    except (OSError, ValueError):
        return None
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
        from_cache=True,
        embedding_keys=meta["embedding_keys"],
        folder=folder,
        notes=tuple(meta.get("notes", [])),
        timings=meta.get("timings", {}),
    )


def _resolve(ws: Workspace, dataset: str | Dataset) -> Dataset:
    if isinstance(dataset, LabeledDataset | RetrievalDataset):
        return dataset

    return resolve_dataset(ws, dataset)


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
    fp_a, fp_b = _fingerprints(ws, request, encoder_factory)
    key = _result_key(request, ds, points, fp_a, fp_b)
    return _load_result(ws, key, request, ds.name, started)


def _fingerprints(
    ws: Workspace, request: ExploreRequest, factory: EncoderFactory | None
) -> tuple[str, str | None]:
    if factory is not None:
        fp_a = factory(request.model).fingerprint
        fp_b = factory(request.compare_model).fingerprint if request.compare_model else None
    else:
        fp_a = _encoder_fingerprint(request.model, ws)
        fp_b = _encoder_fingerprint(request.compare_model, ws) if request.compare_model else None
    return fp_a, fp_b


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
    settings = request.settings
    report(progress, "sample", 0, 1, "choosing points")
    points = dataset_points(ds, splits=request.splits, max_points=request.max_points, seed=settings.seed)
    sampled = f"{len(points.frame):,} of {points.total:,} points"
    report(
        progress,
        "sample",
        1,
        1,
        sampled + (" (stratified sample)" if len(points.frame) < points.total else ""),
    )
    _check_size(len(points.frame), settings)
    fp_a, fp_b = _fingerprints(ws, request, encoder_factory)
    key = _result_key(request, ds, points, fp_a, fp_b)
    if use_cache:
        hit = _load_result(ws, key, request, ds.name, started)
        if hit is not None:
            report(progress, "done", 1, 1, "loaded from the projection cache")
            return hit
    factory = encoder_factory or _default_encoder_factory(ws)
    cache = EmbeddingCache(ws)
    timings: dict[str, float] = {}
    rows = points.frame["row"].to_numpy()

    def vectors_of(model: str, fingerprint: str, which: str) -> tuple[np.ndarray, list[Any]]:
        t0 = time.perf_counter()
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
        timings[f"encode_{which}"] = time.perf_counter() - t0
        return full[rows], [fingerprint, points.encode_fingerprint, n_texts]

    vec_a, emb_a = vectors_of(request.model, fp_a, "a")
    embedding_keys = {"a": emb_a}
    vec_b = None
    if request.compare_model:
        assert fp_b is not None
        vec_b, embedding_keys["b"] = vectors_of(request.compare_model, fp_b, "b")

    t0 = time.perf_counter()
    notes = list(points.notes)
    frame = points.frame.copy()
    axes = ["x", "y", "z"][: settings.n_components]
    if vec_b is not None and request.align == "joint":
        if vec_a.shape[1] != vec_b.shape[1]:
            raise InvalidInput(
                f"A joint map needs vectors of the same size ({vec_a.shape[1]} vs {vec_b.shape[1]}); "
                "use the Procrustes alignment for these two models."
            )
        both, reducer = fit_projection(np.vstack([vec_a, vec_b]), settings, progress)
        coords_a, coords_b = both[: len(vec_a)], both[len(vec_a) :]
    else:
        coords_a, reducer = fit_projection(vec_a, settings, progress)
        coords_b = None
        if vec_b is not None:
            coords_b, _ = fit_projection(vec_b, settings, progress)
            coords_b = align_procrustes(coords_a, coords_b)
    timings["project"] = time.perf_counter() - t0
    for i, axis in enumerate(axes):
        frame[axis] = coords_a[:, i]
    if coords_b is not None:
        for i, axis in enumerate(axes):
            frame[f"{axis}_b"] = coords_b[:, i]
        frame["moved"] = np.linalg.norm(coords_b - coords_a, axis=1)

    t0 = time.perf_counter()
    report(progress, "metrics", 0, 1, "silhouette and neighbourhoods")
    labels = frame["label"].tolist() if points.has_labels else None
    sil_a = label_silhouette(vec_a, labels, seed=settings.seed) if labels else None
    sil_b = label_silhouette(vec_b, labels, seed=settings.seed) if labels and vec_b is not None else None
    knn_a = knn_label_agreement(vec_a, labels, request.knn_k) if labels else None
    knn_b = knn_label_agreement(vec_b, labels, request.knn_k) if labels and vec_b is not None else None
    overlap = neighbourhood_overlap(vec_a, vec_b, request.knn_k) if vec_b is not None else None
    timings["metrics"] = time.perf_counter() - t0
    report(progress, "metrics", 1, 1, "done")
    if labels is None:
        notes.append("no labels: silhouette and k-NN label agreement need a classification dataset")

    compute_seconds = time.perf_counter() - started
    meta = {
        "kind": ds.kind,
        "dataset": ds.name,
        "total": points.total,
        "dims": [len(vec_a[0]), *([len(vec_b[0])] if vec_b is not None else [])],
        "silhouette": sil_a,
        "silhouette_compare": sil_b,
        "knn_agreement": knn_a,
        "knn_agreement_compare": knn_b,
        "neighbourhood_overlap": overlap,
        "compute_seconds": compute_seconds,
        "embedding_keys": embedding_keys,
        "notes": notes,
        "timings": timings,
        "request": request.to_dict(),
    }
    folder = _store(ws, key, frame, meta, reducer)
    return ExploreResult(
        key=key,
        points=frame,
        request=request,
        dataset=ds.name,
        kind=ds.kind,
        total=points.total,
        dims=tuple(meta["dims"]),
        silhouette=sil_a,
        silhouette_compare=sil_b,
        knn_agreement=knn_a,
        knn_agreement_compare=knn_b,
        neighbourhood_overlap=overlap,
        compute_seconds=compute_seconds,
        seconds=time.perf_counter() - started,
        from_cache=False,
        embedding_keys=embedding_keys,
        folder=folder,
        notes=tuple(notes),
        timings=timings,
    )


def _store(ws: Workspace, key: str, frame: pd.DataFrame, meta: dict[str, Any], reducer: Any) -> Path:
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


def project_job(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    """Job handler (kind ``project``): compute a map and store it; the result holds its cache key."""
    quiet_model_loading()
    request = ExploreRequest.from_dict(config)

    def progress(p: Any) -> None:
        if ctx.should_stop():
            raise Cancelled("cancelled by the user")
        label = _STAGE_NAMES.get(p.stage, p.stage)
        ctx.progress(
            p.done,
            p.total,
            message=f"{label}: {p.message}" if p.message else label,
            force=p.stage != "encode",
        )

    result = explore(ctx.ws, request, progress=progress)
    return result.to_json()
