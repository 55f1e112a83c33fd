"""The Data page's label chart in headless Chromium: with Banking77's 77 intents every label is drawn on
the axis (plotly drops tick labels it has no room for — only a browser shows that), one readable row per
label, inside a scroll box."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from tests.conftest import DATA_DIR
from tests.e2e.helpers import act, assert_no_exception, open_page, save_screenshot

pytestmark = pytest.mark.e2e


@pytest.fixture
def banking_all_intents(tmp_path):
    """Banking77's test split cut to 2 … 8 rows per intent: all 77 labels, a quick import."""
    source = DATA_DIR / "banking77" / "test.csv"
    if not source.exists():
        pytest.skip(f"{source} not found")
    frame = pd.read_csv(source)
    intents = sorted(frame["label_text"].unique())
    rows = {label: 2 + i % 7 for i, label in enumerate(intents)}  # 2 … 8 rows: bars of several lengths
    part = frame[frame.groupby("label_text").cumcount() < frame["label_text"].map(rows)]
    folder = tmp_path / "b77-labels"
    folder.mkdir()
    part[["text", "label_text"]].to_csv(folder / "test.csv", index=False)
    return folder, part["label_text"].nunique()


def test_every_one_of_77_labels_is_on_the_chart(app, page, banking_all_intents):
    folder, n_labels = banking_all_intents
    assert n_labels == 77
    app.cli("datasets", "import", str(folder), "--name", "b77-labels")
    open_page(page, app.url + "/data")
    select = page.locator('[data-testid="stSelectbox"]').filter(has_text="Dataset").first
    if "b77-labels" not in select.inner_text():
        act(page, lambda: select.click())
        act(page, lambda: page.get_by_role("option", name=re.compile(r"^b77-labels")).click())
    act(page, lambda: page.get_by_role("tab", name="Statistics").click())
    chart = page.locator(".js-plotly-plot", has_text="Label distribution").first
    chart.wait_for()
    page.wait_for_timeout(1000)
    ticks = chart.locator(".yaxislayer-above .ytick text")
    assert ticks.count() == n_labels  # none dropped for want of room
    shown = [t.strip() for t in ticks.all_text_contents()]
    assert len(set(shown)) == n_labels and all(shown)
    box = chart.bounding_box()
    assert box is not None and box["height"] >= 18 * n_labels  # a row of ≥ 18 px per label
    heights = [t.bounding_box()["height"] for t in ticks.all()[:5]]
    assert min(heights) >= 8  # the labels are drawn at a readable size
    assert_no_exception(page)
    save_screenshot(page, "label-chart")
