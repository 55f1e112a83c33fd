"""Cells and columns of user tables: column picking, id / text / label / grade coercion, split names.

Shared by the retrieval and the labelled loaders; every problem is raised through the table, so the
message names the file and the line. Coercion is strict where a silent guess would corrupt data: a JSON
object, a list, binary data or true/false in a text or id field is refused (never stored as its Python
repr); invisible format characters (U+FEFF, zero-width spaces, direction marks) are removed from ids and
labels; relevance grades are whole numbers in the 32-bit range; split names are train, validation
(dev, val, valid) and test unless the caller asks for custom splits.
"""

from __future__ import annotations

import decimal
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.data.readers import Record, Table
from core.runtime import DataImportError

__all__ = [
    "KNOWN_SPLITS",
    "MAX_GRADE",
    "SPLIT_ALIASES",
    "as_grade",
    "as_id",
    "as_text",
    "cell_id",
    "cell_text",
    "check_split",
    "clean_id",
    "natural_key",
    "normal_split",
    "pick_column",
    "require",
    "shown_columns",
    "skipped_note",
    "split_name",
    "split_of_file",
]

KNOWN_SPLITS = ("train", "validation", "test")
SPLIT_ALIASES = {"dev": "validation", "val": "validation", "valid": "validation"}
MAX_GRADE = 2**31 - 1


class CellTypeError(TypeError):
    """A cell whose type cannot stand for text (``str(err)`` says what it is)."""


def shown_columns(columns: Sequence[str]) -> str:
    """Column names for a message; a name with invisible characters is quoted with them escaped."""
    return ", ".join(c if c.isprintable() else repr(c) for c in columns) or "none"


def pick_column(table: Table, wanted: str | None, candidates: Sequence[str], what: str) -> str:
    """Choose a column: the one asked for, else the first known name present."""
    lower = {c.lower(): c for c in table.columns}
    if wanted:
        if wanted in table.columns:
            return wanted
        if wanted.lower() in lower:
            return lower[wanted.lower()]
        raise table.column_error(f"missing column {wanted!r} (columns: {shown_columns(table.columns)})")
    for cand in candidates:
        if cand in lower:
            return lower[cand]
    raise table.column_error(
        f"missing {what} column: expected one of {', '.join(candidates[:5])} "
        f"(columns: {shown_columns(table.columns)})"
    )


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "binary data"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    return f"a {type(value).__name__} value"


def _scalar_text(value: Any) -> str:
    """A text-like cell as str: strings as they are, numbers written out; anything else refused."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return str(int(value))
    if isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:  # an int of more than 4,300 digits
            raise CellTypeError("a number too long to write out") from None
    raise CellTypeError(_kind(value))


def clean_id(text: str) -> str:
    """An id or label without invisible format characters (BOM, zero-width, direction marks), stripped."""
    if not text.isascii():
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return text.strip()


def as_id(value: Any) -> str:
    """An id (or label) cell as text (``3.0`` → ``"3"``; empty for a missing cell). Raises
    :class:`CellTypeError` for objects, lists, binary data and booleans."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return clean_id(_scalar_text(value))


def as_text(value: Any) -> str:
    """A text cell, stripped (empty for a missing cell). Raises :class:`CellTypeError` like :func:`as_id`."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return str(value)  # 3.0 stays "3.0" in a text
    return _scalar_text(value).strip()


def require(table: Table, rec: Record, column: str) -> Any:
    """The value of ``column`` in a record; a JSON record without the field is an error."""
    if column not in rec.values:
        raise table.error(f"missing field {column!r}", rec.line)
    return rec.values[column]


def _type_error(table: Table, rec: Record, column: str, err: CellTypeError) -> DataImportError:
    return table.error(
        f"{column!r} holds {err}, not text (objects, lists and binary values are refused, not converted)",
        rec.line,
    )


def cell_id(table: Table, rec: Record, column: str) -> str:
    """The id in ``column`` of a record (the field is required)."""
    try:
        return as_id(require(table, rec, column))
    except CellTypeError as err:
        raise _type_error(table, rec, column, err) from None


def cell_text(table: Table, rec: Record, column: str | None, *, required: bool = True) -> str:
    """The text in ``column`` of a record (``""`` when the column is None, or absent and not required)."""
    if column is None:
        return ""
    value = require(table, rec, column) if required else rec.values.get(column)
    try:
        return as_text(value)
    except CellTypeError as err:
        raise _type_error(table, rec, column, err) from None


def as_grade(value: Any, table: Table, line: int) -> int:
    """A graded relevance score: a whole number in the 32-bit range."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise table.error(f"relevance score {_short(value)} is not a number", line)
    if isinstance(value, int):
        num: float | int = value
    else:
        try:
            num = float(str(value).strip())
        except ValueError:
            raise table.error(f"relevance score {_short(value)} is not a number", line) from None
        if num != num:
            raise table.error(f"relevance score {_short(value)} is not a number", line)
        if abs(num) <= MAX_GRADE and not num.is_integer():
            raise table.error(
                f"relevance score {_short(value)} is not a whole number (graded relevance: 0, 1, 2 …)", line
            )
    if abs(num) > MAX_GRADE:
        raise table.error(
            f"relevance score {_short(value)} is out of range (graded relevance is a small whole number: "
            "0, 1, 2 …)",
            line,
        )
    return int(num)


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "(a huge integer)"
    return text if len(text) <= 40 else text[:37] + "…'"


def skipped_note(file_name: str, what: str, lines: Sequence[int], row_word: str) -> str:
    """The warning for rows skipped because their text is empty (the first five lines named)."""
    where = ", ".join(f"{row_word} {n}" for n in lines[:5])
    return f"{file_name}: skipped {len(lines)} {what} with empty text ({where}" + (
        " …)" if len(lines) > 5 else ")"
    )


def natural_key(value: str) -> tuple:
    """Sort key that orders ``label2`` before ``label10``."""
    return tuple(int(p) if p.isdecimal() else p for p in re.split(r"(\d+)", value))


def split_of_file(file_name: str) -> str | None:
    """``train`` / ``validation`` / ``test`` when a file name names a split (``dev.tsv`` → validation)."""
    split = split_name(Path(file_name))
    return split if split in KNOWN_SPLITS else None


def split_name(path: Path) -> str:
    """The split a file's stem names, aliases resolved (``dev`` → ``validation``)."""
    return normal_split(path.stem)


def normal_split(name: str) -> str:
    """A split name, cleaned and lower-cased, aliases resolved (``Dev`` → ``validation``)."""
    stem = clean_id(name).lower()
    return SPLIT_ALIASES.get(stem, stem)


def check_split(
    split: str, *, custom: bool, file: Path | str, what: str, line: int | None = None, row_word: str = "line"
) -> str:
    """``split`` when it is train / validation / test (or any non-empty name, with ``custom``): a typo is
    refused rather than silently made into a split of its own. ``what`` says what named it."""
    if split in KNOWN_SPLITS or (custom and split):
        return split
    raise DataImportError(
        file,
        f"{what} {split!r} is not a split name: use train, validation (dev, val) or test, "
        "or allow custom splits (--custom-splits)",
        line,
        row_word=row_word,
    )
