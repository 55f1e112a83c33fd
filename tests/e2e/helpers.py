"""Reusable browser-test helpers (also used by docs/take_screenshots.py): start the app on a free port
with its own workspace, launch headless Chromium, wait for Streamlit, check for exceptions, screenshots."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SCREENSHOT_DIR = REPO / ".esl-test" / "screenshots"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class AppServer:
    """A running ``streamlit run app.py``."""

    url: str
    home: Path
    env: dict[str, str]
    process: subprocess.Popen
    log: Path

    def cli(self, *args: str) -> Any:
        """Run ``python -m core ARGS`` against this app's workspace; returns the parsed JSON output."""
        out = subprocess.run(
            [sys.executable, "-m", "core", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if out.returncode != 0:
            raise AssertionError(f"python -m core {' '.join(args)} failed: {out.stderr.strip()}")
        return json.loads(out.stdout) if out.stdout.strip() else None

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def _wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
            if resp.status == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(
        f"streamlit did not answer on {url} within {timeout:.0f} s:\n{log.read_text()[-4000:]}"
    )


@contextlib.contextmanager
def start_app(home: Path, *, extra_env: dict[str, str] | None = None) -> Iterator[AppServer]:
    """Start the app with workspace ``home`` on a free port; stop it afterwards."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = os.environ.copy() | {
        "ESL_HOME": str(home),
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env |= extra_env or {}
    log = home / "streamlit.log"
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless=true",
        f"--server.port={port}",
        "--server.address=127.0.0.1",
        "--browser.gatherUsageStats=false",
    ]  # file watcher off and the viewer toolbar come from the app's own .streamlit/config.toml
    with open(log, "wb") as log_fh:
        process = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=log_fh, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log)
        yield AppServer(url, home, env, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@contextlib.contextmanager
def launch_browser() -> Iterator[Any]:
    """Headless Chromium from ``/usr/bin/chromium`` (no downloaded browsers)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


_APP = '[data-testid="stApp"]'
_WATCH_RUNS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    window.__eslRuns = 0;
    if (window.__eslObserver) window.__eslObserver.disconnect();
    window.__eslObserver = new MutationObserver(() => {
        if (app.getAttribute('data-test-script-state') === 'running') window.__eslRuns += 1;
    });
    window.__eslObserver.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""


def wait_until_idle(page: Any, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit has connected, run the script and drawn the result."""
    page.wait_for_selector(_APP, timeout=timeout_ms)
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            const state = app && app.getAttribute('data-test-script-state');
            return state === 'notRunning' && document.querySelector('[data-testid="stMain"]');
        }""",
        timeout=timeout_ms,
    )
    page.wait_for_timeout(300)  # let the last deltas paint


def act(page: Any, action: Callable[[], Any], *, start_ms: int = 5_000, timeout_ms: int = 60_000) -> None:
    """Do ``action`` (a click, an upload, typing + Enter) and wait for the rerun it causes to finish.
    Runs that start and end between two polls are seen too (a DOM observer counts them)."""
    page.evaluate(_WATCH_RUNS)
    action()
    with contextlib.suppress(Exception):  # the action may not rerun the app at all
        page.wait_for_function("() => window.__eslRuns > 0", timeout=start_ms)
    wait_until_idle(page, timeout_ms)


def open_page(page: Any, url: str) -> None:
    """Load ``url`` and wait until the script run is over."""
    page.goto(url, wait_until="domcontentloaded")
    wait_until_idle(page)


def assert_no_exception(page: Any) -> None:
    """Fail when the page shows a Python exception."""
    exceptions = page.locator('[data-testid="stException"]')
    if exceptions.count():
        raise AssertionError(f"the page shows an exception: {exceptions.first.inner_text()[:2000]}")
    body = page.inner_text("body")
    assert "Traceback" not in body, body[:2000]


def save_screenshot(page: Any, name: str, folder: Path = SCREENSHOT_DIR) -> Path:
    """Full-page screenshot into ``.esl-test/screenshots/<name>.png``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
