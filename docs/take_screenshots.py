"""Take the README screenshots with headless Chromium: ``python docs/take_screenshots.py``.

Starts the app with a throw-away workspace, imports SciFact and SST-2 from ``ESL_DATA_DIR`` through the
CLI, and saves ``docs/screenshots/data.png`` (Data page, SciFact statistics) and
``docs/screenshots/wizard.png`` (Decision wizard, the Verify step on SciFact). Add other pages here.

``--embeddings-from DIR`` seeds the throw-away workspace's embedding cache with the ``.npy`` files of DIR
(e.g. an earlier workspace's ``cache/embeddings``), which skips encoding SciFact (minutes on a CPU).
"""

from __future__ import annotations

import argparse
import shutil
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embeddings-from", type=Path, default=None, help="folder of cached .npy embeddings")
    args = parser.parse_args(argv)
    data_dir = get_settings().data_dir
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="esl-shots-") as tmp:
        home = Path(tmp) / "home"
        if args.embeddings_from:
            cache = home / "cache" / "embeddings"
            cache.mkdir(parents=True, exist_ok=True)
            for npy in args.embeddings_from.glob("*.npy"):
                shutil.copy2(npy, cache / npy.name)
        with (
            start_app(home, extra_env={"ESL_DATA_DIR": str(data_dir)}) as app,
            launch_browser() as browser,
        ):
            take(app, browser, data_dir)
    return 0


def take(app, browser, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """Data page (SciFact statistics), then the Decision wizard."""
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
    wizard(page)


def wizard(page) -> None:  # type: ignore[no-untyped-def]
    """Decision wizard on SciFact: measured answers, then the Verify step with its evidence."""
    act(page, lambda: page.get_by_role("link", name="Decision wizard").click(), timeout_ms=600_000)
    page.get_by_text("Words split into 3+ pieces").first.wait_for(timeout=600_000)
    act(page, lambda: page.get_by_text("3 · Verify").click())
    act(page, lambda: page.get_by_role("button", name="Verify on scifact").click())
    page.get_by_text("The evidence").first.wait_for(timeout=900_000)
    page.wait_for_selector(".js-plotly-plot")
    page.wait_for_timeout(2000)
    assert_no_exception(page)
    page.screenshot(path=str(OUT / "wizard.png"), full_page=True)
    print(OUT / "wizard.png")


if __name__ == "__main__":
    raise SystemExit(main())
