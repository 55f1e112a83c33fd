"""The texts of the shared job panel (components.job_panel), on hand-made run records (no Streamlit run)."""

from __future__ import annotations

from types import SimpleNamespace

from components.job_panel import QUEUE_WAITS, job_caption, job_fraction, job_text


def _run(**fields):
    base = {
        "status": "running",
        "step": None,
        "total": None,
        "message": "",
        "queue": "train",
        "elapsed_s": 5.0,
        "eta_s": None,
        "cancel_requested": False,
    }
    return SimpleNamespace(**(base | fields))


def test_fraction_is_the_share_done_and_zero_without_a_total():
    assert job_fraction(_run(step=3, total=4)) == 0.75
    assert job_fraction(_run(step=9, total=4)) == 1.0
    assert job_fraction(_run(step=3)) == 0.0


def test_text_is_the_message_else_what_a_queued_job_waits_for_else_starting():
    assert job_text(_run(message="encoding 10/20")) == "encoding 10/20"
    assert job_text(_run(status="queued", queue="eval")) == QUEUE_WAITS["eval"]
    assert "waiting for another evaluation" in job_text(_run(status="queued", queue="eval"))
    assert job_text(_run(status="queued", queue="other")).startswith("waiting")
    assert job_text(_run()) == "starting…"


def test_caption_has_title_status_elapsed_eta_and_cancel():
    assert job_caption(_run()) == "running · 5 s"
    caption = job_caption(_run(eta_s=125, cancel_requested=True), title="verify")
    assert caption == "verify · running · 5 s · about 2 min 05 s left · cancel requested"
