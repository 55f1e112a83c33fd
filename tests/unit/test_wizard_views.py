"""Pure tables and figure builders of the wizard page."""

from __future__ import annotations

import pandas as pd

from components.wizard_views import (
    claims_table,
    comparison_table,
    make_cosine_dot_figure,
    make_evidence_figure,
    make_pca_figure,
    pca_table,
)
from tests.wizard_data import PCA_ROWS

COMP = {
    "strategies": {
        "bm25": {
            "label": "BM25",
            "ndcg@10": 0.68,
            "recall@100": 0.91,
            "latency_ms_p50": 1.0,
            "latency_ms_p95": 2.0,
        },
        "hybrid": {
            "label": "Hybrid",
            "ndcg@10": 0.72,
            "recall@100": 0.95,
            "latency_ms_p50": 30.0,
            "latency_ms_p95": 45.0,
        },
    }
}


def test_comparison_table_and_evidence_figure_mark_the_recommended_strategy():
    df = comparison_table(COMP, "hybrid")
    assert list(df["strategy"]) == ["bm25", "hybrid"] and list(df["recommended"]) == [False, True]
    fig = make_evidence_figure(df, budget_ms=100)
    ndcg, latency = fig.data
    assert list(ndcg.x) == [0.68, 0.72] and list(latency.x) == [2.0, 45.0]
    assert list(ndcg.marker.color) == ["#9e9e9e", "#d62728"]
    assert any(s.type == "line" and s.x0 == 100 for s in fig.layout.shapes)
    empty = make_evidence_figure(comparison_table({}, None))
    assert len(empty.data[0].x) == 0 and not empty.layout.shapes


def test_pca_table_and_figure():
    df = pca_table(PCA_ROWS)
    assert list(df["dim"]) == [384, 128]
    fig = make_pca_figure(df)
    assert list(fig.data[0].x) == [7.96, 2.65] and list(fig.data[0].text) == ["384-d", "128-d"]


def test_cosine_dot_figure_and_claims_table():
    fig = make_cosine_dot_figure(pd.DataFrame({"similarity": ["cosine", "dot"], "ndcg@10": [0.8, 0.76]}))
    assert list(fig.data[0].y) == [0.8, 0.76] and list(fig.data[0].text) == ["0.800", "0.760"]
    ev = {
        "claims": [
            {"claim": "latency", "verdict": "contradicts", "detail": "too slow", "next_step": "use HNSW"},
            {"claim": "first stage", "verdict": "agrees", "detail": "ok", "next_step": "ignored"},
        ]
    }
    table = claims_table(ev)
    assert list(table["verdict"]) == ["❌ contradicts", "✅ agrees"]
    assert list(table["next step"]) == ["use HNSW", ""]
