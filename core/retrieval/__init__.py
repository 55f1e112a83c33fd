"""Retrieval strategies behind one contract: ``search(queries, k) -> list[Hits]``.

Build them from frozen specs with :class:`RetrieverBuilder`::

    builder = RetrieverBuilder(Corpus.from_dataset(ds), ws)
    hits = builder.build(HybridSpec()).search(["what causes x?"], k=10)
"""

from core.retrieval.base import Corpus, Hits, Retriever, results_to_run
from core.retrieval.bm25 import BM25Retriever, BM25Spec
from core.retrieval.dense import DenseRetriever, DenseSpec, hnsw_recall
from core.retrieval.hybrid import HybridRetriever, HybridSpec, alpha_sweep, fuse_runs
from core.retrieval.rerank import CrossEncoderReranker, Reranker, RerankRetriever, RerankSpec
from core.retrieval.spec import RetrieverBuilder, StrategySpec, default_specs, spec_from_dict, spec_to_dict

__all__ = [
    "BM25Retriever",
    "BM25Spec",
    "Corpus",
    "CrossEncoderReranker",
    "DenseRetriever",
    "DenseSpec",
    "Hits",
    "HybridRetriever",
    "HybridSpec",
    "RerankRetriever",
    "RerankSpec",
    "Reranker",
    "Retriever",
    "RetrieverBuilder",
    "StrategySpec",
    "alpha_sweep",
    "default_specs",
    "fuse_runs",
    "hnsw_recall",
    "results_to_run",
    "spec_from_dict",
    "spec_to_dict",
]
