"""The sidebar shown on every page: workspace, device and encoding backend, offline state, running jobs."""

from __future__ import annotations

import streamlit as st

from components import services
from components.backend_views import DEFAULT_BACKEND_KEY, backend_label
from components.text import code_md, escape_md

__all__ = ["render_sidebar"]


def render_sidebar() -> None:
    ws = services.workspace()
    with st.sidebar:
        st.markdown("### :material/explore: Embedding Strategy Lab")
        device = services.device_name()
        st.caption(f"**Workspace** {code_md(ws.home)}")  # ESL_HOME: any folder name
        st.caption(f"**Device** {code_md(device)}" + (" (GPU)" if device in ("cuda", "mps") else ""))
        _encoding_settings()
        if services.offline():
            st.caption("**Hub** offline — packaged and local models only")
        else:
            st.caption("**Hub** reachable — hub ids load on demand")
        active = ws.list_runs(status=("running", "queued"), limit=20)
        if active:
            running = sum(r.status == "running" for r in active)
            st.caption(f"**Jobs** {running} running, {len(active) - running} queued")


def _encoding_settings() -> None:
    """The default encoding backend (pages start their own pickers from it) and what it runs as here."""
    statuses = {s.backend: s for s in services.backend_statuses()}
    st.session_state.setdefault(DEFAULT_BACKEND_KEY, "torch")
    choice = st.selectbox(
        "Encoding backend",
        list(statuses),
        format_func=lambda b: backend_label(statuses[b]),
        key=DEFAULT_BACKEND_KEY,
        help="Default for new encodes (each page can change it). "
        + " ".join(f"{escape_md(s.backend)}: {escape_md(s.description)}." for s in statuses.values()),
    )
    plan = services.backend_plan(choice)
    st.caption(f"**Encoding** {code_md(plan.backend)} · {code_md(plan.precision)} on {code_md(plan.device)}")
    if plan.reason:
        st.caption(f":material/warning: {escape_md(plan.reason)} — torch is used instead.")
