"""Comparison details: harmful / untrained rerankers are flagged, HNSW recall is reported, the page's
options build the same specs as the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from core.evaluate import CompareOptions, run_comparison
from core.retrieval import BM25Spec, DenseSpec, HybridSpec, RerankSpec
from tests.unit.test_retrieval_core import OverlapReranker, _builder, tiny  # noqa: F401  (fixture)


class ReversedReranker(OverlapReranker):
    """Puts the passages sharing most words with the query last: a reranker that hurts."""

    name = "reversed"

    def score(self, query, passages):
        return -super().score(query, passages)


class UntrainedReranker(OverlapReranker):
    name = "fresh-head"
    head_trained = False


def _compare(tiny, fake_encoder, reranker, specs):  # noqa: F811
    builder = _builder(tiny, fake_encoder)
    builder._reranker_factory = lambda name, bs, ml: reranker
    return run_comparison(tiny, "test", specs, k=5, builder=builder, latency_sample=2)


def test_a_reranker_that_hurts_is_flagged(tiny, fake_encoder):  # noqa: F811
    specs = {"bm25": BM25Spec(), "rerank": RerankSpec(first_stage=BM25Spec(), reranker="r", top_k=5)}
    rep = _compare(tiny, fake_encoder, ReversedReranker(), specs)
    res = rep.strategies["rerank"]
    first = res.extra["first_stage_metrics"]["ndcg@10"]
    assert first == pytest.approx(rep.strategies["bm25"].metrics["ndcg@10"])
    assert res.metrics["ndcg@10"] < first
    assert len(res.warnings) == 1 and "made the ranking worse" in res.warnings[0]
    assert res.extra["head_trained"] is True
    assert rep.strategies["bm25"].warnings == []


def test_an_untrained_reranker_is_flagged_even_when_it_does_not_hurt(tiny, fake_encoder):  # noqa: F811
    specs = {"rerank": RerankSpec(first_stage=BM25Spec(), reranker="r", top_k=5)}
    rep = _compare(tiny, fake_encoder, UntrainedReranker(), specs)
    warnings = rep.strategies["rerank"].warnings
    assert any("untrained classification head" in w for w in warnings)
    assert not any("made the ranking worse" in w for w in warnings)


def test_a_helpful_reranker_has_no_warning(tiny, fake_encoder):  # noqa: F811
    specs = {"rerank": RerankSpec(first_stage=DenseSpec(), reranker="r", top_k=5)}
    rep = _compare(tiny, fake_encoder, OverlapReranker(), specs)
    res = rep.strategies["rerank"]
    assert res.metrics["ndcg@10"] >= res.extra["first_stage_metrics"]["ndcg@10"]
    assert res.warnings == []


def test_hnsw_reports_its_recall_against_exact(tiny, fake_encoder):  # noqa: F811
    specs = {"exact": DenseSpec(), "hnsw": DenseSpec(index="hnsw", hnsw_m=4, hnsw_ef_search=4)}
    rep = _compare(tiny, fake_encoder, OverlapReranker(), specs)
    recall = rep.strategies["hnsw"].extra["hnsw_recall@10"]
    assert 0.0 < recall <= 1.0
    assert "hnsw_recall@10" not in rep.strategies["exact"].extra
    assert any("HNSW finds" in n for n in rep.strategies["hnsw"].notes)
    builder = _builder(tiny, fake_encoder)
    assert builder.build(DenseSpec()).recall_vs_exact(["young cat"]) == 1.0


def test_baseline_must_be_a_chosen_strategy(tiny, fake_encoder):  # noqa: F811
    with pytest.raises(ValueError, match="Baseline 'dense'"):
        run_comparison(
            tiny, "test", {"bm25": BM25Spec()}, baseline="dense", builder=_builder(tiny, fake_encoder)
        )


def test_page_options_build_the_cli_specs():
    specs = CompareOptions(
        strategies="bm25,dense,hybrid,rerank",
        stemming=False,
        stopwords=False,
        index="hnsw",
        reranker="my-ce",
        rerank_first_stage="bm25",
        rerank_top_k=20,
    ).specs(["train", "test"])
    bm25 = BM25Spec(stemmer=None, stopwords=None)
    assert specs["bm25"] == bm25
    dense = DenseSpec(index="hnsw", backend="auto")  # the default backend of the page and the CLI
    assert specs["dense"] == dense
    assert specs["hybrid"] == HybridSpec(sparse=bm25, dense=dense, tune_split="train")
    assert specs["rerank"] == RerankSpec(first_stage=bm25, reranker="my-ce", top_k=20)
    # CLI defaults: stemming and stop-words on, alpha tuned on train unless train is evaluated
    defaults = CompareOptions().specs(["train", "test"])
    assert defaults["bm25"] == BM25Spec() and defaults["hybrid"].tune_split == "train"
    on_train = CompareOptions(split="train").specs(["train", "test"])
    assert on_train["hybrid"].tune_split is None
    rrf = CompareOptions(fusion="rrf", rrf_k=10).specs(["train", "test"])["hybrid"]
    assert rrf.fusion == "rrf" and rrf.rrf_k == 10 and rrf.tune_split is None
    with pytest.raises(ValueError, match="Unknown evaluate options"):
        CompareOptions.from_dict({"bogus": 1})
    with pytest.raises(ValueError, match="rerank needs --reranker"):
        CompareOptions(strategies="rerank").specs(["test"])


def test_cli_arguments_give_the_same_options_as_the_page():
    from core.cli import build_parser

    args = build_parser().parse_args(
        ["evaluate", "--dataset", "d", "--strategies", "bm25,rerank", "--reranker", "x"]
    )
    assert CompareOptions.from_args(args) == CompareOptions(strategies=("bm25", "rerank"), reranker="x")


def test_latency_and_index_time_are_recorded(tiny, fake_encoder):  # noqa: F811
    rep = _compare(tiny, fake_encoder, OverlapReranker(), {"bm25": BM25Spec(), "dense": DenseSpec()})
    for res in rep.strategies.values():
        assert res.latency_ms_p95 >= res.latency_ms_p50 > 0
        assert res.index_s >= 0 and np.isfinite(res.index_s)
    assert rep.corpus_fingerprint == tiny.fingerprint


def test_a_query_batch_is_encoded_once_but_single_queries_every_time(tiny, fake_encoder):  # noqa: F811
    dense = _builder(tiny, fake_encoder).build(DenseSpec())
    batch = ["young cat", "interest rates"]
    calls = fake_encoder.calls
    first = dense.search(batch, 3)
    assert dense.search(batch, 3) == first
    assert fake_encoder.calls == calls + 1
    dense.search(["young cat"], 3)
    dense.search(["young cat"], 3)
    assert fake_encoder.calls == calls + 3


def test_a_sentence_transformers_cross_encoder_folder_counts_as_trained(tmp_path):
    import json

    from core.models import cross_encoder_head_is_trained
    from core.models.registry import _guess_kind

    ce = tmp_path / "ce"
    ce.mkdir()
    (ce / "config.json").write_text(json.dumps({"architectures": ["BertForSequenceClassification"]}))
    (ce / "modules.json").write_text("[]")  # sentence-transformers >= 5 saves CrossEncoders with it
    bi = tmp_path / "bi"
    bi.mkdir()
    (bi / "config.json").write_text(json.dumps({"architectures": ["BertModel"]}))
    (bi / "modules.json").write_text("[]")
    assert cross_encoder_head_is_trained(str(ce)) and _guess_kind(ce) == "cross-encoder"
    assert not cross_encoder_head_is_trained(str(bi)) and _guess_kind(bi) == "bi-encoder"
