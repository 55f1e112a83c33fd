"""What every page does before drawing: make sure it runs inside the app's navigation."""

from __future__ import annotations

import streamlit as st
from streamlit import config
from streamlit.runtime.pages_manager import PagesManager

__all__ = ["ensure_navigation"]


def ensure_navigation() -> None:
    """Rerun through ``app.py`` when Streamlit ran this page on its own.

    The layout keeps one file per page in ``pages/``. Until ``app.py`` has called ``st.navigation`` once,
    Streamlit treats that folder as a legacy multipage app: the first request of a fresh server that opens a
    page by its address (``/compare``) runs ``pages/compare.py`` bare — no sidebar, no page titles, file
    names as navigation. Turning the legacy mode off and rerunning sends the request through ``app.py``,
    which opens the same page (both modes name it by the same address).

    ``AppTest`` resets the legacy flag before every run, so there a rerun would drop each click; it runs the
    page files directly by design and is left alone.
    """
    if PagesManager.uses_pages_directory and not config.get_option("global.appTest"):
        PagesManager.uses_pages_directory = False
        st.rerun()
