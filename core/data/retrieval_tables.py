"""The three files of a retrieval dataset, read row by row into batch sinks: the corpus, the queries and
the qrels, each validated as it streams (ids, texts, grades), with the checks that need the whole file
(duplicate ids) done on the id columns at the end.

Corpus and queries come as CSV, TSV, JSONL or Parquet; qrels also in TREC format (``qid 0 docid rel``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from core.data.batches import BatchSink, MemorySink, RowBuffer, first_duplicate, schema_of
from core.data.fields import as_grade, cell_id, cell_text, pick_column, require, skipped_note
from core.data.readers import Table, read_table
from core.runtime import DataImportError

__all__ = [
    "CORPUS_SCHEMA",
    "QRELS_SCHEMA",
    "QUERIES_SCHEMA",
    "FilePart",
    "read_corpus",
    "read_qrels",
    "read_queries",
]

DOC_ID_COLS = ("_id", "id", "doc_id", "docid", "corpus-id", "corpus_id", "pid", "did")
DOC_TEXT_COLS = ("text", "contents", "content", "body", "passage", "abstract", "document")
QUERY_ID_COLS = ("_id", "id", "query_id", "query-id", "qid", "queryid")
QUERY_TEXT_COLS = ("text", "query", "question", "title")
QREL_QID_COLS = ("query-id", "query_id", "qid", "queryid", "query")
QREL_DID_COLS = ("corpus-id", "corpus_id", "doc_id", "docid", "doc-id", "pid", "did", "document")
QREL_SCORE_COLS = ("score", "relevance", "rel", "label", "grade", "judgment")

STR = pa.large_string()
CORPUS_SCHEMA = schema_of(("doc_id", STR), ("title", STR), ("text", STR))
QUERIES_SCHEMA = schema_of(("query_id", STR), ("text", STR))
QRELS_SCHEMA = schema_of(("split", STR), ("query_id", STR), ("doc_id", STR), ("score", pa.int64()))
_LINE = ("line", pa.int64())


@dataclass
class FilePart:
    """What reading one file left: its id column(s) with lines, the ids skipped for empty text, and how
    its rows are counted in messages."""

    path: Path
    keys: pa.Table  # id column(s) and line of every row kept
    skipped: dict[str, int] = field(default_factory=dict)  # id → line of rows skipped (empty text)
    row_word: str = "line"

    @property
    def rows(self) -> int:
        return self.keys.num_rows


def _check_unique(table: Table, keys: pa.Table, skipped: dict[str, int], id_col: str, what: str) -> None:
    """Refuse a repeated id (kept or skipped rows alike), naming both lines."""
    if skipped:
        extra = pa.table(
            {id_col: pa.array(list(skipped), STR), "line": pa.array(list(skipped.values()), pa.int64())}
        )
        keys = pa.concat_tables([keys.select([id_col, "line"]), extra])
    dup = first_duplicate(keys, [id_col])
    if dup is not None:
        key, first, line = dup
        raise table.error(f"duplicate {what} id {key!r} (first on {table.row_word} {first})", line)


def _empty_file(table: Table, what: str) -> DataImportError:
    return table.error(f"no {what} in file")


def read_corpus(path: Path, sink: BatchSink, warnings: list[str]) -> FilePart:
    """Stream a corpus (id, optional title, text) into ``sink``; documents with neither title nor text are
    skipped with a warning."""
    with read_table(path) as table:
        if not table.columns:
            raise _empty_file(table, "documents")
        id_col = pick_column(table, None, DOC_ID_COLS, "document id")
        text_col = pick_column(table, None, DOC_TEXT_COLS, "document text")
        title_col = next((c for c in table.columns if c.lower() == "title"), None)
        buffer = RowBuffer(
            schema_of(*((f.name, f.type) for f in CORPUS_SCHEMA), _LINE), sink, keep=("doc_id", "line")
        )
        skipped: dict[str, int] = {}
        for rec in table:
            did = cell_id(table, rec, id_col)
            if not did:
                raise table.error(f"empty document id in column {id_col!r}", rec.line)
            title = cell_text(table, rec, title_col, required=False)
            text = cell_text(table, rec, text_col, required=not title)
            if not title and not text:
                skipped.setdefault(did, rec.line)
                continue
            buffer.add((did, title, text, rec.line), len(title) + len(text))
        buffer.close()
        return _finish(table, buffer, skipped, "doc_id", "document", warnings)


def _finish(
    table: Table, buffer: RowBuffer, skipped: dict[str, int], id_col: str, what: str, warnings: list[str]
) -> FilePart:
    plural = {"document": "documents", "query": "queries"}[what]
    if table.count == 0:
        raise _empty_file(table, plural)
    keys = buffer.kept()
    _check_unique(table, keys, skipped, id_col, what)
    if not keys.num_rows:
        raise table.error(f"all {table.count} {plural} have empty text; nothing to import")
    warnings.extend(table.warnings)
    if skipped:
        label = "document(s)" if what == "document" else "query(ies)"
        warnings.append(skipped_note(table.path.name, label, list(skipped.values()), table.row_word))
    return FilePart(table.path, keys, skipped, table.row_word)


def read_queries(path: Path, sink: BatchSink, warnings: list[str]) -> FilePart:
    """Stream queries (id, text) into ``sink``; queries with empty text are skipped with a warning."""
    with read_table(path) as table:
        if not table.columns:
            raise _empty_file(table, "queries")
        id_col = pick_column(table, None, QUERY_ID_COLS, "query id")
        text_col = pick_column(table, None, tuple(c for c in QUERY_TEXT_COLS if c != id_col), "query text")
        buffer = RowBuffer(
            schema_of(*((f.name, f.type) for f in QUERIES_SCHEMA), _LINE), sink, keep=("query_id", "line")
        )
        skipped: dict[str, int] = {}
        for rec in table:
            qid = cell_id(table, rec, id_col)
            if not qid:
                raise table.error(f"empty query id in column {id_col!r}", rec.line)
            text = cell_text(table, rec, text_col)
            if not text:
                skipped.setdefault(qid, rec.line)
                continue
            buffer.add((qid, text, rec.line), len(text))
        buffer.close()
        return _finish(table, buffer, skipped, "query_id", "query", warnings)


def _looks_trec(path: Path) -> bool:
    """A whitespace-separated file without header whose first row is ``qid [iter] docid rel``."""
    with read_table(path, header=False) as table:
        first = next(iter(table), None)
    if first is None:
        return False
    parts = list(first.values.values())
    return (
        len(parts) in (3, 4)
        and not parts[-1].isalpha()
        and not any(p.lower() in QREL_QID_COLS + QREL_SCORE_COLS for p in parts)
    )


def _open_qrels(path: Path) -> tuple[Table, str, str, str]:
    """The qrels table and its query, document and score columns: BEIR (header ``query-id corpus-id
    score``), headered CSV / TSV / JSONL / Parquet, or TREC (no header, whitespace separated)."""
    if path.suffix.lower() in (".tsv", ".txt", ".trec", ".qrels") and _looks_trec(path):
        table = read_table(path, header=False)
        if table.columns == ["0", "1", "2", "3"]:
            return table, "0", "2", "3"
        if table.columns == ["0", "1", "2"]:
            return table, "0", "1", "2"
        table.close()
        raise DataImportError(path, "TREC qrels need 4 columns: query-id iteration doc-id relevance", 1)
    table = read_table(path)
    try:
        if not table.columns:
            raise table.error("no relevance judgements in file")
        qcol = pick_column(table, None, QREL_QID_COLS, "query id")
        dcol = pick_column(table, None, QREL_DID_COLS, "document id")
        scol = pick_column(table, None, QREL_SCORE_COLS, "relevance score")
    except BaseException:
        table.close()
        raise
    return table, qcol, dcol, scol


def read_qrels(path: Path, split: str, warnings: list[str]) -> tuple[pa.Table, str]:
    """All judgements of one qrels file (split, query_id, doc_id, score, line) and its row word."""
    table, qcol, dcol, scol = _open_qrels(path)
    with table:
        sink = MemorySink(schema_of(*((f.name, f.type) for f in QRELS_SCHEMA), _LINE))
        buffer = RowBuffer(sink.schema, sink)
        for rec in table:
            qid, did = cell_id(table, rec, qcol), cell_id(table, rec, dcol)
            if not qid or not did:
                raise table.error("empty query id or document id", rec.line)
            score = as_grade(require(table, rec, scol), table, rec.line)
            buffer.add((split, qid, did, score, rec.line))
        buffer.close()
        judged = sink.table()
        if not judged.num_rows:
            raise table.error("no relevance judgements in file")
        dup = first_duplicate(judged, ["query_id", "doc_id"])
        if dup is not None:
            (qid, did), first, line = dup
            raise table.error(
                f"duplicate judgement for query {qid!r} and document {did!r} (first on {table.row_word} {first})",
                line,
            )
        warnings.extend(table.warnings)
        return judged, table.row_word
