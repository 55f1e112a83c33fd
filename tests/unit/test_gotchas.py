"""Gotcha checks on synthetic vectors and tiny data: PCA trade-off, cosine vs dot, reranker latency."""

from __future__ import annotations

import numpy as np
import pytest

from core.data import load_path
from core.models import DEFAULT_BI_ENCODER
from core.retrieval import DEFAULT_RERANK_DEPTH, Corpus, DenseRetriever, PCADenseRetriever
from core.runtime import InvalidInput
from core.wizard import (
    EXPECTED_RERANK_MS,
    GotchasJob,
    cosine_vs_dot,
    pca_tradeoff,
    reranker_latency,
)
from tests.wizard_data import write_topics_beir


def _data(n_docs=300, dim=32, seed=0):
    """Documents with variance spread over every dimension; each query is a noisy copy of one document."""
    rng = np.random.default_rng(seed)
    docs = rng.normal(size=(n_docs, dim)).astype(np.float32)
    targets = rng.choice(n_docs, size=40, replace=False)
    queries = docs[targets] + 0.3 * rng.normal(size=(40, dim)).astype(np.float32)
    doc_ids = [f"d{i}" for i in range(n_docs)]
    query_ids = [f"q{i}" for i in range(40)]
    qrels = {q: {doc_ids[t]: 1} for q, t in zip(query_ids, targets, strict=True)}
    return docs, queries, doc_ids, query_ids, qrels


def test_pca_tradeoff_rows_sizes_and_quality_loss():
    docs, queries, doc_ids, query_ids, qrels = _data()
    rows = pca_tradeoff(docs, queries, doc_ids, query_ids, qrels, dims=(16, 2, 64))
    assert [r["dim"] for r in rows] == [32, 16, 2]  # dimensions above the original are skipped
    assert rows[0]["size_ratio"] == 1.0 and rows[0]["quality_ratio"] == 1.0
    assert rows[1]["size_ratio"] == pytest.approx(0.5) and rows[2]["size_ratio"] == pytest.approx(2 / 32)
    assert rows[0]["ndcg@10"] > 0.9  # the noisy copy finds its document at full dimension
    assert rows[2]["ndcg@10"] < rows[1]["ndcg@10"] <= rows[0]["ndcg@10"] + 1e-9
    assert rows[2]["explained_variance"] < rows[1]["explained_variance"] < 1.0


def test_dot_product_favours_long_vectors_and_cosine_does_not():
    docs, queries, doc_ids, query_ids, qrels = _data(n_docs=100, dim=16)
    rng = np.random.default_rng(1)
    scaled = docs * rng.uniform(0.2, 5.0, size=(len(docs), 1)).astype(np.float32)  # very unequal norms
    out = cosine_vs_dot(scaled, queries, doc_ids, query_ids, qrels)
    assert out["cosine_ndcg@10"] > out["dot_ndcg@10"] and out["delta"] < 0
    assert out["norm_cv"] > 0.3 and out["top10_agreement"] < 1.0
    unit = docs / np.linalg.norm(docs, axis=1, keepdims=True)
    same = cosine_vs_dot(unit, queries, doc_ids, query_ids, qrels)
    assert same["delta"] == pytest.approx(0.0, abs=1e-9) and same["top10_agreement"] == 1.0
    assert same["norm_cv"] == pytest.approx(0.0, abs=1e-6)


class WordOverlapReranker:
    """A deterministic stand-in cross-encoder: scores a passage by the words it shares with the query."""

    name = "word-overlap"
    head_trained = True

    def score(self, query, passages):
        q = set(query.lower().split())
        return np.array([len(q & set(p.lower().split())) for p in passages], dtype=np.float32)


def test_reranker_latency_is_measured_or_stated_as_not_measured():
    none = reranker_latency(None, ["q"], [["p"]], k=50)
    assert none["measured"] is False and none["expected_ms"] == list(EXPECTED_RERANK_MS)
    assert "not measured" in none["note"] and "100–500 ms" in none["note"]
    queries = ["cats purr", "dogs bark", "fish swim"]
    cands = [[f"passage {i} about cats dogs fish" for i in range(20)]] * 3
    out = reranker_latency(WordOverlapReranker(), queries, cands, k=10)
    assert out["measured"] is True and out["k"] == 10 and out["queries"] == 3
    assert 0 <= out["p50_ms"] <= out["p95_ms"] and out["model"] == "word-overlap"
    assert out["stand_in"] is False and "measured with word-overlap" in out["note"]


def test_pca_dense_retriever_searches_the_reduced_space(tmp_path, fake_encoder):
    ds = load_path(write_topics_beir(tmp_path / "t"))
    dense = DenseRetriever(Corpus.from_dataset(ds), fake_encoder)
    reduced = PCADenseRetriever(dense, 16)
    assert reduced.dim == 16 and reduced.doc_vectors.shape == (80, 16)
    hits = reduced.search(["cats whiskers", "rocket thrust"], k=5)
    assert [len(h) for h in hits] == [5, 5]
    assert hits[0].doc_ids[0].startswith("cats") and hits[1].doc_ids[0].startswith("rockets")
    assert np.allclose(np.linalg.norm(reduced.doc_vectors, axis=1), 1.0, atol=1e-5)


def test_gotchas_job_config_parses_the_pages_dict_with_defaults_and_rejects_unknown_settings():
    page = {"dataset": "topics", "model": "bert-tiny", "dims": [128, 64], "rerank_k": "20", "reranker": None}
    job = GotchasJob.from_dict({**page, "stand_in": 1})
    assert job.dims == (128, 64) and job.rerank_k == 20 and job.stand_in is True and job.reranker is None
    bare = GotchasJob.from_dict({"dataset": "topics"})
    assert (
        bare.model == DEFAULT_BI_ENCODER and bare.rerank_k == DEFAULT_RERANK_DEPTH and bare.dims == (256, 128)
    )
    with pytest.raises(InvalidInput, match="Unknown wizard_gotchas job settings"):
        GotchasJob.from_dict({"dataset": "topics", "rerank_depth": 5})
    with pytest.raises(InvalidInput):
        GotchasJob.from_dict({"model": "bert-tiny"})
