"""AppTest of the Compare page: renders, runs a small comparison as a job (real bert-tiny model), shows
the charts, reopens past comparisons, makes a harmful reranker obvious, and gives the CLI's numbers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data import import_dataset
from core.evaluate import load_comparison
from core.models import TINY_MODEL, resolve_model
from core.runtime import Workspace, jobs
from tests.tiny_data import PETS_CORPUS, PETS_QRELS, PETS_QUERIES, write_beir

pytestmark = pytest.mark.app

REPO = Path(__file__).resolve().parents[2]
PAGE = str(REPO / "pages" / "compare.py")


@pytest.fixture
def pets(tmp_path, ws) -> Path:
    folder = write_beir(tmp_path / "pets", corpus=PETS_CORPUS, queries=PETS_QUERIES, qrels=PETS_QRELS)
    import_dataset(ws, folder, name="pets")
    return folder


def run_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def choose_small_setup(at: AppTest, strategies=("bm25", "dense", "hybrid")) -> None:
    at.multiselect(key="cmp_strategies").set_value(list(strategies))
    at.selectbox(key="cmp_model").select(TINY_MODEL)
    at.run()


def run_job(at: AppTest, ws: Workspace) -> str:
    at.button(key="cmp_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    run_id = at.session_state["cmp_active"]
    run = jobs.wait(ws, run_id, timeout=600)
    assert run.status == "done", (run.status, run.error)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return run_id


def metrics_table(at: AppTest):
    return next(d.value for d in at.dataframe if "vs baseline" in d.value.columns)


def test_empty_workspace_points_to_the_data_page():
    at = run_page()
    assert at.title[0].value == "Compare strategies"
    assert any("No retrieval dataset yet" in i.value for i in at.info)
    assert any("No comparison yet" in i.value for i in at.info)


def test_runs_a_comparison_shows_charts_lists_and_matches_the_cli(pets, ws):
    at = run_page()
    assert at.selectbox(key="cmp_dataset").value == "pets"
    assert at.selectbox(key="cmp_split").value == "test"
    choose_small_setup(at)
    run_id = run_job(at, ws)
    # the finished run is shown
    assert at.selectbox(key="cmp_view").value == run_id
    rep = load_comparison(ws, run_id)
    assert list(rep.strategies) == ["bm25", "dense", "hybrid"]
    assert rep.strategies["hybrid"].extra["tune_split"] == "train"
    assert rep.strategies["dense"].spec["model"] == TINY_MODEL
    # metrics table, bars, curves, cost frontier, win/loss, alpha sweep
    charts = at.get("plotly_chart")
    assert len(charts) >= 5, len(charts)
    titles = " | ".join(json.loads(c.proto.spec)["layout"]["title"]["text"] for c in charts)
    for expected in (
        "Quality per metric",
        "Recall and precision",
        "Quality vs latency",
        "wins",
        "Alpha sweep",
    ):
        assert expected in titles, titles
    table = metrics_table(at)
    assert list(table["strategy"]) == ["bm25", "dense", "hybrid"]
    assert table.loc[0, "vs baseline"] == "baseline"
    # downloads exist
    assert len(at.get("download_button")) >= 3 + 3

    # side-by-side ranked lists: a query of the split, then free text
    at.selectbox(key="cmp_rl_qid").select("q5").run()
    html = " ".join(m.value for m in at.markdown)
    assert "<mark>cat</mark>" in html  # query terms highlighted
    assert ">rel 2</span>" in html  # graded relevance mark from the qrels
    at.radio(key="cmp_rl_mode").set_value("free text").run()
    at.text_input(key="cmp_rl_text").input("puppy barks").run()
    assert not at.exception, [e.value for e in at.exception]
    html = " ".join(m.value for m in at.markdown)
    assert "<mark>barks</mark>" in html and "[d6]" in html

    # the CLI with the same choices gives the same numbers
    page = rep.to_json()
    out = subprocess.run(
        [sys.executable, "-m", "core", "evaluate", "--dataset", "pets", "--model", TINY_MODEL, "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    cli = json.loads(out.stdout)
    assert cli["queries"] == page["queries"] == 4
    assert list(cli["strategies"]) == list(page["strategies"])
    for name, numbers in cli["strategies"].items():
        for metric in ("ndcg@10", "recall@10", "recall@100", "p@10", "mrr@10", "map@100"):
            assert numbers[metric] == page["strategies"][name][metric], (name, metric)


def test_untrained_reranker_is_flagged_in_red(pets, ws):
    at = run_page()
    choose_small_setup(at, ("bm25", "rerank"))
    at.selectbox(key="cmp_reranker_choice").select("a folder or hub id…").run()
    at.text_input(key="cmp_reranker_path").input(resolve_model(TINY_MODEL).location).run()
    assert any("no trained reranking head" in e.value for e in at.error)
    at.selectbox(key="cmp_first_stage").select("bm25").run()
    run_job(at, ws)
    errors = " ".join(e.value for e in at.error)
    assert "⚠ rerank" in errors and "untrained classification head" in errors
    table = metrics_table(at)
    assert "⚠ rerank" in list(table["strategy"])


def test_a_queued_comparison_shows_progress_and_can_be_cancelled(pets, ws):
    import os

    # another evaluation holds the "eval" queue (this live process), so ours waits in the queue
    busy = ws.create_run("evaluate", {}, title="busy", queue="eval", status="running")
    ws.update_run(busy, pid=os.getpid())
    at = run_page()
    choose_small_setup(at, ("bm25",))
    at.button(key="cmp_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    run_id = at.session_state["cmp_active"]
    assert ws.get_run(run_id).status == "queued"
    assert any("waiting for another evaluation" in p.proto.text for p in at.get("progress"))
    at.button(key="cmp_cancel").click().run()
    assert ws.get_run(run_id).status == "cancelled"
    at.run()
    assert any("cancelled" in w.value for w in at.warning)
    assert "cmp_active" not in at.session_state
    ws.update_run(busy, status="done")
