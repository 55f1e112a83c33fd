"""AppTest: the sidebar shows the device with the encoding backend and precision, and the choice."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.app

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture(autouse=True)
def no_data(tmp_path, monkeypatch):
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path / "no-data"))


def _sidebar_text(at: AppTest) -> str:
    assert not at.exception, [e.value for e in at.exception]
    return " ".join(c.value for c in at.sidebar.caption)


def test_sidebar_shows_torch_fp32_on_cpu_by_default():
    at = AppTest.from_file(APP, default_timeout=120).run()
    box = at.sidebar.selectbox(key="encode_backend")
    assert box.value == "torch"
    assert box.options == ["torch", "onnx", "onnx-int8", "bf16"]
    assert "**Encoding** `torch` · `fp32` on `cpu`" in _sidebar_text(at)


def test_sidebar_shows_the_chosen_backend_and_its_precision():
    # (AppTest drops the sidebar of st.navigation apps on reruns, so the choice is made before the run)
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["encode_backend"] = "onnx-int8"
    at.run()
    assert at.sidebar.selectbox(key="encode_backend").value == "onnx-int8"
    assert "`onnx-int8` · `int8` on `cpu`" in _sidebar_text(at)
