"""Embedding Strategy Lab — Streamlit entry point: navigation and the shared sidebar, nothing else."""

import streamlit as st

from components.sidebar import render_sidebar
from core.explore import warm_up_in_background

st.set_page_config(page_title="Embedding Strategy Lab", page_icon=":material/explore:", layout="wide")

PAGES = {
    "Start": [st.Page("pages/home.py", title="Home and guided tour", icon=":material/home:", default=True)],
    "Data": [st.Page("pages/data.py", title="Datasets", icon=":material/dataset:")],
    "Retrieval": [
        st.Page("pages/compare.py", title="Compare strategies", icon=":material/compare_arrows:"),
        st.Page("pages/adapt.py", title="Adapt a model", icon=":material/build:"),
    ],
    "Classification": [st.Page("pages/classify.py", title="Few-shot (SetFit)", icon=":material/label:")],
    "Insight": [
        st.Page("pages/explore.py", title="Embedding explorer", icon=":material/scatter_plot:"),
        st.Page("pages/wizard.py", title="Decision wizard", icon=":material/auto_fix_high:"),
    ],
    "Jobs": [st.Page("pages/runs.py", title="Runs", icon=":material/schedule:")],
}

warm_up_in_background()  # UMAP's numba compile starts at app start, off every page's path (once per process)
page = st.navigation(PAGES)
render_sidebar()
page.run()
