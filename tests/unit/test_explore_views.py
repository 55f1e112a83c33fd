"""Figure builders and table helpers of the embedding explorer (no Streamlit)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from core.explore import (
    LEGEND_LIMIT,
    color_options,
    figure_html,
    hover_text,
    make_cluster_scores_figure,
    make_compare_figure,
    make_neighbourhood_figure,
    make_projection_figure,
    make_query_figure,
    metrics_table,
    neighbourhood_caption,
    neighbourhood_table,
    points_csv,
    truncate,
)


def points(n: int = 12, labels: int = 3, compare: bool = False, three: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "id": [f"test:{i}" for i in range(n)],
            "text": [f"text number {i} " + "long words " * (30 if i == 0 else 1) for i in range(n)],
            "label": [f"label{i % labels}" for i in range(n)],
            "split": ["test"] * n,
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
        }
    )
    if three:
        df["z"] = rng.normal(size=n)
    if compare:
        df["x_b"], df["y_b"] = df["x"] + 1.0, df["y"] - 1.0
        if three:
            df["z_b"] = df["z"]
        df["moved"] = np.sqrt(2.0)
        df["kept"] = np.linspace(0.0, 1.0, n)
    return df


def test_projection_figure_has_one_trace_per_label_with_hover():
    df = points()
    fig = make_projection_figure(df, color="label", title="map")
    assert [t.name for t in fig.data] == ["label0", "label1", "label2"]
    assert sum(len(t.x) for t in fig.data) == 12
    assert all(t.showlegend for t in fig.data)
    first = fig.data[0].hovertext[0]
    assert first.startswith("<b>label0</b> · test:0") and "…" in first  # long text is truncated
    assert fig.layout.title.text == "map"
    assert fig.data[0].type == "scattergl"


def test_many_categories_drop_the_legend_and_say_so():
    df = points(n=2 * (LEGEND_LIMIT + 5), labels=LEGEND_LIMIT + 5)
    fig = make_projection_figure(df, color="label")
    assert len(fig.data) == LEGEND_LIMIT + 5
    assert not any(t.showlegend for t in fig.data)
    assert "hover a point" in fig.layout.title.text
    # natural order: label2 before label10
    names = [t.name for t in fig.data]
    assert names.index("label2") < names.index("label10")


def test_numeric_colour_uses_a_colour_scale_and_3d_uses_scatter3d():
    df = points(compare=True, three=True)
    fig = make_projection_figure(df, color="moved")
    assert len(fig.data) == 1 and fig.data[0].marker.colorscale is not None
    fig3 = make_projection_figure(df, color="label")
    assert {t.type for t in fig3.data} == {"scatter3d"}
    assert len(fig3.data[0].z) == len(fig3.data[0].x)


def test_compare_figure_shows_both_maps_with_shared_colours():
    df = points(compare=True)
    fig = make_compare_figure(df, color="label", titles=("base", "setfit"))
    assert len(fig.data) == 6  # 3 labels x 2 panels
    left = [t for t in fig.data if t.xaxis in (None, "x")]
    right = [t for t in fig.data if t.xaxis == "x2"]
    assert len(left) == len(right) == 3
    assert [t.marker.color for t in left] == [t.marker.color for t in right]
    assert np.allclose(right[0].x, left[0].x + 1.0)
    assert [a.text for a in fig.layout.annotations] == ["base", "setfit"]
    assert all(t.showlegend for t in left) and not any(t.showlegend for t in right)


def test_neighbourhood_figure_colours_points_by_neighbours_kept_and_draws_no_lines():
    df = points(n=50, compare=True)
    fig = make_neighbourhood_figure(df, k=10)
    assert not [t for t in fig.data if "lines" in (t.mode or "")]  # no before → after lines
    (trace,) = fig.data
    assert len(trace.x) == 50
    assert trace.marker.cmin == 0.0 and trace.marker.cmax == 1.0  # a fixed scale: maps read alike
    assert sorted(trace.marker.color) == sorted(df["kept"].tolist())
    assert trace.marker.color[-1] == 0.0  # the most changed point is drawn on top
    assert sorted(trace.x) == sorted(df["x_b"].tolist())  # on the second map
    assert "kept 0 of 10 neighbours (0%)" in trace.hovertext[-1]
    assert "median 50%" in fig.layout.title.text and "original spaces" in fig.layout.title.text
    caption = neighbourhood_caption(df, k=10)
    assert "10 nearest neighbours" in caption and "not on the maps" in caption and "median 0.50" in caption
    with pytest.raises(ValueError):
        make_neighbourhood_figure(points(), k=10)  # one model: nothing changed to show


def test_neighbourhood_table_lists_the_labels_that_changed_most_first():
    df = points(n=6, labels=2, compare=True)
    df["kept"] = [0.1, 1.0, 0.3, 0.9, 0.2, 0.8]  # label0: rows 0, 2, 4; label1: rows 1, 3, 5
    table = neighbourhood_table(df, k=10)
    assert list(table.columns) == ["label", "points", "neighbours kept (of 10)", "changed most"]
    assert table["label"].tolist() == ["label0", "label1"]
    assert np.allclose(table["neighbours kept (of 10)"], [0.2, 0.9])
    assert table["changed most"].tolist() == ["test:0", "test:5"]
    assert table["points"].tolist() == [3, 3]


def test_query_figure_marks_query_relevant_and_each_strategy():
    df = points()
    overlay = pd.DataFrame(
        [
            {
                "role": "query",
                "id": "q1",
                "text": "lost card",
                "strategy": None,
                "rank": None,
                "grade": None,
                "in_sample": False,
                "x": 0.0,
                "y": 0.0,
            },
            {
                "role": "relevant",
                "id": "test:1",
                "text": "t1",
                "strategy": None,
                "rank": None,
                "grade": 2,
                "in_sample": True,
                "x": 1.0,
                "y": 1.0,
            },
            {
                "role": "retrieved",
                "id": "test:1",
                "text": "t1",
                "strategy": "bm25",
                "rank": 1,
                "grade": 2,
                "in_sample": True,
                "x": 1.0,
                "y": 1.0,
            },
            {
                "role": "retrieved",
                "id": "test:2",
                "text": "t2",
                "strategy": "bm25",
                "rank": 2,
                "grade": None,
                "in_sample": True,
                "x": 2.0,
                "y": 2.0,
            },
            {
                "role": "retrieved",
                "id": "test:3",
                "text": "t3",
                "strategy": "dense",
                "rank": 1,
                "grade": None,
                "in_sample": False,
                "x": 3.0,
                "y": 3.0,
            },
        ]
    )
    fig = make_query_figure(df, overlay)
    names = [t.name for t in fig.data]
    assert names[0] == "points"  # the map, greyed
    assert "judged relevant (1)" in names
    assert "bm25: top 2 (1 relevant)" in names and "dense: top 1 (0 relevant)" in names
    assert names[-1] == "query" and fig.data[-1].marker.symbol == "star"
    bm25 = fig.data[names.index("bm25: top 2 (1 relevant)")]
    assert bm25.hovertext[0].startswith("<b>bm25 #1</b> · relevant")
    assert "lost card" in fig.layout.title.text


def test_cluster_scores_figure_marks_the_best_count():
    scores = pd.DataFrame({"k": [2, 4, 8], "silhouette": [0.1, 0.3, 0.2]})
    fig = make_cluster_scores_figure(scores, chosen=8)
    assert list(fig.data[1].x) == [4] and fig.data[1].text[0] == "suggested k=4"


def test_tables_csv_and_html():
    summary = {
        "silhouette": 0.1,
        "silhouette_compare": 0.3,
        "knn_agreement": 0.5,
        "knn_agreement_compare": 0.75,
        "knn_k": 5,
        "compare_model": "b",
    }
    table = metrics_table(summary, ("a", "b"))
    assert list(table.columns) == ["measure", "a", "b", "change"]
    assert table["change"].round(3).tolist() == [0.2, 0.25]
    assert "k=5" in table["measure"][1]
    single = metrics_table(summary | {"compare_model": None}, ("a", "b"))
    assert list(single.columns) == ["measure", "a"]

    df = points(compare=True)
    back = pd.read_csv(io.BytesIO(points_csv(df)))
    assert list(back.columns) == ["id", "label", "split", "x", "y", "x_b", "y_b", "moved", "kept", "text"]
    assert np.allclose(back["x"], df["x"])
    html = figure_html(make_projection_figure(df))
    assert "<html>" in html[:100] and "plotly" in html and "Plotly.newPlot" in html


def test_small_helpers():
    assert truncate("a  b\nc") == "a b c"
    assert truncate("x" * 300, 10) == "x" * 9 + "…"
    df = points(compare=True)
    assert color_options(df) == ["label", "split", "kept"]
    no_label = df.drop(columns=["label"])
    assert hover_text(no_label)[1].startswith("<b>test</b> · test:1")


def test_3d_compare_and_query_figures_use_scenes():
    df = points(compare=True, three=True)
    fig = make_compare_figure(df, color="label")
    assert {t.type for t in fig.data} == {"scatter3d"} and {t.scene for t in fig.data} == {"scene", "scene2"}
    overlay = pd.DataFrame(
        [
            {
                "role": "query",
                "id": "q",
                "text": "t",
                "strategy": None,
                "rank": None,
                "grade": None,
                "in_sample": False,
                "x": 0.0,
                "y": 0.0,
                "z": 0.0,
            }
        ]
    )
    q = make_query_figure(df, overlay)
    assert q.data[-1].type == "scatter3d" and list(q.data[-1].z) == [0.0]
