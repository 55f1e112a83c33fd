"""The Explore page in headless Chromium: pick a Banking77 slice, compute a UMAP map as a background job
through the page, see it drawn with its silhouette score, and take a screenshot."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from tests.conftest import DATA_DIR
from tests.e2e.helpers import act, assert_no_exception, open_page, save_screenshot, wait_until_idle

pytestmark = pytest.mark.e2e


@pytest.fixture
def banking_slice(tmp_path):
    source = DATA_DIR / "banking77" / "test.csv"
    if not source.exists():
        pytest.skip(f"{source} not found")
    frame = pd.read_csv(source)
    intents = sorted(frame["label_text"].unique())[:12]
    part = frame[frame["label_text"].isin(intents)].groupby("label_text").head(10)
    folder = tmp_path / "b77-slice"
    folder.mkdir()
    part[["text", "label_text"]].to_csv(folder / "test.csv", index=False)
    return folder


def test_explore_page_computes_and_draws_a_map(app, page, banking_slice):
    app.cli("datasets", "import", str(banking_slice), "--name", "b77-e2e")
    open_page(page, app.url)
    page.get_by_role("link", name="Embedding explorer").click()
    wait_until_idle(page)
    page.get_by_role("heading", name="Embedding explorer").first.wait_for()

    select = page.locator('[data-testid="stSelectbox"]').filter(has_text="Dataset").first
    act(page, lambda: select.click())
    act(page, lambda: page.get_by_role("option", name=re.compile(r"^b77-e2e")).click())
    page.get_by_text("No map yet for these settings").first.wait_for()
    act(page, lambda: page.get_by_role("button", name="Compute map").click())
    # the job encodes 120 texts and projects them; the poller reruns the page when it is done
    page.locator(".js-plotly-plot .gtitle", has_text="b77-e2e · UMAP · 120 of 120 points").first.wait_for(
        timeout=600_000
    )
    wait_until_idle(page)
    page.get_by_text("Silhouette by label").first.wait_for()
    assert page.locator('[data-testid="stMetric"]').count() >= 3
    assert page.get_by_role("button", name="Figure (HTML)").count() == 1
    assert page.get_by_role("button", name="Coordinates (CSV)").count() == 1
    assert_no_exception(page)
    page.set_viewport_size({"width": 1400, "height": 1500})  # the whole map in the picture
    page.wait_for_timeout(1500)
    shot = save_screenshot(page, "explore")
    assert shot.stat().st_size > 20_000
