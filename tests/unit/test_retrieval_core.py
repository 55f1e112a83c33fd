"""Retrievers, fusion, reranking and the comparison report on a tiny corpus with the fake encoder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data import RetrievalDataset
from core.evaluate import load_comparison, run_comparison, save_comparison
from core.retrieval import (
    BM25Spec,
    Corpus,
    DenseSpec,
    HybridSpec,
    RerankSpec,
    RetrieverBuilder,
    fuse_runs,
    spec_from_dict,
    spec_to_dict,
)

DOCS = {
    "d1": "the cat sat on the mat",
    "d2": "dogs chase cats in the park",
    "d3": "stock markets fell sharply on monday",
    "d4": "the central bank raised interest rates",
    "d5": "a kitten is a young cat",
}
QUERIES = {"q1": "young cat", "q2": "interest rates bank", "q3": "markets fell"}
QRELS = [
    ("test", "q1", "d5", 2),
    ("test", "q1", "d1", 1),
    ("test", "q2", "d4", 1),
    ("test", "q3", "d3", 1),
    ("train", "q2", "d4", 1),
]


@pytest.fixture
def tiny() -> RetrievalDataset:
    corpus = pd.DataFrame({"doc_id": list(DOCS), "title": [""] * len(DOCS), "text": list(DOCS.values())})
    queries = pd.DataFrame({"query_id": list(QUERIES), "text": list(QUERIES.values())})
    qrels = pd.DataFrame(QRELS, columns=["split", "query_id", "doc_id", "score"])
    return RetrievalDataset("tiny", corpus, queries, qrels)


class OverlapReranker:
    """Scores passages by the number of query words they contain (deterministic)."""

    name = "overlap"
    head_trained = True

    def score(self, query, passages):
        words = set(query.split())
        return np.array([len(words & set(p.split())) for p in passages], dtype=np.float32)


def _builder(tiny, fake_encoder, ws=None):
    return RetrieverBuilder(
        Corpus.from_dataset(tiny),
        ws,
        encoder_factory=lambda model, backend, msl: fake_encoder,
        reranker_factory=lambda name, bs, ml: OverlapReranker(),
    )


def test_every_strategy_answers_the_same_contract(tiny, fake_encoder):
    builder = _builder(tiny, fake_encoder)
    for spec in (
        BM25Spec(),
        DenseSpec(),
        HybridSpec(),
        HybridSpec(fusion="rrf"),
        RerankSpec(first_stage=BM25Spec(), reranker="x", top_k=3),
    ):
        hits = builder.build(spec).search(["young cat", "interest rates"], k=3)
        assert len(hits) == 2
        assert all(len(h) <= 3 for h in hits)
        assert all(list(h.scores) == sorted(h.scores, reverse=True) for h in hits)


def test_bm25_finds_the_lexical_match_first(tiny, fake_encoder):
    hits = _builder(tiny, fake_encoder).build(BM25Spec()).search(["interest rates"], k=5)[0]
    assert hits.doc_ids[0] == "d4"
    assert "d1" not in hits.doc_ids  # no shared term: score 0, not returned


def test_convex_fusion_extremes_reproduce_each_side():
    sparse = {"q": {"a": 3.0, "b": 2.0, "c": 1.0}}
    dense = {"q": {"c": 0.9, "b": 0.5, "a": 0.1}}
    only_sparse = fuse_runs(sparse, dense, alpha=0.0)["q"]
    only_dense = fuse_runs(sparse, dense, alpha=1.0)["q"]
    assert max(only_sparse, key=only_sparse.get) == "a"
    assert max(only_dense, key=only_dense.get) == "c"
    rrf = fuse_runs(sparse, dense, fusion="rrf", rrf_k=60)["q"]
    assert rrf["b"] == pytest.approx(2 / 62)


def test_spec_round_trip_and_bad_values():
    spec = RerankSpec(first_stage=HybridSpec(alpha=0.3, tune_split="train"), reranker="m", top_k=20)
    assert spec_from_dict(spec_to_dict(spec)) == spec
    with pytest.raises(ValueError, match="alpha"):
        HybridSpec(alpha=1.5)
    with pytest.raises(ValueError, match="Unknown strategy kind"):
        spec_from_dict({"kind": "magic"})


def test_comparison_report_round_trips_through_the_store(tiny, fake_encoder, ws):
    specs = {"bm25": BM25Spec(), "dense": DenseSpec(), "hybrid": HybridSpec(tune_split="train")}
    rep = run_comparison(
        tiny, "test", specs, ws=ws, k=5, builder=_builder(tiny, fake_encoder, ws), latency_sample=3
    )
    assert rep.queries == 3
    assert set(rep.to_json()["strategies"]["bm25"]) == {
        "ndcg@10",
        "recall@10",
        "recall@100",
        "p@10",
        "mrr@10",
        "map@100",
        "latency_ms_p50",
        "latency_ms_p95",
        "index_s",
    }
    assert rep.strategies["bm25"].metrics["recall@10"] == pytest.approx(1.0)
    assert set(rep.p_values) == {"dense", "hybrid"}
    assert "alpha_curve" in rep.strategies["hybrid"].extra
    run_id = save_comparison(ws, rep)
    again = load_comparison(ws, run_id)
    assert again.strategies["hybrid"].metrics == rep.strategies["hybrid"].metrics
    assert again.strategies["bm25"].run["q2"]["d4"] == pytest.approx(
        rep.strategies["bm25"].run["q2"]["d4"], abs=1e-5
    )
    assert ws.get_run(run_id).status == "done"


def test_dense_corpus_vectors_come_from_the_cache_the_second_time(tiny, fake_encoder, ws):
    corpus = Corpus.from_dataset(tiny)
    first = RetrieverBuilder(corpus, ws, encoder_factory=lambda *a: fake_encoder).build(DenseSpec())
    encoded = fake_encoder.encoded
    second = RetrieverBuilder(corpus, ws, encoder_factory=lambda *a: fake_encoder).build(DenseSpec())
    assert not first.from_cache and second.from_cache
    assert fake_encoder.encoded == encoded  # no corpus text encoded again
    np.testing.assert_allclose(first.doc_vectors, second.doc_vectors)


class _FixedRetriever:
    """Answers every query with the same scored documents (one per query position)."""

    def __init__(self, per_query: list[dict[str, float]]):
        self.per_query = per_query

    def search(self, queries, k):  # type: ignore[no-untyped-def]
        from core.retrieval import Hits

        out = []
        for i, _ in enumerate(queries):
            docs = sorted(self.per_query[i].items(), key=lambda kv: -kv[1])[:k]
            out.append(Hits(tuple(d for d, _ in docs), tuple(s for _, s in docs)))
        return out


@pytest.mark.parametrize("empty_side", [False, True])
def test_alpha_sweep_scores_every_alpha_like_fusing_and_evaluating_each_one(empty_side):
    """The sweep (ranx runs built once) gives the curve that fusing each alpha and evaluating it gives, also
    when BM25 found nothing for a query (the slow path keeps the dense ranking there)."""
    from ranx import Qrels, Run, evaluate

    from core.retrieval import HybridRetriever, alpha_sweep, fuse_runs

    rng = np.random.default_rng(0)
    docs = [f"d{i}" for i in range(30)]
    sparse = [{d: float(rng.gamma(2.0)) for d in rng.choice(docs, 12, replace=False)} for _ in range(6)]
    dense = [{d: float(rng.uniform(0.1, 0.9)) for d in rng.choice(docs, 12, replace=False)} for _ in range(6)]
    if empty_side:
        sparse[2] = {}
    qids = [f"q{i}" for i in range(6)]
    qrels = {q: {str(rng.choice(docs)): 1, str(rng.choice(docs)): 2} for q in qids}
    hybrid = HybridRetriever(_FixedRetriever(sparse), _FixedRetriever(dense), HybridSpec(depth=12))
    best, curve = alpha_sweep(
        hybrid, [f"text {i}" for i in range(6)], qids, qrels, alphas=(0.0, 0.3, 0.7, 1.0)
    )
    s_run = {str(i): r for i, r in enumerate(sparse)}
    d_run = {str(i): r for i, r in enumerate(dense)}
    expected = []
    for alpha in (0.0, 0.3, 0.7, 1.0):
        fused = fuse_runs(s_run, d_run, alpha=alpha)
        run = Run.from_dict({qids[int(q)]: d for q, d in fused.items() if d})
        expected.append(float(evaluate(Qrels.from_dict(qrels), run, "ndcg@10")))
    assert [a for a, _ in curve] == [0.0, 0.3, 0.7, 1.0]
    assert [s for _, s in curve] == pytest.approx(expected, abs=1e-9)
    assert best == max(curve, key=lambda t: (t[1], -abs(t[0] - 0.5)))[0]
