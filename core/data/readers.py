"""Low-level readers for user files: streamed tables with line numbers, encoding fallback, bounded reads.

A :class:`Table` is read in one pass (``for rec in table``): CSV and TSV row by row, JSONL line by line,
Parquet row group by row group, so a corpus of millions of rows is never held as text, lines and records
at once. Files are opened with :func:`~core.runtime.open_user_file` (regular files only, every read
bounded by ``ESL_MAX_FILE_MB``). Every problem is raised as :class:`DataImportError` naming the file, the
line (or row) and the problem, so that the UI and the CLI can show one clear sentence.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from core.data.text import MAX_LINE_BYTES, decode_all, read_text, text_lines
from core.runtime import DataImportError, open_user_file

__all__ = [
    "MAX_LINE_BYTES",
    "TABLE_SUFFIXES",
    "Record",
    "Table",
    "parse_json",
    "read_table",
    "read_text",
]

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet", ".txt", ".trec", ".qrels")
PEEK_RECORDS = 1000  # JSONL columns are the keys of the first records
PARQUET_BATCH_ROWS = 10_000
csv.field_size_limit(MAX_LINE_BYTES)
_PARQUET_ERRORS = (pa.ArrowException, OSError, ValueError, TypeError, IndexError, KeyError)


@dataclass(slots=True)
class Record:
    """One row of a table and where it came from."""

    line: int
    values: dict[str, Any]


class Table:
    """A table being read: its columns, and its records in one pass (``for rec in table``).

    ``warnings`` fills while the records are read (a line that is not UTF-8 is found when it comes), so
    read it after the loop. Use it as a context manager (or call :meth:`close`) to close the file early.
    """

    def __init__(
        self,
        path: Path,
        columns: list[str],
        records: Iterator[Record],
        *,
        warnings: list[str] | None = None,
        row_word: str = "line",
        header_line: int | None = None,
        handle: io.BufferedReader | None = None,
    ):
        self.path = path
        self.columns = columns
        self.warnings = warnings if warnings is not None else []
        self.row_word = row_word
        self.header_line = header_line  # where a missing column is reported (header row, first record)
        self.count = 0  # records read so far
        self._records = records
        self._handle = handle
        self._stream = self._read()

    def __iter__(self) -> Iterator[Record]:
        return self._stream  # one pass: every iter() continues the same stream

    def _read(self) -> Iterator[Record]:
        try:
            for rec in self._records:
                self.count += 1
                yield rec
        finally:
            self.close()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def error(self, problem: str, line: int | None = None) -> DataImportError:
        return DataImportError(self.path, problem, line, row_word=self.row_word)

    def column_error(self, problem: str) -> DataImportError:
        """A problem with the columns, reported at the header row (or first record)."""
        return self.error(problem, self.header_line)


# -- tables -------------------------------------------------------------------------------------------------
def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    formats = {".jsonl": "jsonl", ".json": "json", ".parquet": "parquet", ".csv": "csv"}
    formats |= dict.fromkeys((".tsv", ".trec", ".qrels", ".txt"), "tsv")
    if suffix not in formats:
        raise DataImportError(
            path, f"unsupported file type {suffix or '(none)'}; use CSV, TSV, JSONL or Parquet"
        )
    return formats[suffix]


def read_table(path: Path | str, *, header: bool = True) -> Table:
    """Open a CSV / TSV / JSONL / JSON / Parquet file as a streamed :class:`Table` with line numbers.

    With ``header=False`` (TSV only) columns are named ``0, 1, 2 …`` and split on any whitespace.
    """
    path = Path(path)
    fmt = _format_of(path)
    fh = open_user_file(path)
    try:
        if fmt == "parquet":
            return _parquet_table(path, fh)
        warnings: list[str] = []
        if fmt == "json":
            return _json_table(path, fh, warnings)
        if fmt == "jsonl":
            return _jsonl_table(path, fh, text_lines(fh, path, warnings), warnings)
        if not header:
            return _whitespace_table(path, fh, text_lines(fh, path, warnings), warnings)
        return _delimited_table(path, fh, warnings, "\t" if fmt == "tsv" else ",")
    except BaseException:
        fh.close()
        raise


def _parquet_table(path: Path, fh: io.BufferedReader) -> Table:
    try:
        parquet = pq.ParquetFile(fh)
        names = [str(c) for c in parquet.schema_arrow.names]
    except _PARQUET_ERRORS as err:
        raise DataImportError(path, f"not a readable Parquet file ({err})") from None
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DataImportError(path, f"duplicate column names: {dupes}")
    return Table(path, names, _parquet_records(path, parquet), row_word="row", handle=fh)


def _parquet_records(path: Path, parquet: pq.ParquetFile) -> Iterator[Record]:
    row = 0
    batches = parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS)
    while True:
        try:
            batch = next(batches, None)
            rows = batch.to_pylist() if batch is not None else []
        except _PARQUET_ERRORS as err:
            raise DataImportError(path, f"not a readable Parquet file ({err})", row + 1) from None
        if batch is None:
            return
        for values in rows:
            row += 1
            yield Record(row, {str(k): _plain(v) for k, v in values.items()})


def _plain(value: Any) -> Any:
    """Missing values (None, NaN) → None; everything else as Arrow gives it (plain Python)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value


