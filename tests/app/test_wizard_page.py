"""AppTest of the Decision wizard: every step — questions pre-filled from a dataset, recommendation with its
rationale and reranker warning, verify (a real job), gotchas (a real job), export (card, JSON, script)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data import import_dataset
from core.runtime import Workspace, jobs
from tests.tiny_data import write_labeled
from tests.wizard_data import write_topics_beir

pytestmark = pytest.mark.app

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGE = "pages/wizard.py"


@pytest.fixture
def ws_with_data(tmp_path, isolated_home) -> Workspace:
    ws = Workspace(isolated_home)
    import_dataset(ws, write_topics_beir(tmp_path / "tinybeir"))
    write_labeled(tmp_path / "tinycls" / "train.csv")
    import_dataset(ws, tmp_path / "tinycls", name="tinycls")
    return ws


def open_wizard(dataset: str = "tinybeir") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["wiz_model"] = "bert-tiny"
    at.session_state["wiz_dataset"] = dataset
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def go(at: AppTest, step: int) -> AppTest:
    at.radio(key="wiz_step").set_value(at.radio(key="wiz_step").options[step]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_questions_are_prefilled_from_the_dataset(ws_with_data):
    at = open_wizard()
    assert at.title[0].value == "Decision wizard"
    assert at.selectbox(key="wiz_q_task").value == "retrieval"
    assert at.number_input(key="wiz_q_corpus_size").value == 80
    assert at.number_input(key="wiz_q_labelled_pairs").value == 40  # relevant pairs of the train split
    assert at.checkbox(key="wiz_q_unlabeled_text").value is True
    assert at.checkbox(key="wiz_q_gpu").value is False
    metrics = {m.label for m in at.metric}
    assert {"Words split into 3+ pieces", "BM25–dense overlap@10", "Zero-shot nDCG@10"} <= metrics
    assert any("measured" in c.value and "documents in the corpus" in c.value for c in at.caption)
    # latency is not measurable: it starts from the default and says so
    assert at.number_input(key="wiz_q_latency_budget_ms").value == 200.0
    assert any(c.value.startswith("*default*") for c in at.caption)


def test_recommendation_shows_rationale_and_warns_before_a_reranker(ws_with_data):
    at = open_wizard()
    at.number_input(key="wiz_q_corpus_size").set_value(2_000_000).run()
    at.number_input(key="wiz_q_latency_budget_ms").set_value(5000.0).run()
    go(at, 1)
    # the headline holds only what can run here; the unavailable reranker is said, with the warning
    assert "rerank" not in at.subheader[0].value.lower()
    assert any("no pretrained cross-encoder is available here" in i.value for i in at.info)
    assert any("full strategy" in c.value and "rerank" in c.value for c in at.caption)  # the rule table's
    assert at.warning and "No pretrained cross-encoder" in at.warning[0].value
    labels = [e.label for e in at.expander]
    assert any("`large-corpus-bi-encoder`" in label for label in labels)
    assert any("`scale-and-precision-rerank`" in label for label in labels)
    # answers survive a round trip through the steps
    go(at, 0)
    assert at.number_input(key="wiz_q_corpus_size").value == 2_000_000


def test_verify_runs_the_comparison_as_a_job_and_reports_evidence(ws_with_data):
    at = open_wizard()
    go(at, 2)
    assert any("Compares **bm25, dense, hybrid**" in m.value for m in at.markdown)
    assert at.checkbox(key="wiz_extras").value is True
    at.checkbox(key="wiz_extras").uncheck().run()  # one job here; the short runs are tested headless
    at.button(key="wiz_verify_go").click().run()
    run_id = at.session_state["wiz_verify"]["run"]
    run = jobs.wait(ws_with_data, run_id, timeout=240)
    assert run.status == "done", run.error
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    verdicts = [*at.success, *at.error, *at.warning, *at.info]
    assert any("The evidence" in v.value for v in verdicts)
    claims = next(d.value for d in at.dataframe if "claim" in d.value.columns)
    assert "first stage" in set(claims["claim"])
    assert set(claims["verdict"]) <= {"✅ agrees", "❌ contradicts", "❔ inconclusive", "➖ not measured"}
    assert run.result["comparison_run"]  # stored as an evaluate run the Compare page can open
    assert ws_with_data.get_run(run.result["comparison_run"]).kind == "evaluate"


def test_first_stage_spectrum_is_measured_in_a_job_and_shown(ws_with_data):
    at = open_wizard()
    at.checkbox(key="wiz_spectrum_distill").uncheck().run()  # distillation is tested headless
    at.button(key="wiz_spectrum_go").click().run()
    run = jobs.wait(ws_with_data, at.session_state["wiz_spectrum"]["run"], timeout=240)
    assert run.status == "done", run.error
    assert run.result["values"]["ndcg10_splade"] > 0 and "ndcg10_static" not in run.result["values"]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "family" in d.value.columns)
    assert {"BM25", "SPLADE", "dense (transformer)", "dense, binary index + rescoring"} <= set(
        table["family"]
    )
    assert any(f"Measured in run `{run.id}`" in c.value for c in at.caption)
    # no static model registered here: it says how to make one instead of a number
    assert any("models distill" in c.value for c in at.caption)
    go(at, 1)  # the spectrum's numbers reach the rules: the rationale quotes them where a rule fired
    assert not at.exception


def test_gotchas_run_as_a_job_and_show_measurements(ws_with_data):
    at = open_wizard()
    go(at, 3)
    at.multiselect(key="wiz_g_dims").set_value([64]).run()
    at.button(key="wiz_gotchas_go").click().run()
    run = jobs.wait(ws_with_data, at.session_state["wiz_gotchas"]["run"], timeout=240)
    assert run.status == "done", run.error
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [r["dim"] for r in run.result["pca"]] == [128, 64]
    assert at.get("plotly_chart")
    assert any(
        "not measured" in i.value.lower() for i in at.info
    )  # no reranker: the expected range, not measured


def test_export_offers_card_json_and_script(ws_with_data):
    at = open_wizard()
    go(at, 4)
    assert any("Not verified yet" in w.value for w in at.warning)
    buttons = {b.label for b in at.get("download_button")}
    assert {"Download bundle (.zip)", "Card (.md)", "JSON", "Rebuild script"} <= buttons
    assert any("Embedding strategy for tinybeir" in m.value for m in at.markdown)


def test_classification_dataset_recommends_a_classifier(ws_with_data):
    at = open_wizard("tinycls")
    assert at.selectbox(key="wiz_q_task").value == "classification"
    assert at.number_input(key="wiz_q_labels_per_class").value == 10  # 10 per class in the train split
    go(at, 1)
    assert "SetFit" in at.subheader[0].value
    go(at, 2)  # verification = a SetFit run against the baselines (a job of the Classify feature)
    assert any("Wizard check: SetFit vs baselines on tinycls (N=10)" in m.value for m in at.markdown)
    assert not any("Compares **" in m.value for m in at.markdown)  # no retrieval comparison here
    go(at, 3)
    assert any("need a retrieval dataset" in i.value for i in at.info)
