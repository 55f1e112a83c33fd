"""Labelled loaders: classification tables (one file, a folder of split files, or split → file), their
label names, the seeded stratified train/test split, and :func:`inspect_table` for choosing columns first.

A label cell holding a list (or a JSON list as text) makes the dataset multi-label; ``label_names.json``
beside a file maps label indices to names.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from core.data.datasets import LabeledDataset
from core.data.fields import (
    KNOWN_SPLITS,
    CellTypeError,
    as_id,
    cell_text,
    check_split,
    natural_key,
    normal_split,
    pick_column,
    require,
    shown_columns,
    skipped_note,
    split_name,
)
from core.data.readers import Record, Table, parse_json, read_table, read_text
from core.runtime import DataImportError, InvalidInput, user_path_kind

__all__ = ["TableInfo", "inspect_table", "load_classification"]

CLS_TEXT_COLS = ("text", "sentence", "content", "utterance", "query", "review", "document", "message")
CLS_LABEL_COLS = ("label_text", "label_name", "intent", "category", "class", "labels", "label", "target", "y")
CLS_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")


def _parse_labels(value: Any) -> list[str] | str | None:
    """A label cell: a scalar, a list (multi-label), or a JSON list written as text. Raises
    :class:`CellTypeError` for objects, binary data and lists of lists."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [label for label in map(_one_label, value) if label]
    text = as_id(value)
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, list):
            return [label for label in map(_one_label, parsed) if label]
    return text or None


def _one_label(value: Any) -> str:
    """One label of a list: a scalar (booleans written as True / False)."""
    return str(value) if isinstance(value, bool) else as_id(value)


def _label_names_file(path: Path) -> list[str] | None:
    """Label names from ``label_names.json`` (or ``labels.json``) beside a file: a list, or index → name."""
    for cand in (path.parent / "label_names.json", path.parent / "labels.json"):
        if user_path_kind(cand) == "missing":
            continue
        names = parse_json(cand, read_text(cand))
        try:
            if isinstance(names, list):
                return [as_id(n) for n in names]
            if isinstance(names, dict):
                return [as_id(names[k]) for k in sorted(names, key=lambda x: natural_key(str(x)))]
        except CellTypeError as err:
            raise DataImportError(cand, f"a label name is {err}, not text") from None
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
    folder of split files: of its train file, else its first one). Reads the file once, keeping only
    the preview."""
    path = Path(path)
    kind = user_path_kind(path)
    if kind == "missing":
        raise DataImportError(path, "file or folder not found")
    split_files: dict[str, Path] = {}
    if kind == "dir":
        split_files = _split_files(path)
        path = split_files.get("train") or next(iter(split_files.values()))
    with read_table(path) as table:
        first = [r.values for r in itertools.islice(table, preview_rows)]
        rows = len(first) + sum(1 for _ in table)
        if not rows:
            raise table.error("no rows in file")
    text_col = _guess_text_col(table)
    split_col = next((c for c in table.columns if c.lower() == "split"), None)
    return TableInfo(
        Path(path),
        tuple(table.columns),
        rows,
        text_col,
        _guess_label_col(table, text_col),
        split_col,
        pd.DataFrame(first, columns=table.columns),
        tuple(table.warnings),
        tuple(split_files),
    )


@dataclass(frozen=True)
class _Choice:
    """How to read labelled files: the columns asked for (None: guessed) and the split rules."""

    text_col: str | None = None
    label_col: str | None = None
    split_col: str | None = None
    use_split_col: bool = True  # False with make_split: the split column is ignored
    custom_splits: bool = False


def _label_columns(table: Table, choice: _Choice, want_split: bool) -> tuple[str, str, str | None]:
    """The text, label and (when ``want_split``) split columns of a table: asked for, else guessed."""
    tcol = pick_column(table, choice.text_col, CLS_TEXT_COLS, "text")
    if choice.label_col is None and _guess_label_col(table, tcol) is None:
        raise table.column_error(
            f"cannot tell which column holds the label; choose one (columns: {shown_columns(table.columns)})"
        )
    lcol = pick_column(
        table, choice.label_col, tuple(c for c in CLS_LABEL_COLS if c != tcol.lower()), "label"
    )
    if lcol == tcol:
        raise table.column_error(f"the text and the label cannot both be column {tcol!r}")
    scol = None
    if want_split:
        if choice.split_col:
            scol = pick_column(table, choice.split_col, (), "split")
        else:
            scol = next((c for c in table.columns if c.lower() == "split"), None)
    return tcol, lcol, scol


def _row_label(table: Table, rec: Record, lcol: str, names: list[str] | None) -> list[str] | str:
    try:
        label = _parse_labels(require(table, rec, lcol))
    except CellTypeError as err:
        raise table.error(f"{lcol!r} holds {err}, not a label (or a list of labels)", rec.line) from None
    if label is None or label == []:
        raise table.error(f"missing label in column {lcol!r}", rec.line)
    return _map_names(label, names, table, rec.line) if names is not None else label


def _row_split(table: Table, rec: Record, scol: str, custom: bool) -> str:
    try:
        value = normal_split(as_id(rec.values.get(scol)))
    except CellTypeError as err:
        raise table.error(f"{scol!r} holds {err}, not a split name", rec.line) from None
    if not value:
        raise table.error(f"no value in the split column {scol!r}", rec.line)
    what = f"the split column {scol!r} holds"
    return check_split(
        value, custom=custom, file=table.path, what=what, line=rec.line, row_word=table.row_word
    )


def _read_labeled_file(
    path: Path, split: str | None, choice: _Choice, warnings: list[str]
) -> tuple[dict[str, list[Any]], str, str]:
    """The rows of one file as columns (text, label, split), streamed, and the text and label columns."""
    with read_table(path) as table:
        if not table.columns:
            raise table.error("no rows in file")
        tcol, lcol, scol = _label_columns(table, choice, split is None and choice.use_split_col)
        names = _label_names_file(path)
        rows: dict[str, list[Any]] = {"text": [], "label": [], "split": []}
        empty: list[int] = []
        for rec in table:
            text = cell_text(table, rec, tcol)
            if not text:
                empty.append(rec.line)
                continue
            label = _row_label(table, rec, lcol, names)
            rows["text"].append(text)
            rows["label"].append(label)
            rows["split"].append(
                split or (_row_split(table, rec, scol, choice.custom_splits) if scol else None)
            )
        if not table.count:
            raise table.error("no rows in file")
        if not rows["text"]:
            raise table.error(f"all {table.count} rows have empty text; nothing to import")
        warnings.extend(table.warnings)
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
        if p.name.startswith(".") or p.suffix.lower() not in CLS_SUFFIXES or p.is_dir():
            continue
        split = split_name(p)
        if split not in KNOWN_SPLITS:
            continue
        if split in files:
            raise DataImportError(p, f"two files for split {split!r}: {files[split].name} and {p.name}")
        files[split] = p
    if not files:
        raise DataImportError(
            path, "no train / test / validation files (CSV, TSV, JSONL or Parquet) in folder"
        )
    return {split: files[split] for split in KNOWN_SPLITS if split in files}


def _source_files(source: Path | str | Mapping[str, Path | str], custom: bool) -> dict[str, Path]:
    """Split → file of a source: a mapping as given, a folder's split files, or one file (split ``""``)."""
    if isinstance(source, Mapping):
        files: dict[str, Path] = {}
        for key, value in source.items():
            split = check_split(normal_split(str(key)), custom=custom, file=value, what="the split")
            if split in files:
                raise DataImportError(value, f"two files for split {split!r}")
            files[split] = Path(value)
        if not files:
            raise InvalidInput("no files given")
        return files
    path = Path(source)
    kind = user_path_kind(path)
    if kind == "missing":
        raise DataImportError(path, "file or folder not found")
    return _split_files(path) if kind == "dir" else {"": path}


