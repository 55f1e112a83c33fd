"""Learned sparse retrieval (SPLADE) with sentence-transformers' ``SparseEncoder``.

Every text becomes a sparse vector over the model's vocabulary (MLM logits, ``log(1 + relu)``, max over
tokens): the document's own terms and the terms the model expands it with, each with a weight. The corpus
matrix (scipy CSR) is cached in the workspace under ``cache/sparse``, keyed by encoder and corpus
fingerprints (``.npz``, written atomically; a torn or unreadable file is removed and rebuilt); batches of
query vectors are cached too. Search is one sparse matrix product against the transposed corpus (an inverted
index in CSR form), top-k with ``numpy.argpartition``. :meth:`SparseRetriever.explain` tells why a document
matched: the query's expansion terms with weights and the terms the document shares with them.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.data import ChunkSpec
from core.models import (
    DEFAULT_SPARSE_MAX_LENGTH,
    DEFAULT_SPARSE_MODEL,
    SPARSE_KIND,
    load_sparse_encoder,
    model_fingerprint,
    resolve_model,
)
from core.retrieval.base import Corpus, Hits
from core.runtime import InvalidInput, Reporter, Workspace, atomic_write_with, report

__all__ = [
    "SparseCache",
    "SparseExplanation",
    "SparseRetriever",
    "SparseSpec",
    "SpladeEncoder",
    "TermMatch",
    "make_sparse_encoder",
]

ENCODE_CHUNK = 512  # texts per encoder call (progress is reported between calls)
SEARCH_BLOCK = 256  # queries per sparse matrix product (bounds the memory of the score matrix)
_QUERY_BATCHES = 4  # query batches kept in memory


@dataclass(frozen=True)
class SparseSpec:
    """SPLADE settings. ``model``: a registered sparse model (``splade-tiny``), a SPLADE folder (a saved
    SparseEncoder or a masked-LM folder) or a hub id when online; ``max_seq_length``: tokens read per text
    (None: 256); ``chunking``: encode passages instead of whole documents (core.retrieval.passages)."""

    kind: str = "splade"
    model: str = DEFAULT_SPARSE_MODEL
    batch_size: int = 32
    max_seq_length: int | None = None
    chunking: ChunkSpec | None = None

    def __post_init__(self) -> None:
        if not self.model or not str(self.model).strip():
            raise InvalidInput("Name the SPLADE model (e.g. splade-tiny).")
        if int(self.batch_size) < 1:
            raise InvalidInput(f"batch_size must be at least 1, got {self.batch_size}.")
        if self.max_seq_length is not None and not 8 <= int(self.max_seq_length) <= 8192:
            raise InvalidInput(f"max_seq_length must be within [8, 8192], got {self.max_seq_length}.")

    @property
    def label(self) -> str:
        return f"SPLADE ({self.model})" + (f" · {self.chunking.label}" if self.chunking else "")


class SpladeEncoder:
    """A loaded ``SparseEncoder`` that turns texts into scipy CSR rows over its vocabulary (blank texts give
    empty rows); ``fingerprint`` names the weights and settings (cache keys)."""

    def __init__(self, model: Any, name: str, fingerprint: str):
        self.model = model
        self.name = name
        self.fingerprint = fingerprint
        hf = getattr(model, "transformers_model", None)  # SpladePooling learns its size only when it runs
        self.vocab_size = int(
            getattr(getattr(hf, "config", None), "vocab_size", 0) or model.get_embedding_dimension()
        )
        self.max_seq_length = int(model.max_seq_length)

    def encode(
        self,
        texts: Sequence[str],
        *,
        query: bool = False,
        batch_size: int = 32,
        progress: Reporter | None = None,
    ) -> Any:
        """``len(texts) x vocab`` float32 CSR matrix (``query``: encode as queries)."""
        import scipy.sparse as sp

        texts = [str(t) for t in texts]
        rows, cols, vals = [], [], []
        todo = [i for i, t in enumerate(texts) if t.strip()]
        encode = self.model.encode_query if query else self.model.encode_document
        for start in range(0, len(todo), ENCODE_CHUNK):
            part = todo[start : start + ENCODE_CHUNK]
            emb = encode(
                [texts[i] for i in part],
                batch_size=batch_size,
                convert_to_sparse_tensor=True,
                show_progress_bar=False,
            )
            emb = emb.coalesce().cpu()
            idx = emb.indices().numpy()
            rows.append(np.asarray(part, dtype=np.int64)[idx[0]])
            cols.append(idx[1])
            vals.append(emb.values().float().numpy())
            if not query:
                report(progress, "encode", start + len(part), len(todo), "SPLADE activations")
        shape = (len(texts), self.vocab_size)
        if not rows:
            return sp.csr_matrix(shape, dtype=np.float32)
        coo = sp.coo_matrix(
            (np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))), shape
        )
        out = coo.tocsr()
        out.eliminate_zeros()
        return out

    def terms(self, ids: Sequence[int]) -> list[str]:
        """Vocabulary terms of column ids."""
        return list(self.model.tokenizer.convert_ids_to_tokens([int(i) for i in ids]))


def make_sparse_encoder(
    name: str, ws: Workspace | None = None, max_seq_length: int | None = None
) -> SpladeEncoder:
    """The SPLADE encoder of ``name`` (registry name, folder, hub id); :class:`~core.runtime.ModelNotAvailable`
    when it cannot be had (offline hub id, not a SPLADE / masked-LM folder)."""
    info = resolve_model(name, ws, kind=SPARSE_KIND)
    model = load_sparse_encoder(name, ws, max_seq_length=max_seq_length)
    limit = max_seq_length or DEFAULT_SPARSE_MAX_LENGTH
    return SpladeEncoder(model, info.name, f"splade-{model_fingerprint(info)}-max-{limit}")


def _text_key(texts: Sequence[str]) -> str:
    h = hashlib.sha256()
    for text in texts:
        h.update(str(text).encode())
        h.update(b"\x00")
    return h.hexdigest()[:24]


class SparseCache:
    """SPLADE matrices of one workspace (``cache/sparse/<encoder>-<key>.npz``): corpora keyed by corpus
    fingerprint, query batches by a hash of their texts (``q-…``)."""

    def __init__(self, ws: Workspace | Path):
        self.folder = ws.cache_dir("sparse") if isinstance(ws, Workspace) else Path(ws)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.hits = 0
        self.misses = 0
        self.discarded = 0

    def path(self, encoder_fp: str, key: str) -> Path:
        return self.folder / f"{encoder_fp}-{key}.npz"

    def get(self, encoder_fp: str, key: str, shape: tuple[int, int]) -> Any | None:
        """The cached CSR matrix of this key and shape; None when missing. A torn, unreadable or
        mis-shaped file is removed (the caller encodes again and rewrites it)."""
        import scipy.sparse as sp

        path = self.path(encoder_fp, key)
        if not path.exists():
            self.misses += 1
            return None
        try:
            matrix = sp.load_npz(path).tocsr()
            if matrix.shape != tuple(shape) or (matrix.nnz and not np.isfinite(matrix.data).all()):
                raise ValueError(f"cached matrix has shape {matrix.shape}, expected {shape}")
        except Exception:  # any damage (zip, npy header, shape) means: encode again
            with contextlib.suppress(OSError):
                path.unlink()
            self.discarded += 1
            self.misses += 1
            return None
        self.hits += 1
        return matrix.astype(np.float32, copy=False)

    def put(self, encoder_fp: str, key: str, matrix: Any) -> Path:
        """Store ``matrix`` atomically (readers see the old file or the new one, never a torn one)."""
        import scipy.sparse as sp

        path = self.path(encoder_fp, key)

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:  # a file object: save_npz would add ".npz" to a bare path
                sp.save_npz(fh, matrix.tocsr(), compressed=False)

        atomic_write_with(path, write)
        return path


@dataclass(frozen=True)
class TermMatch:
    """A vocabulary term that a query and a document share: its weight in each and their product (the
    term's share of the document's score)."""

    term: str
    query_weight: float
    doc_weight: float

    @property
    def contribution(self) -> float:
        return self.query_weight * self.doc_weight


@dataclass(frozen=True)
class SparseExplanation:
    """Why a document matched a query under SPLADE: ``query_terms`` (the query's terms and expansions,
    heaviest first), ``shared`` (the terms both activate, by contribution), ``score`` (their sum, the
    retrieval score), ``doc_terms`` (the document's heaviest terms)."""

    doc_id: str
    score: float
    query_terms: tuple[tuple[str, float], ...]
    shared: tuple[TermMatch, ...]
    doc_terms: tuple[tuple[str, float], ...] = ()


def _top_terms(encoder: SpladeEncoder, row: Any, top: int) -> tuple[tuple[str, float], ...]:
    order = np.argsort(-row.data, kind="stable")[:top]
    names = encoder.terms(row.indices[order])
    return tuple((n, float(w)) for n, w in zip(names, row.data[order], strict=True))


class SparseRetriever:
    """SPLADE over a corpus: activations encoded once (through :class:`SparseCache`), queries scored by a
    sparse matrix product. ``index_s``: encoding plus building the inverted index (encoding is skipped when
    the cache had the matrix); ``index_bytes``: the inverted index's size in memory."""

    def __init__(
        self,
        corpus: Corpus,
        spec: SparseSpec = SparseSpec(),
        *,
        encoder: SpladeEncoder | None = None,
        ws: Workspace | None = None,
        cache: SparseCache | None = None,
        progress: Reporter | None = None,
    ):
        self.spec = spec
        self.name = spec.label
        self.corpus = corpus
        self.encoder = encoder or make_sparse_encoder(spec.model, ws, spec.max_seq_length)
        self.cache = cache
        self._batches: dict[str, Any] = {}
        start = time.perf_counter()
        self.doc_matrix, self.from_cache = self._corpus_matrix(progress)
        self.encode_s = time.perf_counter() - start
        t0 = time.perf_counter()
        self._index = self.doc_matrix.T.tocsr()  # vocab x documents: each row a term's posting list
        self.index_s = self.encode_s + (time.perf_counter() - t0)
        m = self._index
        self.index_bytes = int(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes)
        self._position = {d: i for i, d in enumerate(corpus.doc_ids)}
        report(
            progress,
            "index",
            len(corpus),
            len(corpus),
            f"SPLADE index over {len(corpus):,} texts, {self.doc_matrix.nnz:,} postings",
        )

    def _corpus_matrix(self, progress: Reporter | None) -> tuple[Any, bool]:
        shape = (len(self.corpus), self.encoder.vocab_size)
        fp = self.encoder.fingerprint
        if self.cache is not None:
            hit = self.cache.get(fp, self.corpus.fingerprint, shape)
            if hit is not None:
                report(progress, "encode", len(self.corpus), len(self.corpus), "loaded from the SPLADE cache")
                return hit, True
        matrix = self.encoder.encode(self.corpus.texts, batch_size=self.spec.batch_size, progress=progress)
        if self.cache is not None:
            self.cache.put(fp, self.corpus.fingerprint, matrix)
        return matrix, False

    def encode_queries(self, queries: Sequence[str]) -> Any:
        """Query activations (CSR). Batches of several queries are cached (in memory and in the workspace);
        single queries are always encoded, so per-query latency includes encoding."""
        if len(queries) <= 1:
            return self.encoder.encode(queries, query=True, batch_size=self.spec.batch_size)
        key = "q-" + _text_key(queries)
        if key in self._batches:
            return self._batches[key]
        shape = (len(queries), self.encoder.vocab_size)
        matrix = self.cache.get(self.encoder.fingerprint, key, shape) if self.cache is not None else None
        if matrix is None:
            matrix = self.encoder.encode(queries, query=True, batch_size=self.spec.batch_size)
            if self.cache is not None:
                self.cache.put(self.encoder.fingerprint, key, matrix)
        if len(self._batches) >= _QUERY_BATCHES:
            self._batches.pop(next(iter(self._batches)))
        self._batches[key] = matrix
        return matrix

    def search_matrix(self, query_matrix: Any, k: int) -> list[Hits]:
        """Top-``k`` documents of each query row (documents sharing no active term are not returned)."""
        out: list[Hits] = []
        ids = self.corpus.doc_ids
        for start in range(0, query_matrix.shape[0], SEARCH_BLOCK):
            scores = (query_matrix[start : start + SEARCH_BLOCK] @ self._index).tocsr()
            for r in range(scores.shape[0]):
                lo, hi = scores.indptr[r], scores.indptr[r + 1]
                docs, vals = scores.indices[lo:hi], scores.data[lo:hi]
                keep = vals > 0
                docs, vals = docs[keep], vals[keep]
                if k < len(vals):
                    part = np.argpartition(-vals, k - 1)[:k]
                    docs, vals = docs[part], vals[part]
                order = np.lexsort((docs, -vals))
                out.append(Hits(tuple(ids[i] for i in docs[order]), tuple(float(v) for v in vals[order])))
        return out

    def search(self, queries: Sequence[str], k: int) -> list[Hits]:
        if not queries:
            return []
        if k < 1:
            raise InvalidInput(f"k must be at least 1, got {k}.")
        return self.search_matrix(self.encode_queries(list(queries)), k)

    def expand(self, query: str, top: int = 20) -> tuple[tuple[str, float], ...]:
        """The query's active terms (its own and the model's expansions), heaviest first."""
        return _top_terms(self.encoder, self.encoder.encode([query], query=True)[0], top)

    def explain(self, query: str, doc_id: str, top: int = 20) -> SparseExplanation:
        """Why ``doc_id`` scores what it does for ``query``: see :class:`SparseExplanation`."""
        if doc_id not in self._position:
            raise InvalidInput(f"Document {doc_id!r} is not in this corpus.")
        q = self.encoder.encode([query], query=True)[0]
        d = self.doc_matrix[self._position[doc_id]]
        common, qi, di = np.intersect1d(q.indices, d.indices, assume_unique=True, return_indices=True)
        qw, dw = q.data[qi], d.data[di]
        order = np.argsort(-(qw * dw), kind="stable")
        names = self.encoder.terms(common[order])
        shared = tuple(
            TermMatch(n, float(a), float(b)) for n, a, b in zip(names, qw[order], dw[order], strict=True)
        )
        return SparseExplanation(
            doc_id,
            float(np.dot(qw, dw)),
            _top_terms(self.encoder, q, top),
            shared[:top],
            _top_terms(self.encoder, d, top),
        )

    def describe_index(self) -> tuple[dict[str, Any], list[str]]:
        """``extra`` entries for a result (cache use, postings, index bytes) and notes."""
        n = max(1, len(self.corpus))
        extra: dict[str, Any] = {
            "splade_from_cache": self.from_cache,
            "splade_encode_s": self.encode_s,
            "splade_postings": int(self.doc_matrix.nnz),
            "splade_terms_per_doc": float(self.doc_matrix.nnz / n),
            "splade_index_bytes": self.index_bytes,
        }
        notes = ["SPLADE activations loaded from the workspace cache"] if self.from_cache else []
        return extra, notes
