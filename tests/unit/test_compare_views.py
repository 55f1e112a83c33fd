"""Pure tables and figure builders of the Compare page, on a hand-made report (no Streamlit)."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest

from components.compare_downloads import metrics_csv, per_query_csv, trec_zip
from components.compare_figures import (
    make_alpha_sweep_figure,
    make_cost_figure,
    make_metric_bars_figure,
    make_rank_curves_figure,
    make_win_loss_figure,
)
from components.compare_lists import highlight_terms, movement, ranked_lists_frame, relevance_badge
from components.compare_tables import (
    WARN_COLOR,
    alpha_curve_frame,
    cost_frame,
    curves_frame,
    metrics_display_frame,
    metrics_frame,
    pareto_mask,
    significance_marker,
    strategy_colors,
    win_loss_frame,
    win_loss_summary,
)
from core.evaluate import METRICS, ComparisonReport, StrategyResult


def _result(name, ndcg, per_query, latency, *, warnings=(), extra=None):
    metrics = {m: ndcg for m in METRICS}
    return StrategyResult(
        name=name,
        label=name.upper(),
        spec={"kind": name},
        metrics=metrics,
        per_query={m: dict(per_query) for m in METRICS},
        latency_ms_p50=latency,
        latency_ms_p95=latency * 2,
        index_s=1.0,
        curves={"k": [1, 2, 3], "recall": [0.1, 0.2, 0.3], "precision": [1.0, 0.5, 0.33]},
        extra=extra or {},
        run={q: {"d1": 2.0, "d2": 1.0} for q in per_query},
        warnings=list(warnings),
    )


@pytest.fixture
def report() -> ComparisonReport:
    strategies = {
        "bm25": _result("bm25", 0.5, {"q1": 1.0, "q2": 0.0, "q3": 0.5}, 1.0),
        "dense": _result("dense", 0.6, {"q1": 0.5, "q2": 0.8, "q3": 0.5}, 10.0),
        "hybrid": _result(
            "hybrid",
            0.7,
            {"q1": 1.0, "q2": 0.6, "q3": 0.5},
            12.0,
            extra={"alpha_curve": [(0.0, 0.5), (1.0, 0.6)]},
        ),
        "rerank": _result("rerank", 0.4, {"q1": 0.2, "q2": 0.4, "q3": 0.6}, 50.0, warnings=["made it worse"]),
    }
    p_values = {
        "dense": {m: 0.2 for m in METRICS},
        "hybrid": {m: 0.004 for m in METRICS},
        "rerank": {m: 0.03 for m in METRICS},
    }
    return ComparisonReport("toy", "test", 3, 100, strategies, "bm25", p_values)


def test_significance_marker_shows_direction_and_stars():
    assert significance_marker(0.004, 0.1) == "▲**"
    assert significance_marker(0.03, -0.1) == "▼*"
    assert significance_marker(0.2, 0.1) == "▲"
    assert significance_marker(None, 0.1) == ""
    assert significance_marker(0.01, 0.0) == ""


def test_display_table_marks_significance_and_warnings(report):
    table = metrics_display_frame(report)
    assert list(table["strategy"]) == ["bm25", "dense", "hybrid", "⚠ rerank"]
    row = table.set_index("strategy")
    assert row.loc["hybrid", "nDCG@10"] == "0.7000 ▲**"
    assert row.loc["⚠ rerank", "nDCG@10"] == "0.4000 ▼*"
    assert row.loc["dense", "nDCG@10"] == "0.6000 ▲"
    assert row.loc["bm25", "nDCG@10"] == "0.5000"
    assert row.loc["bm25", "vs baseline"] == "baseline"


def test_metrics_csv_has_numbers_p_values_and_warnings(report):
    frame = pd.read_csv(io.StringIO(metrics_csv(report)))
    assert list(frame["strategy"]) == ["bm25", "dense", "hybrid", "rerank"]
    assert frame.loc[2, "p(ndcg@10)"] == pytest.approx(0.004)
    assert pd.isna(frame.loc[0, "p(ndcg@10)"])
    assert list(frame["warnings"]) == [0, 0, 0, 1]
    assert {"latency_ms_p50", "latency_ms_p95", "index_s"} <= set(frame.columns)


def test_per_query_csv_and_trec_zip(report):
    frame = pd.read_csv(io.StringIO(per_query_csv(report)))
    assert len(frame) == 4 * 3
    assert frame[(frame.strategy == "dense") & (frame.query_id == "q2")]["ndcg@10"].item() == 0.8
    with zipfile.ZipFile(io.BytesIO(trec_zip(report))) as zf:
        assert sorted(zf.namelist()) == ["bm25.trec", "dense.trec", "hybrid.trec", "rerank.trec"]
        first = zf.read("bm25.trec").decode().splitlines()[0].split()
    assert first[1:4] == ["Q0", "d1", "1"] and first[5] == "bm25"


def test_win_loss_frame_counts_each_side(report):
    frame = win_loss_frame(report, "dense", "bm25", "ndcg@10", {"q2": "second query"})
    assert frame.loc[0, "query_id"] == "q2" and frame.loc[0, "delta"] == pytest.approx(0.8)
    assert frame.loc[0, "query"] == "second query"
    assert win_loss_summary(frame) == {"a": 1, "b": 1, "tie": 1}
    fig = make_win_loss_figure(frame, "dense", "bm25")
    assert "dense wins 1, bm25 wins 1, 1 ties" in fig.layout.title.text
    assert sum(len(t.y) for t in fig.data) == 3


def test_pareto_mask_keeps_only_undominated_points():
    # (latency, quality): b is slower and worse than a -> dominated; c is slower but better -> kept
    assert pareto_mask([1, 2, 3], [0.5, 0.4, 0.7]) == [True, False, True]
    assert pareto_mask([1, 1], [0.5, 0.5]) == [True, True]  # ties dominate nobody


def test_cost_figure_marks_frontier_and_warnings(report):
    frame = cost_frame(report)
    assert dict(zip(frame.strategy, frame.frontier, strict=True)) == {
        "bm25": True,
        "dense": True,
        "hybrid": True,
        "rerank": False,
    }
    colors = strategy_colors(list(report.strategies), {"rerank"})
    fig = make_cost_figure(frame, colors=colors)
    points = {t.name: t for t in fig.data if t.mode == "markers+text"}
    assert points["⚠ rerank"].marker.symbol == "x" and points["⚠ rerank"].marker.color == WARN_COLOR
    assert points["hybrid"].marker.symbol == "star"
    assert fig.layout.xaxis.type == "log"
    assert any(t.name == "cost frontier" for t in fig.data)


def test_metric_bars_are_red_for_warned_strategies(report):
    colors = strategy_colors(list(report.strategies), {"rerank"})
    assert colors["rerank"] == WARN_COLOR and WARN_COLOR not in [
        colors[n] for n in ("bm25", "dense", "hybrid")
    ]
    fig = make_metric_bars_figure(metrics_frame(report), colors=colors)
    bars = {t.name: t for t in fig.data}
    assert set(bars) == {"bm25", "dense", "hybrid", "⚠ rerank"}
    assert bars["⚠ rerank"].marker.color == WARN_COLOR
    assert bars["hybrid"].text[0] == "0.700*"  # significant against the baseline
    assert bars["dense"].text[0] == "0.600"
    assert len(bars["bm25"].x) == len(METRICS)
    assert all(t.textangle == -90 for t in fig.data)  # four bars a group: labels stand on end, never overlap
    assert fig.layout.yaxis.range[1] > 1.1  # with room above the highest bar for them
    two = make_metric_bars_figure(metrics_frame(report).head(2), colors=colors)
    assert all(t.textangle == 0 for t in two.data)


def test_rank_curves_one_chart_all_strategies(report):
    frame = curves_frame(report)
    assert len(frame) == 4 * 3
    fig = make_rank_curves_figure(frame, colors=strategy_colors(list(report.strategies)))
    assert len(fig.data) == 4 * 2  # recall and precision panel per strategy
    assert [t.name for t in fig.data if t.showlegend] == ["bm25", "dense", "hybrid", "rerank"]


def test_alpha_sweep_figure(report):
    curves = alpha_curve_frame(report)
    assert list(curves) == ["hybrid"]
    fig = make_alpha_sweep_figure(curves["hybrid"], chosen=1.0)
    assert list(fig.data[0].x) == [0.0, 1.0]
    assert "α = 1.00" in fig.layout.annotations[0].text


def test_movement_and_ranked_lists():
    assert (
        movement(1, 3) == "↑2"
        and movement(4, 2) == "↓2"
        and movement(2, 2) == "="
        and movement(1, None) == "new"
    )
    lists = {"bm25": [("d1", 3.0), ("d2", 2.0)], "dense": [("d2", 0.9), ("d3", 0.8)]}
    frame = ranked_lists_frame(lists, {"d2": 1, "d1": 0}, reference="bm25")
    dense = frame[frame.strategy == "dense"].set_index("doc_id")
    assert dense.loc["d2", "move"] == "↑1" and dense.loc["d3", "move"] == "new"
    assert dense.loc["d2", "relevance"] == 1 and pd.isna(dense.loc["d3", "relevance"])
    assert (frame[frame.strategy == "bm25"]["move"] == "").all()


def test_highlight_terms_matches_stems_and_escapes_html():
    out = highlight_terms("Cats <b>purr</b>; a cat purrs.", "why do cats purr")
    assert "<mark>Cats</mark>" in out and "<mark>cat</mark>" in out and "<mark>purrs</mark>" in out
    assert "<b>" not in out and "&#60;b&#62;" in out  # the document's own markup is escaped
    assert "<mark>why</mark>" not in highlight_terms("why not", "why do cats purr")  # stop-word
    long = "filler " * 200 + "the protein binds" + " tail" * 200
    snippet = highlight_terms(long, "protein", max_chars=100)
    assert "<mark>protein</mark>" in snippet and snippet.startswith("… ") and snippet.endswith(" …")
    assert len(snippet) < 160


def test_relevance_badges():
    assert ">rel 2</span>" in relevance_badge(2) and "#2e7d32" in relevance_badge(2)
    assert ">not rel</span>" in relevance_badge(0) and WARN_COLOR in relevance_badge(0)
    assert ">unjudged</span>" in relevance_badge(None) and ">unjudged</span>" in relevance_badge(float("nan"))
