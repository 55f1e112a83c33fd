"""The retriever contract shared by every strategy."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["Corpus", "Hits", "Retriever", "results_to_run"]


@dataclass(frozen=True)
class Hits:
    """Ranked results of one query: document ids, best first, with their scores; for a strategy on
    passages, ``passage_ids`` names the passage that matched in each document (``<doc id>#p<n>``; ``""``
    for a document a hybrid found only on its whole-document side; None when nothing searched passages)."""

    doc_ids: tuple[str, ...]
    scores: tuple[float, ...]
    passage_ids: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return len(self.doc_ids)

    def top(self, k: int) -> Hits:
        passages = self.passage_ids[:k] if self.passage_ids is not None else None
        return Hits(self.doc_ids[:k], self.scores[:k], passages)

    def passage_of(self) -> dict[str, str]:
        """``{doc_id: matching passage id}`` (empty when the strategy searched whole documents)."""
        return dict(zip(self.doc_ids, self.passage_ids, strict=True)) if self.passage_ids is not None else {}


@dataclass(frozen=True, eq=False)
class Corpus:
    """What a retriever indexes: ids, texts (title + body) and a fingerprint of both; ``titles`` (when
    known) lets chunking put the title in front of every passage."""

    doc_ids: tuple[str, ...]
    texts: tuple[str, ...]
    fingerprint: str
    titles: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return len(self.doc_ids)

    @classmethod
    def from_dataset(cls, ds) -> Corpus:  # type: ignore[no-untyped-def]
        """Corpus of a :class:`core.data.RetrievalDataset`."""
        titles = tuple(str(t) for t in ds.corpus["title"].fillna(""))
        return cls(tuple(ds.doc_ids), tuple(ds.doc_texts()), ds.fingerprint, titles if any(titles) else None)

    def bodies(self) -> list[str]:
        """The texts without their titles (the texts themselves when titles are unknown)."""
        if self.titles is None:
            return list(self.texts)
        return [
            text[len(title) :].lstrip() if title and text.startswith(title) else text
            for title, text in zip(self.titles, self.texts, strict=True)
        ]

    @classmethod
    def from_texts(cls, doc_ids: Sequence[str], texts: Sequence[str]) -> Corpus:
        h = hashlib.sha256()
        for did, text in zip(doc_ids, texts, strict=True):
            h.update(f"{did}\x00{text}\x01".encode())
        return cls(tuple(doc_ids), tuple(texts), h.hexdigest()[:24])


@runtime_checkable
class Retriever(Protocol):
    """Every strategy answers ``search(queries, k)`` with one :class:`Hits` per query."""

    name: str
    index_s: float  # seconds spent building the index (0 when it came from a cache)

    def search(self, queries: Sequence[str], k: int) -> list[Hits]: ...


def results_to_run(query_ids: Sequence[str], hits: Sequence[Hits]) -> dict[str, dict[str, float]]:
    """``{query_id: {doc_id: score}}`` (the shape ranx and TREC files use)."""
    run: dict[str, dict[str, float]] = {}
    for qid, h in zip(query_ids, hits, strict=True):
        run[qid] = {d: float(s) for d, s in zip(h.doc_ids, h.scores, strict=True)}
    return run
