"""Pure statistics tables and plotly figures of the Data page (no Streamlit)."""

from __future__ import annotations

import pandas as pd
import pytest

from components.data_views import (
    LABEL_CHART_MAX_LABELS,
    LABEL_CHART_MIN_PX,
    LABEL_TICK_CHARS,
    dataset_stats,
    judged_per_query_table,
    label_chart_height,
    label_counts_table,
    make_doc_length_figure,
    make_judged_per_query_figure,
    make_label_distribution_figure,
    make_queries_per_split_figure,
    split_overview_table,
    word_count_table,
)
from core.data import load_classification, load_retrieval_beir
from tests.tiny_data import write_beir, write_labeled

QRELS = pd.DataFrame(
    [
        ("test", "q1", "d1", 2),
        ("test", "q1", "d2", 0),
        ("test", "q2", "d2", 1),
        ("train", "q3", "d3", 1),
        ("train", "q3", "d4", 1),
        ("train", "q4", "d1", 1),
    ],
    columns=["split", "query_id", "doc_id", "score"],
)


def test_word_counts():
    table = word_count_table(["one two three", "", "  spaced   out  ", None])
    assert table["words"].tolist() == [3, 0, 2, 0]


def test_doc_length_figure_histogram_and_median():
    fig = make_doc_length_figure(pd.DataFrame({"words": [1, 2, 3, 4, 100]}))
    assert len(fig.data) == 1 and fig.data[0].type == "histogram"
    assert list(fig.data[0].x) == [1, 2, 3, 4, 100]
    assert "5 documents" in fig.layout.title.text
    assert fig.layout.xaxis.title.text == "words"
    assert any("median 3" in a.text for a in fig.layout.annotations)


def test_doc_length_figure_of_nothing_has_no_median():
    fig = make_doc_length_figure(pd.DataFrame({"words": []}), title="Query length", what="queries")
    assert "0 queries" in fig.layout.title.text
    assert not fig.layout.annotations


def test_split_overview_in_split_order():
    table = split_overview_table(QRELS)
    assert table.to_dict("records") == [
        {"split": "train", "queries": 2, "qrels": 3, "relevant": 3},
        {"split": "test", "queries": 2, "qrels": 3, "relevant": 2},
    ]
    fig = make_queries_per_split_figure(table)
    assert [t.name for t in fig.data] == ["queries", "judged documents"]
    assert list(fig.data[0].x) == ["train", "test"]
    assert list(fig.data[0].y) == [2, 2] and list(fig.data[1].y) == [3, 3]


def test_judged_per_query():
    table = judged_per_query_table(QRELS)
    assert sorted(map(tuple, table[["split", "query_id", "judged", "relevant"]].to_numpy().tolist())) == [
        ("test", "q1", 2, 1),
        ("test", "q2", 1, 1),
        ("train", "q3", 2, 2),
        ("train", "q4", 1, 1),
    ]
    fig = make_judged_per_query_figure(table)
    assert [t.name for t in fig.data] == ["train", "test"]
    train = fig.data[0]
    assert list(train.x) == [1, 2] and list(train.y) == [1, 1]
    assert fig.layout.xaxis.title.text == "judged documents per query"
    assert fig.layout.xaxis.dtick == 1  # a tick per count while they fit …
    many = pd.DataFrame({"split": "test", "query_id": [f"q{i}" for i in range(40)], "judged": range(1, 41)})
    assert make_judged_per_query_figure(many).layout.xaxis.dtick is None  # … not 40 crowded ones


def test_judged_per_query_of_empty_qrels():
    empty = QRELS.iloc[:0]
    assert judged_per_query_table(empty).empty
    assert len(make_judged_per_query_figure(judged_per_query_table(empty)).data) == 0


