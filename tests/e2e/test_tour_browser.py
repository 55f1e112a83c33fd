"""The home page in the browser: no Deploy button, and the guided tour on Cranfield clicked end to end —
import, compare, map, the wizard's verdict — each step one click, each reporting its time."""

from __future__ import annotations

import re

import pytest

from tests.e2e.helpers import assert_no_exception, open_page, save_screenshot

pytestmark = pytest.mark.e2e


def test_home_has_no_deploy_button_and_names_what_the_app_does(app, page):
    open_page(page, app.url)
    page.get_by_role("heading", name="Embedding Strategy Lab").first.wait_for()
    page.get_by_text("Guided tour").first.wait_for()
    assert page.get_by_text("Deploy", exact=True).count() == 0
    assert page.locator('[data-testid="stAppDeployButton"]').count() == 0
    assert_no_exception(page)


@pytest.mark.slow
def test_the_tour_runs_end_to_end(app, page):
    open_page(page, app.url)
    done = page.get_by_text(re.compile(r"Done in "))
    for i, button in enumerate(["Import Cranfield", "Compare strategies", "Draw a map", "Ask the wizard"]):
        page.get_by_role("button", name=button).click()
        done.nth(i).wait_for(timeout=600_000)
        assert_no_exception(page)
    main = page.locator('[data-testid="stMain"]').inner_text()
    assert "expected about" in main  # each job step shows its measured ETA beside its time
    assert re.search(r"Recommended: \S", main) and "Evidence (" in main and "Measured in:" in main
    assert "[" not in main.split("Recommended:", 1)[1].splitlines()[0]  # words, no Python list
    assert "only with a pretrained" not in main  # nothing that cannot run here in the headline
    page.locator(".js-plotly-plot").first.wait_for()  # the map
    assert "Tour finished in" in main
    save_screenshot(page, "tour")
