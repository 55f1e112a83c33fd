"""Fixtures for browser tests (``@pytest.mark.e2e``).

- ``app``: the app started once per test session on a free port, with its own empty workspace
  (``app.home``); ``app.cli("datasets", "import", PATH)`` runs the CLI against that workspace.
- ``page``: a fresh headless-Chromium page (1400x1000) per test.

Helpers for tests live in ``tests/e2e/helpers.py`` (``open_page``, ``wait_until_idle``,
``assert_no_exception``, ``save_screenshot``)::

    from tests.e2e.helpers import assert_no_exception, open_page

    def test_my_page(app, page):
        app.cli("datasets", "import", str(DATA_DIR / "scifact"))
        open_page(page, app.url + "/compare")
        assert_no_exception(page)

Browser tests skip only when ``/usr/bin/chromium`` is missing and ``ESL_REQUIRE_BROWSER`` is unset
(CI sets it, so there they must run).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.helpers import CHROMIUM, AppServer, launch_browser, start_app


def _require_browser() -> None:
    if not CHROMIUM.exists():
        if os.environ.get("ESL_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing but ESL_REQUIRE_BROWSER is set: install chromium")
        pytest.skip(f"{CHROMIUM} not found (install chromium, or set ESL_REQUIRE_BROWSER to make this fail)")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium, one per test session."""
    _require_browser()
    with launch_browser() as browser:
        yield browser


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[AppServer]:
    """The app, started once per test session with its own empty workspace."""
    with start_app(tmp_path_factory.mktemp("e2e-home")) as server:
        yield server


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser page for one test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        yield page
    finally:
        context.close()
