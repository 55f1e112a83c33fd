"""Take the README screenshots with headless Chromium: ``python docs/take_screenshots.py``.

Starts the app with a throw-away workspace, imports SciFact and SST-2 from ``ESL_DATA_DIR`` through the
CLI, and saves ``docs/screenshots/data.png`` (Data page, SciFact statistics) and ``compare.png`` (Compare
page after ``python -m core evaluate --dataset scifact``; the test suite's embedding cache is reused).
Add other pages here. ``python docs/take_screenshots.py compare`` takes only the pages named.

``docs/screenshots/wizard.png`` (Decision wizard; the README's copy currently comes from the browser test
``tests/e2e/test_wizard_browser.py`` on its 8-query set): the Verify step on SciFact with all-MiniLM-L6-v2, after
the answers were measured and one click ran the verification job. It needs SciFact's corpus vectors in the
embedding cache (the test suite's, or ``ESL_SHOTS_EMBEDDINGS=DIR`` with its shard stores and ``.npy`` files) to be quick.

``docs/screenshots/explore.png`` (Explore page): Banking77's test split mapped with all-MiniLM-L6-v2 before
and after a SetFit run (N=8 per intent), trained and mapped through the CLI first. That takes minutes on
a CPU; set ``ESL_SHOTS_EXPLORE_HOME`` to a workspace to keep (and reuse) the model and the maps.
"""

from __future__ import annotations

import os
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


def main(argv: list[str] | None = None) -> int:
    wanted = set(sys.argv[1:] if argv is None else argv) or {"data", "compare", "explore", "wizard"}
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
        if "data" in wanted:
            page.screenshot(path=str(OUT / "data.png"), full_page=True)
            print(OUT / "data.png")
        if "compare" in wanted:
            print(compare_shot(app, browser, Path(tmp) / "home"))
        if "explore" in wanted:
            print(explore_shot(browser, data_dir))
        if "wizard" in wanted:
            print(wizard_shot(app, browser, Path(tmp) / "home"))
    return 0


def compare_shot(app, browser, home: Path) -> Path:  # type: ignore[no-untyped-def]
    """Compare page with a finished SciFact comparison (BM25, dense, hybrid tuned on train). The test
    suite's embedding cache is reused when there is one, so the corpus is not encoded again."""
    cache = REPO / ".esl-test" / "workspace" / "cache" / "embeddings"
    if cache.is_dir():
        (home / "cache").mkdir(parents=True, exist_ok=True)
        (home / "cache" / "embeddings").symlink_to(cache)
    app.cli("evaluate", "--dataset", "scifact", "--json")
    page = browser.new_context(viewport={"width": 1400, "height": 2300}).new_page()
    page.set_default_timeout(120_000)
    open_page(page, app.url)
    act(page, lambda: page.get_by_role("link", name="Compare strategies").click())
    page.wait_for_selector(".js-plotly-plot .main-svg")
    page.wait_for_timeout(2500)
    assert_no_exception(page)
    page.screenshot(path=str(OUT / "compare.png"), full_page=True)
    return OUT / "compare.png"


def explore_shot(browser, data_dir: Path) -> Path:  # type: ignore[no-untyped-def]
    """Explore page: Banking77 test split, all-MiniLM-L6-v2 before / after SetFit, side by side."""
    keep = os.environ.get("ESL_SHOTS_EXPLORE_HOME")
    with tempfile.TemporaryDirectory(prefix="esl-shots-explore-") as tmp:
        home = Path(keep).expanduser() if keep else Path(tmp) / "home"
        with start_app(home, extra_env={"ESL_DATA_DIR": str(data_dir)}) as app:
            known = {d["name"] for d in app.cli("datasets", "list")}
            if "banking77" not in known:
                app.cli("datasets", "import", str(data_dir / "banking77"))
            models = {m["name"] for m in app.cli("models", "list")}
            if "setfit-banking77" not in models:
                app.cli(
                    "classify", "--dataset", "banking77", "--method", "setfit", "--n-per-class", "8",
                    "--seeds", "1", "--test-limit", "770", "--register", "setfit-banking77", "--json",
                )  # fmt: skip
            app.cli(
                "project", "--dataset", "banking77", "--split", "test", "--compare-model", "setfit-banking77",
                "--out", str(Path(tmp) / "map.html"), "--json",
            )  # fmt: skip
            page = browser.new_context(viewport={"width": 1400, "height": 1450}).new_page()
            page.set_default_timeout(120_000)
            open_page(page, app.url)
            act(page, lambda: page.get_by_role("link", name="Embedding explorer").click())
            choose = page.locator('[data-testid="stSelectbox"]').filter(has_text="Compare with").first
            act(page, lambda: choose.click())
            act(page, lambda: page.get_by_role("option", name="setfit-banking77").click())
            act(page, lambda: page.get_by_role("tab", name="Before / after").click())
            page.locator(".js-plotly-plot:visible").first.wait_for()
            page.wait_for_timeout(2000)
            assert_no_exception(page)
            page.screenshot(path=str(OUT / "explore.png"), full_page=True)
    return OUT / "explore.png"


def wizard_shot(app, browser, home: Path) -> Path:  # type: ignore[no-untyped-def]
    """Decision wizard on SciFact: answers measured from the data, then the Verify step with its evidence."""
    import shutil

    target = home / "cache" / "embeddings"
    seed = os.environ.get("ESL_SHOTS_EMBEDDINGS")
    if seed:
        target.mkdir(parents=True, exist_ok=True)
        for entry in Path(seed).expanduser().iterdir():  # shard stores (folders) and older .npy files
            if (target / entry.name).exists():
                continue
            if entry.is_dir():
                shutil.copytree(entry, target / entry.name)
            elif entry.suffix == ".npy":
                shutil.copy2(entry, target / entry.name)
    elif not target.exists() and (REPO / ".esl-test" / "workspace" / "cache" / "embeddings").is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(REPO / ".esl-test" / "workspace" / "cache" / "embeddings")
    page = browser.new_context(viewport={"width": 1400, "height": 1800}).new_page()
    page.set_default_timeout(120_000)
    open_page(page, app.url)
    act(page, lambda: page.get_by_role("link", name="Decision wizard").click(), timeout_ms=600_000)
    page.get_by_text("Words split into 3+ pieces").first.wait_for(timeout=600_000)
    act(page, lambda: page.get_by_text("3 · Verify").click())
    act(page, lambda: page.get_by_role("button", name="Verify on scifact").click())
    page.get_by_text("The evidence").first.wait_for(timeout=900_000)
    page.wait_for_selector(".js-plotly-plot .main-svg")
    page.wait_for_timeout(2500)
    assert_no_exception(page)
    page.screenshot(path=str(OUT / "wizard.png"), full_page=True)
    return OUT / "wizard.png"


if __name__ == "__main__":
    raise SystemExit(main())
