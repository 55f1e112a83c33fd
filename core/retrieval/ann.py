"""FAISS indexes chosen by corpus size: exact (``IndexFlatIP``) below :data:`AUTO_EXACT_LIMIT` vectors, an
approximate one above it — HNSW (``IndexHNSWFlat``) or IVF (``IndexIVFFlat``) — and what an approximate
index loses: its recall@k against exact search (:func:`ann_recall`).

An :class:`IndexPlan` is a dense spec's index settings resolved for one corpus (``auto`` decided, IVF's
``nlist`` / ``nprobe`` scaled with the number of vectors). :func:`build_index` adds the vectors in batches,
so a float16 or memory-mapped array (or a list of shards) never needs a second full float32 copy; the
float32 copy the index keeps is the only one. :func:`load_or_build_index` keeps approximate indexes in the
workspace's :class:`~core.retrieval.index_store.IndexStore`; exact ones are not saved: loading one takes as
long as building it from the cached vectors (1.4 s against 1.3 s at 10^6 vectors) and would double their disk.

``bench/ann.py`` measured the threshold and the defaults (2-core CPU, 384-d, single queries): exact search
takes 0.45 ms at 10^4 vectors, 6.5 ms at 10^5, 16 ms at 3·10^5, 52 ms at 10^6 — up to 10^5 it costs less than
encoding the query (~9 ms) and needs no build; at 10^6 HNSW answers in 0.38 ms with recall@10 0.979 (build
274 s), IVF (nlist 4,096, nprobe 64) in 1.2 ms with 0.985 (build 54 s).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from core.retrieval.index_store import FINGERPRINT_ROWS, IndexStore, fingerprint, vectors_fingerprint
from core.runtime import InvalidInput, Reporter, report

__all__ = [
    "AUTO_ANN",
    "AUTO_EXACT_LIMIT",
    "DEFAULT_RECALL_SAMPLE",
    "INDEX_KINDS",
    "SAVED_KINDS",
    "IndexPlan",
    "VectorSource",
    "ann_recall",
    "build_index",
    "check_index_settings",
    "exact_top_k",
    "load_or_build_index",
    "plan_index",
    "set_search_params",
]

INDEX_KINDS = ("auto", "exact", "hnsw", "ivf")
AUTO_EXACT_LIMIT = 100_000  # auto: exact search up to this many vectors (exact p50 6.5 ms at 10^5)
AUTO_ANN = "hnsw"  # auto above the limit: the fastest queries at recall@10 >= 0.95 (3x IVF at 10^6)
SAVED_KINDS = ("hnsw", "ivf")  # kept in the index store (an exact index is rebuilt as fast as it loads)
DEFAULT_RECALL_SAMPLE = 500  # queries sampled (seeded) to measure recall@10 against exact
ADD_BATCH = 32_768  # rows converted to float32 and added at a time
IVF_TRAIN_PER_LIST = 64  # k-means training points per IVF list (FAISS warns below 39)

VectorSource = np.ndarray | Sequence[np.ndarray]  # one array (float32, float16, memory-mapped) or its shards


class IndexSettings(Protocol):
    """The index fields of a dense spec (``core.retrieval.dense.DenseSpec``)."""

    index: str
    hnsw_m: int
    hnsw_ef_search: int
    hnsw_ef_construction: int
    ivf_nlist: int | None
    ivf_nprobe: int | None


@dataclass(frozen=True)
class IndexPlan:
    """The index one corpus gets: ``kind`` (exact | hnsw | ivf), its FAISS parameters, and whether ``auto``
    chose it. ``build_params`` change the built index (and its file); search parameters do not."""

    kind: str
    n: int
    hnsw_m: int = 32
    hnsw_ef_construction: int = 200
    hnsw_ef_search: int = 128
    ivf_nlist: int = 0
    ivf_nprobe: int = 0
    auto: bool = False

    @property
    def build_params(self) -> dict[str, Any]:
        if self.kind == "hnsw":
            return {"kind": "hnsw", "M": self.hnsw_m, "efConstruction": self.hnsw_ef_construction}
        if self.kind == "ivf":
            return {"kind": "ivf", "nlist": self.ivf_nlist}
        return {"kind": "exact"}

    @property
    def params(self) -> dict[str, Any]:
        """Build and search parameters, for results."""
        if self.kind == "hnsw":
            return {**self.build_params, "efSearch": self.hnsw_ef_search}
        if self.kind == "ivf":
            return {**self.build_params, "nprobe": self.ivf_nprobe}
        return self.build_params

    @property
    def label(self) -> str:
        if self.kind == "hnsw":
            return f"HNSW (M={self.hnsw_m}, efSearch={self.hnsw_ef_search})"
        if self.kind == "ivf":
            return f"IVF (nlist={self.ivf_nlist:,}, nprobe={self.ivf_nprobe})"
        return "exact"


def check_index_settings(spec: IndexSettings) -> None:
    """:class:`InvalidInput` for an unknown index type or a parameter out of range."""
    if spec.index not in INDEX_KINDS:
        raise InvalidInput(f"Unknown index type {spec.index!r}: use one of {', '.join(INDEX_KINDS)}.")
    for name in ("hnsw_m", "hnsw_ef_search", "hnsw_ef_construction", "ivf_nlist", "ivf_nprobe"):
        value = getattr(spec, name)
        if value is None and name.startswith("ivf"):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidInput(f"{name} must be a positive whole number, not {value!r}.")
    if spec.hnsw_m > 256:
        raise InvalidInput(f"hnsw_m must be at most 256, not {spec.hnsw_m}.")
    if spec.ivf_nlist is not None and spec.ivf_nprobe is not None and spec.ivf_nprobe > spec.ivf_nlist:
        raise InvalidInput(f"ivf_nprobe ({spec.ivf_nprobe}) cannot exceed ivf_nlist ({spec.ivf_nlist}).")


def default_nlist(n: int) -> int:
    """IVF lists for ``n`` vectors: the power of two nearest 4·√n (FAISS's guide: 4·√n to 16·√n), at most
    n / 39 so that every list has training points."""
    nlist = 2 ** round(math.log2(max(1.0, 4 * math.sqrt(n))))
    return max(1, min(nlist, n // 39 or 1))


def default_nprobe(nlist: int) -> int:
    """Lists searched: 64, or 1/64 of them when there are more than 4,096 (bench/ann.py: recall@10 0.970 at
    10^5 vectors with 1,024 lists, 0.985 at 10^6 with 4,096; 32 lists gave 0.946 at 10^5)."""
    return min(nlist, max(64, nlist // 64))


def plan_index(spec: IndexSettings, n: int) -> IndexPlan:
    """``spec``'s index settings resolved for ``n`` vectors (``auto`` decided, IVF parameters scaled)."""
    check_index_settings(spec)
    kind = spec.index
    auto = kind == "auto"
    if auto:
        kind = "exact" if n <= AUTO_EXACT_LIMIT else AUTO_ANN
    nlist = nprobe = 0
    if kind == "ivf":
        nlist = min(spec.ivf_nlist or default_nlist(n), max(1, n))
        nprobe = min(spec.ivf_nprobe or default_nprobe(nlist), nlist)
    return IndexPlan(
        kind=kind,
        n=n,
        hnsw_m=spec.hnsw_m,
        hnsw_ef_construction=spec.hnsw_ef_construction,
        hnsw_ef_search=spec.hnsw_ef_search,
        ivf_nlist=nlist,
        ivf_nprobe=nprobe,
        auto=auto,
    )


def _parts(vectors: VectorSource) -> list[np.ndarray]:
    parts = [vectors] if isinstance(vectors, np.ndarray) else list(vectors)
    if not parts or any(p.ndim != 2 for p in parts) or len({p.shape[1] for p in parts}) != 1:
        raise InvalidInput("Vectors must be one or more 2-d arrays of the same width.")
    return parts


def iter_batches(vectors: VectorSource, batch: int = ADD_BATCH) -> Iterator[np.ndarray]:
    """Contiguous float32 batches of at most ``batch`` rows, shard after shard."""
    for part in _parts(vectors):
        for start in range(0, len(part), batch):
            yield np.ascontiguousarray(part[start : start + batch], dtype=np.float32)


def _rows(vectors: VectorSource, idx: np.ndarray) -> np.ndarray:
    """Rows ``idx`` (sorted) of the concatenated source, as float32."""
    out, offset = [], 0
    for part in _parts(vectors):
        mine = idx[(idx >= offset) & (idx < offset + len(part))] - offset
        out.append(np.asarray(part[mine], dtype=np.float32))
        offset += len(part)
    return np.ascontiguousarray(np.concatenate(out))


def _empty_index(plan: IndexPlan, dim: int) -> Any:
    import faiss

    if plan.kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, plan.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = plan.hnsw_ef_construction
        return index
    if plan.kind == "ivf":
        return faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, plan.ivf_nlist, faiss.METRIC_INNER_PRODUCT)
    return faiss.IndexFlatIP(dim)


