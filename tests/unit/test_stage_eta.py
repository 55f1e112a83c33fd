"""The ETA a running job shows: measured over its current stage, stored with its progress, never stale."""

from __future__ import annotations

import sqlite3

import pytest

from core.runtime import JobContext, Progress, Workspace
from core.runtime.database import SCHEMA_VERSION


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr("core.runtime.context.time.time", c)
    monkeypatch.setattr("core.runtime.records.time.time", c)
    monkeypatch.setattr("core.runtime.runs.time.time", c)
    return c


def _ctx(ws: Workspace, seen: list[Progress]) -> JobContext:
    run_id = ws.create_run("adapt", {})
    ws.update_run(run_id, status="running", started=1000.0)
    return JobContext(ws, run_id, {}, watch=seen.append)


def test_each_stage_is_timed_from_its_own_start_not_the_jobs(isolated_home, clock):
    ws = Workspace(isolated_home)
    seen: list[Progress] = []
    ctx = _ctx(ws, seen)
    clock.now += 300  # five minutes of mining and model loading before the first training step
    ctx.progress(1, 100, message="step 1/100", force=True)
    assert ws.get_run(ctx.run_id).eta_s is None  # one record: no rate yet
    clock.now += 10
    ctx.progress(11, 100, message="step 11/100", force=True)  # 1 s a step
    assert ws.get_run(ctx.run_id).eta_s == pytest.approx(89.0)  # not 310 s / 11 steps x 89
    assert seen[-1].eta_s == pytest.approx(89.0)  # the CLI's line shows the same
    clock.now += 5
    assert ws.get_run(ctx.run_id).eta_s == pytest.approx(84.0)  # counts down between records
    ctx.progress(0, 500, message="evaluating: encoding 0/500", force=True)  # the next stage
    assert ws.get_run(ctx.run_id).eta_s is None  # the training ETA is not kept


def test_a_step_back_with_the_same_total_is_a_new_stage(isolated_home, clock):
    ws = Workspace(isolated_home)
    ctx = _ctx(ws, [])
    for step in (0, 250, 500):  # encoding before: 50 texts/s
        ctx.progress(step, 500, force=True)
        clock.now += 5
    ctx.progress(0, 500, force=True)  # encoding after, with another model
    clock.now += 50
    ctx.progress(100, 500, force=True)  # 2 texts/s
    assert ws.get_run(ctx.run_id).eta_s == pytest.approx(200.0)


def test_a_rate_the_work_measured_itself_wins(isolated_home, clock):
    ws = Workspace(isolated_home)
    ctx = _ctx(ws, [])
    reporter = ctx.reporter("compare")
    reporter(Progress("compare", 100, 1000, "dense: encoding", rate=9.0))  # 900 thousandths at 9 / s
    assert ws.get_run(ctx.run_id).eta_s == pytest.approx(100.0)


def test_an_older_workspace_file_gets_the_eta_column(isolated_home):
    ws = Workspace(isolated_home)
    run_id = ws.create_run("sleep", {})
    ws.close()
    with sqlite3.connect(ws.db_path) as conn:  # as version 1 made it: no eta column
        conn.execute("ALTER TABLE runs DROP COLUMN eta")
        conn.execute("PRAGMA user_version=1")
    again = Workspace(isolated_home)
    ctx = JobContext(again, run_id, {})
    ctx.progress(1, 10, force=True)
    assert again.get_run(run_id).eta_at_update is None
    with sqlite3.connect(ws.db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert "eta" in {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
