"""AppTest of the Explore page: empty state, computing a map as a background job (and agreeing with the
CLI), colouring by cluster, before / after with a registered SetFit-style model, a query on a retrieval map,
and a failed projection."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data import import_dataset
from core.explore import ExploreRequest, ProjectionSettings, explore
from core.models import resolve_model
from core.runtime import Workspace, jobs
from tests.tiny_data import write_beir, write_labeled

pytestmark = pytest.mark.app

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGE = "pages/explore.py"


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def choose(at: AppTest, **values) -> AppTest:
    """Set widgets by key (selectbox / radio / multiselect values) and rerun."""
    for key, value in values.items():
        if key in ("model", "compare", "dataset", "query"):
            at.selectbox(key=f"explore_{key}").select(value)
        elif key in ("method", "dims", "color", "cl_method", "align"):
            at.radio(key=f"explore_{key}").set_value(value)
        elif key == "splits":
            # keyed per dataset, so that switching datasets never keeps a split the new one lacks
            next(m for m in at.multiselect if m.key.startswith("explore_splits_")).set_value(value)
        else:  # pragma: no cover - a typo in a test
            raise KeyError(key)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.fixture
def cls_data(tmp_path: Path, ws: Workspace) -> Path:
    path = write_labeled(tmp_path / "reviews.csv")  # 20 rows, 2 labels: train 16 / test 4
    import_dataset(ws, path, name="reviews")
    return path


def test_empty_workspace_points_to_the_data_page():
    at = open_page()
    assert at.title[0].value == "Embedding explorer"
    assert any("import one on the **Datasets** page" in i.value for i in at.info)


def test_compute_map_as_a_job_then_show_it_and_agree_with_the_cli(
    cls_data, ws, tmp_path, monkeypatch, capsys
):
    at = open_page()
    choose(at, model="bert-tiny", method="pca", splits=["test", "train"])
    assert any("No map yet" in i.value for i in at.info)
    at.button(key="explore_compute").click().run()
    assert not at.exception
    run_id = at.session_state["explore_run"]["run_id"]
    run = jobs.wait(ws, run_id, timeout=300)
    assert run.status == "done", run.error
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = metrics(at)
    assert shown["Points"] == "20"
    page_silhouette = shown["Silhouette by label"]
    assert page_silhouette != "—"
    assert len(at.get("plotly_chart")) == 1
    assert run.result["silhouette"] == pytest.approx(float(page_silhouette), abs=5e-4)

    # the CLI, in a workspace of its own, computes the same map from scratch: same numbers
    cli_home = tmp_path / "cli-home"
    monkeypatch.setenv("ESL_HOME", str(cli_home))
    from core.cli import main

    out = tmp_path / "map.html"
    code = main(
        [
            "project",
            "--dataset",
            str(cls_data),
            "--model",
            "bert-tiny",
            "--method",
            "pca",
            "--split",
            "test,train",
            "--out",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert not printed["from_cache"] and printed["points"] == 20
    assert f"{printed['silhouette']:.3f}" == page_silhouette
    assert printed["silhouette"] == pytest.approx(run.result["silhouette"], abs=1e-6)
    assert printed["knn_agreement"] == pytest.approx(run.result["knn_agreement"], abs=1e-9)
    assert out.stat().st_size > 100_000


def setfit_like_copy(ws: Workspace, tmp_path: Path) -> str:
    """A bi-encoder registered as kind 'setfit' (a SetFit folder: body files + head + setfit config)."""
    folder = tmp_path / "setfit-model"
    shutil.copytree(resolve_model("bert-tiny").location, folder)
    (folder / "config_setfit.json").write_text(json.dumps({"labels": ["neg", "pos"]}), encoding="utf-8")
    (folder / "model_head.pkl").write_bytes(b"not used by the explorer")
    ws.register_model("tiny-setfit", "setfit", folder, base="bert-tiny")
    return "tiny-setfit"


def test_cluster_colours_and_before_after_with_a_setfit_model(cls_data, ws, tmp_path):
    other = setfit_like_copy(ws, tmp_path)
    request = ExploreRequest(
        "reviews",
        model="bert-tiny",
        compare_model=other,
        splits=("test", "train"),
        settings=ProjectionSettings("pca"),
    )
    result = explore(ws, request)  # what the job would do; the page finds it in the projection cache
    at = open_page()
    choose(at, model="bert-tiny", compare=other, method="pca", splits=["test", "train"])
    shown = metrics(at)
    assert shown["Points"] == "20" and {"Silhouette · before", "Silhouette · after"} <= set(shown)
    assert shown["Neighbourhood overlap"] == "1.000"  # same weights: same neighbourhoods
    assert [t.label for t in at.tabs] == ["Map", "Before / after"]
    table = at.dataframe[0].value
    assert list(table.columns) == ["measure", "bert-tiny", other, "change"]
    charts = len(at.get("plotly_chart"))
    assert charts == 2  # map + side by side
    at.toggle(key="explore_moves").set_value(True).run()
    assert len(at.get("plotly_chart")) == charts + 1

    choose(at, color="cluster")
    assert at.radio(key="explore_cl_method").value == "kmeans"
    assert any("agreement with the labels" in c.value for c in at.caption)
    at.button(key="explore_suggest").click().run()
    assert not at.exception, [e.value for e in at.exception]
    suggested = at.session_state[f"explore_suggested_{result.key}"]
    assert at.number_input(key=f"explore_k_{result.key}").value == suggested >= 2
    assert len(at.get("plotly_chart")) == charts + 2  # + silhouette per k
    choose(at, cl_method="hdbscan")
    assert not at.exception


def test_query_overlay_on_a_retrieval_map(tmp_path, ws):
    folder = write_beir(tmp_path / "tinybeir")
    import_dataset(ws, folder, name="tinybeir")
    request = ExploreRequest(
        "tinybeir", model="bert-tiny", splits=("test",), settings=ProjectionSettings("pca")
    )
    explore(ws, request)
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["explore_strategies"] = [
        "bm25",
        "dense",
    ]  # hybrid's fusion compiles numba code: slow here
    at.switch_page(PAGE).run()
    choose(at, model="bert-tiny", method="pca")
    assert [t.label for t in at.tabs] == ["Map", "Query"]
    assert at.selectbox(key="explore_query").value == "q1"
    overlay = at.dataframe[0].value
    assert "relevant" in set(overlay["role"])
    assert set(overlay["strategy"].dropna()) == {"bm25", "dense"}
    assert overlay.loc[overlay["role"] == "relevant", "id"].tolist() == ["d1"]
    assert len(at.get("plotly_chart")) == 2
    assert metrics(at)["Silhouette by label"] == "—"  # a corpus has no labels


def test_a_failed_projection_shows_one_error(cls_data, ws):
    at = open_page()
    choose(at, model="bert-tiny", method="umap")  # the default test split has 4 points: too few for UMAP
    at.button(key="explore_compute").click().run()
    run = jobs.wait(ws, at.session_state["explore_run"]["run_id"], timeout=300)
    assert run.status == "failed"
    at.run()  # the poller notices and reruns: the error shows, and stays until the settings change
    at.run()
    errors = [e.value for e in at.error]
    assert errors and "UMAP needs at least 10 points" in errors[0]
    assert not at.exception
    choose(at, method="pca")
    assert not at.error and any("No map yet" in i.value for i in at.info)


def test_switching_datasets_and_models_keeps_the_page_valid(cls_data, ws, tmp_path):
    import_dataset(ws, write_beir(tmp_path / "tinybeir"), name="tinybeir")
    at = open_page()
    choose(at, dataset="reviews", model="bert-tiny", splits=["train"])
    choose(at, compare="all-MiniLM-L6-v2")
    choose(at, model="all-MiniLM-L6-v2")  # the compared model becomes the main one: comparison dropped
    assert at.selectbox(key="explore_compare").value == "— none —"
    choose(at, dataset="tinybeir")
    assert at.selectbox(key="explore_qsplit_tinybeir").value == "test"
    choose(at, dataset="reviews")
    assert at.multiselect(key="explore_splits_reviews").value == ["train"]  # remembered per dataset