def _label_frame(rows: dict[str, list[Any]]) -> tuple[pd.DataFrame, bool, list[str]]:
    """The rows as a frame (``label`` as text, or ``labels`` lists when any cell is a list), whether it is
    multi-label, and its labels in natural order."""
    labels = rows["label"]
    multi = any(isinstance(v, list) for v in labels)
    frame = pd.DataFrame({"text": rows["text"], "split": rows["split"]})
    if multi:
        frame["labels"] = [v if isinstance(v, list) else [v] for v in labels]
        return frame, True, sorted({x for v in frame["labels"] for x in v}, key=natural_key)
    frame.insert(1, "label", pd.Series(labels, dtype=str))
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
    custom_splits: bool = False,
) -> LabeledDataset:
    """Load a labelled table (or a folder with ``train`` / ``test`` / ``validation`` files, or a mapping
    of split → file).

    Splits come from the file names, else from a split column (``split_col``, default a column named
    ``split``; values other than train / validation (dev, val) / test are refused unless
    ``custom_splits``); without either, or with ``make_split``, a stratified, seeded train/test split is
    made. A label cell holding a list (or a JSON list as text) makes the dataset multi-label.
    """
    if not 0.0 < float(test_size) < 1.0:
        raise InvalidInput(f"test size must be between 0 and 1 (exclusive), got {test_size}")
    warnings: list[str] = []
    files = _source_files(source, custom_splits)
    rows: dict[str, list[Any]] = {"text": [], "label": [], "split": []}
    choice = _Choice(text_col, label_col, split_col, not make_split, custom_splits)
    for split, path in files.items():
        part, text_used, label_used = _read_labeled_file(
            path, (split or None) if not make_split else None, choice, warnings
        )
        choice = replace(
            choice, text_col=choice.text_col or text_used, label_col=choice.label_col or label_used
        )
        for key, values in part.items():
            rows[key].extend(values)
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
