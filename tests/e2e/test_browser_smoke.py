"""The app starts, and the Data page renders in headless Chromium without an exception."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import assert_no_exception, open_page, save_screenshot

pytestmark = pytest.mark.e2e


def test_data_page_renders_in_browser(app, page):
    open_page(page, app.url)
    page.get_by_role("heading", name="Datasets").first.wait_for()
    page.get_by_text("Add a dataset").first.wait_for()
    assert_no_exception(page)
    shot = save_screenshot(page, "data-page")
    assert shot.stat().st_size > 10_000