def set_search_params(index: Any, plan: IndexPlan) -> None:
    """Search-time parameters (HNSW efSearch, IVF nprobe), also on an index loaded from a file."""
    if plan.kind == "hnsw":
        index.hnsw.efSearch = plan.hnsw_ef_search
    elif plan.kind == "ivf":
        index.nprobe = plan.ivf_nprobe


def build_index(
    vectors: VectorSource, plan: IndexPlan, *, seed: int = 0, progress: Reporter | None = None
) -> Any:
    """A FAISS inner-product index of ``plan``'s kind over ``vectors`` (rows L2-normalised), added batch by
    batch; IVF trains its lists on a seeded sample of :data:`IVF_TRAIN_PER_LIST` rows per list."""
    parts = _parts(vectors)
    n = sum(len(p) for p in parts)
    index = _empty_index(plan, parts[0].shape[1])
    if plan.kind == "ivf":
        size = min(n, plan.ivf_nlist * IVF_TRAIN_PER_LIST)
        sample = np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))
        report(progress, "index", 0, n, f"training {plan.ivf_nlist:,} IVF lists on {size:,} vectors")
        index.cp.seed = seed
        index.train(_rows(parts, sample))
    done = 0
    for batch in iter_batches(parts):
        index.add(batch)
        done += len(batch)
        report(progress, "index", done, n, f"{plan.kind} index: {done:,} of {n:,} vectors")
    set_search_params(index, plan)
    return index


