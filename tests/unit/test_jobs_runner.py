"""The job runner with real worker processes: done, crash, cancel, SIGKILL, queueing, restart, delete."""

from __future__ import annotations

import os
import signal
import time

import pytest

from core.runtime import jobs, scheduler


def _staged(ws, run_id: str) -> list:
    return list((ws.home / "tmp").glob(f"run-{run_id}-*"))


def _wait_for(predicate, timeout: float = 60.0, poll: float = 0.2):  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError("condition not met in time")


def _running_with_step(ws, run_id: str, step: int = 1):  # type: ignore[no-untyped-def]
    def check():  # type: ignore[no-untyped-def]
        run = ws.get_run(run_id)
        return run if run.status == "running" and run.pid and (run.step or 0) >= step else None

    return _wait_for(check)


def test_done_job_registers_its_model_and_leaves_no_staging(ws):
    run_id = jobs.submit(ws, "sleep", {"steps": 3, "delay": 0.05, "model_name": "m-done"})
    run = jobs.wait(ws, run_id, timeout=120)
    assert run.status == "done", run.error
    assert run.result["models"][0]["name"] == "m-done"
    assert ws.get_model("m-done") is not None
    assert _staged(ws, run_id) == []
    assert [e.loss for e in ws.events(run_id, kind="progress")][-1] == pytest.approx(1 / 3)


def test_crash_marks_failed_with_the_error_and_registers_nothing(ws):
    run_id = jobs.submit(ws, "sleep", {"steps": 5, "delay": 0.05, "fail_at": 2, "model_name": "m-crash"})
    run = jobs.wait(ws, run_id, timeout=120)
    assert run.status == "failed"
    assert "failing on purpose at step 2" in run.error
    assert (ws.home / "runs" / run_id / "error.txt").exists()
    assert ws.get_model("m-crash") is None
    assert _staged(ws, run_id) == []


def test_cancel_stops_a_running_job_within_seconds(ws):
    run_id = jobs.submit(ws, "sleep", {"steps": 1000, "delay": 0.1, "model_name": "m-cancel"})
    _running_with_step(ws, run_id)
    assert _staged(ws, run_id), "the job stages its model from the start"
    t0 = time.time()
    jobs.cancel(ws, run_id)
    run = jobs.wait(ws, run_id, timeout=30, poll=0.1)
    assert run.status == "cancelled"
    assert time.time() - t0 < 10
    assert ws.get_model("m-cancel") is None
    assert _staged(ws, run_id) == []
    assert any("nothing was registered" in (e.message or "") for e in ws.events(run_id, kind="log"))


def test_a_worker_deaf_to_sigterm_is_killed_after_the_grace_period(ws, monkeypatch):
    monkeypatch.setattr(scheduler, "KILL_GRACE_S", 1.0)
    run_id = jobs.submit(
        ws, "sleep", {"steps": 1000, "delay": 0.05, "ignore_term": True, "model_name": "m-deaf"}
    )
    run = _running_with_step(ws, run_id, step=2)
    jobs.cancel(ws, run_id)
    run = jobs.wait(ws, run_id, timeout=30, poll=0.2)
    assert run.status == "cancelled"
    assert not jobs.process_alive(run.pid)
    assert ws.get_model("m-deaf") is None and _staged(ws, run_id) == []
    assert any("killed" in (e.message or "") for e in ws.events(run_id, kind="log"))


def test_sigkilled_worker_is_marked_lost_and_its_staging_removed(ws):
    run_id = jobs.submit(ws, "sleep", {"steps": 1000, "delay": 0.1, "model_name": "m-killed"})
    run = _running_with_step(ws, run_id)
    assert _staged(ws, run_id)
    os.killpg(os.getpgid(run.pid), signal.SIGKILL)
    run = jobs.wait(ws, run_id, timeout=30, poll=0.1)
    assert run.status == "lost"
    assert "gone" in run.error
    assert ws.get_model("m-killed") is None
    assert _staged(ws, run_id) == []
    assert not any((ws.home / "models").iterdir())


def test_one_training_job_at_a_time_the_next_waits_in_the_queue(ws):
    first = jobs.submit(ws, "sleep", {"steps": 1000, "delay": 0.1})
    second = jobs.submit(ws, "sleep", {"steps": 2, "delay": 0.01})
    _running_with_step(ws, first)
    jobs.reconcile(ws)
    assert ws.get_run(second).status == "queued"
    jobs.cancel(ws, first)
    assert jobs.wait(ws, first, timeout=30).status == "cancelled"
    assert jobs.wait(ws, second, timeout=120).status == "done"


def test_cancel_of_a_queued_job_is_immediate(ws):
    first = jobs.submit(ws, "sleep", {"steps": 1000, "delay": 0.1})
    second = jobs.submit(ws, "sleep", {"steps": 2})
    assert jobs.cancel(ws, second).status == "cancelled"
    jobs.cancel(ws, first)
    jobs.wait(ws, first, timeout=30)
    assert ws.get_run(second).status == "cancelled"


def test_restart_marks_a_run_whose_process_is_gone_as_lost(ws):
    """As after an app restart: the store says running, the pid is dead."""
    run_id = ws.create_run("sleep", {}, title="orphan", queue="train", status="running")
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    ws.update_run(run_id, pid=dead)
    (jobs.run_staging_dir(ws, run_id) / "half.bin").write_bytes(b"x")
    changed = jobs.reconcile(ws)
    assert run_id in changed
    assert ws.get_run(run_id).status == "lost"
    assert _staged(ws, run_id) == []


def test_delete_refuses_active_runs_and_removes_finished_ones(ws):
    run_id = jobs.submit(ws, "sleep", {"steps": 1000, "delay": 0.1})
    _running_with_step(ws, run_id)
    with pytest.raises(ValueError, match="cancel it"):
        jobs.delete(ws, run_id)
    jobs.cancel(ws, run_id)
    jobs.wait(ws, run_id, timeout=30)
    jobs.delete(ws, run_id)
    assert ws.get_run(run_id) is None
    assert not (ws.home / "runs" / run_id).exists()


def test_run_inline_reports_progress_and_records_the_run(ws):
    seen = []
    run = jobs.run_inline(
        ws, "sleep", {"steps": 3, "delay": 0.0}, watch=lambda p: p.is_log or seen.append((p.done, p.total))
    )
    assert run.status == "done" and run.queue is None
    assert seen == [(1, 3), (2, 3), (3, 3)]
