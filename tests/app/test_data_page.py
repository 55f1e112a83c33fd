"""AppTest of the Data page: renders, one-click import, path import with column pickers, rename, delete."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data import import_dataset
from core.runtime import Workspace
from tests.tiny_data import CORPUS, write_beir, write_labeled

pytestmark = pytest.mark.app

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """A data folder with one small retrieval and one small classification dataset."""
    folder = tmp_path / "data"
    write_beir(folder / "tinybeir", corpus=[*CORPUS, {"_id": "d9", "text": ""}])
    write_labeled(folder / "tinycls" / "train.csv")
    monkeypatch.setenv("ESL_DATA_DIR", str(folder))
    return folder


def run_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("pages/data.py").run()  # the default page is the home page
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_renders_empty_workspace_without_exception(data_dir):
    at = run_app()
    assert at.title[0].value == "Datasets"
    assert any("No datasets yet" in i.value for i in at.info)
    assert at.button(key="data_src_tinybeir").label == "Import"
    assert at.button(key="data_src_tinycls").label == "Import"


def test_one_click_import_shows_summary_warnings_and_charts(data_dir, isolated_home):
    at = run_app()
    at.button(key="data_src_tinybeir").click().run()
    assert not at.exception
    assert any("Imported **tinybeir**" in s.value for s in at.success)
    assert any("skipped 1 document(s) with empty text" in w.value for w in at.warning)
    assert at.selectbox(key="data_selected").value == "tinybeir"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Documents"] == "4" and metrics["Queries"] == "3"
    assert at.button(key="data_src_tinybeir").disabled
    assert len(at.get("plotly_chart")) == 4
    assert [r.name for r in Workspace(isolated_home).list_datasets()] == ["tinybeir"]

    at.button(key="data_src_tinycls").click().run()
    assert not at.exception
    assert at.selectbox(key="data_selected").value == "tinycls"
    assert {m.label: m.value for m in at.metric}["Labels"] == "2"
    assert len(at.get("plotly_chart")) == 2


def test_path_import_with_column_pickers(data_dir, tmp_path, isolated_home):
    rows = [{"body": f"text {i}", "tag": "x" if i % 2 else "y"} for i in range(12)]
    path = write_labeled(tmp_path / "odd.csv", rows)
    at = run_app()
    at.text_input(key="data_path").input(str(path)).run()
    assert at.button(key="data_path_import").disabled  # columns not chosen yet
    at.selectbox(key="data_path_cls_text").select("body")
    at.selectbox(key="data_path_cls_label").select("tag").run()
    at.text_input(key="data_path_name").input("odd one").run()
    at.button(key="data_path_import").click().run()
    assert not at.exception
    assert any("Imported **odd one**" in s.value for s in at.success)
    ds = Workspace(isolated_home).get_dataset("odd one")
    assert ds.summary["rows"] == 12 and ds.summary["labels"] == 2


def test_bad_path_import_shows_one_error_line_and_stores_nothing(data_dir, tmp_path, isolated_home):
    folder = write_beir(tmp_path / "broken", qrels={"test": [("q1", "d404", 1)]})
    at = run_app()
    at.text_input(key="data_path").input(str(folder)).run()
    at.button(key="data_path_import").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert errors == ["Import failed — test.tsv, line 2: document id 'd404' is not in the corpus"]
    assert Workspace(isolated_home).list_datasets() == []


def test_rename_and_delete(data_dir, isolated_home):
    ws = Workspace(isolated_home)
    import_dataset(ws, data_dir / "tinybeir", name="first")
    import_dataset(ws, data_dir / "tinycls", name="second")
    at = run_app()
    assert at.selectbox(key="data_selected").value == "first"
    at.text_input(key="data_rename_to").input("renamed").run()
    at.button(key="data_rename").click().run()
    assert not at.exception
    assert at.selectbox(key="data_selected").value == "renamed"
    assert [r.name for r in ws.list_datasets()] == ["renamed", "second"]

    assert at.button(key="data_delete").disabled
    at.checkbox(key="data_delete_confirm").check().run()
    at.button(key="data_delete").click().run()
    assert not at.exception
    assert any("Deleted **renamed**" in s.value for s in at.success)
    assert [r.name for r in ws.list_datasets()] == ["second"]
    assert at.selectbox(key="data_selected").value == "second"
    assert not at.checkbox(key="data_delete_confirm").value  # the confirmation does not carry over


def test_damaged_dataset_shows_an_error_and_can_be_deleted(data_dir, isolated_home):
    ws = Workspace(isolated_home)
    record, _ = import_dataset(ws, data_dir / "tinycls", name="damaged")
    (record.folder / "meta.json").unlink()  # files removed behind the app's back
    at = run_app()
    assert any("Could not read the files of 'damaged'" in e.value for e in at.error)
    at.checkbox(key="data_delete_confirm").check().run()
    at.button(key="data_delete").click().run()
    assert not at.exception
    assert ws.list_datasets() == []
