"""Hard-negative mining rules on a tiny corpus: each false-negative rule and its count."""

from __future__ import annotations

import numpy as np
import pytest

from core.adapt import MiningConfig, MiningResult, mine_dataset, mine_negatives

DOCS = ["p", "judged2", "top", "close", "n1", "n2", "n3", "n4"]


def scorer(row: list[float]):  # type: ignore[no-untyped-def]
    return lambda queries: np.array([row] * len(queries), dtype=np.float32)


def mine(row, cfg, qrels=None, elsewhere=None, scorers=None):  # type: ignore[no-untyped-def]
    qrels = qrels or {"q": {"p": 1, "judged2": 2, "n4": 0}}
    return mine_negatives(
        ["q"], ["query"], DOCS, qrels, scorers or {"bm25": scorer(row)}, cfg, judged_elsewhere=elsewhere
    )


# scores:       p    judged2 top  close n1   n2   n3   n4(judged 0)
ROW = [10.0, 12.0, 11.0, 9.8, 8.0, 7.0, 6.0, 5.0]


def test_each_rule_removes_its_candidates_and_reports_how_many():
    res = mine(ROW, MiningConfig(num_negatives=3, skip_top=1, depth=8, relative_margin=0.05))
    # ranking: judged2, top, p, close, n1, n2, n3, n4 -> judged2 & p judged; 'top' is rank 2 but skip_top=1
    # skips rank 1 only (judged2, already counted as judged); 'top' and 'close' score above 10*0.95 = 9.5
    assert res.filtered == {"judged_positive": 2, "top_ranks": 0, "relative_margin": 2}
    for_p = res.negatives[res.negatives["positive_id"] == "p"]
    assert for_p["doc_id"].tolist() == ["n1", "n2", "n3"]
    assert for_p["rank"].tolist() == [5, 6, 7]
    assert len(res.negatives) == 6  # the same three for the other positive


def test_negatives_are_repeated_for_every_positive_of_the_query():
    res = mine(ROW, MiningConfig(num_negatives=1, skip_top=0, depth=8, relative_margin=0.05))
    assert sorted(res.negatives["positive_id"]) == ["judged2", "p"]
    assert set(res.negatives["doc_id"]) == {"n1"}
    # the margin uses the lowest positive score (the safer threshold)
    assert set(res.negatives["positive_score"]) == {10.0}


def test_skip_top_counts_ranks_not_already_removed():
    res = mine(ROW, MiningConfig(num_negatives=1, skip_top=3, depth=8, relative_margin=None))
    # top 3: judged2 (judged), top (skipped), p (judged)
    assert res.filtered == {"judged_positive": 2, "top_ranks": 1, "relative_margin": 0}
    assert res.negatives["doc_id"].tolist()[0] == "close"


def test_judged_positives_of_other_splits_are_never_negatives():
    res = mine(
        ROW,
        MiningConfig(num_negatives=2, skip_top=0, depth=8, relative_margin=None),
        elsewhere={"q": {"top"}},
    )
    assert "top" not in set(res.negatives["doc_id"])
    assert res.filtered["judged_positive"] == 3


def test_judged_non_relevant_documents_stay_usable_as_negatives():
    res = mine(ROW, MiningConfig(num_negatives=6, skip_top=0, depth=8, relative_margin=None))
    assert "n4" in set(res.negatives["doc_id"])


def test_margin_off_keeps_close_candidates_and_short_queries_are_counted():
    res = mine(ROW, MiningConfig(num_negatives=6, skip_top=0, depth=8, relative_margin=None))
    assert res.negatives["doc_id"].tolist()[:2] == ["top", "close"]
    assert res.short == 0  # six documents are not judged relevant: top, close, n1..n4
    res2 = mine(ROW, MiningConfig(num_negatives=6, skip_top=2, depth=8, relative_margin=None))
    assert res2.short == 1  # 'top' sits in the skipped ranks


def test_both_rankers_are_filtered_separately_and_interleaved_without_duplicates():
    dense_row = [0.9, 0.1, 0.2, 0.3, 0.1, 0.8, 0.7, 0.0]
    res = mine(
        ROW,
        MiningConfig(method="both", num_negatives=3, skip_top=0, depth=8, relative_margin=None),
        scorers={"bm25": scorer(ROW), "dense": scorer(dense_row)},
    )
    assert res.negatives["doc_id"].tolist()[:3] == ["top", "n2", "close"]
    assert res.negatives["source"].tolist()[:3] == ["bm25", "dense", "bm25"]


def test_random_sampling_is_seeded():
    cfg = MiningConfig(num_negatives=2, skip_top=0, depth=8, relative_margin=None, sampling="random", seed=3)
    a = mine(ROW, cfg).negatives["doc_id"].tolist()
    b = mine(ROW, cfg).negatives["doc_id"].tolist()
    assert a == b and len(set(a)) == 2


def test_drop_removes_reviewed_pairs_and_counts_them_and_json_round_trips():
    res = mine(ROW, MiningConfig(num_negatives=2, skip_top=0, depth=8, relative_margin=None))
    dropped = res.drop([("q", "top")])
    assert "top" not in set(dropped.negatives["doc_id"])
    assert dropped.dropped == 2  # one row per positive
    again = MiningResult.from_json(dropped.to_json())
    assert again.negatives.equals(dropped.negatives)
    assert again.summary() == dropped.summary()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "colbert"}, "Unknown mining method"),
        ({"num_negatives": 0}, "at least 1"),
        ({"skip_top": 5, "depth": 5}, "larger than skip_top"),
        ({"num_negatives": 10, "skip_top": 3, "depth": 10}, "Cannot mine 10"),
        ({"relative_margin": 1.5}, "relative_margin"),
        ({"sampling": "hardest"}, "sampling"),
    ],
)
def test_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MiningConfig(**kwargs)


def test_mine_dataset_with_bm25_and_a_fake_dense_encoder(tmp_path, fake_encoder):
    from core.data import load_path
    from tests.tiny_data import write_beir

    ds = load_path(write_beir(tmp_path / "b"))
    for method in ("bm25", "dense", "both"):
        cfg = MiningConfig(method=method, num_negatives=1, skip_top=0, depth=3, relative_margin=None)
        res = mine_dataset(ds, cfg, split="train", encoder=fake_encoder)
        assert res.queries == 1
        assert "d3" not in set(res.negatives["doc_id"])  # q3's positive
        assert res.filtered["judged_positive"] >= 1
    with pytest.raises(ValueError, match="no 'validation' split"):
        mine_dataset(ds, MiningConfig(), split="validation", encoder=fake_encoder)
