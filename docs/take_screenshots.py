"""Take the README screenshots with headless Chromium: ``python docs/take_screenshots.py [NAME ...]``.

Starts the app (the repository's streamlit, a free port) with a fresh workspace under ``/tmp``, imports
Cranfield from ``ESL_DATA_DIR`` through the CLI and saves, ~1280 px wide:

- ``data.png`` — Data page, Cranfield's statistics;
- ``compare.png`` — Compare page after ``python -m core evaluate --dataset cranfield`` (BM25, dense,
  hybrid);
- ``wizard.png`` — Decision wizard: answers measured on Cranfield, then the Verify step after one click;
- ``explore.png`` — Explore page: Banking77's test split (770 texts) mapped with all-MiniLM-L6-v2 before
  and after a SetFit run (N=8 per intent, trained through the CLI first: minutes on a CPU), with the
  neighbourhoods each point kept;
- ``runs.png`` — Runs page of that SetFit run.

Set ``ESL_SHOTS_HOME`` to a workspace folder to keep (and reuse) the imports, the model and the maps.
``python docs/take_screenshots.py compare`` takes only the pages named (in the order above).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.runtime import get_settings
from tests.e2e.helpers import (
    act,
    assert_no_exception,
    launch_browser,
    open_page,
    start_app,
)

OUT = REPO / "docs" / "screenshots"


WIDTH = 1280
NAMES = ("data", "compare", "wizard", "explore", "runs")


def _page(browser, height: int, timeout_ms: int = 120_000):  # type: ignore[no-untyped-def]
    page = browser.new_context(viewport={"width": WIDTH, "height": height}).new_page()
    page.set_default_timeout(timeout_ms)
    return page


def _shot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    page.wait_for_timeout(2000)
    assert_no_exception(page)
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(path, flush=True)
    return path


def main(argv: list[str] | None = None) -> int:
    wanted = set(sys.argv[1:] if argv is None else argv) or set(NAMES)
    data_dir = get_settings().data_dir
    OUT.mkdir(parents=True, exist_ok=True)
    keep = os.environ.get("ESL_SHOTS_HOME")
    with tempfile.TemporaryDirectory(prefix="esl-shots-") as tmp:
        home = Path(keep).expanduser() if keep else Path(tmp) / "home"
        with (
            start_app(home, extra_env={"ESL_DATA_DIR": str(data_dir)}) as app,
            launch_browser() as browser,
        ):
            if "cranfield" not in {d["name"] for d in app.cli("datasets", "list")}:
                app.cli("datasets", "import", str(data_dir / "cranfield"))
            if "data" in wanted:
                data_shot(app, browser)
            if "compare" in wanted:
                compare_shot(app, browser)
            if "wizard" in wanted:
                wizard_shot(app, browser)
            if wanted & {"explore", "runs"}:
                run_id = setfit_run(app, data_dir, Path(tmp))
                if "explore" in wanted:
                    explore_shot(app, browser)
                if "runs" in wanted:
                    runs_shot(app, browser, run_id)
    return 0


def data_shot(app, browser) -> Path:  # type: ignore[no-untyped-def]
    """Data page: Cranfield's statistics."""
    page = _page(browser, 1500)
    open_page(page, app.url)
    act(page, lambda: page.get_by_role("link", name="Datasets").first.click())
    act(page, lambda: page.get_by_role("tab", name="Statistics").click())
    page.wait_for_selector(".js-plotly-plot")
    return _shot(page, "data")


def compare_shot(app, browser) -> Path:  # type: ignore[no-untyped-def]
    """Compare page with a finished Cranfield comparison (BM25, dense, hybrid)."""
    app.cli("evaluate", "--dataset", "cranfield", "--json")
    page = _page(browser, 2200)
    open_page(page, app.url)
    act(page, lambda: page.get_by_role("link", name="Compare strategies").click())
    page.locator(".js-plotly-plot:visible").first.wait_for()
    return _shot(page, "compare")


