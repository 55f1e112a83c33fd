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


def test_sidebar_shows_auto_by_default_and_explains_it_before_any_check():
    at = AppTest.from_file(APP, default_timeout=120).run()
    box = at.sidebar.selectbox(key="encode_backend")
    assert box.value == "auto"
    assert box.options == ["auto", "torch", "onnx", "onnx-int8", "bf16"]
    assert "parity check on a sample of your corpus" in _sidebar_text(at)


def test_sidebar_shows_what_auto_chose_with_the_checks_numbers(ws):
    from core.encoding import AutoChoice, BackendCheck, machine_id, save_choice

    checks = (
        BackendCheck("torch", True, 1, 1, 1, 10.0, 1.0),
        BackendCheck("onnx-int8", True, 0.9981, 0.99, 0.97, 3.2, 3.14),
        BackendCheck("bf16", False, 0.9, 0.8, 0.7, 5.0, 2.0, "mean cosine 0.9000 < 0.99"),
    )
    save_choice(ws, AutoChoice("onnx-int8", "fp-1", machine_id(), checks, 200, 50, model="all-MiniLM-L6-v2"))
    text = _sidebar_text(AppTest.from_file(APP, default_timeout=120).run())
    assert "onnx-int8 (auto: cosine 0.998, top-10 overlap 0.97, 3.1x torch)" in text
    assert "not picked — bf16: mean cosine 0.9000 &#60; 0.99" in text  # escaped markdown


def test_sidebar_shows_the_chosen_backend_and_its_precision():
    # (AppTest drops the sidebar of st.navigation apps on reruns, so the choice is made before the run)
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["encode_backend"] = "onnx-int8"
    at.run()
    assert at.sidebar.selectbox(key="encode_backend").value == "onnx-int8"
    assert "`onnx-int8` · `int8` on `cpu`" in _sidebar_text(at)


# -- Compare page: backend choice, truncation share, quality guard --------------------------------------
def test_compare_page_runs_dense_on_two_backends_and_shows_the_quality_table(tmp_path, ws):
    from core.data import import_dataset
    from core.evaluate import load_comparison
    from core.models import TINY_MODEL
    from core.runtime import jobs
    from tests.tiny_data import PETS_CORPUS, PETS_QRELS, PETS_QUERIES, write_beir

    folder = write_beir(tmp_path / "pets", corpus=PETS_CORPUS, queries=PETS_QUERIES, qrels=PETS_QRELS)
    import_dataset(ws, folder, name="pets")
    page = str(Path(APP).parent / "pages" / "compare.py")
    at = AppTest.from_file(page, default_timeout=180).run()
    assert not at.exception, [e.value for e in at.exception]
    at.multiselect(key="cmp_strategies").set_value(["bm25", "dense"])
    at.selectbox(key="cmp_model").select(TINY_MODEL)
    at.run()
    assert at.selectbox(key="cmp_enc_backend").value == "auto"
    at.toggle(key="cmp_enc_cap").set_value(True).run()
    at.number_input(key="cmp_enc_msl").set_value(16).run()
    assert any("longer than 16 tokens" in c.value for c in at.caption)
    at.selectbox(key="cmp_enc_backend").select("onnx").run()
    at.multiselect(key="cmp_enc_check").set_value(["onnx-int8"]).run()
    assert not at.exception, [e.value for e in at.exception]
    at.button(key="cmp_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    run = jobs.wait(ws, at.session_state["cmp_active"], timeout=600)
    assert run.status == "done", (run.status, run.error)
    rep = load_comparison(ws, run.id)
    assert list(rep.strategies) == ["bm25", "dense", "dense-onnx-int8"]
    assert rep.strategies["dense"].spec["backend"] == "onnx"
    assert rep.strategies["dense"].spec["max_seq_length"] == 16
    assert rep.strategies["dense-onnx-int8"].extra["backend"].startswith("onnx-int8")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "Δ ndcg@10" in d.value.columns)
    assert table["backend"].tolist() == ["onnx", "onnx-int8"]
    assert table["Δ ndcg@10"].tolist()[0] == 0.0  # no torch run: differences to the first backend
    assert any("difference to **onnx**" in m.value for m in at.markdown)


def test_compare_page_estimates_the_encode_and_offers_a_faster_backend(tmp_path, ws, monkeypatch):
    import components.backend_views as views
    from core.data import import_dataset
    from core.models import TINY_MODEL
    from tests.tiny_data import PETS_CORPUS, PETS_QRELS, PETS_QUERIES, write_beir

    monkeypatch.setattr(views, "ETA_MIN_DOCS", 1)  # the pets corpus is tiny: estimate it anyway
    monkeypatch.setattr(views, "ETA_THRESHOLD_S", 0.0)  # and call any encode long
    folder = write_beir(tmp_path / "pets", corpus=PETS_CORPUS, queries=PETS_QUERIES, qrels=PETS_QRELS)
    import_dataset(ws, folder, name="pets")
    at = AppTest.from_file(str(Path(APP).parent / "pages" / "compare.py"), default_timeout=180)
    at.session_state["encode_backend"] = "torch"  # a user who forces torch (the default is auto)
    at.run()
    at.selectbox(key="cmp_model").select(TINY_MODEL).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(f"Encoding {len(PETS_CORPUS)} documents with **torch**" in i.value for i in at.info)
    from core.encoding import backend_statuses

    faster = views.faster_backend(backend_statuses("cpu"), "torch")  # bf16 on CPUs with AVX512-BF16
    switch = at.button(key="cmp_enc_eta_switch")
    assert switch.label.startswith(f"Use {faster} instead")
    switch.click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="cmp_enc_backend").value == faster
    assert not any("with **torch**" in i.value for i in at.info)


def test_sidebar_shows_the_workspace_short_with_the_full_path_in_its_tooltip(ws):
    from components.paths import short_path

    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    caption = next(c for c in at.sidebar.caption if c.value.startswith("**Workspace**"))
    assert str(ws.home) not in caption.value  # no absolute path on screen …
    shown = short_path(ws.home)
    assert caption.value == f"**Workspace** `{shown}`" and len(shown) < len(str(ws.home))
    assert str(ws.home) in caption.help  # … only in the tooltip
    assert "/tmp/" not in " ".join(c.value for c in at.sidebar.caption)