def _index_key(vectors: np.ndarray, plan: IndexPlan, source: str) -> str:
    sample = np.unique(np.linspace(0, len(vectors) - 1, FINGERPRINT_ROWS).astype(int))
    return fingerprint(vectors_fingerprint(source, vectors.shape, vectors[sample]), plan.build_params)


def _load_saved(
    vectors: np.ndarray, plan: IndexPlan, store: IndexStore, key: str
) -> tuple[Any, float] | None:
    """A saved index of ``key`` that holds as many vectors of the same width, and its build time."""
    import faiss

    hit = store.load(key, "faiss", lambda p: faiss.read_index(str(p)))
    if hit is None:
        return None
    index, meta = hit
    if index.ntotal != len(vectors) or index.d != vectors.shape[1]:
        store.discard(key, "faiss")
        return None
    set_search_params(index, plan)
    return index, float(meta.get("built_s", 0.0))


def load_or_build_index(
    vectors: np.ndarray,
    plan: IndexPlan,
    store: IndexStore | None,
    source: str,
    *,
    progress: Reporter | None = None,
) -> tuple[Any, dict[str, Any]]:
    """The index of ``plan`` over ``vectors``: loaded from ``store`` when it holds one built from the same
    vectors (``source``: encoder + corpus fingerprints) with the same build settings, built and saved
    otherwise (HNSW and IVF; an exact index is always built: :data:`SAVED_KINDS`). Returns ``(index,
    info)``; ``info``: ``loaded``, ``built_s`` (of the build, then or now), ``seconds`` (building or loading
    it here), ``save_s``, ``bytes`` (of its file; 0 when not saved)."""
    import faiss

    t0 = time.perf_counter()
    n = len(vectors)
    store = store if plan.kind in SAVED_KINDS else None
    key = _index_key(vectors, plan, source) if store is not None else ""
    saved = _load_saved(vectors, plan, store, key) if store is not None else None
    if store is not None and saved is not None:
        seconds = time.perf_counter() - t0
        report(progress, "index", n, n, f"{plan.kind} index loaded from the workspace in {seconds:.1f}s")
        size = store.size(key, "faiss")
        return saved[0], {
            "loaded": True,
            "built_s": saved[1],
            "seconds": seconds,
            "save_s": 0.0,
            "bytes": size,
        }
    t0 = time.perf_counter()
    index = build_index(vectors, plan, progress=progress)
    built = time.perf_counter() - t0
    info: dict[str, Any] = {"loaded": False, "built_s": built, "seconds": built, "save_s": 0.0, "bytes": 0}
    if store is not None:
        meta = {"built_s": built, "rows": n, "dim": int(vectors.shape[1]), **plan.build_params}
        if store.save(key, "faiss", lambda p: faiss.write_index(index, str(p)), meta) is not None:
            info["bytes"] = store.size(key, "faiss")
        info["save_s"] = time.perf_counter() - t0 - built
    return index, info


def exact_top_k(doc_vectors: VectorSource, query_vectors: np.ndarray, k: int) -> np.ndarray:
    """Ids of the exact top-``k`` inner products of each query, computed batch by batch of the corpus
    (``faiss.knn``), so no exact index is built. Shape ``(queries, k)``."""
    import faiss

    q = np.ascontiguousarray(query_vectors, dtype=np.float32)
    best_s = np.full((len(q), 0), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(q), 0), dtype=np.int64)
    offset = 0
    for batch in iter_batches(doc_vectors):
        s, i = faiss.knn(q, batch, min(k, len(batch)), metric=faiss.METRIC_INNER_PRODUCT)
        best_s = np.concatenate([best_s, s], axis=1)
        best_i = np.concatenate([best_i, i + offset], axis=1)
        keep = np.argsort(-best_s, axis=1, kind="stable")[:, :k]
        best_s, best_i = np.take_along_axis(best_s, keep, 1), np.take_along_axis(best_i, keep, 1)
        offset += len(batch)
    return best_i


def ann_recall(doc_vectors: VectorSource, query_vectors: np.ndarray, index: Any, k: int = 10) -> float:
    """Share of the exact top-``k`` neighbours of ``query_vectors`` that ``index`` (built over
    ``doc_vectors``) also returns: 1.0 = no loss."""
    if len(query_vectors) == 0:
        return 1.0
    n = sum(len(p) for p in _parts(doc_vectors))
    k = min(k, n)
    exact = exact_top_k(doc_vectors, query_vectors, k)
    _, approx = index.search(np.ascontiguousarray(query_vectors, dtype=np.float32), k)
    found = sum(len(set(e) & set(a[a >= 0])) for e, a in zip(exact, approx, strict=True))
    return found / (k * len(exact))