def parse_json(path: Path, text: str, line: int | None = None) -> Any:
    """One JSON value; every way it can fail (syntax, nesting 100,000 deep, a 5,000-digit number) is a
    DataImportError naming the file (and the line, for JSON lines)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        where = f" at column {err.colno}" if line is not None else ""
        raise DataImportError(path, f"invalid JSON ({err.msg}{where})", line or err.lineno) from None
    except RecursionError:
        raise DataImportError(path, "invalid JSON (nested too deeply)", line) from None
    except ValueError as err:  # e.g. an integer of more than 4,300 digits
        raise DataImportError(path, f"invalid JSON ({err})", line) from None


def _jsonl_records(path: Path, lines: Iterator[tuple[int, str]]) -> Iterator[Record]:
    for lineno, line in lines:
        if not line.strip():
            continue
        obj = parse_json(path, line, lineno)
        if not isinstance(obj, dict):
            raise DataImportError(path, f"expected a JSON object, found {type(obj).__name__}", lineno)
        yield Record(lineno, obj)


def _columns_of(records: list[Record]) -> list[str]:
    seen: dict[str, None] = {}
    for rec in records:
        for key in rec.values:
            seen.setdefault(str(key), None)
    return list(seen)


def _jsonl_table(
    path: Path, fh: io.BufferedReader, lines: Iterator[tuple[int, str]], warnings: list[str]
) -> Table:
    records = _jsonl_records(path, lines)
    head = list(itertools.islice(records, PEEK_RECORDS))
    return Table(
        path,
        _columns_of(head),
        itertools.chain(head, records),
        warnings=warnings,
        header_line=head[0].line if head else None,
        handle=fh,
    )


def _json_table(path: Path, fh: io.BufferedReader, warnings: list[str]) -> Table:
    """A ``.json`` file: a JSON list of objects (read whole: it is one value), else JSON lines."""
    first = fh.peek(64)[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not first.startswith(b"["):
        return _jsonl_table(path, fh, text_lines(fh, path, warnings), warnings)
    rows = parse_json(path, decode_all(path, fh.read(), warnings), None)
    fh.close()
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise DataImportError(path, "expected a list of JSON objects")
    records = [Record(i + 1, r) for i, r in enumerate(rows)]
    return Table(
        path,
        _columns_of(records[:PEEK_RECORDS]),
        iter(records),
        warnings=warnings,
        row_word="item",
        header_line=1 if records else None,
    )


# -- delimited text -----------------------------------------------------------------------------------------
def _csv_reader(fh: io.BufferedReader, path: Path, warnings: list[str], delimiter: str, quoting: int) -> Any:
    texts = (text for _, text in text_lines(fh, path, warnings))
    return csv.reader(texts, delimiter=delimiter, strict=True, quoting=quoting)


def _header(path: Path, reader: Any) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise DataImportError(path, "file is empty") from None
    except csv.Error as err:
        raise DataImportError(path, f"malformed header ({err})", 1) from None
    header = [h.strip() for h in header]
    if not any(header):
        raise DataImportError(path, "the header row is empty", 1)
    dupes = {h for h in header if header.count(h) > 1}
    if dupes:
        raise DataImportError(path, f"duplicate column names in header: {sorted(dupes)}", 1)
    return header


def _delimited_records(path: Path, reader: Any, header: list[str], delimiter: str) -> Iterator[Record]:
    sep = "tab" if delimiter == "\t" else repr(delimiter)
    start = reader.line_num + 1
    try:
        for row in reader:
            lineno, start = start, reader.line_num + 1
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(header):
                raise DataImportError(
                    path, f"expected {len(header)} fields ({sep}-separated), found {len(row)}", lineno
                )
            yield Record(lineno, dict(zip(header, row, strict=True)))
    except csv.Error as err:
        if "unexpected end of data" in str(err):
            raise DataImportError(
                path, "malformed row: a quoted field that starts here is never closed", start
            ) from None
        raise DataImportError(path, f"malformed row ({err})", reader.line_num) from None


def _scan_delimited(fh: io.BufferedReader, path: Path, delimiter: str, quoting: int) -> None:
    fh.seek(0)
    reader = _csv_reader(fh, path, [], delimiter, quoting)
    for _ in _delimited_records(path, reader, _header(path, reader), delimiter):
        pass


def _tsv_quoting(fh: io.BufferedReader, path: Path) -> int:
    """Plain TSV often has unbalanced quotes inside texts: when the file does not parse with CSV quoting,
    read it without quoting (one pass over the file to decide, nothing kept)."""
    try:
        _scan_delimited(fh, path, "\t", csv.QUOTE_MINIMAL)
        return csv.QUOTE_MINIMAL
    except DataImportError as first:
        try:
            _scan_delimited(fh, path, "\t", csv.QUOTE_NONE)
        except DataImportError:
            raise first from None
        return csv.QUOTE_NONE
    finally:
        fh.seek(0)


def _delimited_table(path: Path, fh: io.BufferedReader, warnings: list[str], delimiter: str) -> Table:
    quoting = _tsv_quoting(fh, path) if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = _csv_reader(fh, path, warnings, delimiter, quoting)
    header = _header(path, reader)
    records = _delimited_records(path, reader, header, delimiter)
    return Table(path, header, records, warnings=warnings, header_line=1, handle=fh)


def _whitespace_table(
    path: Path, fh: io.BufferedReader, lines: Iterator[tuple[int, str]], warnings: list[str]
) -> Table:
    split = ((lineno, line.split()) for lineno, line in lines)
    first = next(((n, parts) for n, parts in split if parts), None)
    width = len(first[1]) if first else 0

    def records() -> Iterator[Record]:
        for lineno, parts in itertools.chain([first] if first else [], split):
            if not parts:
                continue
            if len(parts) != width:
                raise DataImportError(path, f"expected {width} columns, found {len(parts)}", lineno)
            yield Record(lineno, {str(i): p for i, p in enumerate(parts)})

    return Table(path, [str(i) for i in range(width)], records(), warnings=warnings, handle=fh)
