"""The sidebar shown on every page: workspace, device, offline state, running jobs."""

from __future__ import annotations

import streamlit as st

from components import services


def render_sidebar() -> None:
    ws = services.workspace()
    with st.sidebar:
        st.markdown("### :material/explore: Embedding Strategy Lab")
        device = services.device_name()
        st.caption(f"**Workspace** `{ws.home}`")
        st.caption(f"**Device** `{device}`" + (" (GPU)" if device in ("cuda", "mps") else ""))
        if services.offline():
            st.caption("**Hub** offline — packaged and local models only")
        else:
            st.caption("**Hub** reachable — hub ids load on demand")
        active = ws.list_runs(status=("running", "queued"), limit=20)
        if active:
            running = sum(r.status == "running" for r in active)
            st.caption(f"**Jobs** {running} running, {len(active) - running} queued")
