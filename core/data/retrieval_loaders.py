"""Retrieval loaders: a BEIR folder or zip, or separate corpus / queries / qrels files — loaded into
memory (:func:`load_retrieval_beir`, :func:`load_retrieval_files`) or streamed into a folder of Parquet
files batch by batch (:func:`write_retrieval_beir`, what a workspace import uses).

Validation is strict and names the file and the line of the first problem; rows with empty text are
skipped with a warning, and so are the judgements that point at them. Qrels files name their split
(``qrels/test.tsv``); names other than train / validation (dev, val) / test are refused unless
``custom_splits`` is set.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.data.batches import BatchSink, MemorySink, ParquetSink
from core.data.datasets import RetrievalDataset, retrieval_summary
from core.data.fields import KNOWN_SPLITS, check_split, normal_split, split_name
from core.data.readers import TABLE_SUFFIXES
from core.data.retrieval_tables import (
    CORPUS_SCHEMA,
    QUERIES_SCHEMA,
    STR,
    FilePart,
    read_corpus,
    read_qrels,
    read_queries,
)
from core.runtime import DataImportError, extract_zip_safely, scratch_dir, user_path_kind

__all__ = ["RetrievalSource", "load_retrieval_beir", "load_retrieval_files", "write_retrieval_beir"]

CORPUS_SUFFIXES = (".jsonl", ".csv", ".tsv", ".parquet")
MAX_WALK_DEPTH = 4  # how deep a folder (or unpacked zip) is searched for corpus.*
MAX_WALK_FOLDERS = 2_000


@dataclass(frozen=True)
class RetrievalSource:
    """The files of one retrieval dataset: corpus, queries, and a qrels file per split."""

    name: str
    corpus: Path
    queries: Path
    qrels: dict[str, Path]


# -- finding the files ----------------------------------------------------------------------------------------
def _corpus_folders(folder: Path) -> list[Path]:
    """Folders below ``folder`` (links not followed, at most :data:`MAX_WALK_DEPTH` deep) holding a corpus."""
    hits = []
    for seen, (top, dirs, files) in enumerate(os.walk(folder, followlinks=False), start=1):
        depth = len(Path(top).relative_to(folder).parts)
        if depth >= MAX_WALK_DEPTH or seen > MAX_WALK_FOLDERS:
            dirs.clear()
        if any(f.startswith("corpus.") and Path(f).suffix.lower() in CORPUS_SUFFIXES for f in files):
            hits.append(Path(top))
    return sorted(hits)


def _find_beir_root(folder: Path) -> Path:
    if any(folder.glob("corpus.*")):
        return folder
    hits = _corpus_folders(folder)
    if not hits:
        raise DataImportError(
            folder, "no corpus file found (expected corpus.jsonl, queries.jsonl and qrels/<split>.tsv)"
        )
    return hits[0]


def _first_existing(folder: Path, stem: str) -> Path | None:
    for suffix in (".jsonl", ".parquet", ".csv", ".tsv", ".json"):
        path = folder / f"{stem}{suffix}"
        if os.path.lexists(path):
            return path
    return None


def _qrels_files(root: Path, custom_splits: bool) -> dict[str, Path]:
    qrels_dir = root / "qrels"
    files = (
        sorted(
            p
            for p in qrels_dir.iterdir()
            if not p.name.startswith(".") and p.suffix.lower() in TABLE_SUFFIXES and not p.is_dir()
        )
        if qrels_dir.is_dir()
        else []
    )
    if not files:
        raise DataImportError(root, "no qrels files (expected qrels/<split>.tsv, e.g. qrels/test.tsv)")
    by_split: dict[str, Path] = {}
    for qp in files:
        split = check_split(split_name(qp), custom=custom_splits, file=qp, what="the file name's split")
        if split in by_split:
            raise DataImportError(
                qp, f"two qrels files for split {split!r}: {by_split[split].name} and {qp.name}"
            )
        by_split[split] = qp
    return by_split


def beir_source(folder: Path, name: str | None = None, *, custom_splits: bool = False) -> RetrievalSource:
    """The files of a BEIR folder: ``corpus.*``, ``queries.*`` and ``qrels/<split>.*`` (searched for a
    few folders down when the folder itself has no corpus)."""
    root = _find_beir_root(folder)
    corpus, queries = _first_existing(root, "corpus"), _first_existing(root, "queries")
    if corpus is None:
        raise DataImportError(root, "no corpus file (corpus.jsonl)")
    if queries is None:
        raise DataImportError(root, "no queries file (queries.jsonl)")
    return RetrievalSource(name or root.name, corpus, queries, _qrels_files(root, custom_splits))


def files_source(
    corpus: Path | str,
    queries: Path | str,
    qrels: Mapping[str, Path | str] | Path | str,
    name: str,
    custom_splits: bool = False,
) -> RetrievalSource:
    """Separate files; ``qrels`` maps split names to files (a single path is the split its file name
    names, ``test`` when it names none)."""
    if not isinstance(qrels, Mapping):
        split = split_name(Path(qrels))
        qrels = {split if split in KNOWN_SPLITS else "test": qrels}
    by_split: dict[str, Path] = {}
    for key, qp in qrels.items():
        split = check_split(normal_split(str(key)), custom=custom_splits, file=qp, what="the split")
        if split in by_split:
            raise DataImportError(
                qp, f"two qrels files for split {split!r}: {by_split[split].name} and {Path(qp).name}"
            )
        by_split[split] = Path(qp)
    return RetrievalSource(name, Path(corpus), Path(queries), by_split)


@contextlib.contextmanager
def _unpacked(path: Path, scratch: Path | None) -> Iterator[tuple[Path, str | None]]:
    """The folder to read and, for a zip, its name (errors inside are shown as ``zip/member``): a zip is
    unpacked into ``scratch`` (a temporary folder when None)."""
    kind = user_path_kind(path)
    if kind == "missing":
        raise DataImportError(path, "file or folder not found")
    if kind == "dir" or path.suffix.lower() != ".zip":
        yield path, None
        return
    with contextlib.ExitStack() as stack:
        if scratch is None:
            scratch = stack.enter_context(scratch_dir("zip"))  # the next start removes it if killed
        scratch.mkdir(parents=True, exist_ok=True)
        extract_zip_safely(path, scratch)
        try:
            yield scratch, path.name
        except DataImportError as err:
            if Path(err.file) == scratch:  # about the archive as a whole
                raise DataImportError(path, err.problem) from None
            raise err.within(path.name) from None


# -- reading ----------------------------------------------------------------------------------------------
def _qrels_problem(
    table: pa.Table, bad_q: pa.Array, bad: pa.Array, path: Path, row_word: str
) -> DataImportError:
    i = pc.index(bad, True).as_py()
    line = table.column("line")[i].as_py()
    if bad_q[i].as_py():
        qid = table.column("query_id")[i].as_py()
        return DataImportError(path, f"query id {qid!r} is not in the queries file", line, row_word=row_word)
    did = table.column("doc_id")[i].as_py()
    return DataImportError(path, f"document id {did!r} is not in the corpus", line, row_word=row_word)


def _assemble_qrels(
    corpus: FilePart, queries: FilePart, judged: list[tuple[pa.Table, str, Path]], warnings: list[str]
) -> pa.Table:
    """Judgements that point at known documents and queries (those of skipped empty rows dropped with a
    warning); a judgement pointing nowhere is an error naming its line."""
    doc_ids = corpus.keys.column("doc_id").combine_chunks()
    query_ids = queries.keys.column("query_id").combine_chunks()
    skip_docs, skip_queries = pa.array(list(corpus.skipped), STR), pa.array(list(queries.skipped), STR)
    kept = []
    for table, row_word, path in judged:
        qid, did = table.column("query_id"), table.column("doc_id")
        dropped = pc.or_(pc.is_in(qid, value_set=skip_queries), pc.is_in(did, value_set=skip_docs))
        live = pc.invert(dropped)
        bad_q = pc.and_(live, pc.invert(pc.is_in(qid, value_set=query_ids)))
        bad = pc.or_(bad_q, pc.and_(live, pc.invert(pc.is_in(did, value_set=doc_ids))))
        if pc.any(bad).as_py():
            raise _qrels_problem(table, bad_q.combine_chunks(), bad.combine_chunks(), path, row_word)
        if pc.any(dropped).as_py():
            lines = table.filter(dropped).column("line").to_pylist()
            where = ", ".join(f"{row_word} {n}" for n in lines[:5]) + (" …" if len(lines) > 5 else "")
            warnings.append(
                f"{path.name}: dropped {len(lines)} judgement(s) of skipped empty documents or queries ({where})"
            )
        kept.append(table.filter(live).drop_columns(["line"]))
    qrels = pa.concat_tables(kept)
    if qrels.num_rows == 0:
        raise DataImportError(
            judged[0][2], "no usable relevance judgements (all point at skipped empty documents or queries)"
        )
    return qrels


def _read_all(source: RetrievalSource, corpus_sink: BatchSink, queries_sink: BatchSink) -> tuple[Any, ...]:
    """Stream the corpus and the queries into their sinks; the qrels (validated against both), the
    warnings and the number of documents and queries."""
    warnings: list[str] = []
    corpus = read_corpus(source.corpus, corpus_sink, warnings)
    queries = read_queries(source.queries, queries_sink, warnings)
    judged = []
    for split, path in source.qrels.items():
        table, row_word = read_qrels(path, split, warnings)
        judged.append((table, row_word, path))
    qrels = _assemble_qrels(corpus, queries, judged, warnings)
    return qrels, tuple(warnings), corpus.rows, queries.rows


def _load(source: RetrievalSource) -> RetrievalDataset:
    corpus, queries = MemorySink(CORPUS_SCHEMA), MemorySink(QUERIES_SCHEMA)
    qrels, warnings, _, _ = _read_all(source, corpus, queries)
    return RetrievalDataset(
        source.name, corpus.table().to_pandas(), queries.table().to_pandas(), qrels.to_pandas(), warnings
    )


def load_retrieval_beir(
    path: Path | str, name: str | None = None, *, custom_splits: bool = False
) -> RetrievalDataset:
    """Load a BEIR folder or zip (``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``) into memory."""
    path = Path(path)
    with _unpacked(path, None) as (root, outer):
        return _load(beir_source(root, name or (path.stem if outer else None), custom_splits=custom_splits))


def load_retrieval_files(
    corpus: Path | str,
    queries: Path | str,
    qrels: Mapping[str, Path | str] | Path | str,
    name: str = "dataset",
    *,
    custom_splits: bool = False,
) -> RetrievalDataset:
    """Load separate corpus / queries / qrels files. ``qrels`` maps split names to files (a single
    path is read as the split named by its file name, ``test`` when that is not a split name)."""
    return _load(files_source(corpus, queries, qrels, name, custom_splits))


def write_retrieval_beir(
    path: Path | str, folder: Path, *, scratch: Path, name: str | None = None, custom_splits: bool = False
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Stream a BEIR folder or zip into ``folder`` as ``corpus.parquet``, ``queries.parquet`` and
    ``qrels.parquet``, one batch of rows in memory at a time (a zip is unpacked into ``scratch``).
    Returns the import summary and the warnings."""
    path = Path(path)
    corpus = ParquetSink(folder / "corpus.parquet", CORPUS_SCHEMA)
    queries = ParquetSink(folder / "queries.parquet", QUERIES_SCHEMA)
    try:
        with _unpacked(path, scratch) as (root, outer):
            source = beir_source(root, name or (path.stem if outer else None), custom_splits=custom_splits)
            qrels, warnings, documents, n_queries = _read_all(source, corpus, queries)
    finally:
        corpus.discard()
        queries.discard()
    pq.write_table(qrels, folder / "qrels.parquet")
    return retrieval_summary(source.name, documents, n_queries, qrels.to_pandas()), warnings
