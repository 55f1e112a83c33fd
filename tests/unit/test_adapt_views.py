"""Pure builders of the Runs and Adapt pages: loss curve, run table, before/after, verdict, review."""

from __future__ import annotations

import pandas as pd

from components.adapt_views import (
    before_after_frame,
    dropped_pairs,
    make_before_after_figure,
    review_frame,
    verdict_text,
)
from components.runs_views import fmt_seconds, loss_frame, make_loss_figure, runs_frame
from core.runtime import RunEvent

EVAL = {
    "split": "test",
    "queries": 100,
    "before": {"ndcg@10": 0.73, "recall@10": 0.85, "mrr@10": 0.70},
    "after": {"ndcg@10": 0.41, "recall@10": 0.60, "mrr@10": 0.38},
    "verdict": "worse",
    "queries_better": 12,
    "queries_worse": 70,
    "p_value": 1e-9,
    "labels": {"before": "first stage", "after": "reranked"},
}


def test_loss_frame_keeps_loss_points_in_step_order():
    events = [
        RunEvent(1.0, "progress", 2, 10, 0.5, None),
        RunEvent(0.5, "progress", 1, 10, 0.9, None),
        RunEvent(1.5, "progress", 3, 10, None, "eval"),
    ]
    df = loss_frame(events)
    assert df.to_dict("list") == {"step": [1, 2], "loss": [0.9, 0.5]}


def test_loss_figure_draws_raw_and_smoothed_lines_or_says_nothing_yet():
    df = pd.DataFrame({"step": range(1, 41), "loss": [1 / i for i in range(1, 41)]})
    fig = make_loss_figure(df, smooth=10)
    assert [t.name for t in fig.data] == ["loss", "mean of 10"]
    assert list(fig.data[0].y) == list(df["loss"])
    empty = make_loss_figure(pd.DataFrame(columns=["step", "loss"]))
    assert not empty.data and "no loss" in empty.layout.annotations[0].text


def test_a_single_loss_value_is_labelled_on_an_axis_from_zero():
    fig = make_loss_figure(pd.DataFrame({"step": [80], "loss": [1.5112]}))
    (trace,) = fig.data
    assert "markers" in trace.mode and "lines" not in trace.mode
    assert list(trace.text) == ["1.511 at step 80"]
    assert fig.layout.xaxis.range[0] == 0 and "reported once" in fig.layout.title.text


def test_runs_frame_shows_progress_and_errors(ws):
    a = ws.create_run("adapt", {}, title="contrastive", status="running")
    ws.add_event(a, "progress", step=3, total=10, loss=0.4)
    b = ws.create_run("adapt", {}, title="broken", status="failed")
    ws.update_run(b, error="RuntimeError: boom")
    df = runs_frame(ws.list_runs())
    row = df.set_index("title").loc["contrastive"]
    assert row["progress"] == "3/10" and row["loss"] == 0.4 and "running" in row["status"]
    assert df.set_index("title").loc["broken", "error"] == "RuntimeError: boom"
    c = ws.create_run("adapt", {}, title="trained", status="running")
    ws.add_event(c, "progress", step=2, total=2, message="evaluating")
    ws.update_run(c, status="done", result={"steps": 58})
    assert runs_frame(ws.list_runs()).set_index("title").loc["trained", "progress"] == "58 steps"


def test_fmt_seconds():
    assert fmt_seconds(None) == "—"
    assert fmt_seconds(42) == "42 s"
    assert fmt_seconds(125) == "2 min 05 s"
    assert fmt_seconds(3700) == "1 h 01 min"


def test_before_after_frame_and_figure_mark_drops_in_red():
    df = before_after_frame(EVAL)
    assert df["metric"].tolist() == ["ndcg@10", "recall@10", "mrr@10"]
    assert df["delta"].round(2).tolist() == [-0.32, -0.25, -0.32]
    fig = make_before_after_figure(df, EVAL["labels"])
    assert [t.name for t in fig.data] == ["first stage", "reranked"]
    assert set(fig.data[1].marker.color) == {"#d62728"}
    better = before_after_frame({"before": {"ndcg@10": 0.6}, "after": {"ndcg@10": 0.7}})
    assert make_before_after_figure(better).data[1].marker.color == ("#2ca02c",)


def test_a_harmful_reranker_gets_an_error_banner_with_the_numbers():
    level, text = verdict_text(EVAL, "cross-encoder")
    assert level == "error"
    assert "HARMFUL" in text and "WORSE" in text
    assert "0.410" in text and "0.730" in text and "70 of 100" in text
    assert "keep the first stage alone" in text
    level, text = verdict_text(
        {**EVAL, "verdict": "better", "before": EVAL["after"], "after": EVAL["before"]}, "contrastive"
    )
    assert level == "success" and "base model" in text
    assert verdict_text({**EVAL, "verdict": "no change"}, "mlm")[0] == "warning"


def test_review_frame_and_dropped_pairs():
    negatives = pd.DataFrame(
        {
            "query_id": ["q1", "q1"],
            "positive_id": ["d1", "d1"],
            "doc_id": ["d2", "d3"],
            "rank": [4, 5],
            "score": [3.21, 2.5],
            "positive_score": [5.0, 5.0],
            "source": ["bm25", "bm25"],
        }
    )
    df = review_frame(
        negatives, {"q1": "why do cats purr"}, {"d1": "Cats purr.", "d2": "x" * 500, "d3": "Dogs"}, width=50
    )
    assert df["query"].tolist() == ["why do cats purr"] * 2
    assert len(df.loc[0, "negative"]) == 50 and df.loc[0, "negative"].endswith("…")
    assert not df["drop"].any()
    df.loc[1, "drop"] = True
    assert dropped_pairs(df) == [["q1", "d3"]]
