"""Trainer configs are validated up front; training rows are built from qrels and mined negatives."""

from __future__ import annotations

import pytest

from core.adapt import build_triples, mine_negatives, subset_queries, train_fields, verdict
from core.training import Triples, train_config


@pytest.mark.parametrize(
    ("method", "params", "message"),
    [
        ("mlm", {"mlm_probability": 1.5}, "mlm_probability"),
        ("mlm", {"epochs": 0}, "at least one step"),
        ("tsdae", {"del_ratio": 0}, "del_ratio"),
        ("contrastive", {"batch_size": 1}, "batch_size >= 2"),
        ("contrastive", {"loss": "triplet"}, "Unknown loss"),
        ("contrastive", {"learning_rate": 3}, "learning_rate"),
        ("cross-encoder", {"loss": "hinge"}, "cross-encoder loss"),
        ("cross-encoder", {"max_seq_length": 4}, "max_seq_length"),
        ("contrastive", {"mlm_probability": 0.2}, "Unknown settings"),
        ("svm", {}, "Unknown method"),
    ],
)
def test_bad_settings_are_refused_with_a_message(method, params, message):
    with pytest.raises(ValueError, match=message):
        train_config(method, "bert-tiny", "/tmp/out", params)


def test_configs_are_frozen_with_documented_defaults():
    cfg = train_config("mlm", "bert-tiny", "/tmp/out", {"max_steps": 5, "epochs": None})
    assert cfg.mlm_probability == 0.15 and cfg.max_steps == 5
    with pytest.raises(AttributeError):
        cfg.epochs = 3  # type: ignore[misc]
    assert "loss" in train_fields("contrastive") and "base" not in train_fields("contrastive")
    assert train_config("contrastive", "m", "/o").loss == "mnrl"


def test_triples_repeat_the_last_negative_and_drop_rows_without_any():
    triples, dropped = Triples.build(
        [("q1", "p1", ["n1"]), ("q2", "p2", []), ("q3", "p3", ["a", "b", "c"])], 2
    )
    assert dropped == 1
    assert triples.columns() == {
        "anchor": ["q1", "q3"],
        "positive": ["p1", "p3"],
        "negative_1": ["n1", "a"],
        "negative_2": ["n1", "b"],
    }
    plain, dropped = Triples.build([("q", "p", [])], 0)
    assert dropped == 0 and plain.columns() == {"anchor": ["q"], "positive": ["p"]}


def test_build_triples_from_a_dataset_and_mined_negatives(tmp_path):
    from core.adapt import MiningConfig, bm25_scorer
    from core.data import load_path
    from core.retrieval import BM25Retriever, Corpus
    from tests.tiny_data import write_beir

    ds = load_path(write_beir(tmp_path / "b"))
    bm25 = BM25Retriever(Corpus.from_dataset(ds))
    queries = ds.split_queries("test")
    mined = mine_negatives(
        queries["query_id"].tolist(),
        queries["text"].tolist(),
        ds.doc_ids,
        ds.qrels_dict("test"),
        {"bm25": bm25_scorer(bm25)},
        MiningConfig(num_negatives=1, skip_top=0, depth=4, relative_margin=None),
    )
    triples, padded = build_triples(ds, mined, "test", 1)
    assert padded == 0
    assert list(triples.anchors) == ["why do cats purr", "dogs barking"]
    assert triples.positives[0].startswith("Cats")
    assert all(n[0] != p for n, p in zip(triples.negatives, triples.positives, strict=True))
    # every mined negative dropped in review: the pairs stay, padded with random non-relevant documents
    emptied = mined.drop(zip(mined.negatives["query_id"], mined.negatives["doc_id"], strict=True))
    triples, padded = build_triples(ds, emptied, "test", 2)
    assert padded == 2 and len(triples) == 2
    relevant = {"why do cats purr": "Cats", "dogs barking": "Dogs"}
    for query, negs in zip(triples.anchors, triples.negatives, strict=True):
        assert len(set(negs)) == 2 and not any(n.startswith(relevant[query]) for n in negs)


def test_subset_queries_and_verdict(tmp_path):
    from core.data import load_path
    from tests.tiny_data import write_beir

    ds = load_path(write_beir(tmp_path / "b"))
    cut = subset_queries(ds, "test", 1)
    assert len(cut.qrels_dict("test")) == 1 and cut.qrels_dict("train") == ds.qrels_dict("train")
    assert subset_queries(ds, "test", None) is ds
    assert verdict(0.02) == "better" and verdict(-0.3) == "worse" and verdict(0.001) == "no change"


def test_adapt_job_config_is_parsed_once_with_defaults_and_old_configs_still_parse():
    from core.adapt import AdaptJob, MineJob, MiningConfig
    from core.models import DEFAULT_BI_ENCODER
    from core.retrieval import DEFAULT_RERANK_DEPTH

    # as the Adapt page stores it (None for what the user left empty)
    page = AdaptJob.from_dict(
        {
            "method": "contrastive",
            "dataset": "d",
            "base": "bert-tiny",
            "name": None,
            "train": {"max_steps": 2},
            "corpus_limit": None,
            "eval_queries": None,
            "first_stage": "hybrid",
            "first_stage_model": None,
            "mining": {"method": "both", "relative_margin": None},
            "negatives_from": None,
            "drop": [["q1", "d1"]],
        }
    )
    assert page.mining == MiningConfig(method="both", relative_margin=None, model="bert-tiny")
    assert page.drop == (("q1", "d1"),) and page.evaluate and page.eval_split is None
    assert page.first_stage_model == DEFAULT_BI_ENCODER and page.rerank_top_k == DEFAULT_RERANK_DEPTH
    assert AdaptJob.from_dict(page.to_dict()) == page
    # the unsupervised methods mine nothing; empty values keep the defaults
    mlm = AdaptJob.from_dict(
        {"method": "mlm", "dataset": "d", "base": "", "rerank_top_k": 0, "evaluate": False}
    )
    assert mlm.mining is None and mlm.base == DEFAULT_BI_ENCODER and mlm.rerank_top_k == DEFAULT_RERANK_DEPTH
    assert not mlm.evaluate and "mining" not in mlm.to_dict()
    with pytest.raises(ValueError, match="Unknown adapt job settings"):
        AdaptJob.from_dict({"method": "mlm", "dataset": "d", "epochs": 3})
    with pytest.raises(ValueError, match="Unknown method"):
        AdaptJob.from_dict({"method": "svm", "dataset": "d"})
    with pytest.raises(ValueError, match="needs dataset"):
        AdaptJob.from_dict({"method": "mlm"})
    with pytest.raises(ValueError, match="Unknown mining settings"):
        AdaptJob.from_dict({"method": "contrastive", "dataset": "d", "mining": {"hardness": 1}})
    mine = MineJob.from_dict({"dataset": "d", "split": None, "mining": None})
    assert mine.split == "train" and mine.mining == MiningConfig()
    assert MineJob.from_dict(mine.to_dict()) == mine
