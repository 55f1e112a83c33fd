"""Strategies on passages ranking documents: aggregation, the builder's shared passages, specs, options and
the comparison report (fake tokenizer and fake encoder)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.data import ChunkSpec, Passages, RetrievalDataset
from core.evaluate import CompareOptions, EvaluateJob, parse_strategy, run_comparison
from core.retrieval import (
    BM25Spec,
    Corpus,
    DenseSpec,
    Hits,
    HybridSpec,
    PCADenseRetriever,
    RerankSpec,
    RetrieverBuilder,
    aggregate_hits,
    spec_from_dict,
    spec_to_dict,
)
from core.runtime import InvalidInput
from tests.fakes import HashingEncoder, WordTokenizer


def _filler(n: int, tag: str) -> str:
    return " ".join(f"{tag}{i}" for i in range(n))


# d1: long, the answer at its end; d2: the query's words at its start only; d3: long, unrelated; d4: short
DOCS = {
    "d1": _filler(400, "alpha") + " where the striped zebra sleeps at night",
    "d2": "zebra " + _filler(400, "beta"),
    "d3": _filler(400, "gamma"),
    "d4": "a short note on cats",
}
QUERIES = {"q1": "striped zebra sleeps night", "q2": "cats note"}
QRELS = [("test", "q1", "d1", 1), ("test", "q2", "d4", 1), ("train", "q2", "d4", 1)]


@pytest.fixture
def longdocs() -> RetrievalDataset:
    corpus = pd.DataFrame(
        {"doc_id": list(DOCS), "title": ["Night", "Stripes", "", "Cats"], "text": list(DOCS.values())}
    )
    queries = pd.DataFrame({"query_id": list(QUERIES), "text": list(QUERIES.values())})
    qrels = pd.DataFrame(QRELS, columns=["split", "query_id", "doc_id", "score"])
    return RetrievalDataset("longdocs", corpus, queries, qrels)


class Factories:
    """Counts what the builder loads."""

    def __init__(self):
        self.tokenizers: list[str] = []
        self.encoders: list[str] = []
        self.encoder = HashingEncoder(dim=64)

    def tokenizer(self, name: str) -> WordTokenizer:
        self.tokenizers.append(name)
        return WordTokenizer()

    def make_encoder(self, model: str, backend: str, msl: int | None) -> HashingEncoder:
        self.encoders.append(model)
        return self.encoder


def _builder(ds, factories, ws=None, reranker=None):
    return RetrieverBuilder(
        Corpus.from_dataset(ds),
        ws,
        encoder_factory=factories.make_encoder,
        tokenizer_factory=factories.tokenizer,
        reranker_factory=lambda name, bs, ml: reranker,
    )


def _passages(doc_of: list[int], position: list[int], docs=("a", "b", "c")) -> Passages:
    n = len(doc_of)
    return Passages(
        passage_ids=tuple(f"{docs[d]}#p{p}" for d, p in zip(doc_of, position, strict=True)),
        texts=("",) * n,
        doc_ids=docs,
        doc_index=np.asarray(doc_of, dtype=np.int32),
        position=np.asarray(position, dtype=np.int32),
        start=np.zeros(n, dtype=np.int64),
        end=np.zeros(n, dtype=np.int64),
        fingerprint="x",
        spec=ChunkSpec(),
    )


# passages: a#p0 a#p1 a#p2 b#p0 b#p1 c#p0
PASSAGES = _passages([0, 0, 0, 1, 1, 2], [0, 1, 2, 0, 1, 0])
HITS = Hits(("1", "3", "2", "4", "5", "0"), (0.9, 0.8, 0.7, 0.75, 0.1, 0.05))


def test_maxp_scores_a_document_by_its_best_passage():
    out = aggregate_hits(HITS, PASSAGES, ChunkSpec(), k=10)
    assert out.doc_ids == ("a", "b", "c")
    assert out.scores == (0.9, 0.8, 0.1)
    assert out.passage_ids == ("a#p1", "b#p0", "c#p0")
    assert aggregate_hits(HITS, PASSAGES, ChunkSpec(), k=2).doc_ids == ("a", "b")


def test_sum_top_adds_the_best_passages_of_each_document():
    out = aggregate_hits(HITS, PASSAGES, ChunkSpec(aggregate="sum_top", top=2), k=10)
    assert out.doc_ids == ("a", "b", "c")
    assert out.scores == pytest.approx((0.9 + 0.7, 0.8 + 0.75, 0.1))
    assert out.passage_ids == ("a#p1", "b#p0", "c#p0")
    one = aggregate_hits(HITS, PASSAGES, ChunkSpec(aggregate="sum_top", top=1), k=10)
    assert one.scores == aggregate_hits(HITS, PASSAGES, ChunkSpec(), k=10).scores


def test_first_scores_a_document_by_its_first_passage():
    out = aggregate_hits(HITS, PASSAGES, ChunkSpec(aggregate="first"), k=10)
    assert out.doc_ids == ("b", "c", "a")
    assert out.scores == (0.8, 0.1, 0.05)
    assert out.passage_ids == ("b#p0", "c#p0", "a#p0")


def test_aggregation_of_nothing_and_of_ties():
    assert aggregate_hits(Hits((), ()), PASSAGES, ChunkSpec(), k=5) == Hits((), (), ())
    tied = aggregate_hits(Hits(("5", "0"), (0.5, 0.5)), PASSAGES, ChunkSpec(), k=5)
    assert tied.doc_ids == ("c", "a")  # the order of the best passages


def test_passages_find_what_truncation_never_searches(longdocs):
    factories = Factories()
    builder = _builder(longdocs, factories)
    whole = builder.build(BM25Spec()).search(["striped zebra sleeps"], 3)[0]
    first = builder.build(BM25Spec(chunking=ChunkSpec(window=64, overlap=0, max_passages=1)))
    chunked = builder.build(BM25Spec(chunking=ChunkSpec(window=64, overlap=16)))
    truncated = first.search(["striped zebra sleeps"], 3)[0]
    hits = chunked.search(["striped zebra sleeps"], 3)[0]
    assert whole.doc_ids[0] == "d1" and whole.passage_ids is None
    assert truncated.doc_ids[0] == "d2"  # d1's answer lies beyond its first 64 tokens
    assert hits.doc_ids[0] == "d1"
    assert len(set(hits.doc_ids)) == len(hits)  # documents, each once
    passage = chunked.passages.text_of(hits.passage_ids[0])
    assert hits.passage_ids[0].startswith("d1#p") and "zebra sleeps" in passage
    assert all(p.split("#p")[0] == d for d, p in zip(hits.doc_ids, hits.passage_ids, strict=True))


def test_the_search_deepens_until_k_documents_are_found(longdocs):
    builder = _builder(longdocs, Factories())
    retriever = builder.build(BM25Spec(chunking=ChunkSpec(window=16, overlap=0, aggregate="first")))
    retriever._depth = lambda k: 1  # start far too shallow
    hits = retriever.search(["zebra"], 4)[0]
    assert hits.doc_ids[0] == "d2"  # the only first passage with the word
    dense = builder.build(DenseSpec(chunking=ChunkSpec(window=16, overlap=0)))
    dense._depth = lambda k: 1
    assert len(dense.search(["zebra", "cats"], 4)[1]) == 4  # every document, as with whole documents


def test_bm25_dense_and_hybrid_share_one_set_of_passages(longdocs):
    factories = Factories()
    builder = _builder(longdocs, factories)
    chunk = ChunkSpec(window=64, overlap=16)
    for spec in (
        BM25Spec(chunking=chunk),
        DenseSpec(chunking=chunk),
        HybridSpec(sparse=BM25Spec(chunking=chunk), dense=DenseSpec(chunking=chunk)),
        BM25Spec(chunking=ChunkSpec(window=64, overlap=16, aggregate="sum_top")),
    ):
        hits = builder.build(spec).search(["striped zebra", "cats"], 3)
        assert all(h.passage_ids is not None and len(h.passage_ids) == len(h) for h in hits)
    assert factories.tokenizers == ["all-MiniLM-L6-v2"]  # one tokenizer, loaded once
    assert len(builder._passages) == 1
    assert len(builder._on_passages) == 2  # one BM25 index and one dense index over the passages


def test_bm25_on_passages_loads_no_encoder(longdocs):
    factories = Factories()
    builder = _builder(longdocs, factories)
    builder.build(BM25Spec(chunking=ChunkSpec(window=64, overlap=16))).search(["zebra"], 3)
    assert factories.encoders == [] and factories.tokenizers == ["all-MiniLM-L6-v2"]


def test_the_tokenizer_is_the_dense_model_or_the_one_named(longdocs):
    factories = Factories()
    builder = _builder(longdocs, factories)
    chunk = ChunkSpec(window=64, overlap=16)
    builder.build(DenseSpec(model="my-model", chunking=chunk))
    builder.build(
        HybridSpec(sparse=BM25Spec(chunking=chunk), dense=DenseSpec(model="my-model", chunking=chunk))
    )
    builder.build(BM25Spec(chunking=ChunkSpec(window=64, overlap=16, tokenizer="other")))
    assert factories.tokenizers == ["my-model", "other"]


def test_the_embedding_cache_keys_passages_apart_from_documents(longdocs, ws):
    factories = Factories()
    builder = _builder(longdocs, factories, ws)
    whole = builder.build(DenseSpec())
    chunked = builder.build(DenseSpec(chunking=ChunkSpec(window=64, overlap=16)))
    other = builder.build(DenseSpec(chunking=ChunkSpec(window=48, overlap=16)))
    assert not whole.from_cache and not chunked.inner.from_cache and not other.inner.from_cache
    assert (
        len([p for p in builder.cache.folder.iterdir() if (p / "manifest.json").exists()]) == 3
    )  # one shard store each
    again = _builder(longdocs, Factories(), ws).build(DenseSpec(chunking=ChunkSpec(window=64, overlap=16)))
    assert again.inner.from_cache
    assert again.inner.doc_vectors.shape == chunked.inner.doc_vectors.shape


def test_a_reranker_reads_the_passage_that_matched(longdocs):
    class Recording:
        name, head_trained = "recording", True

        def __init__(self):
            self.seen: list[str] = []

        def score(self, query, passages):
            self.seen.extend(passages)
            return np.arange(len(passages), 0, -1, dtype=np.float32)

    reranker = Recording()
    builder = _builder(longdocs, Factories(), reranker=reranker)
    spec = RerankSpec(first_stage=BM25Spec(chunking=ChunkSpec(window=64, overlap=16)), reranker="r", top_k=2)
    hits = builder.build(spec).search(["striped zebra sleeps"], 3)[0]
    assert hits.doc_ids[0] == "d1" and hits.passage_ids[0].startswith("d1#p")
    assert all(len(t.split()) <= 62 for t in reranker.seen)  # passages, not whole documents
    assert any("zebra sleeps" in t for t in reranker.seen)


def test_title_in_every_passage_uses_the_corpus_titles(longdocs):
    builder = _builder(longdocs, Factories())
    retriever = builder.build(BM25Spec(chunking=ChunkSpec(window=64, overlap=16, title=True)))
    texts = retriever.passages.passages.texts
    d1 = [t for i, t in enumerate(texts) if retriever.passages.passages.doc_of(i) == "d1"]
    assert len(d1) > 3 and all(t.startswith("Night\n") for t in d1)
    assert not any(t.startswith("Night\nNight") for t in d1)  # the body is cut without its title


def test_labels_say_the_chunking():
    chunk = ChunkSpec()
    assert DenseSpec(chunking=chunk).label == "Dense (all-MiniLM-L6-v2) · passages 256/64"
    assert (
        BM25Spec(chunking=ChunkSpec(window=256, overlap=0, max_passages=1)).label == "BM25 · first 256 tokens"
    )
    hybrid = HybridSpec(sparse=BM25Spec(chunking=chunk), dense=DenseSpec(chunking=chunk))
    assert hybrid.label == "Hybrid minmax α=0.50 · passages 256/64"
    assert HybridSpec(sparse=BM25Spec(chunking=chunk)).label.endswith(
        "· BM25 passages 256/64 / dense documents"
    )
    assert HybridSpec().label == "Hybrid minmax α=0.50"


def test_specs_with_chunking_round_trip_through_json():
    chunk = ChunkSpec(window=128, overlap=32, sentences=True, aggregate="sum_top", top=2)
    specs = [
        BM25Spec(chunking=chunk),
        DenseSpec(chunking=chunk, max_seq_length=128),
        HybridSpec(sparse=BM25Spec(chunking=chunk), dense=DenseSpec(chunking=chunk), tune_split="train"),
        RerankSpec(first_stage=HybridSpec(dense=DenseSpec(chunking=chunk)), reranker="x"),
        BM25Spec(),
    ]
    for spec in specs:
        assert spec_from_dict(json.loads(json.dumps(spec_to_dict(spec)))) == spec
    with pytest.raises(InvalidInput, match="Unknown chunking settings"):
        spec_from_dict({"kind": "dense", "chunking": {"window": 128, "stride": 2}})
    with pytest.raises(InvalidInput, match="overlap"):
        spec_from_dict({"kind": "bm25", "chunking": {"window": 128, "overlap": 100}})


@pytest.mark.parametrize(
    "name, parsed",
    [
        ("dense", ("dense", None)),
        ("dense@256/64", ("dense", (256, 64))),
        ("bm25@256", ("bm25", (256, None))),
        ("hybrid@128/0", ("hybrid", (128, 0))),
    ],
)
def test_strategy_names_carry_a_chunking(name, parsed):
    assert parse_strategy(name) == parsed


@pytest.mark.parametrize(
    "name", ["dense@", "dense@256/", "dense@ab/3", "colbert@256/64", "dense@8/2", "dense@64/40"]
)
def test_bad_strategy_names_are_refused(name):
    with pytest.raises(InvalidInput):
        CompareOptions(strategies=f"bm25,{name}")


def test_compare_options_build_chunked_strategies():
    options = CompareOptions(
        strategies="bm25,bm25@256,dense,dense@128/32,hybrid@256/64",
        chunk_sentences=True,
        chunk_aggregate="sum_top",
        chunk_top=2,
        tune_split="none",
    )
    specs = options.specs(["test"])
    assert list(specs) == ["bm25", "bm25@256", "dense", "dense@128/32", "hybrid@256/64"]
    assert specs["bm25"].chunking is None and specs["dense"].chunking is None
    assert specs["bm25@256"].chunking == ChunkSpec(
        window=256, overlap=0, max_passages=1, sentences=True, aggregate="sum_top", top=2
    )
    assert specs["dense@128/32"].chunking.window == 128 and specs["dense@128/32"].chunking.overlap == 32
    hybrid = specs["hybrid@256/64"]
    assert (
        hybrid.sparse.chunking
        == hybrid.dense.chunking
        == ChunkSpec(sentences=True, aggregate="sum_top", top=2)
    )
    job = EvaluateJob.build("ds", options, ["test"])
    assert EvaluateJob.from_dict(json.loads(json.dumps(job.to_dict()))).specs() == specs
    assert CompareOptions(strategies="bm25,dense@256/64", baseline="dense@256/64").baseline == "dense@256/64"
    with pytest.raises(InvalidInput, match="chunk_aggregate"):
        CompareOptions(chunk_aggregate="mean")


def test_a_comparison_keeps_which_passage_matched(longdocs, ws):
    factories = Factories()
    options = CompareOptions(strategies="bm25,bm25@64,bm25@64/16,dense@64/16,hybrid@64/16", tune_split="none")
    specs = options.specs(longdocs.splits)
    report = run_comparison(longdocs, "test", specs, builder=_builder(longdocs, factories, ws))
    res = report.strategies
    assert "matched_passages" not in res["bm25"].extra and "passages" not in res["bm25"].extra
    matched = res["bm25@64/16"].extra["matched_passages"]
    assert set(matched) == {"q1", "q2"} and matched["q1"][0].startswith("d1#p")
    assert all(len(v) <= 10 for r in res.values() for v in r.extra.get("matched_passages", {}).values())
    assert res["bm25@64/16"].metrics["ndcg@10"] > res["bm25@64"].metrics["ndcg@10"]
    assert res["hybrid@64/16"].extra["passages"][0]["passages"] > len(DOCS)
    assert set(res["dense@64/16"].run["q1"]) <= set(DOCS)  # runs are document-level
    assert res["dense@64/16"].label == "Dense (all-MiniLM-L6-v2) · passages 64/16"
    json.dumps(report.to_record())
    assert factories.tokenizers == ["all-MiniLM-L6-v2"]


def test_a_pca_reduced_dense_index_searches_the_same_passages(longdocs):
    builder = _builder(longdocs, Factories())
    chunked = builder.build(DenseSpec(chunking=ChunkSpec(window=64, overlap=16)))
    reduced = chunked.over(PCADenseRetriever(chunked.inner, 8))
    hits = reduced.search(["striped zebra sleeps"], 3)[0]
    assert set(hits.doc_ids) <= set(DOCS) and len(set(hits.doc_ids)) == len(hits) == 3
    assert all(p.split("#p")[0] == d for d, p in zip(hits.doc_ids, hits.passage_ids, strict=True))
