"""Side-by-side ranked lists of the Compare page: how documents moved against a reference strategy,
relevance badges from the qrels, and snippets with the query's terms highlighted (stemmed as BM25 does)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from components import services
from components.compare_tables import WARN_COLOR
from components.match_explain import render_match_explanations
from components.text import escape_md
from core.models import DEFAULT_BI_ENCODER
from core.runtime import LabError

__all__ = [
    "chunking_of",
    "highlight_terms",
    "matched_passage_ids",
    "matched_passages",
    "movement",
    "query_terms",
    "ranked_lists_frame",
    "relevance_badge",
    "render_ranked_lists",
]


def movement(rank: int, reference_rank: int | None) -> str:
    """How a document moved against the reference column: ``↑3``, ``↓2``, ``=`` or ``new``."""
    if reference_rank is None:
        return "new"
    if rank == reference_rank:
        return "="
    return f"↑{reference_rank - rank}" if rank < reference_rank else f"↓{rank - reference_rank}"


def ranked_lists_frame(
    lists: Mapping[str, Sequence[tuple[str, float]]], qrels: Mapping[str, int], reference: str
) -> pd.DataFrame:
    """Long table ``strategy, rank, doc_id, score, relevance, move`` of the ranked lists of one query.
    ``relevance`` is the qrels grade (None: not judged); ``move`` is :func:`movement` against the
    ``reference`` strategy's list."""
    ref_rank = {doc: r for r, (doc, _) in enumerate(lists.get(reference, []), start=1)}
    rows = []
    for name, ranked in lists.items():
        for rank, (doc, score) in enumerate(ranked, start=1):
            rows.append(
                {
                    "strategy": name,
                    "rank": rank,
                    "doc_id": doc,
                    "score": float(score),
                    "relevance": qrels.get(doc),
                    "move": "" if name == reference else movement(rank, ref_rank.get(doc)),
                }
            )
    return pd.DataFrame(rows, columns=["strategy", "rank", "doc_id", "score", "relevance", "move"])


def chunking_of(spec: Mapping[str, Any]) -> tuple[dict[str, Any], str | None] | None:
    """The chunking of a strategy spec dict (its own, its dense or sparse part's, or its first stage's) and
    the model whose tokens cut it (None: the default bi-encoder); None when it runs on whole documents."""
    for part in (spec, spec.get("dense"), spec.get("sparse"), spec.get("first_stage")):
        if isinstance(part, Mapping) and part is not spec and part.get("kind") in ("hybrid", "rerank"):
            found = chunking_of(part)
            if found:
                return found
        elif isinstance(part, Mapping) and part.get("chunking"):
            model = part.get("model") or (spec.get("dense") or {}).get("model")
            return dict(part["chunking"]), model
    return None


def matched_passage_ids(extra: Mapping[str, Any], qid: str, doc_ids: Sequence[str]) -> list[str | None]:
    """The passage that matched for each of ``doc_ids`` (a strategy's ranked documents of query ``qid``), from
    the comparison's ``matched_passages`` (ranks 1..10); None where it is not recorded."""
    matched = (extra.get("matched_passages") or {}).get(qid) or []
    by_doc = {str(pid).rsplit("#p", 1)[0]: pid for pid in matched}
    return [by_doc.get(doc) for doc in doc_ids]


def matched_passages(
    report: Any, qid: str, lists: Mapping[str, Sequence[tuple[str, float]]]
) -> dict[str, dict[str, tuple[str, str]]]:
    """Per chunked strategy of ``report``: doc id -> (passage id, passage text) of the passage that matched
    query ``qid`` (the text cut again from the stored dataset; empty when it cannot be)."""
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for name, res in report.strategies.items():
        found = chunking_of(res.spec)
        if not found:
            continue
        chunking, model = found
        doc_ids = [doc for doc, _ in lists.get(name, [])]
        out[name] = {}
        for doc, pid in zip(doc_ids, matched_passage_ids(res.extra or {}, qid, doc_ids), strict=True):
            if pid is None:
                continue
            try:
                text = services.passage_text(report.dataset, chunking, model or DEFAULT_BI_ENCODER, doc, pid)
            except (LabError, OSError, ValueError, TypeError):
                text = ""
            out[name][doc] = (pid, text)
    return out


def relevance_badge(grade: Any) -> str:
    """A small coloured HTML badge for a qrels grade: green ``rel N``, red ``not rel``, grey ``unjudged``."""
    if grade is None or pd.isna(grade):
        color, text = "#9e9e9e", "unjudged"
    elif grade > 0:
        color, text = "#2e7d32", f"rel {int(grade)}"
    else:
        color, text = WARN_COLOR, "not rel"
    return (
        f"<span style='background:{color};color:white;border-radius:4px;padding:0 5px;"
        f"font-size:0.85em'>{text}</span>"
    )


