"""The wizard's measured first-stage spectrum on screen: :func:`spectrum_table` (pure),
:func:`render_spectrum` and :func:`render_spectrum_step` (the table and the job that measures it)."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

import pandas as pd
import streamlit as st

from components.text import code_md, escape_md
from components.wizard_jobs import poll_job
from core.data import RetrievalDataset
from core.runtime import Workspace, jobs
from core.wizard import SPECTRUM_KIND, spectrum_rows

__all__ = ["render_spectrum", "render_spectrum_step", "spectrum_table"]


def spectrum_table(values: Mapping[str, Any]) -> pd.DataFrame:
    """The measured first-stage spectrum, one row per family (:func:`core.wizard.spectrum_rows`)."""
    cols = ["family", "ndcg@10", "kept", "passages/s", "speed", "bytes/vector"]
    return pd.DataFrame(spectrum_rows(values), columns=cols)


def render_spectrum(values: Mapping[str, Any], notes: Mapping[str, str], *, key: str) -> None:
    """The measured first-stage spectrum as a table, with how each number was measured."""
    df = spectrum_table(values)
    if not len(df):
        return
    st.markdown("**First stages measured on your data** (the spectrum rules read these):")
    st.dataframe(
        df,
        hide_index=True,
        key=f"{key}_table",
        column_config={
            "ndcg@10": st.column_config.NumberColumn(format="%.4f"),
            "kept": st.column_config.NumberColumn("kept vs dense", format="percent"),
            "passages/s": st.column_config.NumberColumn("encode passages/s", format="%.0f"),
            "speed": st.column_config.NumberColumn("encode speed vs the transformer", format="%.1fx"),
            "bytes/vector": st.column_config.NumberColumn("index bytes/vector", format="%.0f"),
        },
    )
    how = sorted({notes[n] for n in ("ndcg10_dense", "encode_rate_dense", "ndcg10_static") if notes.get(n)})
    for line in how:
        st.caption(escape_md(line))


def render_spectrum_step(
    ws: Workspace,
    state: MutableMapping[str, Any],
    ds: RetrievalDataset,
    model: str,
    measured: Mapping[str, Any],
) -> None:
    """The measured first-stage families (SPLADE, static, compressed indexes) and the job that measures them."""
    render_spectrum(measured["values"], measured["notes"], key="wiz_spectrum")
    if measured["details"].get("spectrum_run"):
        st.caption(f"Measured in run {code_md(measured['details']['spectrum_run'])}.")
    distill = st.checkbox(
        "Distil a static model from the bi-encoder when none is registered (model2vec, offline, seconds)",
        value=True,
        key="wiz_spectrum_distill",
    )
    if st.button(
        f"Measure first stages on {escape_md(ds.name)}",
        key="wiz_spectrum_go",
        icon=":material/speed:",
        help="BM25, SPLADE, dense, hybrid, int8 and binary indexes and a registered static model: nDCG@10 on "
        "your queries (a seeded sample on a large corpus whose vectors are not cached), encode rates on this "
        "machine, index bytes per vector. The spectrum rules read them.",
    ):
        run_id = jobs.submit(
            ws,
            SPECTRUM_KIND,
            {"dataset": ds.name, "model": model, "distill": bool(distill)},
            title=f"Wizard: first stages on {ds.name}",
            queue="eval",
        )
        state["wiz_spectrum"] = {"run": run_id}
    poll_job(ws, state, "wiz_spectrum", lambda run: None)
