"""Screenshot the Runs page of a workspace that holds adaptation runs (e.g. the benchmark's):

    python docs/take_adapt_screenshots.py --home /tmp/esl-bench-adaptation --run RUN_ID [--name runs]

Saves ``docs/screenshots/<name>.png``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.e2e.helpers import assert_no_exception, launch_browser, open_page, start_app

OUT = REPO / "docs" / "screenshots"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--name", default="runs")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with start_app(Path(args.home)) as app, launch_browser() as browser:
        page = browser.new_context(viewport={"width": 1400, "height": 2200}).new_page()
        page.set_default_timeout(90_000)
        open_page(page, app.url)
        open_page(page, f"{app.url}/runs?run={args.run}")
        page.wait_for_selector(".js-plotly-plot")
        page.wait_for_timeout(2500)
        assert_no_exception(page)
        path = OUT / f"{args.name}.png"
        page.screenshot(path=str(path), full_page=True)
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
