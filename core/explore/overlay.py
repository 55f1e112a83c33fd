"""Where a query lands on a retrieval corpus's map: the query itself (placed with the fitted projection),
its judged-relevant documents and the documents each retrieval strategy returned for it.

Documents outside the sampled points are placed on the map the same way as the query, so nothing a
strategy returned is missing from the picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.data import RetrievalDataset
from core.encoding import EmbeddingCache, Encoder, make_encoder
from core.explore.compute import model_location
from core.explore.projection import place
from core.explore.results import ExploreResult
from core.retrieval import BM25Spec, Corpus, DenseSpec, HybridSpec, RetrieverBuilder
from core.runtime import InvalidInput, NotFound, Reporter, Workspace, report

__all__ = ["OVERLAY_COLUMNS", "STRATEGIES", "query_overlay", "strategy_specs"]

STRATEGIES = ("bm25", "dense", "hybrid")
OVERLAY_COLUMNS = ["role", "id", "text", "strategy", "rank", "grade", "in_sample", "x", "y", "z"]


def strategy_specs(model: str, names: Sequence[str] = STRATEGIES) -> dict[str, Any]:
    """Specs of the strategies drawn on the map (dense and hybrid use the map's model)."""
    unknown = [n for n in names if n not in STRATEGIES]
    if unknown:
        raise InvalidInput(f"Unknown strategies {unknown}; choose from {', '.join(STRATEGIES)}.")
    dense = DenseSpec(model=model)
    every = {"bm25": BM25Spec(), "dense": dense, "hybrid": HybridSpec(dense=dense)}
    return {n: every[n] for n in names}


def query_overlay(
    ws: Workspace,
    result: ExploreResult,
    ds: RetrievalDataset,
    query_id: str,
    *,
    strategies: Sequence[str] = STRATEGIES,
    k: int = 10,
    encoder: Encoder | None = None,
    builder: Any | None = None,
    progress: Reporter | None = None,
) -> pd.DataFrame:
    """Rows (see ``OVERLAY_COLUMNS``): one ``query``, one ``relevant`` per judged-relevant document (with
    its grade) and one ``retrieved`` per (strategy, rank). ``in_sample`` tells whether the document is
    one of the map's points; the others were placed with the projection's ``transform``."""
    query_text, judged = _query_and_judgements(result, ds, query_id)
    relevant = {d: g for d, g in judged.items() if g > 0}
    reducer = result.reducer()
    if reducer is None:
        raise InvalidInput("This map has no stored projection to place the query on; compute it again.")
    if encoder is None:
        encoder = make_encoder(model_location(result.request.model, ws), ws)
    if builder is None:
        builder = RetrieverBuilder(
            Corpus.from_dataset(ds), ws, encoder_factory=lambda *_: encoder, progress=progress
        )
    specs = strategy_specs(result.request.model, strategies)
    retrieved = _retrieve(builder, specs, query_text, k, progress)
    texts = dict(zip(ds.corpus["doc_id"], ds.doc_texts(), strict=True))
    wanted = list(dict.fromkeys([*relevant, *(d for _, _, d in retrieved)]))
    query_xy, coords = _place_on_map(ws, result, ds, query_text, wanted, reducer, encoder, texts)
    axes = [a for a in ("x", "y", "z") if a in result.points.columns]
    on_map = set(result.points["id"])
    rows = [_row("query", query_id, query_text, None, None, None, False, query_xy, axes)]
    for did, grade in sorted(relevant.items(), key=lambda p: (-p[1], p[0])):
        rows.append(
            _row("relevant", did, texts.get(did, ""), None, None, grade, did in on_map, coords[did], axes)
        )
    for name, rank, did in retrieved:
        grade = relevant.get(did, judged.get(did))
        rows.append(
            _row("retrieved", did, texts.get(did, ""), name, rank, grade, did in on_map, coords[did], axes)
        )
    return pd.DataFrame(rows, columns=[c for c in OVERLAY_COLUMNS if c not in ("x", "y", "z")] + axes)


def _query_and_judgements(
    result: ExploreResult, ds: RetrievalDataset, query_id: str
) -> tuple[str, dict[str, int]]:
    """The query's text and its judgements (doc id -> grade) in the map's split."""
    if result.kind != "retrieval":
        raise InvalidInput("Query overlays need a retrieval dataset (corpus, queries and qrels).")
    if not isinstance(ds, RetrievalDataset):
        raise InvalidInput(f"{ds.name!r} is not a retrieval dataset.")
    found = ds.queries[ds.queries["query_id"] == query_id]
    if found.empty:
        raise NotFound(f"No query {query_id!r} in {ds.name!r}.")
    split = (result.request.splits or (ds.default_split,))[0]
    judged = ds.qrels_dict(split).get(query_id, {}) if split in ds.splits else {}
    return str(found["text"].iloc[0]), judged


def _retrieve(
    builder: Any, specs: dict[str, Any], query_text: str, k: int, progress: Reporter | None
) -> list[tuple[str, int, str]]:
    """``(strategy, rank, doc id)`` of each strategy's top ``k`` for the query."""
    retrieved: list[tuple[str, int, str]] = []
    for name, spec in specs.items():
        report(progress, "retrieve", 0, 1, f"{name}: top {k}")
        hits = builder.build(spec).search([query_text], k)[0]
        retrieved.extend((name, rank, did) for rank, did in enumerate(hits.doc_ids, start=1))
        report(progress, "retrieve", 1, 1, f"{name}: {len(hits)} documents")
    return retrieved


def _place_on_map(
    ws: Workspace,
    result: ExploreResult,
    ds: RetrievalDataset,
    query_text: str,
    doc_ids: list[str],
    reducer: Any,
    encoder: Encoder,
    texts: dict[str, str],
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The query's map position and each of ``doc_ids``' (a map point's own, else placed with the
    reducer together with the query)."""
    axes = [a for a in ("x", "y", "z") if a in result.points.columns]
    by_id = result.points.set_index("id")
    outside = [d for d in doc_ids if d not in by_id.index]
    coords = {d: by_id.loc[d, axes].to_numpy(dtype=np.float32) for d in doc_ids if d in by_id.index}
    vectors_to_place = [encoder.encode([query_text])]
    if outside:
        vectors_to_place.append(_doc_vectors(ws, result, ds, outside, encoder, texts))
    placed = place(reducer, np.vstack(vectors_to_place))
    for did, xy in zip(outside, placed[1:], strict=True):
        coords[did] = xy
    return placed[0], coords


def _row(
    role: str,
    id_: str,
    text: str,
    strategy: str | None,
    rank: int | None,
    grade: int | None,
    in_sample: bool,
    xy: np.ndarray,
    axes: list[str],
) -> dict[str, Any]:
    row = {
        "role": role,
        "id": id_,
        "text": text,
        "strategy": strategy,
        "rank": rank,
        "grade": grade,
        "in_sample": in_sample,
    }
    row.update({a: float(v) for a, v in zip(axes, xy, strict=True)})
    return row


def _doc_vectors(
    ws: Workspace,
    result: ExploreResult,
    ds: RetrievalDataset,
    doc_ids: list[str],
    encoder: Encoder,
    texts: dict[str, str],
) -> np.ndarray:
    """Vectors of documents that are not on the map: from the cached whole-corpus encoding when the map
    has one, else encoded now."""
    encoder_fp, texts_fp, rows = result.embedding_keys["a"]
    if texts_fp == ds.fingerprint and int(rows) == len(ds.corpus):
        full = EmbeddingCache(ws).get(encoder_fp, texts_fp, int(rows))
        if full is not None:
            position = {d: i for i, d in enumerate(ds.doc_ids)}
            return full[[position[d] for d in doc_ids]]
    return encoder.encode([texts[d] for d in doc_ids])
