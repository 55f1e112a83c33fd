"""retrieval — first stages and rerankers behind one contract: ``search(queries, k) -> list[Hits]``.

BM25 (bm25s), learned sparse (SPLADE, sentence-transformers' SparseEncoder), dense (FAISS exact / HNSW / IVF chosen by corpus size, and PCA-reduced), hybrid fusion (ranx),
cross-encoder reranking (:func:`make_reranker`), strategies on passages ranking documents
(:class:`PassageRetriever`, MaxP / sum of top passages / first passage), the frozen strategy specs and the
:class:`RetrieverBuilder` that turns specs into retrievers sharing indexes, passages and vectors; BM25 and
FAISS indexes saved in the workspace (:class:`IndexStore`) and reused. Imports runtime, data, models and
encoding.
"""

from core.retrieval.ann import (
    AUTO_ANN,
    AUTO_EXACT_LIMIT,
    DEFAULT_RECALL_SAMPLE,
    INDEX_KINDS,
    SAVED_KINDS,
    IndexPlan,
    VectorSource,
    ann_recall,
    build_index,
    exact_top_k,
    load_or_build_index,
    plan_index,
)
from core.retrieval.base import Corpus, Hits, Retriever, results_to_run
from core.retrieval.bm25 import BM25Retriever, BM25Spec
from core.retrieval.builder import (
    EncoderFactory,
    RerankerFactory,
    RetrieverBuilder,
    SparseEncoderFactory,
    TokenizerFactory,
    describe_indexes,
)
from core.retrieval.dense import DenseRetriever, DenseSpec, build_faiss_index, hnsw_recall
from core.retrieval.hybrid import HybridRetriever, HybridSpec, alpha_sweep, fuse_runs
from core.retrieval.index_store import IndexStore
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
from core.retrieval.sparse import (
    SparseCache,
    SparseExplanation,
    SparseRetriever,
    SparseSpec,
    SpladeEncoder,
    TermMatch,
    make_sparse_encoder,
)
from core.retrieval.spec import StrategySpec, backend_variants, default_specs, spec_from_dict, spec_to_dict

__all__ = [
    "AUTO_ANN",
    "AUTO_EXACT_LIMIT",
    "DEFAULT_RECALL_SAMPLE",
    "DEFAULT_RERANK_BATCH",
    "DEFAULT_RERANK_DEPTH",
    "DEFAULT_RERANK_MAX_LENGTH",
    "INDEX_KINDS",
    "SAVED_KINDS",
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
    "IndexPlan",
    "IndexStore",
    "PCADenseRetriever",
    "PassageRetriever",
    "PassageSet",
    "RerankRetriever",
    "RerankSpec",
    "Reranker",
    "RerankerFactory",
    "Retriever",
    "RetrieverBuilder",
    "SparseCache",
    "SparseEncoderFactory",
    "SparseExplanation",
    "SparseRetriever",
    "SparseSpec",
    "SpladeEncoder",
    "StrategySpec",
    "TermMatch",
    "TokenizerFactory",
    "VectorSource",
    "aggregate_hits",
    "alpha_sweep",
    "ann_recall",
    "backend_variants",
    "build_faiss_index",
    "build_index",
    "chunkings",
    "default_specs",
    "describe_indexes",
    "exact_top_k",
    "fit_pca",
    "fuse_runs",
    "hnsw_recall",
    "load_or_build_index",
    "load_tokenizer",
    "make_passage_set",
    "make_reranker",
    "make_sparse_encoder",
    "plan_index",
    "resolve_chunking",
    "results_to_run",
    "spec_from_dict",
    "spec_to_dict",
]
