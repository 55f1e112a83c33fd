"""AppTest of the Compare page's spectrum: the picker offers the static strategies (with a button that distils
the static model when none is registered) and compressed index variants, and a finished comparison shows one
table of families, encode speed, latency, index size and ratios against dense float32 exact (real bert-tiny)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.data import import_dataset
from core.models import TINY_MODEL, list_models
from core.runtime import jobs
from tests.app.test_compare_page import PAGE
from tests.tiny_data import PETS_CORPUS, PETS_QRELS, PETS_QUERIES, write_beir

pytestmark = pytest.mark.app


def test_static_strategies_variants_and_the_spectrum_table(tmp_path, ws):
    import_dataset(ws, write_beir(tmp_path / "pets", PETS_CORPUS, PETS_QUERIES, PETS_QRELS), name="pets")
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    picker = at.multiselect(key="cmp_strategies")
    assert {"Static (model2vec)", "Static → dense rescoring"} <= set(picker.options)  # human labels
    picker.set_value(["bm25", "dense", "static"])
    at.selectbox(key="cmp_model").select(TINY_MODEL)
    at.run()
    assert any("need a static model" in c.value for c in at.caption)
    assert at.button(key="cmp_run").disabled
    at.button(key="cmp_static_distil").click().run()  # distils from bert-tiny, offline
    assert not at.exception, [e.value for e in at.exception]
    assert [m.name for m in list_models(ws, kind="static")] == ["bert-tiny-static"]
    assert at.selectbox(key="cmp_static_model").value == "bert-tiny-static"
    at.multiselect(key="cmp_idx_variants").set_value(["binary", "int8"]).run()
    assert not at.button(key="cmp_run").disabled
    at.button(key="cmp_run").click().run()
    run = jobs.wait(ws, at.session_state["cmp_active"], timeout=600)
    assert run.status == "done", (run.status, run.error)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "family" in d.value.columns)
    assert list(table["strategy"]) == ["bm25", "dense", "static", "dense:binary", "dense:int8"]
    assert list(table["family"]) == ["lexical", "dense", "static", "compressed", "compressed"]
    row = table.set_index("strategy")
    assert row.loc["dense", "nDCG@10 kept"] == "baseline"
    assert row.loc["dense:binary", "× smaller"].endswith("x")
    metrics = next(d.value for d in at.dataframe if "vs baseline" in d.value.columns)
    assert "p50 ms" not in metrics.columns  # the costs are shown once, in the spectrum
    assert any("Ratios against **dense**" in c.value for c in at.caption)
