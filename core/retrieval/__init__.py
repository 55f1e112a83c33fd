"""retrieval — first stages and rerankers behind one contract: ``search(queries, k) -> list[Hits]``.

BM25 (bm25s), dense (FAISS exact / HNSW, and PCA-reduced), hybrid fusion (ranx), cross-encoder reranking
(:func:`make_reranker`), strategies on passages ranking documents (:class:`PassageRetriever`, MaxP / sum of
top passages / first passage), the frozen strategy specs and the :class:`RetrieverBuilder` that turns specs
into retrievers sharing indexes, passages and vectors. Imports runtime, data, models and encoding.
"""

from core.retrieval.base import Corpus, Hits, Retriever, results_to_run
from core.retrieval.bm25 import BM25Retriever, BM25Spec
from core.retrieval.builder import EncoderFactory, RerankerFactory, RetrieverBuilder, TokenizerFactory
from core.retrieval.dense import DenseRetriever, DenseSpec, build_faiss_index, hnsw_recall
from core.retrieval.hybrid import HybridRetriever, HybridSpec, alpha_sweep, fuse_runs
from core.retrieval.passages import (
    PassageRetriever,
    PassageSet,
    aggregate_hits,
    chunkings,
    load_tokenizer,
    make_passage_set,
    resolve_chunking,
)
from core.retrieval.pca import PCADenseRetriever, fit_pca
from core.retrieval.rerank import (
    DEFAULT_RERANK_BATCH,
    DEFAULT_RERANK_DEPTH,
    DEFAULT_RERANK_MAX_LENGTH,
    CrossEncoderReranker,
    Reranker,
    RerankRetriever,
    RerankSpec,
    make_reranker,
)
from core.retrieval.spec import StrategySpec, backend_variants, default_specs, spec_from_dict, spec_to_dict

__all__ = [
    "DEFAULT_RERANK_BATCH",
    "DEFAULT_RERANK_DEPTH",
    "DEFAULT_RERANK_MAX_LENGTH",
    "BM25Retriever",
    "BM25Spec",
    "Corpus",
    "CrossEncoderReranker",
    "DenseRetriever",
    "DenseSpec",
    "EncoderFactory",
    "Hits",
    "HybridRetriever",
    "HybridSpec",
    "PCADenseRetriever",
    "PassageRetriever",
    "PassageSet",
    "RerankRetriever",
    "RerankSpec",
    "Reranker",
    "RerankerFactory",
    "Retriever",
    "RetrieverBuilder",
    "StrategySpec",
    "TokenizerFactory",
    "aggregate_hits",
    "alpha_sweep",
    "backend_variants",
    "build_faiss_index",
    "chunkings",
    "default_specs",
    "fit_pca",
    "fuse_runs",
    "hnsw_recall",
    "load_tokenizer",
    "make_passage_set",
    "make_reranker",
    "resolve_chunking",
    "results_to_run",
    "spec_from_dict",
    "spec_to_dict",
]
