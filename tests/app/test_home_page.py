"""AppTest of the home page: it is the default page, says what the app does and offers the tour."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.app

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_home_is_the_default_page_and_offers_the_tour(ws):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Embedding Strategy Lab"
    assert any("Guided tour" in s.value for s in at.subheader)
    assert at.button(key="tour_import").label == "Import Cranfield"
    # later steps wait for the ones before them
    assert at.button(key="tour_compare").disabled and at.button(key="tour_verdict").disabled


def test_missing_tour_data_is_one_clear_error(ws, tmp_path, monkeypatch):
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path / "empty"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.button(key="tour_import").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "cranfield" in at.error[0].value
    assert ws.list_datasets() == []
