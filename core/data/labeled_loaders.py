"""Labelled loaders: classification tables (one file, a folder of split files, or split → file), their
label names, the seeded stratified train/test split, and :func:`inspect_table` for choosing columns first.

A label cell holding a list (or a JSON list as text) makes the dataset multi-label; ``label_names.json``
beside a file maps label indices to names.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from core.data.datasets import LabeledDataset
from core.data.fields import (
    SPLIT_ALIASES,
    as_id,
    as_text,
    natural_key,
    pick_column,
    require,
    skipped_note,
    split_name,
)
from core.data.readers import Table, read_table, read_text
from core.runtime import DataImportError, InvalidInput

__all__ = ["TableInfo", "inspect_table", "load_classification"]

CLS_TEXT_COLS = ("text", "sentence", "content", "utterance", "query", "review", "document", "message")
CLS_LABEL_COLS = ("label_text", "label_name", "intent", "category", "class", "labels", "label", "target", "y")
CLS_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")


def _parse_labels(value: Any) -> list[str] | str | None:
    """A label cell: a scalar, a list (multi-label), or a JSON list written as text."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [as_id(v) for v in value if as_id(v)]
    if isinstance(value, float) and value != value:
        return None
    text = as_id(value)
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            return [as_id(v) for v in parsed if as_id(v)]
    return text or None


def _label_names_file(path: Path) -> list[str] | None:
    """Label names from ``label_names.json`` (or ``labels.json``) beside a file: a list, or index → name."""
    for cand in (path.parent / "label_names.json", path.parent / "labels.json"):
        if not cand.is_file():
            continue
        try:
            names = json.loads(read_text(cand))
        except json.JSONDecodeError as err:
            raise DataImportError(cand, f"invalid JSON ({err.msg})", err.lineno) from err
        if isinstance(names, list):
            return [str(n) for n in names]
        if isinstance(names, dict):
            return [str(names[k]) for k in sorted(names, key=lambda x: natural_key(str(x)))]
        raise DataImportError(cand, "expected a JSON list of label names (or an object index → name)")
    return None


@dataclass(frozen=True)
class TableInfo:
    """What a classification table looks like, to let the user pick columns before importing."""

    path: Path
    columns: tuple[str, ...]
    rows: int
    text_col: str | None  # best guess, None when not obvious
    label_col: str | None
    split_col: str | None
    preview: pd.DataFrame
    warnings: tuple[str, ...] = ()
    split_files: tuple[str, ...] = ()  # splits named by the files of a folder (empty for one file)


def _guess_text_col(table: Table) -> str | None:
    lower = {c.lower(): c for c in table.columns}
    return next((lower[c] for c in CLS_TEXT_COLS if c in lower), None)


def _guess_label_col(table: Table, text_col: str | None) -> str | None:
    lower = {c.lower(): c for c in table.columns if c != text_col}
    return next((lower[c] for c in CLS_LABEL_COLS if c in lower), None)


def inspect_table(path: Path | str, preview_rows: int = 20) -> TableInfo:
    """Columns, row count, guessed text / label / split columns and the first rows of a table (for a
    folder of split files: of its train file, else its first one)."""
    path = Path(path)
    if not path.exists():
        raise DataImportError(path, "file or folder not found")
    split_files: dict[str, Path] = {}
    if path.is_dir():
        split_files = _split_files(path)
        path = split_files.get("train") or next(iter(split_files.values()))
    table = read_table(path)
    if not table.records:
        raise table.error("no rows in file")
    text_col = _guess_text_col(table)
    split_col = next((c for c in table.columns if c.lower() == "split"), None)
    preview = pd.DataFrame([r.values for r in table.records[:preview_rows]], columns=table.columns)
    return TableInfo(
        Path(path),
        tuple(table.columns),
        len(table.records),
        text_col,
        _guess_label_col(table, text_col),
        split_col,
        preview,
        tuple(table.warnings),
        tuple(split_files),
    )


def _label_columns(
    table: Table, text_col: str | None, label_col: str | None, split_col: str | None, want_split: bool
) -> tuple[str, str, str | None]:
    """The text, label and (when ``want_split``) split columns of a table: asked for, else guessed."""
    tcol = pick_column(table, text_col, CLS_TEXT_COLS, "text")
    if label_col is None and _guess_label_col(table, tcol) is None:
        raise table.column_error(
            f"cannot tell which column holds the label; choose one (columns: {', '.join(table.columns)})"
        )
    lcol = pick_column(table, label_col, tuple(c for c in CLS_LABEL_COLS if c != tcol.lower()), "label")
    if lcol == tcol:
        raise table.column_error(f"the text and the label cannot both be column {tcol!r}")
    scol = None
    if want_split:
        if split_col:
            scol = pick_column(table, split_col, (), "split")
        else:
            scol = next((c for c in table.columns if c.lower() == "split"), None)
    return tcol, lcol, scol


def _read_labeled_file(
    path: Path,
    split: str | None,
    text_col: str | None,
    label_col: str | None,
    split_col: str | None,
    use_split_col: bool,
    warnings: list[str],
) -> tuple[list[dict[str, Any]], str, str]:
    table = read_table(path)
    warnings.extend(table.warnings)
    if not table.records:
        raise table.error("no rows in file")
    tcol, lcol, scol = _label_columns(table, text_col, label_col, split_col, split is None and use_split_col)
    names = _label_names_file(path)
    rows: list[dict[str, Any]] = []
    empty: list[int] = []
    for rec in table.records:
        text = as_text(require(table, rec, tcol))
        if not text:
            empty.append(rec.line)
            continue
        label = _parse_labels(require(table, rec, lcol))
        if label is None or label == []:
            raise table.error(f"missing label in column {lcol!r}", rec.line)
        if names is not None:
            label = _map_names(label, names, table, rec.line)
        row_split = split or (as_id(rec.values.get(scol)).lower() if scol else None)
        if scol and not row_split:
            raise table.error(f"no value in the split column {scol!r}", rec.line)
        rows.append(
            {
                "text": text,
                "label": label,
                "split": SPLIT_ALIASES.get(row_split, row_split) if row_split else None,
            }
        )
    if not rows:
        raise table.error(f"all {len(table.records)} rows have empty text; nothing to import")
    if empty:
        warnings.append(skipped_note(path.name, "row(s)", empty, table.row_word))
    return rows, tcol, lcol


