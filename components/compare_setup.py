"""The Compare page's setup for long documents: which strategies to run on passages (window/overlap), which
to truncate, how to cut (sentence boundaries, title) and how to score a document from its passages, with
the corpus's length distribution beside it. Strategy names carry the chunking (``dense@256/64``,
``bm25@256``) as :func:`core.evaluate.parse_strategy` reads them, so the page, the CLI and a stored run use
the same names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from components import services
from components.compare_lengths import render_length_distribution
from components.text import escape_md
from core.data import AGGREGATES, ChunkSpec
from core.evaluate import parse_strategy
from core.runtime import LabError
from core.wizard import CHUNK_TEXT_SHARE

__all__ = ["AGGREGATE_LABELS", "chunked_names", "parse_cuts", "render_chunking_options"]

AGGREGATE_LABELS = {
    "maxp": "best passage (MaxP)",
    "sum_top": "sum of the top passages",
    "first": "first passage",
}
CHUNKABLE = ("bm25", "dense", "hybrid")


def parse_cuts(text: str) -> list[tuple[int, int]]:
    """``"128/32, 256/64"`` -> ``[(128, 32), (256, 64)]``; an entry without an overlap or that is not two
    whole numbers is an error naming it (checked as a strategy name would be)."""
    cuts = []
    for part in (p.strip() for p in text.replace(";", ",").split(",")):
        if not part:
            continue
        _base, cut = parse_strategy(f"dense@{part}")
        if cut is None or cut[1] is None:
            raise ValueError(f"Write passages as window/overlap, e.g. 256/64 (got {part!r}).")
        ChunkSpec(window=cut[0], overlap=cut[1])  # window and overlap in range, or one clear error
        cuts.append((cut[0], cut[1]))
    return list(dict.fromkeys(cuts))


def chunked_names(
    on: Sequence[str], cuts: Sequence[tuple[int, int]], truncate: Sequence[str], window: int
) -> list[str]:
    """The strategy names of the chunked runs: each of ``on`` on each cut, each of ``truncate`` cut to its
    first ``window`` tokens (``bm25@256``; a dense model is truncated at its window anyway)."""
    names = [f"{base}@{w}/{o}" for base in on for w, o in cuts]
    names += [f"{base}@{window}" for base in truncate]
    return list(dict.fromkeys(names))


def render_chunking_options(dataset: str, model: str | None, *, key: str) -> dict[str, Any]:
    """The long-document panel; returns ``{"extra": [strategy names], "options": {chunk_* options}}`` (no
    extra names when passages are off)."""
    st.markdown("**Long documents: passages**")
    use = st.toggle(
        "Compare passages and truncation",
        key=f"{key}_on",
        help="Cut documents into passages of the model's tokens and score each document by its passages; "
        "evaluation stays per document (the qrels' ids).",
    )
    window = services.model_window(model) if model else 256
    if model:
        _lengths(dataset, model, window, key=key)
    if not use:
        return {"extra": [], "options": {}}
    c1, c2, c3 = st.columns([2, 2, 2])
    text = c1.text_input(
        "Passages (window/overlap tokens)", "128/32, 256/64", key=f"{key}_cuts", help="comma-separated"
    )
    on = c2.multiselect("On passages", list(CHUNKABLE), default=["dense", "hybrid"], key=f"{key}_on_what")
    truncate = c3.multiselect(
        f"Truncated to the first {window} tokens",
        ["bm25"],
        default=["bm25"],
        key=f"{key}_trunc",
        help="BM25 reads whole documents unless truncated; the dense model reads its first "
        f"{window} tokens anyway (plain 'dense' is the truncated dense strategy).",
    )
    d1, d2, d3, d4 = st.columns(4)
    options = {
        "chunk_sentences": d1.checkbox("Cut at sentence ends", key=f"{key}_sent"),
        "chunk_title": d2.checkbox("Title in every passage", key=f"{key}_title"),
        "chunk_aggregate": d3.selectbox(
            "Document score", list(AGGREGATES), format_func=AGGREGATE_LABELS.get, key=f"{key}_agg"
        ),
    }
    if options["chunk_aggregate"] == "sum_top":
        options["chunk_top"] = int(d4.number_input("Top passages summed", 1, 20, 3, key=f"{key}_top"))
    try:
        cuts = parse_cuts(text)
    except (ValueError, LabError) as err:
        st.error(escape_md(str(err)))
        return {"extra": [], "options": options, "problem": str(err)}
    return {"extra": chunked_names(on, cuts, truncate, window), "options": options}


def _lengths(dataset: str, model: str, window: int, *, key: str) -> None:
    with st.expander("Document lengths", expanded=False):
        try:
            stats = services.lengths(dataset, model, window, (window, window // 4))
        except (LabError, OSError) as err:
            st.caption(f"Lengths not counted: {escape_md(err)}")
            return
        render_length_distribution(stats, threshold=CHUNK_TEXT_SHARE, key=f"{key}_len")
