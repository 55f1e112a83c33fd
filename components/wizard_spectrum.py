"""The wizard's measured first-stage spectrum on screen: :func:`spectrum_table` (pure) and
:func:`render_spectrum`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from components.text import escape_md
from core.wizard import spectrum_rows

__all__ = ["render_spectrum", "spectrum_table"]


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
