"""Low-level readers for user files: encoding fallback, size limits, tables with line numbers, safe archives.

Every problem is raised as :class:`DataImportError` naming the file, the line (or row) and the problem,
so that the UI and the CLI can show one clear sentence.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from core.runtime import DataImportError, check_size

__all__ = [
    "TABLE_SUFFIXES",
    "Record",
    "Table",
    "read_table",
    "read_text",
]

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet", ".txt", ".trec", ".qrels")
csv.field_size_limit(1 << 30)


@dataclass
class Record:
    """One row of a table and where it came from."""

    line: int
    values: dict[str, Any]


@dataclass
class Table:
    path: Path
    columns: list[str]
    records: list[Record]
    warnings: list[str] = field(default_factory=list)
    row_word: str = "line"
    header_line: int | None = None  # where a missing column is reported (header row, first record)

    def error(self, problem: str, line: int | None = None) -> DataImportError:
        return DataImportError(self.path, problem, line, row_word=self.row_word)

    def column_error(self, problem: str) -> DataImportError:
        """A problem with the columns, reported at the header row (or first record)."""
        return self.error(problem, self.header_line)


def read_text(path: Path, warnings: list[str] | None = None) -> str:
    """Decode a text file: UTF-8 (a BOM is dropped), else Latin-1 with a warning."""
    if not path.exists():
        raise DataImportError(path, "file not found")
    if path.is_dir():
        raise DataImportError(path, "is a folder, not a file")
    check_size(path)
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as err:
            raise DataImportError(
                path, f"starts with a UTF-16 byte-order mark but is not valid UTF-16 ({err.reason})"
            ) from err
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise DataImportError(
            path,
            "contains a NUL byte: this is a binary file, not CSV, TSV or JSONL text",
            raw[:nul].count(b"\n") + 1,
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        msg = (
            f"{path.name}, line {line}: not valid UTF-8 (byte 0x{raw[err.start]:02x}); read the file as Latin-1 — "
            "check accented characters"
        )
        if warnings is not None:
            warnings.append(msg)
        return raw.decode("latin-1")


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        return "jsonl"
    if suffix == ".parquet":
        return "parquet"
    if suffix in (".tsv", ".trec", ".qrels", ".txt"):
        return "tsv"
    if suffix == ".csv":
        return "csv"
    raise DataImportError(path, f"unsupported file type {suffix or '(none)'}; use CSV, TSV, JSONL or Parquet")


def read_table(path: Path | str, *, header: bool = True) -> Table:
    """Read a CSV / TSV / JSONL / Parquet file into records with line numbers.

    With ``header=False`` (TSV only) columns are named ``0, 1, 2 …`` and split on any whitespace.
    """
    path = Path(path)
    fmt = _format_of(path)
    if fmt == "parquet":
        return _read_parquet(path)
    warnings: list[str] = []
    text = read_text(path, warnings)
    if fmt == "jsonl":
        table = _read_jsonl(path, text)
    elif header:
        table = _read_delimited(path, text, "\t" if fmt == "tsv" else ",")
    else:
        table = _read_whitespace(path, text)
    table.warnings = warnings + table.warnings
    return table


def _read_parquet(path: Path) -> Table:
    import pyarrow.parquet as pq

    check_size(path)
    try:
        frame = pq.read_table(path).to_pandas()
    except Exception as err:
        raise DataImportError(path, f"not a readable Parquet file ({err})") from err
    columns = [str(c) for c in frame.columns]
    records = [
        Record(i + 1, {str(k): _plain(v) for k, v in row.items()})
        for i, row in enumerate(frame.to_dict(orient="records"))
    ]
    return Table(path, columns, records, row_word="row")


def _plain(value: Any) -> Any:
    """numpy / pandas scalars and arrays → plain Python; missing values → None."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if value is None or (isinstance(value, float) and value != value):
        return None
    if not isinstance(value, (list, tuple, dict, str, int, float, bool)):
        try:
            if pd.isna(value):
                return None
        except (TypeError, ValueError):
            pass
    return value


def _read_jsonl(path: Path, text: str) -> Table:
    stripped = text.lstrip()
    if path.suffix.lower() == ".json" and stripped.startswith("["):
        try:
            rows = json.loads(stripped)
        except json.JSONDecodeError as err:
            raise DataImportError(path, f"invalid JSON ({err.msg})", err.lineno) from err
        if not all(isinstance(r, dict) for r in rows):
            raise DataImportError(path, "expected a list of JSON objects")
        records = [Record(i + 1, r) for i, r in enumerate(rows)]
        return Table(path, _columns_of(records), records, row_word="item", header_line=1 if records else None)
    records: list[Record] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataImportError(path, f"invalid JSON ({err.msg} at column {err.colno})", lineno) from err
        if not isinstance(obj, dict):
            raise DataImportError(path, f"expected a JSON object, found {type(obj).__name__}", lineno)
        records.append(Record(lineno, obj))
    return Table(path, _columns_of(records), records, header_line=records[0].line if records else None)


def _columns_of(records: list[Record]) -> list[str]:
    seen: dict[str, None] = {}
    for rec in records[:1000]:
        for key in rec.values:
            seen.setdefault(str(key), None)
    return list(seen)


def _read_delimited(path: Path, text: str, delimiter: str) -> Table:
    try:
        return _parse_delimited(path, text, delimiter, csv.QUOTE_MINIMAL)
    except DataImportError:
        if delimiter != "\t":
            raise
        # plain TSV often has unbalanced quotes inside texts: read it again without quoting
        try:
            return _parse_delimited(path, text, delimiter, csv.QUOTE_NONE)
        except DataImportError:
            pass
        raise


def _parse_delimited(path: Path, text: str, delimiter: str, quoting: int) -> Table:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True, quoting=quoting)
    sep = "tab" if delimiter == "\t" else repr(delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise DataImportError(path, "file is empty") from None
    except csv.Error as err:
        raise DataImportError(path, f"malformed header ({err})", 1) from err
    header = [h.strip() for h in header]
    if not any(header):
        raise DataImportError(path, "the header row is empty", 1)
    dupes = {h for h in header if header.count(h) > 1}
    if dupes:
        raise DataImportError(path, f"duplicate column names in header: {sorted(dupes)}", 1)
    records: list[Record] = []
    start = reader.line_num + 1
    try:
        for row in reader:
            lineno = start
            start = reader.line_num + 1
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(header):
                raise DataImportError(
                    path, f"expected {len(header)} fields ({sep}-separated), found {len(row)}", lineno
                )
            records.append(Record(lineno, dict(zip(header, row, strict=True))))
    except csv.Error as err:
        if "unexpected end of data" in str(err):
            raise DataImportError(
                path, "malformed row: a quoted field that starts here is never closed", start
            ) from err
        raise DataImportError(path, f"malformed row ({err})", reader.line_num) from err
    return Table(path, header, records, header_line=1)


def _read_whitespace(path: Path, text: str) -> Table:
    records = []
    width = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if width is None:
            width = len(parts)
        elif len(parts) != width:
            raise DataImportError(path, f"expected {width} columns, found {len(parts)}", lineno)
        records.append(Record(lineno, {str(i): p for i, p in enumerate(parts)}))
    return Table(path, [str(i) for i in range(width or 0)], records)
