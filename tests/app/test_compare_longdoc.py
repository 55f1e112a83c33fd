"""AppTest of the Compare page on long documents: passages next to truncation in one comparison, the corpus's
length distribution, which passage matched in the ranked lists; and the layout fixes (collapsed setup once
results exist, Run disabled while a run goes, Rerank panel only for rerank, bert-tiny only when asked)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data import import_dataset
from core.evaluate import load_comparison
from core.models import TINY_MODEL
from core.runtime import jobs
from tests.tiny_data import write_beir

pytestmark = pytest.mark.app

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "compare.py")
FILLER = "the committee then discussed the budget of the project and other unrelated matters at length. "
TOPICS = ["volcano", "glacier", "desert", "reef", "tundra", "canyon"]


@pytest.fixture
def longdocs(tmp_path, ws) -> Path:
    """Six documents of ~900 tokens; each query's fact sits at the end of its document."""
    corpus = [
        {"_id": f"d{i}", "title": "", "text": FILLER * 45 + f"the {t} survey found rare {t} minerals."}
        for i, t in enumerate(TOPICS)
    ]
    queries = [{"_id": f"q{i}", "text": f"rare {t} minerals committee"} for i, t in enumerate(TOPICS)]
    qrels = {"test": [(f"q{i}", f"d{i}", 1) for i in range(len(TOPICS))]}
    folder = write_beir(tmp_path / "longdocs", corpus=corpus, queries=queries, qrels=qrels)
    import_dataset(ws, folder, name="longdocs")
    return folder


def run_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_passages_next_to_truncation_with_lengths_and_matched_passages(longdocs, ws):
    at = run_page()
    assert not at.get("selectbox") or "cmp_reranker_choice" not in [w.key for w in at.selectbox]
    at.multiselect(key="cmp_strategies").set_value(["bm25", "dense"])
    at.selectbox(key="cmp_model").select(TINY_MODEL)
    at.run()
    # the corpus's length distribution, with the numbers that decide chunking
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert any(t.startswith("Tokens per document") for t in titles), titles
    labels = {m.label: m.value for m in at.metric}
    assert labels["documents beyond the window"] == "100%" and float(labels["median tokens"]) > 256
    assert "passages per document" in labels
    at.toggle(key="cmp_chunk_on").set_value(True).run()
    at.text_input(key="cmp_chunk_cuts").input("64/16").run()
    at.multiselect(key="cmp_chunk_on_what").set_value(["bm25", "dense"]).run()
    at.button(key="cmp_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.button(key="cmp_run").disabled  # while the comparison runs
    run_id = at.session_state["cmp_active"]
    run = jobs.wait(ws, run_id, timeout=600)
    assert run.status == "done", (run.status, run.error)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    rep = load_comparison(ws, run_id)
    assert list(rep.strategies) == ["bm25", "dense", "bm25@64/16", "dense@64/16", "bm25@256"]
    assert rep.strategies["bm25@64/16"].metrics["ndcg@10"] > rep.strategies["bm25@256"].metrics["ndcg@10"]
    assert not at.button(key="cmp_run").disabled
    # ranked lists: the chunked columns show which passage matched, with its text
    at.selectbox(key="cmp_rl_qid").select("q0").run()
    html = " ".join(m.value for m in at.markdown)
    assert ">passage " in html and "<mark>volcano</mark>" in html


def test_setup_collapses_once_results_exist_and_rerank_panel_only_for_rerank(longdocs, ws):
    at = run_page()
    assert at.expander[0].proto.expanded  # no comparison yet: the setup is open
    assert "cmp_reranker_choice" not in [w.key for w in at.selectbox]
    at.multiselect(key="cmp_strategies").set_value(["bm25", "rerank"]).run()
    assert "cmp_reranker_choice" in [w.key for w in at.selectbox]
    at.multiselect(key="cmp_strategies").set_value(["bm25"]).run()
    at.button(key="cmp_run").click().run()
    assert jobs.wait(ws, at.session_state["cmp_active"], timeout=600).status == "done"
    at = run_page()
    assert not at.expander[0].proto.expanded  # results exist: the setup is collapsed above them


def test_test_only_model_is_offered_only_when_asked(longdocs, monkeypatch):
    monkeypatch.delenv("ESL_SHOW_TEST_MODELS", raising=False)
    at = run_page()
    assert TINY_MODEL not in at.selectbox(key="cmp_model").options
    monkeypatch.setenv("ESL_SHOW_TEST_MODELS", "1")
    at = run_page()
    assert TINY_MODEL in at.selectbox(key="cmp_model").options
