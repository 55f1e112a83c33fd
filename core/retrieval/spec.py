"""Strategy specs (frozen, serialisable) and the builder that turns them into retrievers.

A spec is pure data: ``BM25Spec``, ``DenseSpec``, ``HybridSpec`` or ``RerankSpec`` (whose first stage is
any of the others). :class:`RetrieverBuilder` builds retrievers for one corpus and shares the parts
(one BM25 index, one encoder and one set of corpus vectors per model) between strategies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from core.embeddings import EmbeddingCache, Encoder
from core.progress import ProgressFn
from core.retrieval.base import Corpus, Retriever
from core.retrieval.bm25 import BM25Retriever, BM25Spec
from core.retrieval.dense import DenseRetriever, DenseSpec
from core.retrieval.hybrid import HybridRetriever, HybridSpec
from core.retrieval.rerank import Reranker, RerankRetriever, RerankSpec
from core.store import Workspace

__all__ = ["RetrieverBuilder", "StrategySpec", "default_specs", "spec_from_dict", "spec_to_dict"]

StrategySpec = BM25Spec | DenseSpec | HybridSpec | RerankSpec
EncoderFactory = Callable[[str, str, int | None], Encoder]
RerankerFactory = Callable[..., Reranker]  # (name, batch_size, max_length[, backend])
_CLASSES = {"bm25": BM25Spec, "dense": DenseSpec, "hybrid": HybridSpec, "rerank": RerankSpec}


def spec_to_dict(spec: StrategySpec) -> dict[str, Any]:
    """A JSON-ready dict (nested specs included)."""
    return dataclasses.asdict(spec)


def spec_from_dict(data: dict[str, Any]) -> StrategySpec:
    """Inverse of :func:`spec_to_dict`; unknown keys are an error."""
    data = dict(data)
    kind = data.get("kind")
    if kind not in _CLASSES:
        raise ValueError(f"Unknown strategy kind {kind!r}: use one of {sorted(_CLASSES)}.")
    cls = _CLASSES[kind]
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"Unknown settings for {kind}: {sorted(unknown)}")
    if kind == "hybrid":
        data["sparse"] = spec_from_dict({"kind": "bm25", **data.get("sparse", {})})
        data["dense"] = spec_from_dict({"kind": "dense", **data.get("dense", {})})
    if kind == "rerank":
        data["first_stage"] = spec_from_dict(data.get("first_stage") or {"kind": "hybrid"})
    return cls(**data)


def default_specs(
    model: str = "all-MiniLM-L6-v2", reranker: str | None = None, *, tune_split: str | None = None
) -> dict[str, StrategySpec]:
    """The four standard strategies keyed by short name (``rerank`` only with a reranker)."""
    dense = DenseSpec(model=model)
    hybrid = HybridSpec(dense=dense, tune_split=tune_split)
    specs: dict[str, StrategySpec] = {"bm25": BM25Spec(), "dense": dense, "hybrid": hybrid}
    if reranker:
        specs["rerank"] = RerankSpec(first_stage=hybrid, reranker=reranker)
    return specs


def _default_encoder_factory(ws: Workspace | None) -> EncoderFactory:
    def make(model: str, backend: str, max_seq_length: int | None) -> Encoder:
        from core.embeddings import get_encoder

        return get_encoder(model, ws, backend=backend, max_seq_length=max_seq_length)

    return make


def _default_reranker_factory(ws: Workspace | None) -> RerankerFactory:
    def make(name: str, batch_size: int, max_length: int, backend: str = "torch") -> Reranker:
        from core.backends import make_backend_reranker

        return make_backend_reranker(name, ws, backend=backend, batch_size=batch_size, max_length=max_length)

    return make


class RetrieverBuilder:
    """Builds (and memoises) retrievers over one corpus."""

    def __init__(
        self,
        corpus: Corpus,
        ws: Workspace | None = None,
        *,
        encoder_factory: EncoderFactory | None = None,
        reranker_factory: RerankerFactory | None = None,
        progress: ProgressFn | None = None,
        use_cache: bool = True,
    ):
        self.corpus = corpus
        self.ws = ws
        self.progress = progress
        self.cache = EmbeddingCache(ws) if (ws is not None and use_cache) else None
        self._encoder_factory = encoder_factory or _default_encoder_factory(ws)
        self._reranker_factory = reranker_factory or _default_reranker_factory(ws)
        self._encoders: dict[tuple, Encoder] = {}
        self._rerankers: dict[tuple, Reranker] = {}
        self._built: dict[StrategySpec, Retriever] = {}

    def encoder(self, spec: DenseSpec) -> Encoder:
        key = (spec.model, spec.backend, spec.max_seq_length)
        if key not in self._encoders:
            self._encoders[key] = self._encoder_factory(*key)
        return self._encoders[key]

    def reranker(self, spec: RerankSpec) -> Reranker:
        key: tuple = (spec.reranker, spec.batch_size, spec.max_length)
        if spec.backend != "torch":  # factories written before backends take three arguments
            key = (*key, spec.backend)
        if key not in self._rerankers:
            if not spec.reranker:
                raise ValueError(
                    "The rerank strategy needs a cross-encoder: give --reranker (a folder, a trained model or a hub id)."
                )
            self._rerankers[key] = self._reranker_factory(*key)
        return self._rerankers[key]

    def build(self, spec: StrategySpec) -> Retriever:
        if spec in self._built:
            return self._built[spec]
        if isinstance(spec, BM25Spec):
            retriever: Retriever = BM25Retriever(self.corpus, spec, progress=self.progress)
        elif isinstance(spec, DenseSpec):
            retriever = DenseRetriever(
                self.corpus, self.encoder(spec), spec, cache=self.cache, progress=self.progress
            )
        elif isinstance(spec, HybridSpec):
            retriever = HybridRetriever(self.build(spec.sparse), self.build(spec.dense), spec)
        elif isinstance(spec, RerankSpec):
            retriever = RerankRetriever(self.build(spec.first_stage), self.reranker(spec), self.corpus, spec)
        else:  # pragma: no cover - guarded by the type
            raise TypeError(f"Not a strategy spec: {spec!r}")
        self._built[spec] = retriever
        return retriever
