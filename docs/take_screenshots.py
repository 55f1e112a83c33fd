"""Take the README screenshots with headless Chromium: ``python docs/take_screenshots.py``.

Starts the app with a throw-away workspace, imports SciFact and SST-2 from ``ESL_DATA_DIR`` through the
CLI, and saves ``docs/screenshots/data.png`` (Data page, SciFact statistics). Add other pages here.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.config import get_settings  # noqa: E402
from tests.e2e.helpers import (  # noqa: E402
    act,
    assert_no_exception,
    launch_browser,
    open_page,
    start_app,
)

OUT = REPO / "docs" / "screenshots"


def main() -> int:
    data_dir = get_settings().data_dir
    OUT.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="esl-shots-") as tmp,
        start_app(Path(tmp) / "home", extra_env={"ESL_DATA_DIR": str(data_dir)}) as app,
        launch_browser() as browser,
    ):
        for name in ("scifact", "sst2"):
            app.cli("datasets", "import", str(data_dir / name))
        page = browser.new_context(viewport={"width": 1400, "height": 1750}).new_page()
        page.set_default_timeout(60_000)
        open_page(page, app.url)
        act(page, lambda: page.get_by_role("tab", name="Statistics").click())
        page.wait_for_selector(".js-plotly-plot")
        page.wait_for_timeout(1500)
        assert_no_exception(page)
        page.screenshot(path=str(OUT / "data.png"), full_page=True)
        print(OUT / "data.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
