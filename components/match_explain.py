"""Why a hit matched: for the strategies that use SPLADE, the query's expansion terms with their weights and
the terms each document shares with them, next to BM25's exact (stemmed) term matches. Pure helpers build the
table; :func:`render_match_explanations` shows it under the ranked lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import streamlit as st

from components.services_data import sparse_encoder
from components.text import escape_md
from core.models import DEFAULT_SPARSE_MODEL
from core.retrieval import SparseExplanation, explain_sparse_match, lexical_matches
from core.runtime import LabError

__all__ = [
    "explanation_row",
    "format_terms",
    "render_match_explanations",
    "splade_strategies",
]

EXPLAIN_DEPTH = 5  # hits per strategy explained
_SPLADE_NAMES = ("splade", "hybrid3")


def splade_strategies(names: Sequence[str]) -> list[str]:
    """The strategies among ``names`` whose ranking uses SPLADE (``splade``, ``hybrid_splade``, ``hybrid3`` …)."""
    return [n for n in names if any(part in n.lower() for part in _SPLADE_NAMES)]


def format_terms(pairs: Sequence[tuple[str, float]], top: int = 12) -> str:
    """``cancer 1.85 · lung 1.76 · …`` (the heaviest ``top``)."""
    return " · ".join(f"{term} {weight:.2f}" for term, weight in list(pairs)[:top])


def explanation_row(
    strategy: str, rank: int, why: SparseExplanation, bm25_terms: Sequence[str], query_words: set[str]
) -> dict[str, object]:
    """One table row: the shared SPLADE terms (by contribution; ``+`` marks an expansion the query does not
    spell), their share of the score, and BM25's exact matches."""
    shared = [
        (("+" if m.term.lstrip("#") not in query_words else "") + m.term, m.contribution) for m in why.shared
    ]
    return {
        "strategy": strategy,
        "rank": rank,
        "doc_id": why.doc_id,
        "SPLADE score": round(why.score, 3),
        "shared terms (query × doc weight)": format_terms(shared, 8) or "—",
        "expansions": sum(1 for t, _ in shared if t.startswith("+")),
        "BM25 exact matches": ", ".join(bm25_terms) or "—",
    }


def render_match_explanations(
    lists: Mapping[str, Sequence[tuple[str, float]]],
    docs: Mapping[str, tuple[str, str]],
    query: str,
    *,
    model: str = DEFAULT_SPARSE_MODEL,
    depth: int = EXPLAIN_DEPTH,
    key: str,
) -> None:
    """Under the ranked lists: why the top ``depth`` hits of each SPLADE strategy matched ``query``."""
    names = splade_strategies(list(lists))
    if not names or not query.strip():
        return
    with st.expander("Why these matched: SPLADE expansion terms and BM25 exact matches", expanded=False):
        try:
            encoder = sparse_encoder(model)
        except LabError as err:
            st.info(f"SPLADE explanations are not available: {err}")
            return
        words = {w.lower() for w in query.split()}
        first = explain_sparse_match(encoder, query, "", "", top=20)
        st.markdown(
            f"**Query terms and expansions** ({escape_md(model)}): {escape_md(format_terms(first.query_terms, 20))}"
        )
        rows = []
        for name in names:
            for rank, (doc_id, _score) in enumerate(list(lists[name])[:depth], start=1):
                title, text = docs.get(doc_id, ("", ""))
                full = f"{title} {text}".strip()
                why = explain_sparse_match(encoder, query, doc_id, full, top=20)
                rows.append(explanation_row(name, rank, why, lexical_matches(query, full), words))
        st.caption(
            "Shared terms: vocabulary terms both the query and the document activate, weighted query × document "
            "(their sum is the SPLADE score); **+** marks an expansion the query does not spell out. BM25 counts "
            "only the exact (stemmed) matches."
        )
        st.dataframe(pd.DataFrame(rows), hide_index=True, key=key)
