"""AppTest of the Classify page: setup, launch as a job, results, prediction, registration — and the
page and the CLI give the same numbers for the same seeds."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.app

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "classify.py")


@pytest.fixture
def tiny_dataset(ws, tmp_path: Path, data_dir: Path) -> str:
    from core.data import import_dataset

    folder = tmp_path / "tiny"
    folder.mkdir()
    pd.read_csv(data_dir / "sst2" / "train.csv").groupby("label_text").head(12).to_csv(
        folder / "train.csv", index=False
    )
    pd.read_csv(data_dir / "sst2" / "test.csv").groupby("label_text").head(15).to_csv(
        folder / "test.csv", index=False
    )
    import_dataset(ws, folder, name="tiny-sst2")
    return "tiny-sst2"


def test_page_setup_without_runs(ws, data_dir):
    """The data folder's datasets are offered (``data_dir`` skips the test without the shared data)."""
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    options = at.selectbox(key="cls_dataset").options
    assert "sst2 (data folder)" in options and "banking77 (data folder)" in options
    assert any("No classification runs yet" in i.value for i in at.info)
    at.radio(key="cls_mode").set_value("Learning curve").run()
    assert at.multiselect(key="cls_ns").value == [8, 16, 32, 64]
    assert any("pairs per run" in c.value for c in at.caption)


def test_page_runs_job_and_matches_cli(ws, tiny_dataset, capsys):
    from core.cli import main
    from core.runtime import jobs

    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.selectbox(key="cls_dataset").set_value(tiny_dataset)
    at.selectbox(key="cls_body").set_value("bert-tiny")
    at.number_input(key="cls_n").set_value(4)
    at.number_input(key="cls_seeds").set_value(2)
    at.multiselect(key="cls_methods").set_value(["setfit", "logreg"])
    at.number_input(key="cls_max_pairs").set_value(32)
    at.number_input(key="cls_batch").set_value(8)
    at.run()
    at.button(key="cls_launch").click().run()
    assert not at.exception
    run_id = at.session_state["cls_run"]
    run = jobs.wait(ws, run_id, timeout=600)
    assert run.status == "done", run.error

    at.run()
    assert not at.exception
    summary, per_class, misclassified = at.dataframe  # scores, then the detail tabs
    assert summary.value["method"].tolist() == ["SetFit", "Frozen + logistic regression"]
    assert sorted(per_class.value["label"]) == ["negative", "positive"]
    assert set(misclassified.value.columns) == {"text", "true", "predicted", "confidence"}
    assert len(at.get("plotly_chart")) >= 2  # learning curve + confusion matrix
    assert any("Try the SetFit model" in s.value for s in at.subheader)
    at.text_area(key="cls_try_text").input("a moving , beautiful film")
    at.button(key="cls_predict").click().run()
    assert not at.exception
    assert any("Predicted" in s.value for s in at.success)
    at.text_input(key="cls_reg_name").input("page-setfit")
    at.button(key="cls_reg_button").click().run()
    record = ws.get_model("page-setfit")
    assert record is not None and record.kind == "setfit" and Path(record.path, "model_head.pkl").exists()

    page = {s["method"]: s for s in ws.get_run(run_id).result["summary"]}
    for method in ("setfit", "logreg"):
        capsys.readouterr()
        code = main(
            [
                "classify",
                "--dataset",
                tiny_dataset,
                "--method",
                method,
                "--n-per-class",
                "4",
                "--seeds",
                "2",
                "--body",
                "bert-tiny",
                "--max-pairs",
                "32",
                "--batch-size",
                "8",
                "--json",
            ]
        )
        assert code == 0
        cli = json.loads(capsys.readouterr().out)
        assert list(cli) == [
            "dataset",
            "method",
            "n_per_class",
            "seeds",
            "accuracy_mean",
            "accuracy_std",
            "macro_f1_mean",
            "mcc_mean",
            "train_s_mean",
        ]
        assert cli["seeds"] == page[method]["seeds"] == 2
        for key in ("accuracy_mean", "accuracy_std", "macro_f1_mean", "mcc_mean"):
            assert cli[key] == pytest.approx(page[method][key], abs=1e-9), (method, key)


def test_page_learning_curve_job(ws, tiny_dataset):
    from core.runtime import jobs

    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.selectbox(key="cls_dataset").set_value(tiny_dataset)
    at.selectbox(key="cls_body").set_value("bert-tiny")
    at.radio(key="cls_mode").set_value("Learning curve").run()
    at.multiselect(key="cls_ns").set_value([4, 8])
    at.number_input(key="cls_seeds").set_value(2)
    at.multiselect(key="cls_methods").set_value(["logreg", "zeroshot"])
    at.run()
    at.button(key="cls_launch").click().run()
    run = jobs.wait(ws, at.session_state["cls_run"], timeout=300)
    assert run.status == "done", run.error
    assert run.kind == "setfit_curve" and "model_path" not in run.result
    at.run()
    assert not at.exception
    assert at.dataframe[0].value["n_per_class"].tolist() == [4, 8, 4, 8]
    assert any("keep no model" in c.value for c in at.caption)
    at.radio(key="cls_metric").set_value("mcc").run()
    at.selectbox(key="cls_detail_method").set_value("zeroshot").run()
    assert not at.exception
