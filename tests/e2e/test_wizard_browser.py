"""Walking the decision wizard in the browser ends in a strategy card whose claims are measured on the
chosen dataset: questions pre-filled → recommendation → one click verifies (a job) → export."""

from __future__ import annotations

import re

import pytest

from tests.e2e.helpers import act, assert_no_exception, open_page, save_screenshot
from tests.wizard_data import write_topics_beir

pytestmark = pytest.mark.e2e


def test_wizard_walk_ends_in_a_measured_card(app, page, tmp_path):
    app.cli("datasets", "import", str(write_topics_beir(tmp_path / "topics")))
    open_page(page, app.url)
    act(page, lambda: page.get_by_role("link", name="Decision wizard").click())
    page.get_by_role("heading", name="Decision wizard").first.wait_for()
    # other browser tests share this app's workspace: pick the dataset rather than take the first one
    select = page.locator('[data-testid="stSelectbox"]').filter(has_text="Dataset to measure").first
    act(page, lambda: select.click())
    act(page, lambda: page.get_by_role("option", name=re.compile(r"^topics")).click())
    page.get_by_text("Words split into 3+ pieces").first.wait_for(timeout=180_000)  # measured from the data
    assert_no_exception(page)

    act(page, lambda: page.get_by_text("2 · Recommendation").click())
    page.get_by_text("the rules that fired").first.wait_for()
    strategy = page.locator('[data-testid="stHeading"] h3').first.inner_text()
    assert strategy

    act(page, lambda: page.get_by_text("3 · Verify").click())
    # the comparison only: a short training run would outlive this test's app
    act(page, lambda: page.get_by_text("Also run a short adaptation").click())
    act(page, lambda: page.get_by_role("button", name="Verify on topics").click())
    page.get_by_text("The evidence").first.wait_for(timeout=400_000)  # the job ran, the page polled it
    assert_no_exception(page)
    page.wait_for_selector(".js-plotly-plot")
    save_screenshot(page, "wizard-verify")

    act(page, lambda: page.get_by_text("5 · Export").click())
    page.get_by_text("Embedding strategy for topics").first.wait_for()
    card = page.locator(".st-key-wiz_card_card").inner_text()
    assert "Evidence on topics" in card and "Measured on topics / test (8 queries)" in card
    assert "Not verified yet" not in page.inner_text("body")
    assert page.get_by_role("button", name="Download bundle (.zip)").count() == 1
    assert_no_exception(page)
    save_screenshot(page, "wizard-export")
