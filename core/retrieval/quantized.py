"""Compressed dense indexes: fewer bytes per vector, measured against float32 on the same queries.

A dense spec's ``quantization`` picks how its index stores the corpus vectors:

- ``float32``: the plain FAISS index of :mod:`core.retrieval.ann` (4 bytes per dimension);
- ``float16`` / ``int8``: FAISS scalar quantisers (``IndexScalarQuantizer``, or ``IndexHNSWSQ`` /
  ``IndexIVFScalarQuantizer`` for HNSW / IVF): 2 or 1 bytes per dimension, int8 with per-dimension ranges
  trained on the corpus; queries stay float32;
- ``binary``: one bit per dimension (sentence-transformers' ``quantize_embeddings(..., "ubinary")``, the
  sign of each value) in a FAISS binary index (``IndexBinaryFlat``, ``IndexBinaryHNSW``, ``IndexBinaryIVF``)
  searched by Hamming distance; the top ``k × rescore`` candidates are rescored with the float query against
  their float corpus vectors (the embedding cache's: they need not be in memory, only the candidates' rows
  are read; the retriever here keeps them loaded anyway), so 32x less index memory costs little quality
  (``rescore=0``: Hamming order alone). Index bytes count the index only, not those vectors.

``dims`` keeps fewer dimensions first: ``reduce="pca"`` (PCA fitted on the corpus vectors, as
:mod:`core.retrieval.pca`) or ``"truncate"`` (the first ``dims`` coordinates: Matryoshka truncation, sound
only for models trained for it; all-MiniLM-L6-v2 is not, so expect PCA to lose less there). Vectors are
re-normalised after either.

:func:`index_nbytes` is what an index holds (its serialised size, counted without writing it), reported per
vector next to the quality of each variant.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import numpy as np

from core.encoding import normalize_rows
from core.retrieval.ann import IVF_TRAIN_PER_LIST, IndexPlan, build_index, iter_batches
from core.runtime import InvalidInput, Reporter, report

__all__ = [
    "DEFAULT_RESCORE",
    "QUANTIZATIONS",
    "REDUCTIONS",
    "CompressedIndex",
    "check_compression",
    "compression_label",
    "index_nbytes",
    "is_compressed",
    "rescore_candidates",
    "to_ubinary",
]

QUANTIZATIONS = ("float32", "float16", "int8", "binary")
REDUCTIONS = ("pca", "truncate")
DEFAULT_RESCORE = 4  # candidates per result a binary (or static) first stage hands to float rescoring
MAX_RESCORE = 100
MIN_DIMS = 8
PCA_FIT_SAMPLE = 50_000  # corpus vectors the PCA is fitted on (seeded sample), as core.retrieval.pca


class CompressionSettings(Protocol):
    """The compression fields of a dense spec (``core.retrieval.dense.DenseSpec``)."""

    quantization: str
    rescore: int
    dims: int | None
    reduce: str


def check_compression(spec: CompressionSettings) -> None:
    """:class:`InvalidInput` for an unknown quantization or reduction, or a value out of range."""
    if spec.quantization not in QUANTIZATIONS:
        raise InvalidInput(
            f"Unknown quantization {spec.quantization!r}: use one of {', '.join(QUANTIZATIONS)}."
        )
    if spec.reduce not in REDUCTIONS:
        raise InvalidInput(f"Unknown reduction {spec.reduce!r}: use one of {', '.join(REDUCTIONS)}.")
    rescore = spec.rescore
    if isinstance(rescore, bool) or not isinstance(rescore, int) or not 0 <= rescore <= MAX_RESCORE:
        raise InvalidInput(f"rescore must be a whole number from 0 to {MAX_RESCORE}, not {rescore!r}.")
    dims = spec.dims
    if dims is not None and (isinstance(dims, bool) or not isinstance(dims, int) or dims < MIN_DIMS):
        raise InvalidInput(f"dims must be a whole number of at least {MIN_DIMS} (or none), not {dims!r}.")
    if dims is not None and spec.quantization == "binary" and dims % 8:
        raise InvalidInput(f"A binary index needs a multiple of 8 dimensions, not {dims}.")


def is_compressed(spec: CompressionSettings) -> bool:
    return spec.quantization != "float32" or spec.dims is not None


def compression_label(spec: CompressionSettings) -> str:
    """The label suffix of a compressed variant (empty for float32 at full width)."""
    out = ""
    if spec.dims is not None:
        out += f" PCA {spec.dims}-d" if spec.reduce == "pca" else f" {spec.dims}-d truncated"
    if spec.quantization == "binary":
        own = spec.rescore and not getattr(spec, "rescore_with", None)  # else the second model rescores
        out += f" binary (rescore ×{spec.rescore})" if own else " binary"
    elif spec.quantization != "float32":
        out += f" {spec.quantization}"
    return out


def index_nbytes(index: Any) -> int:
    """Bytes of ``index`` serialised (what it holds in memory, give or take a header), counted through a
    callback writer: no copy is made."""
    import faiss

    counted = [0]

    def count(chunk: bytes) -> int:
        counted[0] += len(chunk)
        return len(chunk)

    writer = faiss.PyCallbackIOWriter(count)
    if isinstance(index, faiss.IndexBinary):
        faiss.write_index_binary(index, writer)
    else:
        faiss.write_index(index, writer)
    return counted[0]


class _Reducer:
    """Fewer dimensions: a PCA fitted on (a sample of) the corpus vectors, or truncation; rows re-normalised."""

    def __init__(self, doc_vectors: np.ndarray, dims: int, how: str, *, seed: int = 0):
        width = int(doc_vectors.shape[1])
        if dims >= width:
            raise InvalidInput(f"dims ({dims}) must be fewer than the model's {width} dimensions.")
        self.dims, self.how, self.pca = dims, how, None
        if how == "pca":
            from sklearn.decomposition import PCA  # lazy: only PCA needs scikit-learn

            rng = np.random.default_rng(seed)
            size = min(PCA_FIT_SAMPLE, len(doc_vectors))
            if size < dims:
                raise InvalidInput(f"PCA to {dims} dimensions needs at least {dims} vectors, not {size}.")
            sample = np.sort(rng.choice(len(doc_vectors), size=size, replace=False))
            fit_on = np.asarray(doc_vectors[sample], dtype=np.float32)
            self.pca = PCA(n_components=dims, random_state=seed).fit(fit_on)

    def __call__(self, vectors: np.ndarray) -> np.ndarray:
        x = np.asarray(vectors, dtype=np.float32)
        x = self.pca.transform(x) if self.pca is not None else x[:, : self.dims]
        return np.ascontiguousarray(normalize_rows(x))


def _sq_index(plan: IndexPlan, dim: int, quantization: str) -> Any:
    import faiss

    qtype = faiss.ScalarQuantizer.QT_fp16 if quantization == "float16" else faiss.ScalarQuantizer.QT_8bit
    ip = faiss.METRIC_INNER_PRODUCT
    if plan.kind == "hnsw":
        index = faiss.IndexHNSWSQ(dim, qtype, plan.hnsw_m, ip)
        index.hnsw.efConstruction = plan.hnsw_ef_construction
        index.hnsw.efSearch = plan.hnsw_ef_search
        return index
    if plan.kind == "ivf":
        index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, plan.ivf_nlist, qtype, ip)
        index.nprobe = plan.ivf_nprobe
        return index
    return faiss.IndexScalarQuantizer(dim, qtype, ip)


def _binary_index(plan: IndexPlan, dim: int) -> Any:
    import faiss

    if plan.kind == "hnsw":
        index = faiss.IndexBinaryHNSW(dim, plan.hnsw_m)
        index.hnsw.efConstruction = plan.hnsw_ef_construction
        index.hnsw.efSearch = plan.hnsw_ef_search
        return index
    if plan.kind == "ivf":
        index = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(dim), dim, plan.ivf_nlist)
        index.nprobe = plan.ivf_nprobe
        return index
    return faiss.IndexBinaryFlat(dim)


def to_ubinary(vectors: np.ndarray) -> np.ndarray:
    """Packed sign bits (``uint8``, dim / 8 per row): sentence-transformers' ``ubinary`` quantisation."""
    from sentence_transformers.quantization import quantize_embeddings  # lazy: imports torch

    return np.ascontiguousarray(
        quantize_embeddings(np.asarray(vectors, dtype=np.float32), precision="ubinary")
    )


