"""BM25 with bm25s (sparse-matrix scoring), optional stemming and stop-words."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.data import ChunkSpec
from core.retrieval.base import Corpus, Hits
from core.runtime import Reporter, report

__all__ = ["BM25Retriever", "BM25Spec"]


@dataclass(frozen=True)
class BM25Spec:
    """BM25 settings. ``stemmer``: a PyStemmer language or None; ``stopwords``: ``"en"`` or None;
    ``chunking``: index passages instead of whole documents (core.retrieval.passages)."""

    kind: str = "bm25"
    stemmer: str | None = "english"
    stopwords: str | None = "en"
    k1: float = 1.2
    b: float = 0.75
    method: str = "lucene"
    chunking: ChunkSpec | None = None

    @property
    def label(self) -> str:
        return "BM25" + (f" · {self.chunking.label}" if self.chunking else "")


class BM25Retriever:
    """Lexical retrieval; scores of documents sharing no term with the query are 0 and are not returned."""

    def __init__(self, corpus: Corpus, spec: BM25Spec = BM25Spec(), *, progress: Reporter | None = None):
        import bm25s
        from bm25s.tokenization import Tokenizer

        self.spec = spec
        self.name = spec.label
        self.corpus = corpus
        start = time.perf_counter()
        stemmer = None
        if spec.stemmer:
            import Stemmer

            stemmer = Stemmer.Stemmer(spec.stemmer).stemWord
        self._tokenizer = Tokenizer(stopwords=spec.stopwords or [], stemmer=stemmer)
        report(progress, "index", 0, len(corpus), "tokenising corpus")
        tokens = self._tokenizer.tokenize(
            list(corpus.texts), update_vocab=True, return_as="ids", show_progress=False
        )
        self._engine = bm25s.BM25(k1=spec.k1, b=spec.b, method=spec.method)
        self._engine.index(tokens, show_progress=False)
        self.index_s = time.perf_counter() - start
        report(progress, "index", len(corpus), len(corpus), f"BM25 index built in {self.index_s:.1f}s")

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for one query."""
        ids = self._tokenizer.tokenize([query], update_vocab=False, return_as="ids", show_progress=False)[0]
        if not ids:
            return np.zeros(len(self.corpus), dtype=np.float32)
        return self._engine.get_scores(ids)

    def search(self, queries: Sequence[str], k: int) -> list[Hits]:
        out = []
        n = len(self.corpus)
        for query in queries:
            scores = self.scores(query)
            kk = min(k, n)
            top = np.argpartition(-scores, kk - 1)[:kk] if kk < n else np.arange(n)
            top = top[np.argsort(-scores[top], kind="stable")]
            top = top[scores[top] > 0]
            out.append(Hits(tuple(self.corpus.doc_ids[i] for i in top), tuple(float(scores[i]) for i in top)))
        return out