def wizard_shot(app, browser) -> Path:  # type: ignore[no-untyped-def]
    """Decision wizard on Cranfield: answers measured from the data, then the Verify step with its evidence."""
    page = _page(browser, 1800)
    open_page(page, app.url)
    act(page, lambda: page.get_by_role("link", name="Decision wizard").click(), timeout_ms=600_000)
    dataset = page.locator('[data-testid="stSelectbox"]').filter(has_text="Dataset to measure").first
    if "cranfield" not in dataset.inner_text():  # Banking77 comes first once it is imported
        act(page, lambda: dataset.click())
        act(
            page,
            lambda: page.get_by_role("option", name=re.compile(r"^cranfield")).click(),
            timeout_ms=600_000,
        )
    page.get_by_text("Words split into 3+ pieces").first.wait_for(timeout=600_000)
    act(page, lambda: page.get_by_text("3 · Verify").click())
    act(page, lambda: page.get_by_role("button", name="Verify on cranfield").click())
    page.get_by_text("The evidence").first.wait_for(timeout=900_000)
    page.locator(".js-plotly-plot:visible").first.wait_for()
    return _shot(page, "wizard")


def setfit_run(app, data_dir: Path, tmp: Path) -> str | None:  # type: ignore[no-untyped-def]
    """Banking77 imported, a SetFit model trained (N=8 per intent, one seed) and its before / after map
    computed through the CLI; returns the latest SetFit run's id."""
    if "banking77" not in {d["name"] for d in app.cli("datasets", "list")}:
        app.cli("datasets", "import", str(data_dir / "banking77"))
    if "setfit-banking77" not in {m["name"] for m in app.cli("models", "list")}:
        app.cli(
            "classify", "--dataset", "banking77", "--method", "setfit", "--n-per-class", "8",
            "--seeds", "1", "--test-limit", "770", "--register", "setfit-banking77", "--json",
        )  # fmt: skip
    runs = [r for r in app.cli("runs", "list", "--limit", "50") if "setfit" in str(r.get("kind"))]
    app.cli(
        "project", "--dataset", "banking77", "--split", "test", "--compare-model", "setfit-banking77",
        "--out", str(tmp / "map.html"), "--json",
    )  # fmt: skip
    return runs[0]["id"] if runs else None


def explore_shot(app, browser) -> Path:  # type: ignore[no-untyped-def]
    """Explore page: Banking77 test split, before / after SetFit side by side, and the neighbourhoods kept."""
    page = _page(browser, 2900)  # the page scrolls inside Streamlit's main box: the whole of it in view
    open_page(page, app.url)
    act(page, lambda: page.get_by_role("link", name="Embedding explorer").click())
    dataset = page.locator('[data-testid="stSelectbox"]').filter(has_text="Dataset").first
    if "banking77" not in dataset.inner_text():
        act(page, lambda: dataset.click())
        act(page, lambda: page.get_by_role("option", name="banking77").first.click())
    choose = page.locator('[data-testid="stSelectbox"]').filter(has_text="Compare with").first
    act(page, lambda: choose.click())
    act(page, lambda: page.get_by_role("option", name="setfit-banking77").click())
    act(page, lambda: page.get_by_role("tab", name="Before / after").click())
    act(page, lambda: page.get_by_text("Show which neighbourhoods changed").click())
    page.locator(".js-plotly-plot:visible").nth(1).wait_for()
    page.evaluate("() => document.querySelectorAll('*').forEach(e => { e.scrollTop = 0; })")  # from the top
    return _shot(page, "explore")


def runs_shot(app, browser, run_id: str | None) -> Path:  # type: ignore[no-untyped-def]
    """Runs page of the SetFit run (or of the latest run)."""
    page = _page(browser, 1600)
    open_page(page, app.url)
    open_page(page, f"{app.url}/runs" + (f"?run={run_id}" if run_id else ""))
    page.wait_for_selector(".js-plotly-plot")
    return _shot(page, "runs")


if __name__ == "__main__":
    raise SystemExit(main())
