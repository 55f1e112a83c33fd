"""The builder that turns strategy specs into retrievers over one corpus, sharing the parts (one BM25 index,
one encoder and one set of corpus vectors per model, one set of passages per chunking and tokenizer, shared by
BM25, dense and hybrid on them) between strategies."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from core.data import ChunkSpec
from core.encoding import EmbeddingCache, Encoder, make_encoder
from core.retrieval.base import Corpus, Retriever
from core.retrieval.bm25 import BM25Retriever, BM25Spec
from core.retrieval.dense import DenseRetriever, DenseSpec
from core.retrieval.hybrid import HybridRetriever, HybridSpec
from core.retrieval.index_store import IndexStore
from core.retrieval.passages import (
    PassageRetriever,
    PassageSet,
    chunkings,
    load_tokenizer,
    make_passage_set,
    resolve_chunking,
)
from core.retrieval.rerank import Reranker, RerankRetriever, RerankSpec, make_reranker
from core.retrieval.sparse import SparseCache, SparseRetriever, SparseSpec, SpladeEncoder, make_sparse_encoder
from core.retrieval.spec import StrategySpec
from core.runtime import InvalidInput, Reporter, Workspace

__all__ = [
    "EncoderFactory",
    "RerankerFactory",
    "RetrieverBuilder",
    "SparseEncoderFactory",
    "TokenizerFactory",
    "describe_indexes",
]

EncoderFactory = Callable[[str, str, int | None], Encoder]
RerankerFactory = Callable[..., Reranker]  # (name, batch_size, max_length[, backend])
TokenizerFactory = Callable[[str], Any]  # model name -> a fast tokenizer (chunking)
SparseEncoderFactory = Callable[[str, int | None], SpladeEncoder]  # (SPLADE model, max_seq_length)


def _default_encoder_factory(ws: Workspace | None) -> EncoderFactory:
    def make(model: str, backend: str, max_seq_length: int | None) -> Encoder:
        return make_encoder(model, ws, backend=backend, max_seq_length=max_seq_length)

    return make


def _default_reranker_factory(ws: Workspace | None) -> RerankerFactory:
    def make(name: str, batch_size: int, max_length: int, backend: str = "torch") -> Reranker:
        return make_reranker(name, ws, backend=backend, batch_size=batch_size, max_length=max_length)

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
        tokenizer_factory: TokenizerFactory | None = None,
        sparse_encoder_factory: SparseEncoderFactory | None = None,
        progress: Reporter | None = None,
        use_cache: bool = True,
    ):
        self.corpus = corpus
        self.ws = ws
        self.progress = progress
        self.cache = EmbeddingCache(ws) if (ws is not None and use_cache) else None
        self.index_store = IndexStore(ws) if (ws is not None and use_cache) else None
        self.sparse_cache = SparseCache(ws) if (ws is not None and use_cache) else None
        self._sparse_encoder_factory = sparse_encoder_factory or (
            lambda name, limit: make_sparse_encoder(name, ws, limit)
        )
        self._sparse_encoders: dict[tuple, SpladeEncoder] = {}
        self._encoder_factory = encoder_factory or _default_encoder_factory(ws)
        self._reranker_factory = reranker_factory or _default_reranker_factory(ws)
        self._encoders: dict[tuple, Encoder] = {}
        self._rerankers: dict[tuple, Reranker] = {}
        self._built: dict[StrategySpec, Retriever] = {}
        self._tokenizer_factory = tokenizer_factory or (lambda name: load_tokenizer(name, ws))
        self._tokenizers: dict[str, Any] = {}
        self._passages: dict[str, PassageSet] = {}
        self._on_passages: dict[tuple, Retriever] = {}  # (spec without chunking, passages key) -> retriever

    def encoder(self, spec: DenseSpec) -> Encoder:
        key = (spec.model, spec.backend, spec.max_seq_length)
        if key not in self._encoders:
            self._encoders[key] = self._encoder_factory(*key)
        return self._encoders[key]

    def sparse_encoder(self, spec: SparseSpec) -> SpladeEncoder:
        """The SPLADE encoder of ``spec`` (loaded once per model and length)."""
        key = (spec.model, spec.max_seq_length)
        if key not in self._sparse_encoders:
            self._sparse_encoders[key] = self._sparse_encoder_factory(*key)
        return self._sparse_encoders[key]

    def _splade(self, corpus: Corpus, spec: SparseSpec) -> SparseRetriever:
        return SparseRetriever(
            corpus, spec, encoder=self.sparse_encoder(spec), cache=self.sparse_cache, progress=self.progress
        )

    def reranker(self, spec: RerankSpec) -> Reranker:
        key: tuple = (spec.reranker, spec.batch_size, spec.max_length)
        if spec.backend != "torch":  # factories written before backends take three arguments
            key = (*key, spec.backend)
        if key not in self._rerankers:
            if not spec.reranker:
                raise InvalidInput(
                    "The rerank strategy needs a cross-encoder: give --reranker (a folder, a trained model or a hub id)."
                )
            self._rerankers[key] = self._reranker_factory(*key)
        return self._rerankers[key]

    def tokenizer(self, name: str) -> Any:
        """The tokenizer of model ``name`` (loaded once; the model's weights are not loaded)."""
        if name not in self._tokenizers:
            self._tokenizers[name] = self._tokenizer_factory(name)
        return self._tokenizers[name]

    def passages(self, chunking: ChunkSpec) -> PassageSet:
        """The passages of the corpus cut as ``chunking`` says (its tokenizer named, see
        :func:`resolve_chunking`), cut once and shared by every strategy on them."""
        if not chunking.tokenizer:
            raise InvalidInput("Name the chunking's tokenizer (resolve_chunking) before cutting passages.")
        key = chunking.key()
        if key not in self._passages:
            tokenizer = self.tokenizer(chunking.tokenizer)
            self._passages[key] = make_passage_set(self.corpus, chunking, tokenizer, progress=self.progress)
        return self._passages[key]

    def build(self, spec: StrategySpec) -> Retriever:
        if spec in self._built:
            return self._built[spec]
        resolved = _resolve_chunking(spec)
        if resolved != spec:
            retriever: Retriever = self.build(resolved)
        elif isinstance(spec, (BM25Spec, DenseSpec, SparseSpec)) and spec.chunking is not None:
            retriever = self._on_passages_of(spec, spec.chunking)
        elif isinstance(spec, SparseSpec):
            retriever = self._splade(self.corpus, spec)
        elif isinstance(spec, BM25Spec):
            retriever = BM25Retriever(self.corpus, spec, store=self.index_store, progress=self.progress)
        elif isinstance(spec, DenseSpec):
            retriever = DenseRetriever(
                self.corpus,
                self.encoder(spec),
                spec,
                cache=self.cache,
                index_store=self.index_store,
                progress=self.progress,
            )
        elif isinstance(spec, HybridSpec):
            retriever = HybridRetriever(self.build(spec.sparse), self.build(spec.dense), spec)
        elif isinstance(spec, RerankSpec):
            retriever = RerankRetriever(
                self.build(spec.first_stage),
                self.reranker(spec),
                self.corpus,
                spec,
                passage_text=self._passage_text(spec.first_stage),
            )
        else:  # pragma: no cover - guarded by the type
            raise TypeError(f"Not a strategy spec: {spec!r}")
        self._built[spec] = retriever
        return retriever

    def _on_passages_of(
        self, spec: BM25Spec | DenseSpec | SparseSpec, chunking: ChunkSpec
    ) -> PassageRetriever:
        """A BM25, SPLADE or dense retriever over the passages, ranking documents; the passage index is shared by
        specs that differ only in how documents are scored from passages."""
        ps = self.passages(chunking)
        plain = dataclasses.replace(spec, chunking=None)
        key = (plain, chunking.key())
        if key not in self._on_passages:
            if isinstance(plain, BM25Spec):
                inner: Retriever = BM25Retriever(
                    ps.corpus, plain, store=self.index_store, progress=self.progress
                )
            elif isinstance(plain, SparseSpec):
                inner = self._splade(ps.corpus, plain)
            else:
                encoder = self.encoder(plain)
                inner = DenseRetriever(
                    ps.corpus,
                    encoder,
                    plain,
                    cache=self.cache,
                    index_store=self.index_store,
                    progress=self.progress,
                )
            self._on_passages[key] = inner
        return PassageRetriever(self._on_passages[key], ps, chunking, spec.label)

    def _passage_text(self, first_stage: StrategySpec) -> Callable[[str], str] | None:
        """How a reranker reads the passages of a first stage on passages (None on whole documents, or
        when its parts cut differently)."""
        keys = {c.key() for c in chunkings(first_stage) if c is not None}
        if len(keys) != 1:
            return None
        return self._passages[keys.pop()].text_of


def _resolve_chunking(spec: Any) -> Any:
    """:func:`resolve_chunking`, and a SPLADE part's passages cut with its own model's tokenizer."""
    if isinstance(spec, SparseSpec):
        if spec.chunking is None or spec.chunking.tokenizer:
            return spec
        return dataclasses.replace(spec, chunking=dataclasses.replace(spec.chunking, tokenizer=spec.model))
    return resolve_chunking(spec)


def _parts(retriever: Any) -> list[Any]:
    """The retrievers with an index inside a strategy: itself, a hybrid's two sides, a rerank's first stage."""
    if isinstance(retriever, HybridRetriever):
        return _parts(retriever.sparse) + _parts(retriever.dense)
    if isinstance(retriever, RerankRetriever):
        return _parts(retriever.first_stage)
    if isinstance(retriever, PassageRetriever):
        return _parts(retriever.inner)
    return [retriever]


def describe_indexes(retriever: Any, queries: Sequence[str], k: int = 10) -> tuple[dict[str, Any], list[str]]:
    """What a strategy's result says about its indexes (``extra`` entries and notes): for its BM25 index,
    whether it was loaded from the workspace; for its (first) dense index, the type chosen, its
    parameters and file, and an approximate index's recall@``k`` against exact on (a sample of) ``queries``."""
    extra: dict[str, Any] = {}
    notes: list[str] = []
    parts = _parts(retriever)
    described = [p.describe_index() for p in parts if isinstance(p, BM25Retriever)][:1]
    described += [p.describe_index() for p in parts if isinstance(p, SparseRetriever)][:1]
    described += [p.describe_index(queries, k) for p in parts if isinstance(p, DenseRetriever)][:1]
    for more, said in described:
        extra.update(more)
        notes.extend(said)
    return extra, notes
