"""Figure and table builders of the Classify page (no Streamlit)."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from components.classify_views import (
    detail_for,
    detail_methods,
    make_confusion_figure,
    make_learning_curve_figure,
    make_proba_figure,
    misclassified_frame,
    per_class_frame,
    summary_frame,
)

SUMMARY = [
    {
        "method": m,
        "n_per_class": n,
        "seeds": 5,
        "accuracy_mean": acc,
        "accuracy_std": 0.02,
        "macro_f1_mean": acc - 0.01,
        "macro_f1_std": 0.03,
        "mcc_mean": acc / 2,
        "mcc_std": 0.01,
        "train_s_mean": 3.0,
        "train_s_std": 0.1,
    }
    for m, base in (("setfit", 0.7), ("logreg", 0.6), ("zeroshot", 0.5))
    for n, acc in ((8, base), (16, base + 0.05), (32, base + 0.08))
]


def test_learning_curve_has_one_trace_per_method_with_error_bars():
    fig = make_learning_curve_figure(SUMMARY, "accuracy")
    assert isinstance(fig, go.Figure)
    names = [t.name for t in fig.data]
    assert names[0] == "SetFit" and len(names) == 3
    setfit = fig.data[0]
    assert list(setfit.x) == [8, 16, 32] and list(setfit.y) == pytest.approx([0.7, 0.75, 0.78])
    assert list(setfit.error_y.array) == [0.02] * 3
    assert fig.data[2].line.dash == "dash"  # zero-shot does not depend on N
    mcc = make_learning_curve_figure(SUMMARY, "mcc")
    assert list(mcc.data[0].y) == pytest.approx([0.35, 0.375, 0.39])
    assert make_learning_curve_figure([], "accuracy").layout.title.text == "No results yet"


def test_summary_frame_columns_and_names():
    frame = summary_frame(SUMMARY)
    assert len(frame) == 9 and frame["method"].iloc[0] == "SetFit"
    assert {"accuracy_mean", "accuracy_std", "macro_f1_mean", "mcc_mean", "train_s_mean"} <= set(frame)
    assert summary_frame([]).empty


def test_confusion_figure_normalises_rows():
    fig = make_confusion_figure(["a", "b"], [[3, 1], [0, 4]])
    z = fig.data[0].z
    assert z[0][0] == 0.75 and z[1][1] == 1.0
    raw = make_confusion_figure(["a", "b"], [[3, 1], [0, 4]], normalize=False)
    assert raw.data[0].z[0][0] == 3
    many = make_confusion_figure([f"l{i}" for i in range(30)], [[0] * 30 for _ in range(30)])
    # issue 16: a 77-class matrix without class names could not be read; every class is named now
    assert many.layout.xaxis.showticklabels is not False and list(many.layout.yaxis.ticktext) == [
        f"l{i}" for i in range(30)
    ]


def test_tables_from_detail():
    detail = {
        "method": "setfit",
        "n_per_class": 8,
        "per_class": [
            {"label": "a", "precision": 0.9, "recall": 0.8, "f1": 0.85, "support": 10},
            {"label": "b", "precision": 0.5, "recall": 0.4, "f1": 0.44, "support": 7},
        ],
        "misclassified": [{"text": "t", "true": "a", "predicted": "b", "confidence": 0.8}],
    }
    per = per_class_frame(detail)
    assert per["label"].tolist() == ["b", "a"]  # weakest first
    mis = misclassified_frame(detail)
    assert mis.columns.tolist() == ["text", "true", "predicted", "confidence"] and len(mis) == 1
    assert detail_for({"details": [detail]}, "setfit", 8) is detail
    assert detail_for({"details": [detail]}, "logreg", 8) is None


def test_proba_figure_sorted_top_k():
    fig = make_proba_figure(["x", "y", "z"], [0.2, 0.7, 0.1], top=2)
    assert list(fig.data[0].y) == ["y", "x"] and list(fig.data[0].x) == [0.7, 0.2]


@pytest.mark.parametrize("n", [2, 20, 77, 200])
def test_confusion_names_every_class_and_grows_with_them(n):
    labels = [f"class_{i}" for i in range(n)]
    fig = make_confusion_figure(labels, [[1] * n for _ in range(n)])
    assert list(fig.layout.xaxis.ticktext) == labels and list(fig.layout.yaxis.ticktext) == labels
    assert fig.layout.height >= 450 and fig.layout.height >= 12 * n  # at least ~12 px a class
    assert fig.layout.yaxis.tickfont.size >= 8


def test_a_single_n_is_a_point_with_an_error_bar_per_method():
    one = [row for row in SUMMARY if row["n_per_class"] == 8]
    fig = make_learning_curve_figure(one, "accuracy")
    assert [t.x[0] for t in fig.data] == ["SetFit", "Frozen + logistic regression", "Zero-shot (label names)"]
    assert all(t.mode == "markers+text" and len(t.x) == 1 and t.error_y.array[0] == 0.02 for t in fig.data)
    assert fig.layout.xaxis.type == "category" and "N = 8" in fig.layout.title.text


def test_details_default_to_setfit():
    details = [{"method": "zeroshot"}, {"method": "logreg"}, {"method": "setfit"}]
    assert detail_methods(details) == ["setfit", "zeroshot", "logreg"]
