"""Embedding Strategy Lab — Streamlit entry point: navigation and the shared sidebar, nothing else."""

import streamlit as st

from components.sidebar import render_sidebar

st.set_page_config(page_title="Embedding Strategy Lab", page_icon="🧭", layout="wide")

PAGES = {
    "Data": [st.Page("pages/data.py", title="Datasets", icon="🗂️", default=True)],
    "Retrieval": [
        st.Page("pages/compare.py", title="Compare strategies", icon="⚖️"),
        st.Page("pages/adapt.py", title="Adapt a model", icon="🛠️"),
    ],
    "Classification": [st.Page("pages/classify.py", title="Few-shot (SetFit)", icon="🏷️")],
    "Insight": [
        st.Page("pages/explore.py", title="Embedding explorer", icon="🔭"),
        st.Page("pages/wizard.py", title="Decision wizard", icon="🧙"),
    ],
    "Jobs": [st.Page("pages/runs.py", title="Runs", icon="⏱️")],
}

page = st.navigation(PAGES)
render_sidebar()
page.run()
