"""The dataset types: :class:`RetrievalDataset` (corpus, queries, graded qrels per split) and
:class:`LabeledDataset` (texts with labels), and the summary shown after an import.

The loaders that build them live in :mod:`core.data.retrieval_loaders` and :mod:`core.data.labeled_loaders`.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd

from core.runtime import NotFound

__all__ = ["Dataset", "LabeledDataset", "RetrievalDataset", "dataset_summary", "retrieval_summary"]

_SPLIT_ORDER = {"train": 0, "validation": 1, "test": 2}


def _ordered_splits(values: Iterable[str]) -> list[str]:
    """Split names in the order train, validation, test, then any others alphabetically."""
    return sorted(values, key=lambda s: (_SPLIT_ORDER.get(s, 3), s))


@dataclass(frozen=True, eq=False)
class RetrievalDataset:
    """A corpus, its queries and graded relevance judgements per split."""

    name: str
    corpus: pd.DataFrame  # doc_id, title, text (all str)
    queries: pd.DataFrame  # query_id, text
    qrels: pd.DataFrame  # split, query_id, doc_id, score (int)
    warnings: tuple[str, ...] = ()
    kind: ClassVar[str] = "retrieval"

    @property
    def splits(self) -> list[str]:
        return _ordered_splits(self.qrels["split"].unique().tolist())

    @property
    def default_split(self) -> str:
        splits = self.splits
        return "test" if "test" in splits else splits[-1]

    def qrels_dict(self, split: str) -> dict[str, dict[str, int]]:
        """``{query_id: {doc_id: score}}`` for one split (all judged pairs, zeros included)."""
        self._check_split(split)
        sub = self.qrels[self.qrels["split"] == split]
        out: dict[str, dict[str, int]] = {}
        for qid, did, score in zip(sub["query_id"], sub["doc_id"], sub["score"], strict=True):
            out.setdefault(qid, {})[did] = int(score)
        return out

    def split_queries(self, split: str) -> pd.DataFrame:
        """The queries judged in ``split`` (``query_id``, ``text``), in file order."""
        self._check_split(split)
        judged = set(self.qrels.loc[self.qrels["split"] == split, "query_id"])
        return self.queries[self.queries["query_id"].isin(judged)].reset_index(drop=True)

    def _check_split(self, split: str) -> None:
        if split not in set(self.qrels["split"]):
            raise NotFound(f"Dataset {self.name!r} has no split {split!r}; it has {self.splits}.")

    @property
    def doc_ids(self) -> list[str]:
        return self.corpus["doc_id"].tolist()

    def doc_texts(self) -> list[str]:
        """Text used for indexing and encoding: title and body joined by a space (as BEIR and MTEB do)."""
        titles = self.corpus["title"].fillna("")
        texts = self.corpus["text"].fillna("")
        return [f"{t} {x}".strip() for t, x in zip(titles, texts, strict=True)]

    @functools.cached_property
    def fingerprint(self) -> str:
        """Hash of the corpus (ids and texts): changes whenever the indexed content would."""
        h = hashlib.sha256()
        for did, text in zip(self.corpus["doc_id"], self.doc_texts(), strict=True):
            h.update(did.encode())
            h.update(b"\x00")
            h.update(text.encode())
            h.update(b"\x01")
        return h.hexdigest()[:24]


@dataclass(frozen=True, eq=False)
class LabeledDataset:
    """Texts with one label each (or a list of labels, when ``multi_label``) and a split column."""

    name: str
    data: pd.DataFrame  # text, label (str) | labels (list[str]), split
    label_names: tuple[str, ...]
    multi_label: bool = False
    warnings: tuple[str, ...] = ()
    kind: ClassVar[str] = "classification"

    @property
    def splits(self) -> list[str]:
        return _ordered_splits(self.data["split"].unique().tolist())

    def split(self, name: str) -> pd.DataFrame:
        if name not in set(self.data["split"]):
            raise NotFound(f"Dataset {self.name!r} has no split {name!r}; it has {self.splits}.")
        return self.data[self.data["split"] == name].reset_index(drop=True)

    def texts(self, split: str) -> list[str]:
        return self.split(split)["text"].tolist()

    def targets(self, split: str) -> list[str] | list[list[str]]:
        """Labels of a split: a string per row, or a list of strings per row when multi-label."""
        frame = self.split(split)
        return [list(v) for v in frame["labels"]] if self.multi_label else frame["label"].tolist()

    @functools.cached_property
    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for text in self.data["text"]:
            h.update(text.encode())
            h.update(b"\x01")
        return h.hexdigest()[:24]


Dataset = RetrievalDataset | LabeledDataset


def retrieval_summary(name: str, documents: int, queries: int, qrels: pd.DataFrame) -> dict[str, Any]:
    """The import summary of a retrieval dataset from its counts and its qrels frame."""
    splits = {}
    for split in _ordered_splits(qrels["split"].unique().tolist()):
        sub = qrels[qrels["split"] == split]
        splits[split] = {"queries": int(sub["query_id"].nunique()), "qrels": len(sub)}
    return {
        "name": name,
        "kind": RetrievalDataset.kind,
        "documents": documents,
        "queries": queries,
        "qrels": len(qrels),
        "rows": None,
        "labels": None,
        "splits": splits,
    }


def dataset_summary(ds: Dataset) -> dict[str, Any]:
    """The import summary printed by the CLI and shown on the Data page."""
    if isinstance(ds, RetrievalDataset):
        return retrieval_summary(ds.name, len(ds.corpus), len(ds.queries), ds.qrels)
    counts = ds.data["split"].value_counts()
    return {
        "name": ds.name,
        "kind": ds.kind,
        "documents": None,
        "queries": None,
        "qrels": None,
        "rows": len(ds.data),
        "labels": len(ds.label_names),
        "splits": {s: {"rows": int(counts[s])} for s in ds.splits},
    }
