"""The Compare page in headless Chromium, with a dataset and a comparison finished through the CLI:
the charts render and nothing raises."""

from __future__ import annotations

import pytest

from core.models import TINY_MODEL
from tests.e2e.helpers import act, assert_no_exception, open_page, save_screenshot
from tests.tiny_data import PETS_CORPUS, PETS_QRELS, PETS_QUERIES, write_beir

pytestmark = pytest.mark.e2e


def test_compare_page_shows_a_finished_comparison(app, page, tmp_path):
    folder = write_beir(tmp_path / "pets", corpus=PETS_CORPUS, queries=PETS_QUERIES, qrels=PETS_QRELS)
    app.cli("datasets", "import", str(folder), "--name", "pets-e2e")
    out = app.cli("evaluate", "--dataset", "pets-e2e", "--model", TINY_MODEL, "--json")
    assert list(out["strategies"]) == ["bm25", "dense", "hybrid"]

    open_page(page, app.url)
    act(page, lambda: page.get_by_role("link", name="Compare strategies").click())  # the app's navigation
    page.get_by_role("heading", name="Compare strategies").first.wait_for()
    page.get_by_text("4 queries · top 100 · baseline").first.wait_for()  # the finished run is shown
    page.wait_for_selector('[data-testid="stTabPanel"]:visible .js-plotly-plot .main-svg')
    overview = page.locator('[data-testid="stTabPanel"]:visible .js-plotly-plot')
    assert overview.count() == 3  # metric bars, recall/precision curves, cost frontier
    for title in ("Quality per metric", "Recall and precision", "Quality vs latency"):
        page.locator(".js-plotly-plot .gtitle", has_text=title).first.wait_for()
    assert_no_exception(page)

    act(page, lambda: page.get_by_role("tab", name="Per query").click())
    page.locator(".js-plotly-plot .gtitle", has_text="wins").first.wait_for()
    act(page, lambda: page.get_by_role("tab", name="Ranked lists").click())
    page.locator("mark").first.wait_for()  # query terms highlighted in the snippets
    assert_no_exception(page)
    shot = save_screenshot(page, "compare-page")
    assert shot.stat().st_size > 10_000
