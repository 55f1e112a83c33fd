"""The sidebar shown on every page: workspace, device and encoding backend, offline state, running jobs."""

from __future__ import annotations

import streamlit as st

from components import services
from components.backend_views import DEFAULT_BACKEND_KEY, auto_choice_lines, backend_label, with_auto
from components.paths import short_path
from components.text import code_md, escape_md
from core.encoding import AUTO, remembered_choices

__all__ = ["render_sidebar"]


def render_sidebar() -> None:
    ws = services.workspace()
    with st.sidebar:
        st.markdown("### :material/explore: Embedding Strategy Lab")
        device = services.device_name()
        st.caption(  # ESL_HOME: any folder name; the full path in the tooltip only
            f"**Workspace** {code_md(short_path(ws.home))}",
            help=f"Full path (`ESL_HOME`): {code_md(ws.home)}",
        )
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
    statuses = {s.backend: s for s in with_auto(services.backend_statuses())}
    st.session_state.setdefault(DEFAULT_BACKEND_KEY, AUTO)
    choice = st.selectbox(
        "Encoding backend",
        list(statuses),
        format_func=lambda b: backend_label(statuses[b]),
        key=DEFAULT_BACKEND_KEY,
        help="Default for new encodes (each page can change it). "
        + " ".join(f"{escape_md(s.backend)}: {escape_md(s.description)}." for s in statuses.values()),
    )
    if choice == AUTO:
        _auto_choices()
        return
    plan = services.backend_plan(choice)
    st.caption(f"**Encoding** {code_md(plan.backend)} · {code_md(plan.precision)} on {code_md(plan.device)}")
    if plan.reason:
        st.caption(f":material/warning: {escape_md(plan.reason)} — torch is used instead.")


def _auto_choices() -> None:
    """What ``auto`` runs for each model checked on this machine, with the check's numbers."""
    choices = remembered_choices(services.workspace())
    if not choices:
        st.caption(
            "**Encoding** `auto`: on first use of a model, a parity check on a sample of your corpus "
            "picks the fastest backend that keeps the vectors (remembered for this machine)."
        )
        return
    for choice in choices[:3]:
        st.caption("**Encoding** " + "  \n".join(auto_choice_lines(choice)))
