"""Measuring the wizard's answers from a dataset: fragmentation, BM25-vs-dense overlap, labelled pairs,
labels per class, the zero-shot baseline (fake encoder, bert-tiny's real tokenizer, tiny data)."""

from __future__ import annotations

import pytest

from core.data import load_path
from core.retrieval import BM25Retriever, Corpus, DenseRetriever
from core.wizard import (
    bm25_dense_overlap,
    labelled_pairs,
    load_tokenizer,
    measure_answers,
    sample_corpus,
    tokenizer_fragmentation,
)
from tests.tiny_data import write_beir, write_labeled
from tests.wizard_data import write_topics_beir


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("bert-tiny")


@pytest.fixture
def topics(tmp_path):
    return load_path(write_topics_beir(tmp_path / "topics"), name="topics")


def test_fragmentation_is_high_for_jargon_and_low_for_plain_text(tokenizer):
    jargon = ["Immunohistochemistry showed phosphorylation of glycosaminoglycans in cardiomyocytes."] * 5
    plain = ["The cat sat on the mat and the dog ran in the park with a ball."] * 5
    high, examples = tokenizer_fragmentation(tokenizer, jargon)
    low, none = tokenizer_fragmentation(tokenizer, plain)
    assert high > 0.5 and low == 0.0
    assert {w for w, _ in examples} >= {"immunohistochemistry", "phosphorylation"}
    assert all(pieces >= 3 for _, pieces in examples) and none == []
    assert tokenizer_fragmentation(tokenizer, []) == (0.0, [])


def test_overlap_of_a_retriever_with_itself_is_one_and_with_another_less(topics):
    from tests.fakes import HashingEncoder

    corpus = Corpus.from_dataset(topics)
    bm25 = BM25Retriever(corpus)
    dense = DenseRetriever(corpus, HashingEncoder(dim=3))  # 3 buckets: a different, coarse ranking
    queries = topics.queries["text"].tolist()
    same, per = bm25_dense_overlap(bm25, bm25, queries, k=10)
    assert same == 1.0 and len(per) == len(queries)
    other, _ = bm25_dense_overlap(bm25, dense, queries, k=10)
    assert 0.0 <= other < 1.0


def test_labelled_pairs_count_training_judgements_only(topics, tmp_path):
    n, note = labelled_pairs(topics)
    assert n == 40 and "train" in note and "'test' split is kept" in note
    only_test = load_path(write_beir(tmp_path / "b", qrels={"test": [("q1", "d1", 1)]}))
    assert labelled_pairs(only_test)[0] == 0


def test_sample_corpus_keeps_judged_documents_and_the_limit(topics):
    ids, texts = sample_corpus(topics, ["q-cats-0"], max_docs=12)
    judged = set(topics.qrels[topics.qrels["query_id"] == "q-cats-0"]["doc_id"])
    assert judged <= set(ids) and len(ids) == 12 and len(set(ids)) == 12 and len(texts) == 12


def test_measure_retrieval_answers(topics, fake_encoder, tokenizer, ws):
    m = measure_answers(topics, ws, model="bert-tiny", encoder=fake_encoder, tokenizer=tokenizer)
    v = m.values
    assert v["task"] == "retrieval" and v["corpus_size"] == 80 and v["labelled_pairs"] == 40
    assert v["unlabeled_text"] is True and v["gpu"] is False and v["reranker_available"] is False
    assert v["embedding_dim"] == 64
    assert 0.0 <= v["bm25_dense_overlap"] <= 1.0 and 0.0 <= v["fragmentation"] <= 1.0
    assert 0.0 < v["baseline_ndcg10"] <= 1.0  # small corpus: encoded whole, baseline measured
    assert v["domain"] in ("generic", "specialised")
    assert "whole corpus" in m.notes["bm25_dense_overlap"]
    assert set(m.notes) >= set(v)


def test_large_corpus_is_sampled_and_baseline_left_to_verification(
    topics, fake_encoder, tokenizer, monkeypatch
):
    import core.wizard.measure as wm

    monkeypatch.setattr(wm, "FULL_CORPUS_MAX_DOCS", 10)
    m = measure_answers(topics, None, encoder=fake_encoder, tokenizer=tokenizer, max_docs=30)
    assert m.details["overlap_corpus_docs"] == 30
    assert "baseline_ndcg10" not in m.values and "not measured" in m.notes["baseline_ndcg10"]
    assert "30-document sample" in m.notes["bm25_dense_overlap"]


def test_measure_classification_answers(tmp_path, tokenizer):
    rows = [{"text": f"good film {i}", "label": "pos"} for i in range(12)]
    rows += [{"text": f"bad film {i}", "label": "neg"} for i in range(6)]
    write_labeled(tmp_path / "cls" / "train.csv", rows)
    ds = load_path(tmp_path / "cls", name="cls")
    m = measure_answers(ds, None, tokenizer=tokenizer)
    assert m.values["task"] == "classification"
    assert m.values["labels_per_class"] == 9  # median of 12 and 6
    assert "smallest 6" in m.notes["labels_per_class"]
    assert m.values["labelled_pairs"] == 0 and "bm25_dense_overlap" not in m.values
