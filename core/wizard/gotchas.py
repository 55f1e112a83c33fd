"""Gotcha checks, measured on the user's data:

- :func:`pca_tradeoff` — dimension reduction (PCA fitted on the corpus vectors, e.g. 384 → 256 / 128):
  nDCG@10 against index size;
- :func:`cosine_vs_dot` — ranking by dot product on unnormalised vectors against cosine;
- :func:`reranker_latency` — cross-encoder time per query at the chosen depth k (or, when no reranker is
  available, the typical 100–500 ms range, stated as not measured).

:func:`run_gotchas` runs all three for a dataset (job kind ``wizard_gotchas``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.data import RetrievalDataset, resolve_dataset
from core.encoding import (
    EmbeddingCache,
    EncodeSettings,
    SentenceTransformerEncoder,
    encode_corpus,
    make_encoder,
)
from core.encoding import normalize_rows as _unit
from core.evaluate import evaluate_run
from core.models import (
    DEFAULT_BI_ENCODER,
    cross_encoder_head_is_trained,
    load_cross_encoder,
    load_sentence_transformer,
    model_fingerprint,
    resolve_model,
)
from core.retrieval import DEFAULT_RERANK_DEPTH, BM25Retriever, Corpus, CrossEncoderReranker, fit_pca
from core.runtime import InvalidInput, Reporter, report, scaled
from core.wizard.measure import sample_corpus

__all__ = [
    "COSINE_MAX_DOCS",
    "EXPECTED_RERANK_MS",
    "PCA_DIMS",
    "GotchasJob",
    "cosine_vs_dot",
    "gotchas_job",
    "model_normalises",
    "pca_tradeoff",
    "raw_encoder",
    "reranker_latency",
    "run_gotchas",
]

PCA_DIMS = (256, 128)  # the dimensions the PCA check reduces to
COSINE_MAX_DOCS = 1000  # cosine vs dot re-encodes at most this many documents
EXPECTED_RERANK_MS = (100, 500)  # typical CPU latency of a MiniLM-sized cross-encoder over a top-50
_METRICS = {"ndcg@10": "ndcg@10", "recall@10": "recall@10"}
STAGE = "gotchas"  # the stage of run_gotchas' progress records


def _search(doc_vectors: np.ndarray, query_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    index = faiss.IndexFlatIP(doc_vectors.shape[1])
    index.add(np.ascontiguousarray(doc_vectors, dtype=np.float32))
    return index.search(np.ascontiguousarray(query_vectors, dtype=np.float32), min(k, len(doc_vectors)))


def _run(
    doc_ids: Sequence[str], query_ids: Sequence[str], scores: np.ndarray, idx: np.ndarray
) -> dict[str, dict[str, float]]:
    return {
        q: {doc_ids[i]: float(s) for s, i in zip(srow, irow, strict=True) if i >= 0}
        for q, srow, irow in zip(query_ids, scores, idx, strict=True)
    }


def pca_tradeoff(
    doc_vectors: np.ndarray,
    query_vectors: np.ndarray,
    doc_ids: Sequence[str],
    query_ids: Sequence[str],
    qrels: Mapping[str, Mapping[str, int]],
    *,
    dims: Sequence[int] = PCA_DIMS,
    k: int = 100,
    fit_sample: int = 50_000,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """nDCG@10 / recall@10 and index size at the full dimension and after PCA to each of ``dims`` (fitted on
    the corpus vectors, then re-normalised). One row per dimension, the full one first."""
    full_dim = doc_vectors.shape[1]
    rows = []
    base = None
    for dim in [full_dim, *[d for d in dims if d < full_dim]]:
        if dim == full_dim:
            docs, queries = _unit(doc_vectors), _unit(query_vectors)
            explained = 1.0
        else:
            pca = fit_pca(doc_vectors, dim, fit_sample=fit_sample, seed=seed)
            docs, queries = _unit(pca.transform(doc_vectors)), _unit(pca.transform(query_vectors))
            explained = float(pca.explained_variance_ratio_.sum())
        scores, idx = _search(docs, queries, k)
        means, _ = evaluate_run(qrels, _run(doc_ids, query_ids, scores, idx), _METRICS)
        index_mb = len(doc_vectors) * docs.shape[1] * 4 / 1e6
        if base is None:
            base = (means["ndcg@10"], index_mb)
        rows.append(
            {
                "dim": int(docs.shape[1]),
                "ndcg@10": means["ndcg@10"],
                "recall@10": means["recall@10"],
                "index_mb": index_mb,
                "size_ratio": index_mb / base[1] if base[1] else 1.0,
                "quality_ratio": means["ndcg@10"] / base[0] if base[0] else 1.0,
                "explained_variance": explained,
            }
        )
    return rows


def model_normalises(st_model: Any) -> bool:
    """True when a SentenceTransformer ends with a Normalize module (its output is unit length)."""
    return any(type(m).__name__ == "Normalize" for m in st_model)


def raw_encoder(model: str, ws: Any = None) -> tuple[Any, bool]:
    """An encoder of ``model`` that returns the pooled vectors *without* normalising them, and whether the
    model itself normalises its output."""
    from sentence_transformers import SentenceTransformer

    info = resolve_model(model, ws, kind="bi-encoder")
    st_model = load_sentence_transformer(model, ws)
    normalises = model_normalises(st_model)
    modules = [m for m in st_model if type(m).__name__ != "Normalize"]
    raw = SentenceTransformer(modules=modules, device=str(st_model.device))
    fp = model_fingerprint(info) + "-raw"
    return SentenceTransformerEncoder(raw, info.name, fp, EncodeSettings(normalize=False)), normalises


def cosine_vs_dot(
    raw_doc_vectors: np.ndarray,
    raw_query_vectors: np.ndarray,
    doc_ids: Sequence[str],
    query_ids: Sequence[str],
    qrels: Mapping[str, Mapping[str, int]],
    *,
    k: int = 100,
) -> dict[str, Any]:
    """Rank with cosine (normalised vectors) and with a raw dot product: nDCG@10 of each, how much their
    top 10 agree, and how much the document norms vary (the cause of any difference)."""
    norms = np.linalg.norm(raw_doc_vectors, axis=1)
    cos_s, cos_i = _search(_unit(raw_doc_vectors), _unit(raw_query_vectors), k)
    dot_s, dot_i = _search(raw_doc_vectors, raw_query_vectors, k)
    cos_m, _ = evaluate_run(qrels, _run(doc_ids, query_ids, cos_s, cos_i), _METRICS)
    dot_m, _ = evaluate_run(qrels, _run(doc_ids, query_ids, dot_s, dot_i), _METRICS)
    agree = [len(set(a[:10]) & set(b[:10])) / min(10, len(a)) for a, b in zip(cos_i, dot_i, strict=True)]
    return {
        "cosine_ndcg@10": cos_m["ndcg@10"],
        "dot_ndcg@10": dot_m["ndcg@10"],
        "delta": dot_m["ndcg@10"] - cos_m["ndcg@10"],
        "top10_agreement": float(np.mean(agree)) if agree else 1.0,
        "norm_mean": float(norms.mean()),
        "norm_cv": float(norms.std() / norms.mean()) if norms.mean() else 0.0,
        "norm_min": float(norms.min()),
        "norm_max": float(norms.max()),
    }


def reranker_latency(
    reranker: Any | None,
    queries: Sequence[str],
    candidates: Sequence[Sequence[str]],
    k: int,
    *,
    stand_in: bool = False,
) -> dict[str, Any]:
    """Milliseconds to rescore ``k`` candidates per query (p50 / p95 over the queries, after a warm-up).
    Without a reranker: the typical range, marked as not measured."""
    if reranker is None or not queries:
        return {
            "measured": False,
            "k": k,
            "expected_ms": list(EXPECTED_RERANK_MS),
            "note": f"not measured: no cross-encoder is available here; a MiniLM-sized cross-encoder typically "
            f"takes {EXPECTED_RERANK_MS[0]}–{EXPECTED_RERANK_MS[1]} ms on CPU to rescore a top-50",
        }
    reranker.score(queries[0], list(candidates[0][:k]))  # warm-up
    times = []
    for query, cands in zip(queries, candidates, strict=True):
        t0 = time.perf_counter()
        reranker.score(query, list(cands[:k]))
        times.append((time.perf_counter() - t0) * 1000.0)
    arr = np.asarray(times)
    name = getattr(reranker, "name", "cross-encoder")
    return {
        "measured": True,
        "stand_in": stand_in,
        "model": name,
        "k": k,
        "queries": len(times),
        "p50_ms": float(np.percentile(arr, 50)),
        "p95_ms": float(np.percentile(arr, 95)),
        "ms_per_pair": float(arr.mean() / max(1, min(k, min(len(c) for c in candidates)))),
        "note": (
            f"latency of a same-size stand-in ({name} with an untrained head): latency only, not quality"
            if stand_in
            else f"measured with {name}"
        ),
    }


def run_gotchas(
    ds: Any,
    ws: Any = None,
    *,
    model: str = DEFAULT_BI_ENCODER,
    split: str | None = None,
    dims: Sequence[int] = PCA_DIMS,
    rerank_k: int = DEFAULT_RERANK_DEPTH,
    reranker: str | None = None,
    stand_in: bool = False,
    max_docs: int = COSINE_MAX_DOCS,
    latency_queries: int = 5,
    encoder: Any = None,
    raw: tuple[Any, bool] | None = None,
    reranker_obj: Any = None,
    progress: Reporter | None = None,
) -> dict[str, Any]:
    """All three checks on a retrieval dataset. PCA uses the whole corpus (vectors from the embedding cache
    when there); cosine-vs-dot re-encodes a sample of up to ``max_docs`` documents without normalisation."""
    split = split or ds.default_split
    queries = ds.split_queries(split)
    qids, qtexts = queries["query_id"].tolist(), queries["text"].tolist()
    qrels = ds.qrels_dict(split)
    cache = EmbeddingCache(ws) if ws is not None else None
    out: dict[str, Any] = {"dataset": ds.name, "split": split, "model": model, "queries": len(qids)}

    parts = [
        scaled(progress, i, 3, label)
        for i, label in enumerate(
            [
                "dimension reduction",
                "cosine vs dot product on unnormalised vectors",
                f"reranker latency at k={rerank_k}",
            ]
        )
    ]
    report(parts[0], STAGE, 0, 1, "corpus vectors")
    encoder = encoder or make_encoder(model, ws)
    doc_vectors, _ = encode_corpus(encoder, ds.doc_texts(), ds.fingerprint, cache, progress=parts[0])
    query_vectors = encoder.encode(qtexts)
    out["pca"] = pca_tradeoff(doc_vectors, query_vectors, ds.doc_ids, qids, qrels, dims=dims)

    report(parts[1], STAGE, 0, 1, "encoding a sample without normalisation")
    raw = raw if raw is not None else raw_encoder(model, ws)
    out["cosine_vs_dot"] = _cosine_check(ds, split, qids, qtexts, qrels, raw, cache, max_docs, parts[1])

    report(parts[2], STAGE, 0, 1, "timing")
    rr = reranker_obj
    if rr is None and (reranker or stand_in):
        rr = _load_reranker(reranker or model, ws)
    out["reranker_latency"] = _latency_check(
        ds, qtexts[:latency_queries], rr, rerank_k, stand_in=stand_in and not reranker
    )
    report(progress, STAGE, 3, 3, "done")
    return out


def _cosine_check(
    ds: Any,
    split: str,
    qids: Sequence[str],
    qtexts: Sequence[str],
    qrels: Mapping[str, Mapping[str, int]],
    raw: tuple[Any, bool],
    cache: EmbeddingCache | None,
    max_docs: int,
    progress: Reporter,
) -> dict[str, Any]:
    """:func:`cosine_vs_dot` on the whole corpus, or on a sample of ``max_docs`` documents; ``raw`` is the
    unnormalising encoder and whether the model normalises (see :func:`raw_encoder`)."""
    raw_enc, normalises = raw
    if len(ds.corpus) <= max_docs:
        ids, texts, fp = ds.doc_ids, ds.doc_texts(), ds.fingerprint
        where = "the whole corpus"
    else:
        ids, texts = sample_corpus(ds, qids, max_docs)
        fp = Corpus.from_texts(ids, texts).fingerprint
        where = f"a {len(ids):,}-document sample (all judged documents of the {split!r} queries, then random ones)"
    raw_docs, _ = encode_corpus(raw_enc, texts, fp, cache, progress=progress)
    raw_queries = raw_enc.encode(list(qtexts))
    cvd = cosine_vs_dot(raw_docs, raw_queries, ids, qids, qrels)
    cvd.update(model_normalises=normalises, corpus=where, documents=len(ids))
    return cvd


def _latency_check(ds: Any, sample: Sequence[str], rr: Any, k: int, *, stand_in: bool) -> dict[str, Any]:
    """:func:`reranker_latency` over BM25's top ``k`` of each sample query."""
    bm25 = BM25Retriever(Corpus.from_dataset(ds))
    text_of = dict(zip(ds.doc_ids, ds.doc_texts(), strict=True))
    cands = [[text_of[d] for d in h.doc_ids] or [ds.doc_texts()[0]] for h in bm25.search(list(sample), k)]
    return reranker_latency(rr, sample, cands, k, stand_in=stand_in)


