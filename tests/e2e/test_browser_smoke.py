"""The app starts, and the Data page renders in headless Chromium without an exception."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import assert_no_exception, open_page, save_screenshot, start_app

pytestmark = pytest.mark.e2e


def test_data_page_renders_in_browser(app, page):
    open_page(page, app.url + "/data")
    page.get_by_role("heading", name="Datasets").first.wait_for()
    page.get_by_text("Add a dataset").first.wait_for()
    assert_no_exception(page)
    shot = save_screenshot(page, "data-page")
    assert shot.stat().st_size > 10_000


def test_a_page_opened_by_its_address_on_a_fresh_server_has_the_app_navigation(browser, tmp_path):
    """The first request of a new server goes straight to /compare (a bookmark, a shared link): the page
    must come with the app's sidebar (titles, sections), not Streamlit's legacy file-name navigation."""
    with start_app(tmp_path / "home") as server:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        try:
            open_page(page, server.url + "/compare")
            page.get_by_role("heading", name="Compare strategies").first.wait_for()
            nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
            assert "Decision wizard" in nav and "Few-shot (SetFit)" in nav
            assert not {"app", "classify", "explore"} & set(nav.split())  # no bare file names
            assert "Embedding Strategy Lab" in page.inner_text('[data-testid="stSidebar"]')
            assert_no_exception(page)
        finally:
            context.close()
