"""Seeded samples of labelled data: N examples per class (nested across N for learning curves) and
stratified subsets of a split."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.data.datasets import LabeledDataset
from core.runtime import InvalidInput

__all__ = ["FewShotSample", "sample_per_class", "stratified_subset"]


@dataclass(frozen=True)
class FewShotSample:
    """N labelled examples per class drawn from the train split (``rows`` index that split)."""

    texts: tuple[str, ...]
    labels: tuple[Any, ...]  # a label name per text, or a tuple of names when multi-label
    rows: tuple[int, ...]
    n_per_class: int
    seed: int
    label_names: tuple[str, ...]
    multi_label: bool = False
    short_labels: tuple[str, ...] = ()  # labels with fewer than n_per_class training examples

    def __len__(self) -> int:
        return len(self.texts)

    def label_ids(self) -> list[int] | list[list[int]]:
        """Integer targets (or multi-hot rows when multi-label) in ``label_names`` order."""
        index = {name: i for i, name in enumerate(self.label_names)}
        if self.multi_label:
            out = []
            for labels in self.labels:
                row = [0] * len(self.label_names)
                for name in labels:
                    row[index[name]] = 1
                out.append(row)
            return out
        return [index[name] for name in self.labels]


def sample_per_class(
    ds: LabeledDataset, n_per_class: int, seed: int, *, split: str = "train"
) -> FewShotSample:
    """Draw ``n_per_class`` examples of every label from ``split``, seeded and stratified.

    For a given seed the samples are nested: the 8 examples of a class at N=8 are among its 16 at N=16,
    so a learning curve measures the effect of more labels, not of a different draw. Labels with fewer
    examples contribute all they have (listed in ``short_labels``). Multi-label rows count for every label
    they carry; a row is never drawn twice.
    """
    if n_per_class < 1:
        raise InvalidInput(f"n_per_class must be at least 1, got {n_per_class}")
    frame = ds.split(split)
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    taken: set[int] = set()
    short: list[str] = []
    if ds.multi_label:
        members: dict[str, list[int]] = {name: [] for name in ds.label_names}
        for i, labels in enumerate(frame["labels"]):
            for name in labels:
                members.setdefault(name, []).append(i)
    else:
        values = frame["label"].to_numpy()
        members = {name: np.flatnonzero(values == name).tolist() for name in ds.label_names}
    for name in ds.label_names:
        rows = np.asarray(members.get(name, []), dtype=np.int64)
        order = rng.permutation(rows) if len(rows) else rows
        have = sum(1 for r in order if int(r) in taken) if ds.multi_label else 0
        picked = 0
        for r in order:
            if have + picked >= n_per_class:
                break
            if int(r) in taken:
                continue
            taken.add(int(r))
            chosen.append(int(r))
            picked += 1
        if have + picked < n_per_class:
            short.append(name)
    mix = np.random.default_rng([seed, n_per_class]).permutation(len(chosen))
    rows_out = tuple(chosen[i] for i in mix)
    texts = frame["text"].to_numpy()
    if ds.multi_label:
        labels_out: tuple[Any, ...] = tuple(tuple(frame["labels"].iloc[r]) for r in rows_out)
    else:
        labels_out = tuple(str(frame["label"].iloc[r]) for r in rows_out)
    return FewShotSample(
        texts=tuple(str(texts[r]) for r in rows_out),
        labels=labels_out,
        rows=rows_out,
        n_per_class=n_per_class,
        seed=seed,
        label_names=tuple(ds.label_names),
        multi_label=ds.multi_label,
        short_labels=tuple(short),
    )


def stratified_subset(targets: Sequence[Any], limit: int | None, seed: int = 0) -> list[int]:
    """Row indices of a seeded, stratified subset of at most ``limit`` rows (all rows when ``limit`` is None)."""
    n = len(targets)
    if limit is None or limit >= n:
        return list(range(n))
    keys = [t[0] if isinstance(t, (list, tuple)) and t else t for t in targets]
    groups: dict[Any, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    rng = np.random.default_rng(seed)
    share = limit / n
    picked: list[int] = []
    for k in sorted(groups, key=str):
        rows = groups[k]
        take = max(1, round(len(rows) * share))
        picked.extend(int(r) for r in rng.permutation(rows)[:take])
    if len(picked) > limit:
        picked = [int(r) for r in rng.permutation(picked)[:limit]]
    return sorted(picked)
