"""What a built strategy says about itself, walking its parts (a hybrid's or fusion's sides, a reranker's
first stage, the retriever inside a strategy on passages): index build time, backend notes, its dense and
passage parts and how the corpus was cut."""

from __future__ import annotations

from typing import Any

from core.retrieval import (
    DenseRetriever,
    FusionRetriever,
    HybridRetriever,
    PassageRetriever,
    RerankRetriever,
    fused_parts,
)

__all__ = ["backend_notes", "dense_parts", "describe_passages", "index_seconds", "passage_parts"]


def index_seconds(retriever: Any) -> float:
    """Build time of a retriever including the indexes of its parts."""
    if isinstance(retriever, (HybridRetriever, FusionRetriever)):
        return sum(index_seconds(p) for p in fused_parts(retriever))
    if isinstance(retriever, RerankRetriever):
        return index_seconds(retriever.first_stage)
    return float(getattr(retriever, "index_s", 0.0))


def backend_notes(retriever: Any) -> list[str]:
    """Why an encoder or reranker runs on another backend than its spec asked for (core.encoding)."""
    if isinstance(retriever, PassageRetriever):
        return backend_notes(retriever.inner)
    if isinstance(retriever, (HybridRetriever, FusionRetriever)):  # BM25 sides have no encoder
        return [note for p in fused_parts(retriever) for note in backend_notes(p)]
    if isinstance(retriever, RerankRetriever):
        plan = getattr(retriever.reranker, "plan", None)
        return backend_notes(retriever.first_stage) + (
            [plan.reason] if plan is not None and plan.reason else []
        )
    plan = getattr(getattr(retriever, "encoder", None), "plan", None)
    return [plan.reason] if plan is not None and plan.reason else []


def dense_parts(retriever: Any) -> list[DenseRetriever]:
    """The dense retrievers inside a strategy (itself, a hybrid's dense side, a rerank's first stage)."""
    if isinstance(retriever, DenseRetriever):
        return [retriever]
    if isinstance(retriever, PassageRetriever):
        return dense_parts(retriever.inner)
    if isinstance(retriever, (HybridRetriever, FusionRetriever)):
        return [d for p in fused_parts(retriever) for d in dense_parts(p)]
    if isinstance(retriever, RerankRetriever):
        return dense_parts(retriever.first_stage)
    return []


def passage_parts(retriever: Any) -> list[PassageRetriever]:
    """The parts of a strategy that search passages."""
    if isinstance(retriever, PassageRetriever):
        return [retriever]
    if isinstance(retriever, (HybridRetriever, FusionRetriever)):
        return [q for p in fused_parts(retriever) for q in passage_parts(p)]
    if isinstance(retriever, RerankRetriever):
        return passage_parts(retriever.first_stage)
    return []


def describe_passages(retriever: Any, extra: dict[str, Any], notes: list[str]) -> None:
    """How the corpus was cut (``extra["passages"]``), and a note when passages are longer than the
    encoder reads."""
    parts = passage_parts(retriever)
    if not parts:
        return
    extra["passages"] = list({id(p.passages): p.passages.describe() for p in parts}.values())
    for part in parts:
        for dense in dense_parts(part):
            limit = getattr(dense.encoder, "max_seq_length", None)
            if limit and part.chunking.window > limit:
                notes.append(
                    f"passages of {part.chunking.window} tokens are cut at the encoder's max_seq_length "
                    f"{limit}: set --max-seq-length {part.chunking.window} to encode them whole"
                )
