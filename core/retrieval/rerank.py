"""Cross-encoder reranking of the top-k of any first stage."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from core.encoding import OnnxCrossEncoder, ensure_onnx_export, plan_backend
from core.models import DEFAULT_MAX_LENGTH, cross_encoder_head_is_trained, load_cross_encoder, resolve_model
from core.retrieval.base import Corpus, Hits, Retriever
from core.retrieval.bm25 import BM25Spec
from core.retrieval.dense import DenseSpec
from core.retrieval.hybrid import HybridSpec
from core.runtime import Workspace

__all__ = [
    "DEFAULT_RERANK_BATCH",
    "DEFAULT_RERANK_DEPTH",
    "DEFAULT_RERANK_MAX_LENGTH",
    "CrossEncoderReranker",
    "RerankRetriever",
    "RerankSpec",
    "Reranker",
    "make_reranker",
]

DEFAULT_RERANK_DEPTH = 50  # first-stage results the cross-encoder rescores
DEFAULT_RERANK_BATCH = 32
DEFAULT_RERANK_MAX_LENGTH = DEFAULT_MAX_LENGTH  # tokens of query and passage together


class Reranker(Protocol):
    """Scores (query, passage) pairs; higher is more relevant."""

    name: str
    head_trained: bool

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class RerankSpec:
    """Rescore the ``top_k`` of ``first_stage`` with the cross-encoder ``reranker``."""

    kind: str = "rerank"
    first_stage: BM25Spec | DenseSpec | HybridSpec = field(default_factory=HybridSpec)
    reranker: str = ""
    top_k: int = DEFAULT_RERANK_DEPTH
    batch_size: int = DEFAULT_RERANK_BATCH
    max_length: int = DEFAULT_RERANK_MAX_LENGTH
    backend: str = "torch"  # torch | onnx | onnx-int8 | bf16 (core.encoding)

    @property
    def label(self) -> str:
        name = self.reranker.rstrip("/").split("/")[-1] or "?"
        suffix = "" if self.backend == "torch" else f" [{self.backend}]"
        return f"{self.first_stage.label} → rerank@{self.top_k} ({name}){suffix}"


class CrossEncoderReranker:
    """A sentence-transformers ``CrossEncoder``; ``head_trained`` is False when its classification head
    was freshly initialised (a bi-encoder folder): such a reranker ranks at random."""

    def __init__(self, model: Any, name: str, head_trained: bool, batch_size: int = DEFAULT_RERANK_BATCH):
        self.model = model
        self.name = name
        self.head_trained = head_trained
        self.batch_size = batch_size

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray:
        if not passages:
            return np.zeros(0, dtype=np.float32)
        pairs = [(query, p) for p in passages]
        scores = self.model.predict(
            pairs, batch_size=self.batch_size, show_progress_bar=False, convert_to_numpy=True
        )
        return np.asarray(scores, dtype=np.float32).reshape(-1)


class RerankRetriever:
    """First stage to ``max(k, top_k)``, then the reranker orders the first ``top_k``; the rest follow in
    first-stage order (with scores below the reranked ones)."""

    def __init__(
        self,
        first_stage: Retriever,
        reranker: Reranker,
        corpus: Corpus,
        spec: RerankSpec,
        *,
        passage_text: Callable[[str], str] | None = None,
    ):
        self.first_stage = first_stage
        self.reranker = reranker
        self.spec = spec
        self.name = spec.label
        self.index_s = 0.0
        self._text = dict(zip(corpus.doc_ids, corpus.texts, strict=True))
        self._passage_text = passage_text  # a first stage on passages: the cross-encoder reads the match
        self.rerank_s = 0.0

    def _texts(self, hits: Hits, top: int) -> list[str]:
        passages = hits.passage_ids
        if self._passage_text is None or passages is None:
            return [self._text[d] for d in hits.doc_ids[:top]]
        return [
            self._passage_text(p) if p else self._text[d]
            for d, p in zip(hits.doc_ids[:top], passages[:top], strict=True)
        ]

    def search(self, queries: Sequence[str], k: int) -> list[Hits]:
        first = self.first_stage.search(queries, max(k, self.spec.top_k))
        out = []
        t0 = time.perf_counter()
        top = self.spec.top_k
        for query, hits in zip(queries, first, strict=True):
            scores = self.reranker.score(query, self._texts(hits, top))
            order = np.argsort(-scores, kind="stable")
            ids = [hits.doc_ids[i] for i in order]
            vals = [float(scores[i]) for i in order]
            floor = (min(vals) if vals else 0.0) - 1.0
            tail = hits.doc_ids[top:k]
            ids.extend(tail)
            vals.extend(floor - i * 1e-3 for i in range(len(tail)))
            passages = None
            if hits.passage_ids is not None:
                passages = tuple([hits.passage_ids[i] for i in order] + list(hits.passage_ids[top:k]))[:k]
            out.append(Hits(tuple(ids[:k]), tuple(vals[:k]), passages))
        self.rerank_s = time.perf_counter() - t0
        return out


def make_reranker(
    model: str,
    ws: Workspace | None = None,
    *,
    backend: str = "torch",
    batch_size: int = DEFAULT_RERANK_BATCH,
    max_length: int = DEFAULT_RERANK_MAX_LENGTH,
    device: str | None = None,
) -> Reranker:
    """A cross-encoder reranker (``score(query, passages)``) on ``backend``; ``plan`` as for encoders."""
    plan = plan_backend(backend, device)
    info = resolve_model(model, ws, kind="cross-encoder")
    trained = cross_encoder_head_is_trained(info.location)
    reranker: Any
    if plan.backend in ("onnx", "onnx-int8"):
        int8 = plan.backend == "onnx-int8"
        folder = ensure_onnx_export(model, ws, kind="cross-encoder", int8=int8)
        reranker = OnnxCrossEncoder(
            folder,
            name=info.name,
            head_trained=trained,
            int8=int8,
            batch_size=batch_size,
            max_length=max_length,
        )
    else:
        ce = load_cross_encoder(model, ws, device=plan.device, max_length=max_length)
        if plan.precision in ("bf16", "fp16"):
            import torch

            ce.to(torch.bfloat16 if plan.precision == "bf16" else torch.float16)
        reranker = CrossEncoderReranker(ce, info.name, trained, batch_size)
    reranker.plan = plan
    return reranker