def test_label_counts_single_and_multi_label():
    single = pd.DataFrame({"label": ["a", "b", "a", "a"], "split": ["train", "train", "test", "train"]})
    table = label_counts_table(single)
    assert table.to_dict("records") == [
        {"label": "a", "split": "train", "count": 2},
        {"label": "a", "split": "test", "count": 1},
        {"label": "b", "split": "train", "count": 1},
    ]
    multi = pd.DataFrame({"labels": [["x", "y"], ["y"]], "split": ["train", "train"]})
    assert label_counts_table(multi).to_dict("records") == [
        {"label": "y", "split": "train", "count": 2},
        {"label": "x", "split": "train", "count": 1},
    ]


def test_label_distribution_figure_stacks_splits_and_caps_labels():
    table = label_counts_table(
        pd.DataFrame({"label": ["a", "b", "a", "c"], "split": ["train", "train", "test", "validation"]})
    )
    fig = make_label_distribution_figure(table)
    assert fig.layout.barmode == "stack"
    assert [t.name for t in fig.data] == ["train", "validation", "test"]
    assert all(t.orientation == "h" for t in fig.data)  # labels on the vertical axis
    assert list(fig.data[0].y) == ["a", "b", "c"]
    assert list(fig.data[0].x) == [1, 1, 0]
    assert sum(sum(t.x) for t in fig.data) == 4
    many = pd.DataFrame({"label": [f"l{i}" for i in range(300)], "split": "train", "count": 1})
    capped = make_label_distribution_figure(many, max_labels=10)
    assert len(capped.data[0].y) == 10
    assert "300 labels" in capped.layout.title.text and "10 most frequent" in capped.layout.title.text
    default = make_label_distribution_figure(many)
    assert len(default.data[0].y) == LABEL_CHART_MAX_LABELS == 200


def _label_table(n: int) -> pd.DataFrame:
    """``n`` classes of Banking77-like names (some long), counts falling with the index, two splits."""
    rows = []
    for i in range(n):
        name = f"card_payment_wrong_exchange_rate_{i}" + ("_and_a_very_long_tail" * 3 if i % 7 == 0 else "")
        rows += [(name, "train", 200 - i), (name, "test", 1 + i % 5)]
    return label_counts_table(
        pd.DataFrame(
            [(label, split) for label, split, count in rows for _ in range(count)], columns=["label", "split"]
        )
    )


@pytest.mark.parametrize("n", [2, 77, 200])
def test_label_chart_shows_every_label_readably(n):
    table = _label_table(n)
    fig = make_label_distribution_figure(table)
    labels = table.drop_duplicates("label")["label"].tolist()
    axis = fig.layout.yaxis
    assert list(axis.tickvals) == labels  # every label has its tick, most frequent first
    assert axis.autorange == "reversed" and list(axis.categoryarray) == labels
    assert len(axis.ticktext) == n and all(len(t) <= LABEL_TICK_CHARS for t in axis.ticktext)
    long = next(label for label in labels if len(label) > LABEL_TICK_CHARS)
    assert axis.ticktext[labels.index(long)].endswith("…")  # cut on the axis …
    assert long in fig.data[0].y and "%{y}" in fig.data[0].hovertemplate  # … whole in the tooltip
    totals = [sum(t.x[i] for t in fig.data) for i in range(n)]
    assert totals == sorted(totals, reverse=True)  # sorted by count
    per_bar = (fig.layout.height - 130) / n
    assert fig.layout.height >= LABEL_CHART_MIN_PX
    assert n < 10 or 18 <= per_bar <= 22  # room for each label's line, however many
    assert fig.layout.height == label_chart_height(n)
    assert "most frequent first" in fig.layout.title.text and "shown" not in fig.layout.title.text


def test_dataset_stats_for_both_kinds(tmp_path):
    rstats = dataset_stats(load_retrieval_beir(write_beir(tmp_path / "b")))
    assert set(rstats) == {"doc_words", "query_words", "splits", "judged"}
    assert len(rstats["doc_words"]) == 4 and len(rstats["query_words"]) == 3
    cstats = dataset_stats(load_classification(write_labeled(tmp_path / "c.csv")))
    assert set(cstats) == {"text_words", "labels"}
    assert cstats["labels"]["count"].sum() == 20
