"""Rows gathered into Arrow record batches of bounded size, handed to a sink as they fill: written to a
Parquet file batch by batch (imports into the workspace) or kept in memory (datasets loaded from a path).

This is what lets a corpus of millions of documents import with one batch of rows in memory at a time,
plus the id columns needed for the checks that span files (duplicates, qrels pointing nowhere).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_BATCH_ROWS",
    "BatchSink",
    "MemorySink",
    "ParquetSink",
    "RowBuffer",
    "first_duplicate",
    "schema_of",
]

MAX_BATCH_ROWS = 50_000
MAX_BATCH_BYTES = 32 * 2**20  # of text: long documents make small batches


def schema_of(*columns: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, dtype) for name, dtype in columns])


class BatchSink(Protocol):
    schema: pa.Schema

    def write(self, batch: pa.RecordBatch) -> None: ...

    def close(self) -> None: ...


class MemorySink:
    """Keeps the batches; :meth:`table` joins them (zero-copy)."""

    def __init__(self, schema: pa.Schema):
        self.schema = schema
        self._batches: list[pa.RecordBatch] = []

    def write(self, batch: pa.RecordBatch) -> None:
        self._batches.append(batch)

    def close(self) -> None:
        pass

    def table(self) -> pa.Table:
        return pa.Table.from_batches(self._batches, schema=self.schema)


class ParquetSink:
    """Writes each batch as a row group of one Parquet file (an empty file with the schema when none)."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.schema = schema
        self.path = path
        self._writer: pq.ParquetWriter | None = None

    def write(self, batch: pa.RecordBatch) -> None:
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self.schema)
        self._writer.write_batch(batch)

    def close(self) -> None:
        if self._writer is None:
            pq.write_table(self.schema.empty_table(), self.path)
        else:
            self._writer.close()
            self._writer = None

    def discard(self) -> None:
        """Close the file without finishing it (after a failure; the folder is removed by the caller)."""
        if self._writer is not None:
            with contextlib.suppress(OSError, pa.ArrowException):
                self._writer.close()
            self._writer = None


class RowBuffer:
    """Rows added one at a time (values in ``schema`` order), flushed to ``sink`` as record batches of at
    most :data:`MAX_BATCH_ROWS` rows or :data:`MAX_BATCH_BYTES` of text. Columns named in ``keep`` are
    also kept in memory (:meth:`kept`); columns not in the sink's schema are not written."""

    def __init__(self, schema: pa.Schema, sink: BatchSink, keep: Sequence[str] = ()):
        self.schema = schema
        self.sink = sink
        self.rows = 0
        self._keep = [schema.get_field_index(name) for name in keep]
        self._written = [schema.get_field_index(name) for name in sink.schema.names]
        self._columns: list[list[Any]] = [[] for _ in schema.names]
        self._kept: list[list[pa.Array]] = [[] for _ in self._keep]
        self._bytes = 0

    def add(self, values: Sequence[Any], nbytes: int = 0) -> None:
        for column, value in zip(self._columns, values, strict=True):
            column.append(value)
        self.rows += 1
        self._bytes += nbytes
        if len(self._columns[0]) >= MAX_BATCH_ROWS or self._bytes >= MAX_BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self._columns[0]:
            return
        arrays = [
            pa.array(col, type=field.type) for col, field in zip(self._columns, self.schema, strict=True)
        ]
        self.sink.write(
            pa.RecordBatch.from_arrays([arrays[i] for i in self._written], schema=self.sink.schema)
        )
        for kept, i in zip(self._kept, self._keep, strict=True):
            kept.append(arrays[i])
        self._columns = [[] for _ in self.schema.names]
        self._bytes = 0

    def close(self) -> None:
        self.flush()
        self.sink.close()

    def kept(self) -> pa.Table:
        """The kept columns of every row added (call after :meth:`close`)."""
        fields = [self.schema.field(i) for i in self._keep]
        return pa.table(
            [pa.chunked_array(chunks, type=f.type) for chunks, f in zip(self._kept, fields, strict=True)],
            schema=pa.schema(fields),
        )


def first_duplicate(table: pa.Table, keys: Sequence[str], line: str = "line") -> tuple[Any, int, int] | None:
    """The first row (in ``line`` order) whose ``keys`` repeat an earlier row's: ``(key, first line,
    line)``, or None. Vectorised when there is none (the usual case)."""
    if table.num_rows == 0 or table.group_by(list(keys)).aggregate([]).num_rows == table.num_rows:
        return None
    order = pc.sort_indices(table, sort_keys=[(line, "ascending")])
    table = table.take(order)
    columns = [table.column(k).to_pylist() for k in keys]
    seen: dict[Any, int] = {}
    for i, at in enumerate(table.column(line).to_pylist()):
        key = tuple(col[i] for col in columns) if len(columns) > 1 else columns[0][i]
        if key in seen:
            return key, seen[key], at
        seen[key] = at
    return None