def _map_names(label: list[str] | str, names: list[str], table: Table, line: int) -> list[str] | str:
    def one(v: str) -> str:
        if v.isdigit() and int(v) < len(names):
            return names[int(v)]
        if v in names:
            return v
        raise table.error(f"label {v!r} is neither an index into label_names.json nor a label name", line)

    return [one(v) for v in label] if isinstance(label, list) else one(label)


def _split_files(path: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for p in sorted(path.iterdir()):
        if not p.is_file() or p.name.startswith(".") or p.suffix.lower() not in CLS_SUFFIXES:
            continue
        split = split_name(p)
        if split not in ("train", "test", "validation"):
            continue
        if split in files:
            raise DataImportError(p, f"two files for split {split!r}: {files[split].name} and {p.name}")
        files[split] = p
    if not files:
        raise DataImportError(
            path, "no train / test / validation files (CSV, TSV, JSONL or Parquet) in folder"
        )
    return {split: files[split] for split in ("train", "validation", "test") if split in files}


def _source_files(source: Path | str | Mapping[str, Path | str]) -> dict[str, Path]:
    """Split → file of a source: a mapping as given, a folder's split files, or one file (split ``""``)."""
    if isinstance(source, Mapping):
        files = {SPLIT_ALIASES.get(k, k): Path(v) for k, v in source.items()}
        if not files:
            raise InvalidInput("no files given")
        return files
    path = Path(source)
    if not path.exists():
        raise DataImportError(path, "file or folder not found")
    return _split_files(path) if path.is_dir() else {"": path}


def _label_frame(rows: list[dict[str, Any]]) -> tuple[pd.DataFrame, bool, list[str]]:
    """The rows as a frame (``label`` as text, or ``labels`` lists when any cell is a list), whether it is
    multi-label, and its labels in natural order."""
    frame = pd.DataFrame(rows)
    multi = any(isinstance(v, list) for v in frame["label"])
    if multi:
        frame["labels"] = [v if isinstance(v, list) else [v] for v in frame["label"]]
        frame = frame.drop(columns=["label"])
        return frame, True, sorted({x for v in frame["labels"] for x in v}, key=natural_key)
    frame["label"] = frame["label"].astype(str)
    return frame, False, sorted(frame["label"].unique().tolist(), key=natural_key)


def load_classification(
    source: Path | str | Mapping[str, Path | str],
    *,
    name: str = "dataset",
    text_col: str | None = None,
    label_col: str | None = None,
    test_size: float = 0.2,
    seed: int = 42,
    split_col: str | None = None,
    make_split: bool = False,
) -> LabeledDataset:
    """Load a labelled table (or a folder with ``train`` / ``test`` / ``validation`` files, or a mapping
    of split → file).

    Splits come from the file names, else from a split column (``split_col``, default a column named
    ``split``); without either, or with ``make_split``, a stratified, seeded train/test split is made.
    A label cell holding a list (or a JSON list as text) makes the dataset multi-label.
    """
    if not 0.0 < float(test_size) < 1.0:
        raise InvalidInput(f"test size must be between 0 and 1 (exclusive), got {test_size}")
    warnings: list[str] = []
    files = _source_files(source)
    rows: list[dict[str, Any]] = []
    for split, path in files.items():
        file_split = (split or None) if not make_split else None
        part, text_col_used, label_col_used = _read_labeled_file(
            path, file_split, text_col, label_col, split_col, not make_split, warnings
        )
        text_col, label_col = text_col or text_col_used, label_col or label_col_used
        rows.extend(part)
    first = next(iter(files.values()))
    frame, multi, all_labels = _label_frame(rows)
    if len(all_labels) < 2:
        raise DataImportError(first, f"needs at least 2 distinct labels, found {all_labels}")
    if frame["split"].isna().all():
        frame["split"], stratified = _stratified_split(frame, multi, test_size, seed)
        how = "stratified" if stratified else "random (some labels have too few rows to stratify)"
        warnings.append(f"made a {how} {1 - test_size:.0%}/{test_size:.0%} train/test split (seed {seed})")
    names_file = _label_names_file(first)
    if names_file:
        all_labels = [n for n in names_file if n in set(all_labels)]
    return LabeledDataset(name, frame.reset_index(drop=True), tuple(all_labels), multi, tuple(warnings))


def _stratified_split(
    frame: pd.DataFrame, multi: bool, test_size: float, seed: int
) -> tuple[list[str], bool]:
    from sklearn.model_selection import train_test_split  # ~1 s to import; only this split needs it

    strat = frame["labels"].map(lambda v: v[0]) if multi else frame["label"]
    counts = Counter(strat)
    n_test = math.ceil(len(frame) * test_size)
    can_stratify = (
        all(c >= 2 for c in counts.values()) and len(counts) <= n_test and len(counts) <= len(frame) - n_test
    )
    idx = list(range(len(frame)))
    _train_idx, test_idx = train_test_split(
        idx, test_size=test_size, random_state=seed, stratify=strat if can_stratify else None
    )
    out = ["train"] * len(frame)
    for i in test_idx:
        out[i] = "test"
    return out, can_stratify
