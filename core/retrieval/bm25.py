"""BM25 with bm25s (sparse-matrix scoring), optional stemming and stop-words. With an
:class:`~core.retrieval.index_store.IndexStore` the index (bm25s's arrays and the tokenizer's vocabulary) is
saved in the workspace, keyed by corpus fingerprint and BM25 settings, and loaded by the next build."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from core.data import ChunkSpec
from core.retrieval.base import Corpus, Hits
from core.retrieval.index_store import IndexStore, fingerprint
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
    """Lexical retrieval; scores of documents sharing no term with the query are 0 and are not returned.
    ``index_s``: seconds to build the index, or to load it when ``index_loaded`` (``built_s``: its build)."""

    def __init__(
        self,
        corpus: Corpus,
        spec: BM25Spec = BM25Spec(),
        *,
        store: IndexStore | None = None,
        progress: Reporter | None = None,
    ):
        self.spec = spec
        self.name = spec.label
        self.corpus = corpus
        start = time.perf_counter()
        self._tokenizer = self._new_tokenizer()
        key = fingerprint(corpus.fingerprint, len(corpus), dataclasses.asdict(spec), version("bm25s"))
        hit = store.load(key, "bm25", self._read) if store is not None else None
        self.index_loaded = hit is not None
        if hit is not None:
            self.index_s = time.perf_counter() - start
            self.built_s = float(hit[1].get("built_s", 0.0))
            report(progress, "index", len(corpus), len(corpus), f"BM25 index loaded in {self.index_s:.1f}s")
            return
        self._build(progress)
        self.index_s = self.built_s = time.perf_counter() - start
        if store is not None:
            store.save(
                key, "bm25", self._write, {"built_s": self.built_s, "documents": len(corpus)}, folder=True
            )
        report(progress, "index", len(corpus), len(corpus), f"BM25 index built in {self.index_s:.1f}s")

    def _new_tokenizer(self) -> Any:
        from bm25s.tokenization import Tokenizer

        stemmer = None
        if self.spec.stemmer:
            import Stemmer

            stemmer = Stemmer.Stemmer(self.spec.stemmer).stemWord
        return Tokenizer(stopwords=self.spec.stopwords or [], stemmer=stemmer)

    def _build(self, progress: Reporter | None) -> None:
        import bm25s

        report(progress, "index", 0, len(self.corpus), "tokenising corpus")
        tokens = self._tokenizer.tokenize(
            list(self.corpus.texts), update_vocab=True, return_as="ids", show_progress=False
        )
        self._engine = bm25s.BM25(k1=self.spec.k1, b=self.spec.b, method=self.spec.method)
        self._engine.index(tokens, show_progress=False)

    def _write(self, folder: Path) -> None:
        engine, vocab = self._engine, self._engine.vocab_dict
        engine.vocab_dict = {str(k): v for k, v in vocab.items()}  # token id -> column; JSON keys are text
        try:
            engine.save(str(folder), show_progress=False)
        finally:
            engine.vocab_dict = vocab
        self._tokenizer.save_vocab(str(folder))

    def _read(self, folder: Path) -> None:
        import bm25s

        engine = bm25s.BM25.load(str(folder), mmap=False, show_progress=False)
        if engine.scores["num_docs"] != len(self.corpus):
            raise ValueError("the saved index has another number of documents")
        engine.vocab_dict = {int(k): v for k, v in engine.vocab_dict.items()}
        self._tokenizer.load_vocab(str(folder))
        self._engine = engine

    def describe_index(self) -> tuple[dict[str, Any], list[str]]:
        """``extra`` entries and notes for a result: whether the index was loaded, its build time, its size in
        memory (``bm25_index_bytes``) and the texts it holds (``bm25_documents``)."""
        extra: dict[str, Any] = {"bm25_index_loaded": self.index_loaded, "bm25_built_s": self.built_s}
        scores = self._engine.scores  # the index: a documents x terms sparse matrix of BM25 weights
        extra["bm25_index_bytes"] = int(sum(scores[k].nbytes for k in ("data", "indices", "indptr")))
        extra["bm25_documents"] = len(self.corpus)
        if not self.index_loaded:
            return extra, []
        note = (
            f"BM25 index loaded from the workspace in {self.index_s:.1f}s (built in {self.built_s:.1f}s); "
            "the index time shows the load"
        )
        return extra, [note]

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
