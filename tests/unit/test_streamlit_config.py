"""The app's own Streamlit settings: no file watcher (an idle server must cost nothing), no Deploy button,
and ``make run`` starts from the folder that holds them."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_file_watcher_off_and_toolbar_minimal() -> None:
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["fileWatcherType"] == "none"
    assert config["server"]["runOnSave"] is False
    assert config["client"]["toolbarMode"] == "viewer"  # no Deploy button
    assert config["browser"]["gatherUsageStats"] is False


def test_make_run_uses_the_config() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "cd $(CURDIR)" in run and "streamlit run app.py" in run
    assert "fileWatcherType" not in run  # one place for the settings: .streamlit/config.toml
