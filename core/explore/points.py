"""The points of a map: which texts of a dataset are shown, sampled (stratified by label / judged split)
down to ``max_points``, and how to get their vectors (:class:`PointSet`).

A retrieval corpus up to ``FULL_ENCODE_LIMIT`` documents is encoded whole under the same key the dense
retriever uses, so both share one encoding.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.data import Dataset, LabeledDataset, RetrievalDataset
from core.explore.settings import DEFAULT_MAX_POINTS
from core.runtime import NotFound

__all__ = [
    "FULL_ENCODE_LIMIT",
    "UNJUDGED",
    "PointSet",
    "dataset_points",
    "default_splits",
    "stratified_sample",
]

FULL_ENCODE_LIMIT = 50_000  # retrieval corpora up to this size are encoded whole (shared with retrieval)
UNJUDGED = "not judged"


def stratified_sample(
    groups: Sequence[Any], max_points: int, *, seed: int = 42, must_include: Sequence[int] = ()
) -> np.ndarray:
    """Sorted row indices: all rows when there are at most ``max_points``, else a seeded sample that keeps
    each group's share (largest-remainder rounding, at least one row per group when the budget allows).
    Rows in ``must_include`` are always taken (up to the budget) and count towards their group."""
    groups = np.asarray([str(g) for g in groups], dtype=object)
    n = len(groups)
    if n <= max_points:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    forced = np.unique(np.asarray(must_include, dtype=np.int64))[:max_points]
    chosen = set(forced.tolist())
    budget = max_points - len(forced)
    free = np.setdiff1d(np.arange(n), forced)
    if budget > 0 and len(free):
        keys, inverse = np.unique(groups[free], return_inverse=True)
        counts = np.bincount(inverse, minlength=len(keys))
        raw = counts * budget / counts.sum()
        quota = np.floor(raw).astype(np.int64)
        if budget >= len(keys):
            quota = np.maximum(quota, 1)
        quota = np.minimum(quota, counts)
        order = np.argsort(-(raw - np.floor(raw)), kind="stable")
        while quota.sum() < budget:  # hand out what rounding left, largest remainders first
            for g in order:
                if quota.sum() >= budget:
                    break
                if quota[g] < counts[g]:
                    quota[g] += 1
        while quota.sum() > budget:  # the one-per-group floor overshot: take from the largest quotas
            quota[int(np.argmax(quota))] -= 1
        for g in range(len(keys)):
            rows = free[inverse == g]
            chosen.update(rng.choice(rows, size=int(quota[g]), replace=False).tolist())
    return np.array(sorted(chosen), dtype=np.int64)


@dataclass(frozen=True, eq=False)
class PointSet:
    """The sampled points of a dataset and how to get their vectors.

    ``frame`` has ``id``, ``text``, ``split``, ``label`` (classification only) and ``row`` (index of the
    point in ``encode_texts``). ``total`` counts the points before sampling."""

    frame: pd.DataFrame
    kind: str
    total: int
    encode_texts: tuple[str, ...]
    encode_fingerprint: str
    notes: tuple[str, ...] = ()

    @property
    def has_labels(self) -> bool:
        return "label" in self.frame.columns

    @property
    def sample_fingerprint(self) -> str:
        h = hashlib.sha256()
        cols = [c for c in ("id", "label", "split", "row") if c in self.frame.columns]
        for values in zip(*(self.frame[c].astype(str) for c in cols), strict=True):
            h.update("\x00".join(values).encode())
            h.update(b"\x01")
        return h.hexdigest()[:24]


def _texts_fingerprint(texts: Sequence[str]) -> str:
    h = hashlib.sha256()
    for text in texts:
        h.update(text.encode())
        h.update(b"\x01")
    return h.hexdigest()[:24]


def default_splits(ds: Dataset) -> tuple[str, ...]:
    """Classification: the test split when there is one, else all; retrieval: the default qrels split."""
    if isinstance(ds, RetrievalDataset):
        return (ds.default_split,)
    return ("test",) if "test" in ds.splits else tuple(ds.splits)


def dataset_points(
    ds: Dataset, *, splits: Sequence[str] = (), max_points: int = DEFAULT_MAX_POINTS, seed: int = 42
) -> PointSet:
    """The points of ``ds`` shown on a map (see :class:`PointSet`)."""
    splits = tuple(splits) or default_splits(ds)
    if isinstance(ds, LabeledDataset):
        return _labeled_points(ds, splits, max_points, seed)
    return _retrieval_points(ds, splits[0], max_points, seed)


def _labeled_points(ds: LabeledDataset, splits: tuple[str, ...], max_points: int, seed: int) -> PointSet:
    frames = []
    for split in splits:
        part = ds.split(split)  # KeyError names the splits there are
        labels = [v[0] if v else "" for v in part["labels"]] if ds.multi_label else part["label"].tolist()
        frames.append(
            pd.DataFrame(
                {
                    "id": [f"{split}:{i}" for i in range(len(part))],
                    "text": part["text"].tolist(),
                    "label": [str(v) for v in labels],
                    "split": split,
                }
            )
        )
    full = pd.concat(frames, ignore_index=True)
    groups = full["split"] + "\x00" + full["label"]
    idx = stratified_sample(groups.tolist(), max_points, seed=seed)
    frame = full.iloc[idx].reset_index(drop=True)
    frame["row"] = np.arange(len(frame))
    texts = tuple(frame["text"].tolist())
    notes = []
    if ds.multi_label:
        notes.append("multi-label dataset: points are coloured and scored by their first label")
    return PointSet(frame, ds.kind, len(full), texts, _texts_fingerprint(texts), tuple(notes))


def _retrieval_points(ds: RetrievalDataset, split: str, max_points: int, seed: int) -> PointSet:
    if split not in ds.splits:
        raise NotFound(f"Dataset {ds.name!r} has no split {split!r}; it has {ds.splits}.")
    order = {s: i for i, s in enumerate(ds.splits)}
    relevant = ds.qrels[ds.qrels["score"] > 0]
    judged_in: dict[str, str] = {}
    for did, s in sorted(zip(relevant["doc_id"], relevant["split"], strict=True), key=lambda p: order[p[1]]):
        judged_in.setdefault(did, s)
    doc_ids = ds.doc_ids
    texts = ds.doc_texts()
    groups = [judged_in.get(d, UNJUDGED) for d in doc_ids]
    in_split = set(relevant.loc[relevant["split"] == split, "doc_id"])
    must = [i for i, d in enumerate(doc_ids) if d in in_split][: max_points // 2]
    idx = stratified_sample(groups, max_points, seed=seed, must_include=must)
    frame = pd.DataFrame(
        {
            "id": [doc_ids[i] for i in idx],
            "text": [texts[i] for i in idx],
            "split": [groups[i] for i in idx],
        }
    )
    if len(doc_ids) <= FULL_ENCODE_LIMIT:  # whole corpus: same cache entry as the dense retriever
        frame["row"] = idx
        return PointSet(frame, ds.kind, len(doc_ids), tuple(texts), ds.fingerprint)
    frame["row"] = np.arange(len(frame))
    sample_texts = tuple(frame["text"].tolist())
    return PointSet(frame, ds.kind, len(doc_ids), sample_texts, _texts_fingerprint(sample_texts))