class CompressedIndex:
    """A dense index of one compression variant over ``doc_vectors`` (L2-normalised rows), searched like a
    FAISS index: ``search(query_vectors, k) -> (scores, ids)`` with full-width float32 queries."""

    def __init__(
        self,
        doc_vectors: np.ndarray,
        spec: CompressionSettings,
        plan: IndexPlan,
        *,
        rescore: bool = True,
        seed: int = 0,
        progress: Reporter | None = None,
    ):
        t0 = time.perf_counter()
        check_compression(spec)
        self.doc_vectors = doc_vectors
        self.quantization = spec.quantization
        self.plan = plan
        self.n = len(doc_vectors)
        self.rescore = spec.rescore if (rescore and spec.quantization == "binary") else 0
        self.reducer = _Reducer(doc_vectors, spec.dims, spec.reduce, seed=seed) if spec.dims else None
        self.dim = spec.dims or int(doc_vectors.shape[1])
        if self.quantization == "binary" and self.dim % 8:
            raise InvalidInput(f"A binary index needs a multiple of 8 dimensions, not {self.dim}.")
        self.index = self._build(seed, progress)
        self.nbytes = index_nbytes(self.index)
        self.built_s = time.perf_counter() - t0

    def _reduced_batches(self) -> Any:
        for batch in iter_batches(self.doc_vectors):
            yield self.reducer(batch) if self.reducer is not None else batch

    def _build(self, seed: int, progress: Reporter | None) -> Any:
        if self.quantization == "float32":
            return build_index(np.concatenate(list(self._reduced_batches())), self.plan, progress=progress)
        if self.quantization == "binary":
            index = _binary_index(self.plan, self.dim)
            encode = to_ubinary
        else:
            index = _sq_index(self.plan, self.dim, self.quantization)
            encode = None
        if not index.is_trained:
            index.train(self._training_sample(seed, encode))
        done = 0
        for batch in self._reduced_batches():
            index.add(encode(batch) if encode is not None else batch)
            done += len(batch)
            report(progress, "index", done, self.n, f"{self.quantization} index: {done:,} of {self.n:,}")
        return index

    def _training_sample(self, seed: int, encode: Any) -> np.ndarray:
        """The rows a scalar quantiser (its ranges) or an IVF (its lists) is trained on."""
        size = self.n
        if self.plan.kind == "ivf":
            size = min(self.n, self.plan.ivf_nlist * IVF_TRAIN_PER_LIST)
        rows = np.sort(np.random.default_rng(seed).choice(self.n, size=size, replace=False))
        sample = np.asarray(self.doc_vectors[rows], dtype=np.float32)
        sample = self.reducer(sample) if self.reducer is not None else np.ascontiguousarray(sample)
        return encode(sample) if encode is not None else sample

    @property
    def bytes_per_vector(self) -> float:
        return self.nbytes / max(1, self.n)

    def search(self, query_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.ascontiguousarray(query_vectors, dtype=np.float32)
        reduced = self.reducer(q) if self.reducer is not None else q
        if self.quantization != "binary":
            return self.index.search(reduced, k)
        depth = min(self.n, k * self.rescore) if self.rescore else k
        distances, ids = self.index.search(to_ubinary(reduced), max(k, depth))
        if not self.rescore:
            return (self.dim - 2 * distances.astype(np.float32)) / self.dim, ids  # Hamming as a cosine
        return rescore_candidates(q, self.doc_vectors, ids, k)


def rescore_candidates(
    query_vectors: np.ndarray, doc_vectors: np.ndarray, ids: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The top ``k`` of each query's candidate ``ids`` (-1: none) by inner product with the float
    ``doc_vectors`` (memory-mapped rows are read for the candidates only)."""
    scores = np.full((len(ids), k), -np.inf, dtype=np.float32)
    out = np.full((len(ids), k), -1, dtype=np.int64)
    for row, (q, cand) in enumerate(zip(query_vectors, ids, strict=True)):
        cand = cand[cand >= 0]
        if not len(cand):
            continue
        order = np.argsort(cand)  # sorted reads from a memory map
        vecs = np.asarray(doc_vectors[cand[order]], dtype=np.float32)
        s = np.empty(len(cand), dtype=np.float32)
        s[order] = vecs @ q
        best = np.argsort(-s, kind="stable")[:k]
        scores[row, : len(best)] = s[best]
        out[row, : len(best)] = cand[best]
    return scores, out