def _load_reranker(name: str, ws: Any) -> Any:
    info = resolve_model(name, ws, kind="cross-encoder")
    model = load_cross_encoder(name, ws)
    return CrossEncoderReranker(model, info.name, cross_encoder_head_is_trained(info.location))


@dataclass(frozen=True)
class GotchasJob:
    """The config of a ``wizard_gotchas`` job, parsed once at the job boundary (:meth:`from_dict`)."""

    dataset: str
    model: str = DEFAULT_BI_ENCODER
    split: str | None = None
    dims: tuple[int, ...] = PCA_DIMS
    rerank_k: int = DEFAULT_RERANK_DEPTH
    reranker: str | None = None
    stand_in: bool = False
    max_docs: int = COSINE_MAX_DOCS

    def __post_init__(self) -> None:
        object.__setattr__(self, "dims", tuple(self.dims))
        object.__setattr__(self, "rerank_k", int(self.rerank_k))
        object.__setattr__(self, "stand_in", bool(self.stand_in))
        object.__setattr__(self, "max_docs", int(self.max_docs))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GotchasJob:
        """Missing (or None) settings take their defaults; unknown ones are an error."""
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise InvalidInput(f"Unknown wizard_gotchas job settings: {sorted(unknown)}")
        if not data.get("dataset"):
            raise InvalidInput("The gotcha checks need a dataset.")
        return cls(**{k: v for k, v in data.items() if v is not None})


def gotchas_job(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    """Job handler (kind ``wizard_gotchas``): config = :class:`GotchasJob`."""
    job = GotchasJob.from_dict(config)
    ds = resolve_dataset(ctx.ws, job.dataset)
    if not isinstance(ds, RetrievalDataset):
        raise InvalidInput("The gotcha checks need a retrieval dataset (corpus, queries, qrels).")

    return run_gotchas(
        ds,
        ctx.ws,
        model=job.model,
        split=job.split,
        dims=job.dims,
        rerank_k=job.rerank_k,
        reranker=job.reranker,
        stand_in=job.stand_in,
        max_docs=job.max_docs,
        progress=ctx.reporter(),
    )
