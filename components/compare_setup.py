"""The Compare page's setup panels beyond BM25 / dense / hybrid: long documents (which strategies to run on
passages (window/overlap), which to truncate, how to cut and how to score a document from its passages, with
the corpus's length distribution beside it), compressed index variants of the dense strategies, and the static
model of ``static`` / ``static_rescore`` (distilled here, offline, when none is registered). Strategy names
carry the chunking (``dense@256/64``, ``bm25@256``) and the index variant (``dense:int8``) as
:func:`core.evaluate.parse_strategy` and :func:`core.evaluate.strategy_variant` read them, so the page, the CLI
and a stored run use the same names."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import streamlit as st

from components import services
from components.compare_lengths import render_length_distribution
from components.text import escape_md
from core.data import AGGREGATES, ChunkSpec
from core.encoding import DEFAULT_STATIC_MODEL, distill_static
from core.evaluate import parse_strategy
from core.models import DEFAULT_BI_ENCODER, list_models
from core.runtime import LabError, Workspace
from core.wizard import CHUNK_TEXT_SHARE

__all__ = [
    "AGGREGATE_LABELS",
    "INDEX_VARIANTS",
    "STATIC_NEEDS",
    "chunked_names",
    "parse_cuts",
    "render_chunking_options",
    "render_index_variants",
    "render_static_options",
    "static_name_for",
    "variant_names",
]

AGGREGATE_LABELS = {
    "maxp": "best passage (MaxP)",
    "sum_top": "sum of the top passages",
    "first": "first passage",
}
CHUNKABLE = ("bm25", "dense", "hybrid")
INDEX_VARIANTS = {  # the variant after the colon of a strategy name -> what the picker says
    "float16": "float16 (2x smaller)",
    "int8": "int8, scalar quantised (4x smaller)",
    "binary": "binary + float rescoring of the top ×4 (32x smaller)",
    "binary+rescore10": "binary + rescoring of the top ×10",
    "binary+rescore0": "binary, Hamming order only",
    "pca192": "PCA to 192 dimensions",
    "pca128": "PCA to 128 dimensions",
    "dim128": "first 128 dimensions (Matryoshka truncation)",
    "int8+pca192": "int8 + PCA to 192 dimensions (8x smaller)",
}
VARIANT_BASES = ("dense", "static", "hybrid")  # strategies with a dense part the variants apply to
STATIC_NEEDS = ("static", "static_rescore")  # strategies that need a registered static model


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


def variant_names(bases: Sequence[str], variants: Sequence[str]) -> list[str]:
    """``dense:int8``-style names: each of ``variants`` on each of ``bases``."""
    return list(dict.fromkeys(f"{base}:{variant}" for base in bases for variant in variants))


def render_index_variants(strategies: Sequence[str], *, key: str) -> list[str]:
    """Compressed index variants of the chosen strategies with a dense part; returns their names."""
    bases = [b for b in VARIANT_BASES if b in strategies]
    variants = st.multiselect(
        "Compressed index variants",
        list(INDEX_VARIANTS),
        format_func=INDEX_VARIANTS.get,
        key=f"{key}_variants",
        disabled=not bases,
        help="Each variant is one more strategy on the same cached vectors: quality, latency and index bytes "
        "per vector against the float32 exact index (the spectrum table and the size chart).",
    )
    if not bases:
        st.caption("Choose Dense, Static or a hybrid with dense to compare compressed indexes.")
        return []
    on = st.multiselect("Variants of", bases, default=bases[:1], key=f"{key}_variant_on") if variants else []
    return variant_names(on, variants)


def static_name_for(model: str) -> str:
    """The name a static model distilled from ``model`` is registered under (``minilm-static`` for the
    default bi-encoder, the strategies' default)."""
    if model == DEFAULT_BI_ENCODER:
        return DEFAULT_STATIC_MODEL
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", model.rsplit("/", 1)[-1]).strip("-._") or "model"
    return f"{stem[:90]}-static"


def render_static_options(ws: Workspace, model: str | None, *, key: str) -> str | None:
    """The static model of ``static`` / ``static_rescore``: a registered one, or a button that distils one
    from the chosen bi-encoder (model2vec, offline, ~16 s for MiniLM). Returns its name (None: none yet)."""
    st.markdown("**Static model**")
    names = [m.name for m in list_models(ws, kind="static")]
    if names:
        default = names.index(DEFAULT_STATIC_MODEL) if DEFAULT_STATIC_MODEL in names else 0
        return st.selectbox(
            "Static model (model2vec)",
            names,
            index=default,
            key=f"{key}_model",
            help="Static: token vectors looked up and averaged, no transformer (one to two orders of "
            "magnitude faster to encode on a CPU). Static → rescoring: its top candidates rescored with "
            "the bi-encoder's vectors.",
        )
    st.caption("No static model is registered: distil one from the bi-encoder, offline (~16 s for MiniLM).")
    if model and st.button(f"Distil a static model from {model}", key=f"{key}_distil"):
        with st.spinner(f"Distilling {static_name_for(model)} from {model} (model2vec)…"):
            try:
                info = distill_static(model, static_name_for(model), ws)
            except LabError as err:
                st.error(escape_md(err))
                return None
        st.session_state[f"{key}_model"] = info.name
        st.rerun()
    return None
