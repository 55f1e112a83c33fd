"""The app's warm worker: jobs one after another in one process, cancel and crash semantics unchanged,
the memory cap, the model memo, and the worker's entry point (``python -m core.runtime worker``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from core.models import MEMO_ENV, ModelMemo, memo_capacity
from core.runtime import ConfigError, Workspace, jobs, scheduler, warm

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def warm_app(ws):  # type: ignore[no-untyped-def]
    """This process's scheduler keeps a warm worker, as the app's does; every one is gone afterwards."""
    jobs.keep_warm(ws.home)
    yield ws
    workers = list(warm._POOL.values())
    jobs.keep_warm(ws.home, enabled=False)
    for worker in workers:
        try:
            worker.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.proc.wait(timeout=30)


def _wait_for(predicate, timeout: float = 60.0, poll: float = 0.05):  # type: ignore[no-untyped-def]
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


def _staged(ws, run_id: str) -> list:  # type: ignore[no-untyped-def]
    return list((ws.home / "tmp").glob(f"run-{run_id}-*"))


def _quick(ws, **config):  # type: ignore[no-untyped-def]
    run_id = jobs.submit(ws, "sleep", {"steps": 2, "delay": 0.01, **config})
    run = jobs.wait(ws, run_id, timeout=120, poll=0.05)
    assert run.status == "done", run.error
    return run


def _warm_pid(ws) -> int:  # type: ignore[no-untyped-def]
    return jobs.start_warm_worker(ws)


# --------------------------------------------------------------------------------------------------
# jobs one after another on one process
# --------------------------------------------------------------------------------------------------
def test_jobs_run_one_after_another_on_the_one_warm_worker(warm_app):
    ws = warm_app
    pid = _warm_pid(ws)
    first = _quick(ws, model_name="m-warm")
    second = _quick(ws)
    assert first.pid == second.pid == pid and psutil.pid_exists(pid)
    assert ws.get_model("m-warm") is not None and _staged(ws, first.id) == []
    for run in (first, second):  # each job's output and log lines are its own
        assert (ws.home / "runs" / run.id / "worker.log").exists()
        assert any(f"pid {pid}" in (e.message or "") for e in ws.events(run.id, kind="log"))


def test_queued_jobs_follow_each_other_on_the_warm_worker(warm_app):
    ws = warm_app
    ids = [jobs.submit(ws, "sleep", {"steps": 2, "delay": 0.05}) for _ in range(3)]
    # nobody calls reconcile: the worker's "done" starts the next one
    _wait_for(lambda: all(ws.get_run(i).status == "done" for i in ids), timeout=120)
    assert len({ws.get_run(i).pid for i in ids}) == 1


def test_a_job_of_another_queue_gets_a_cold_worker_while_the_warm_one_is_busy(warm_app):
    ws = warm_app
    long = jobs.submit(ws, "sleep", {"steps": 1000, "delay": 0.05})
    busy = _running_with_step(ws, long)
    other = jobs.submit(ws, "sleep", {"steps": 2, "delay": 0.01}, queue="evaluate")
    done = jobs.wait(ws, other, timeout=120, poll=0.05)
    assert done.status == "done" and done.pid != busy.pid
    jobs.cancel(ws, long, wait_s=30)


# --------------------------------------------------------------------------------------------------
# cancel and crash
# --------------------------------------------------------------------------------------------------
def test_cancel_stops_the_job_and_the_warm_worker_lives_on(warm_app):
    ws = warm_app
    pid = _warm_pid(ws)
    run_id = jobs.submit(ws, "sleep", {"steps": 1000, "delay": 0.1, "model_name": "m-cancel"})
    _running_with_step(ws, run_id)
    assert _staged(ws, run_id)
    run = jobs.cancel(ws, run_id, wait_s=30)
    assert run.status == "cancelled"
    assert ws.get_model("m-cancel") is None and _staged(ws, run_id) == []
    assert any("nothing was registered" in (e.message or "") for e in ws.events(run_id, kind="log"))
    assert psutil.pid_exists(pid)
    assert _quick(ws).pid == pid  # the next job runs on the same worker


def test_a_sigterm_that_is_no_cancel_does_not_stop_the_current_job(warm_app):
    """The signal of a cancel that raced the end of the previous job reaches the worker while it runs
    the next one: that job was not cancelled, so it goes on."""
    ws = warm_app
    run_id = jobs.submit(ws, "sleep", {"steps": 6, "delay": 0.1})
    run = _running_with_step(ws, run_id)
    os.killpg(run.pid, signal.SIGTERM)
    done = jobs.wait(ws, run_id, timeout=60, poll=0.05)
    assert done.status == "done" and done.pid == run.pid
    os.killpg(run.pid, signal.SIGTERM)  # and while it waits for work
    assert _quick(ws).pid == run.pid


def test_a_job_deaf_to_sigterm_is_killed_with_its_worker_and_the_next_gets_a_fresh_one(warm_app, monkeypatch):
    ws = warm_app
    monkeypatch.setattr(scheduler, "KILL_GRACE_S", 1.0)
    pid = _warm_pid(ws)
    config = {"steps": 1000, "delay": 0.05, "ignore_term": True, "model_name": "m-deaf"}
    run_id = jobs.submit(ws, "sleep", config)
    _running_with_step(ws, run_id, step=2)
    jobs.cancel(ws, run_id)
    run = jobs.wait(ws, run_id, timeout=30, poll=0.1)
    assert run.status == "cancelled"
    assert not jobs.process_alive(pid)
    assert ws.get_model("m-deaf") is None and _staged(ws, run_id) == []
    assert _quick(ws).pid not in (None, pid)


def test_kill_minus_nine_of_the_warm_worker_marks_its_run_lost_and_the_next_job_gets_a_fresh_one(warm_app):
    ws = warm_app
    run_id = jobs.submit(ws, "sleep", {"steps": 1000, "delay": 0.1, "model_name": "m-killed"})
    queued = jobs.submit(ws, "sleep", {"steps": 2, "delay": 0.01})
    run = _running_with_step(ws, run_id)
    os.killpg(run.pid, signal.SIGKILL)
    # nobody calls reconcile: the worker's reader thread sees it die
    lost = _wait_for(lambda: (r := ws.get_run(run_id)).status == "lost" and r)
    assert "gone" in lost.error
    assert ws.get_model("m-killed") is None and _staged(ws, run_id) == []
    assert not any((ws.home / "models").iterdir())
    after = jobs.wait(ws, queued, timeout=120, poll=0.05)
    assert after.status == "done" and after.pid != run.pid
    assert not psutil.pid_exists(run.pid)  # reaped, not a zombie


def test_a_crashing_job_fails_alone_and_the_worker_runs_the_next(warm_app):
    ws = warm_app
    pid = _warm_pid(ws)
    run_id = jobs.submit(ws, "sleep", {"steps": 5, "delay": 0.01, "fail_at": 2, "model_name": "m-crash"})
    run = jobs.wait(ws, run_id, timeout=60, poll=0.05)
    assert run.status == "failed" and "failing on purpose at step 2" in run.error
    assert (ws.home / "runs" / run_id / "error.txt").exists()
    assert ws.get_model("m-crash") is None and _staged(ws, run_id) == []
    assert _quick(ws).pid == pid


# --------------------------------------------------------------------------------------------------
# memory cap, configuration
# --------------------------------------------------------------------------------------------------
def test_a_worker_over_its_memory_cap_retires_after_the_job(warm_app, monkeypatch):
    ws = warm_app
    monkeypatch.setenv(warm.MAX_MB_ENV, "1")  # any Python process is over 1 MB
    first = _quick(ws)
    _wait_for(lambda: not psutil.pid_exists(first.pid))
    second = _quick(ws)
    assert second.pid != first.pid


@pytest.mark.parametrize("value", ["lots", "-5", "0", "1.5"])
def test_a_bad_memory_cap_is_one_clear_error(warm_app, monkeypatch, value):
    ws = warm_app
    monkeypatch.setenv(warm.MAX_MB_ENV, value)
    with pytest.raises(ConfigError, match=warm.MAX_MB_ENV):
        jobs.start_warm_worker(ws)
    run_id = jobs.submit(ws, "sleep", {"steps": 2, "delay": 0.01, "model_name": "m-bad"})
    run = ws.get_run(run_id)
    assert run.status == "failed" and run.error.startswith("could not start worker:")
    assert warm.MAX_MB_ENV in run.error and "\n" not in run.error
    assert ws.get_model("m-bad") is None and _staged(ws, run_id) == []
    assert warm._POOL == {}


def test_without_keep_warm_every_job_has_its_own_worker(ws):
    assert not jobs.warm_enabled(ws.home) and jobs.start_warm_worker(ws) is None
    a = jobs.wait(ws, jobs.submit(ws, "sleep", {"steps": 1, "delay": 0.0}), timeout=120)
    b = jobs.wait(ws, jobs.submit(ws, "sleep", {"steps": 1, "delay": 0.0}), timeout=120)
    assert a.status == b.status == "done" and a.pid != b.pid


# --------------------------------------------------------------------------------------------------
# the model memo
# --------------------------------------------------------------------------------------------------
def test_model_memo_keeps_the_most_recently_used_and_builds_each_key_once():
    memo = ModelMemo(2)
    built = []

    def make(key: str):  # type: ignore[no-untyped-def]
        return lambda: built.append(key) or object()

    a = memo.get_or_make("a", make("a"))
    assert memo.get_or_make("a", make("a")) is a
    memo.get_or_make("b", make("b"))
    memo.get_or_make("a", make("a"))  # a is now the most recent
    memo.get_or_make("c", make("c"))  # b goes
    assert memo.keys() == ["a", "c"] and built == ["a", "b", "c"]
    assert (memo.hits, memo.misses) == (2, 3)


def test_a_memo_of_capacity_zero_keeps_nothing_and_a_failed_build_is_not_kept():
    assert ModelMemo(0).get_or_make("a", object) is not ModelMemo(0).get_or_make("a", object)
    memo = ModelMemo(2)
    with pytest.raises(RuntimeError):
        memo.get_or_make("a", lambda: (_ for _ in ()).throw(RuntimeError("no")))
    assert memo.keys() == [] and memo.get_or_make("a", lambda: 1) == 1


@pytest.mark.parametrize("value", ["two", "-1", "1e3"])
def test_a_bad_memo_size_is_one_clear_error(monkeypatch, value):
    monkeypatch.setenv(MEMO_ENV, value)
    with pytest.raises(ConfigError, match=MEMO_ENV):
        memo_capacity()


# --------------------------------------------------------------------------------------------------
# the entry point
# --------------------------------------------------------------------------------------------------
def _entry(ws, module: str) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    run_id = jobs.submit(ws, "sleep", {"steps": 1, "delay": 0.0}, start=False)
    ws.update_run(run_id, status="running", started=time.time())
    env = os.environ | {"ESL_HOME": str(ws.home), "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-m", module, "worker", run_id],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ws.get_run(run_id).status == "done", done.stderr
    return done


@pytest.mark.parametrize("module", ["core.runtime", "core.jobs"])
def test_the_worker_entry_point_runs_a_job_without_a_runpy_warning(ws, module):
    done = _entry(ws, module)
    assert done.returncode == 0 and "RuntimeWarning" not in done.stderr, done.stderr


def test_cold_workers_are_started_through_the_package_entry_point():
    assert warm.worker_command("abc")[1:] == ["-m", "core.runtime", "worker", "abc"]


def test_one_workspace_at_a_time_keeps_a_warm_worker(warm_app, tmp_path, monkeypatch):
    first = _warm_pid(warm_app)
    other = Workspace(tmp_path / "other-home")
    jobs.keep_warm(other.home)
    try:
        assert not jobs.warm_enabled(warm_app.home)
        _wait_for(lambda: not psutil.pid_exists(first))  # let go (its stdin closed), and reaped
        assert _quick(other).pid == jobs.start_warm_worker(other)
        monkeypatch.setenv(warm.WARM_ENV, "0")  # the environment switches it off everywhere
        assert not jobs.warm_enabled(other.home) and jobs.start_warm_worker(other) is None
    finally:
        jobs.keep_warm(other.home, enabled=False)
