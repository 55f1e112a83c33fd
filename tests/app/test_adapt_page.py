"""AppTest of the Adapt page: no dataset, mining + review of negatives, starting a training job."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data import import_dataset
from core.runtime import jobs
from tests.tiny_data import write_beir

pytestmark = pytest.mark.app

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/adapt.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_without_a_retrieval_dataset_the_page_says_what_to_do(ws):
    at = page()
    assert at.title[0].value == "Adapt a model"
    assert any("No retrieval dataset" in i.value for i in at.info)


def test_mine_review_and_start_a_contrastive_run(ws, tmp_path):
    import_dataset(ws, write_beir(tmp_path / "tiny"), name="tiny")
    at = page()
    at.radio(key="adapt_method").set_value("contrastive").run()
    at.selectbox(key="adapt_base").set_value("bert-tiny").run()
    at.number_input(key="adapt_skip_top").set_value(0).run()
    at.number_input(key="adapt_margin").set_value(0.0).run()
    at.button(key="adapt_mine").click().run()
    assert not at.exception
    mine_id = at.session_state["adapt_mine_tiny"]
    mine_run = jobs.wait(ws, mine_id, timeout=120)
    assert mine_run.status == "done", mine_run.error
    assert mine_run.queue == "prep" and mine_run.config["mining"]["method"] == "bm25"
    at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Negatives kept"] == "1"
    assert int(metrics["Filtered: judged positives excluded"]) >= 1
    assert len(at.dataframe) >= 1  # the review table (data_editor)
    at.button(key="adapt_start").click().run()
    assert not at.exception
    run_id = at.session_state["adapt_last_run"]
    run = ws.get_run(run_id)
    assert run.kind == "adapt" and run.queue == "train"
    assert run.config["method"] == "contrastive" and run.config["base"] == "bert-tiny"
    assert run.config["negatives_from"] == mine_id and run.config["drop"] == []
    jobs.cancel(ws, run_id)
    assert jobs.wait(ws, run_id, timeout=60).status in ("cancelled", "failed")
    assert ws.list_models() == []


@pytest.mark.parametrize("method", ["mlm", "tsdae", "cross-encoder"])
def test_other_methods_submit_their_settings(ws, tmp_path, method):
    import_dataset(ws, write_beir(tmp_path / "tiny"), name="tiny")
    at = page()
    at.radio(key="adapt_method").set_value(method).run()
    at.selectbox(key="adapt_base").set_value("bert-tiny").run()
    at.number_input(key="adapt_max_steps").set_value(3).run()
    assert not at.exception
    first = jobs.submit(ws, "sleep", {"steps": 1000, "delay": 0.1}, title="blocker")  # keeps the queue busy
    at.button(key="adapt_start").click().run()
    assert not at.exception
    run = ws.get_run(at.session_state["adapt_last_run"])
    assert run.status == "queued" and run.config["method"] == method
    assert run.config["train"]["max_steps"] == 3
    if method == "cross-encoder":
        assert run.config["first_stage"] == "hybrid" and run.config["first_stage_model"] == "bert-tiny"
        assert run.config["mining"]["num_negatives"] == 2
    if method == "mlm":
        assert run.config["train"]["mlm_probability"] == pytest.approx(0.15)
    assert any("running or queued" in i.value for i in at.info)
    jobs.cancel(ws, run.id)
    jobs.cancel(ws, first)
    jobs.wait(ws, first, timeout=30)


def test_contrastive_first_and_switching_method_switches_defaults(ws, tmp_path):
    import_dataset(ws, write_beir(tmp_path / "tiny"), name="tiny")
    at = page()
    assert at.radio(key="adapt_method").value == "contrastive"
    assert at.number_input(key="adapt_batch").value == 32
    assert at.number_input(key="adapt_seq").value == 256
    at.radio(key="adapt_method").set_value("mlm").run()
    assert (at.number_input(key="adapt_batch").value, at.number_input(key="adapt_seq").value) == (16, 128)
    at.radio(key="adapt_method").set_value("cross-encoder").run()
    assert at.number_input(key="adapt_epochs").value == 2.0
    assert at.number_input(key="adapt_num_neg").value == 2
    at.radio(key="adapt_method").set_value("contrastive").run()
    assert (at.number_input(key="adapt_batch").value, at.number_input(key="adapt_seq").value) == (32, 256)
    assert not at.exception


def test_estimate_before_starting_is_measured_here(ws, tmp_path):
    import_dataset(ws, write_beir(tmp_path / "tiny"), name="tiny")
    at = page()
    at.selectbox(key="adapt_base").set_value("bert-tiny").run()
    at.button(key="adapt_estimate").click().run()
    assert not at.exception
    text = next(i.value for i in at.info if i.value.startswith("Estimate:"))
    assert "training steps" in text and "texts/s" in text and "Measured now" in text