_WORD = re.compile(r"\w+", re.UNICODE)


def _stem_fn():  # type: ignore[no-untyped-def]
    try:
        import Stemmer

        return Stemmer.Stemmer("english").stemWord
    except ImportError:  # pragma: no cover - PyStemmer is a requirement
        return lambda w: w


def query_terms(query: str) -> set[str]:
    """Stems of the query's words, stop-words and one-letter words left out."""
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    stem = _stem_fn()
    stop = set(STOPWORDS_EN_PLUS)
    return {stem(w) for w in (m.lower() for m in _WORD.findall(query)) if len(w) > 1 and w not in stop}


def highlight_terms(text: str, query: str, *, max_chars: int = 320) -> str:
    """HTML snippet of ``text`` around the first query term, with every word sharing a stem with the query
    wrapped in ``<mark>``; the text is escaped for HTML and Markdown alike (:func:`escape_md`: an image or
    link written in a document or query shows as text)."""
    terms = query_terms(query)
    stem = _stem_fn()
    matches = [m for m in _WORD.finditer(text) if stem(m.group().lower()) in terms]
    start = 0
    if len(text) > max_chars and matches:
        start = max(0, matches[0].start() - max_chars // 4)
        # begin at a word boundary
        space = text.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and start > 0 else start
    end = min(len(text), start + max_chars)
    parts, pos = [], start
    for m in matches:
        if m.start() < start or m.end() > end:
            continue
        parts.append(escape_md(text[pos : m.start()]))
        parts.append(f"<mark>{escape_md(m.group())}</mark>")
        pos = m.end()
    parts.append(escape_md(text[pos:end]))
    return ("… " if start > 0 else "") + "".join(parts) + (" …" if end < len(text) else "")


def render_ranked_lists(
    lists: Mapping[str, Sequence[tuple[str, float]]],
    qrels: Mapping[str, int],
    docs: Mapping[str, tuple[str, str]],
    query: str,
    reference: str,
    *,
    warned: set[str] | None = None,
    passages: Mapping[str, Mapping[str, tuple[str, str]]] | None = None,
    key: str,
) -> None:
    """One column per strategy: rank, score, relevance mark, movement against ``reference``, title and a
    snippet with the query's terms highlighted. ``passages``: per strategy, doc id -> (passage id, text) of
    the passage that matched (chunked strategies); its text is the snippet then."""
    frame = ranked_lists_frame(lists, qrels, reference)
    names = list(lists)
    if not names:
        st.info("No results.")
        return
    judged = bool(qrels)
    st.caption(
        "Relevance from the qrels: **rel N** relevant with grade N, **not rel** judged not relevant, "
        "**unjudged** not in the qrels. "
        f"Moves are against **{escape_md(reference)}**: ↑ higher, ↓ lower, **new** = not in its list."
        if judged
        else f"Free-text query: no relevance judgements. Moves are against **{escape_md(reference)}**."
    )
    cols = st.columns(len(names))
    for col, name in zip(cols, names, strict=True):
        sub = frame[frame["strategy"] == name]
        with col:
            head = f"**{'⚠ ' if warned and name in warned else ''}{escape_md(name)}**"
            if name != reference:
                moved = int((sub["move"] != "=").sum())
                head += f"  \n{moved} of {len(sub)} moved"
            st.markdown(head)
            for _, row in sub.iterrows():
                title, text = docs.get(row["doc_id"], ("", ""))
                mark = relevance_badge(row["relevance"])
                move = row["move"]
                move_html = f" <b>{escape_md(move)}</b>" if move and move != "=" else ""
                passage = (passages or {}).get(name, {}).get(row["doc_id"])
                body = highlight_terms(passage[1] if passage and passage[1] else text, query, max_chars=220)
                if passage:
                    number = int(str(passage[0]).rsplit("#p", 1)[-1]) + 1 if "#p" in str(passage[0]) else "?"
                    body = (
                        f"<span style='background:#4C78A8;color:white;border-radius:4px;padding:0 5px;"
                        f"font-size:0.85em'>passage {number}</span> {body}"
                    )
                title_html = (
                    highlight_terms(title, query, max_chars=120) if title else escape_md(row["doc_id"])
                )
                st.markdown(
                    f"<div style='font-size:0.85em;margin-bottom:0.6em'>"
                    f"<b>#{row['rank']}</b> {mark} <code>{row['score']:.3f}</code>{move_html}<br>"
                    f"<b>{title_html}</b> <span style='color:#888'>[{escape_md(row['doc_id'])}]</span><br>"
                    f"{body}</div>",
                    unsafe_allow_html=True,
                )
    render_match_explanations(lists, docs, query, key=f"{key}_why")
