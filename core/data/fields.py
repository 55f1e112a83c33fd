"""Cells and columns of user tables: column picking, id / text / grade coercion, split names.

Shared by the retrieval and the labelled loaders; every problem is raised through the table, so the
message names the file and the line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.data.readers import Record, Table

__all__ = [
    "SPLIT_ALIASES",
    "as_grade",
    "as_id",
    "as_text",
    "natural_key",
    "pick_column",
    "require",
    "skipped_note",
    "split_name",
    "split_of_file",
]

SPLIT_ALIASES = {"dev": "validation", "val": "validation", "valid": "validation"}


def pick_column(table: Table, wanted: str | None, candidates: Sequence[str], what: str) -> str:
    """Choose a column: the one asked for, else the first known name present."""
    lower = {c.lower(): c for c in table.columns}
    if wanted:
        if wanted in table.columns:
            return wanted
        if wanted.lower() in lower:
            return lower[wanted.lower()]
        raise table.column_error(f"missing column {wanted!r} (columns: {', '.join(table.columns) or 'none'})")
    for cand in candidates:
        if cand in lower:
            return lower[cand]
    raise table.column_error(
        f"missing {what} column: expected one of {', '.join(candidates[:5])} "
        f"(columns: {', '.join(table.columns) or 'none'})"
    )


def as_id(value: Any) -> str:
    """An id cell as text (``3.0`` → ``"3"``; empty for a missing cell)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def require(table: Table, rec: Record, column: str) -> Any:
    """The value of ``column`` in a record; a JSON record without the field is an error."""
    if column not in rec.values:
        raise table.error(f"missing field {column!r}", rec.line)
    return rec.values[column]


def as_text(value: Any) -> str:
    """A text cell, stripped (empty for a missing cell)."""
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN
        return ""
    return str(value).strip()


def as_grade(value: Any, table: Table, line: int) -> int:
    """A graded relevance score: a whole number."""
    try:
        num = float(str(value).strip())
    except ValueError:
        raise table.error(f"relevance score {value!r} is not a number", line) from None
    if not num.is_integer():
        raise table.error(
            f"relevance score {value!r} is not a whole number (graded relevance: 0, 1, 2 …)", line
        )
    return int(num)


def skipped_note(file_name: str, what: str, lines: Sequence[int], row_word: str) -> str:
    """The warning for rows skipped because their text is empty (the first five lines named)."""
    where = ", ".join(f"{row_word} {n}" for n in lines[:5])
    return f"{file_name}: skipped {len(lines)} {what} with empty text ({where}" + (
        " …)" if len(lines) > 5 else ")"
    )


def natural_key(value: str) -> tuple:
    """Sort key that orders ``label2`` before ``label10``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", value))


def split_of_file(file_name: str) -> str | None:
    """``train`` / ``validation`` / ``test`` when a file name names a split (``dev.tsv`` → validation)."""
    split = split_name(Path(file_name))
    return split if split in ("train", "validation", "test") else None


def split_name(path: Path) -> str:
    """The split a file's stem names, aliases resolved (``dev`` → ``validation``)."""
    stem = path.stem.lower()
    return SPLIT_ALIASES.get(stem, stem)
