"""AppTest of the Runs page: list, harmful-reranker banner, loss curve, cancel, lost detection, delete."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.runtime import jobs

pytestmark = pytest.mark.app

APP = str(Path(__file__).resolve().parents[2] / "app.py")

HARMFUL = {
    "method": "cross-encoder",
    "steps": 40,
    "train_s": 12.0,
    "before": {"ndcg@10": 0.73},
    "after": {"ndcg@10": 0.41},
    "evaluation": {
        "split": "test",
        "queries": 100,
        "before": {"ndcg@10": 0.73, "recall@10": 0.85},
        "after": {"ndcg@10": 0.41, "recall@10": 0.62},
        "delta": {"ndcg@10": -0.32, "recall@10": -0.23},
        "verdict": "worse",
        "queries_better": 10,
        "queries_worse": 71,
        "p_value": 1e-8,
        "labels": {"before": "Hybrid (first stage alone)", "after": "Hybrid → trained reranker@50"},
    },
    "models": [{"name": "ce-1", "kind": "cross-encoder", "path": "/x/ce-1"}],
}


def page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/runs.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_empty_workspace(ws):
    at = page()
    assert at.title[0].value == "Runs"
    assert any("No runs yet" in i.value for i in at.info)


def test_a_harmful_reranker_is_shown_as_an_error_with_its_loss_curve(ws):
    run_id = ws.create_run("adapt", {"method": "cross-encoder"}, title="ce run", status="running")
    for step in range(1, 6):
        ws.add_event(run_id, "progress", step=step, total=5, loss=1.0 / step)
    ws.update_run(run_id, status="done", result=HARMFUL, finished=time.time())
    at = page()
    assert at.selectbox(key="runs_selected").value == run_id
    errors = [e.value for e in at.error]
    assert any("HARMFUL" in e and "0.410" in e and "0.730" in e for e in errors), errors
    charts = at.get("plotly_chart")
    assert len(charts) == 2  # loss curve + before/after bars
    assert any("Registered **ce-1**" in s.value for s in at.success)


def test_cancel_button_stops_a_running_job(ws):
    run_id = jobs.submit(ws, "sleep", {"steps": 1000, "delay": 0.1}, title="long job")
    deadline = time.time() + 60
    while (ws.get_run(run_id).step or 0) < 1 and time.time() < deadline:
        time.sleep(0.2)
    at = page()
    assert at.button(key="runs_cancel")
    at.button(key="runs_cancel").click().run()
    assert not at.exception
    assert jobs.wait(ws, run_id, timeout=30).status == "cancelled"


def test_page_load_marks_a_vanished_worker_as_lost_and_delete_removes_a_run(ws):
    run_id = ws.create_run("adapt", {"method": "mlm"}, title="orphan", queue="train", status="running")
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    ws.update_run(run_id, pid=dead)
    at = page()
    assert ws.get_run(run_id).status == "lost"
    assert any("Lost" in w.value for w in at.warning)
    assert at.button(key="runs_delete").disabled
    at.checkbox(key="runs_delete_confirm").check().run()
    at.button(key="runs_delete").click().run()
    assert not at.exception
    assert ws.get_run(run_id) is None
    assert any("Deleted run" in s.value for s in at.success)


def test_failed_run_shows_its_error(ws):
    run_id = jobs.submit(ws, "sleep", {"steps": 3, "delay": 0.01, "fail_at": 1}, title="crashy")
    jobs.wait(ws, run_id, timeout=60)
    at = page()
    assert any("failing on purpose" in e.value for e in at.error)


def test_a_run_can_be_linked_to_by_id(ws):
    older = ws.create_run("adapt", {"method": "mlm"}, title="older", status="done")
    ws.create_run("adapt", {"method": "mlm"}, title="newer", status="done")
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["run"] = older
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    assert at.selectbox(key="runs_selected").value == older
