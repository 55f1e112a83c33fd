"""Retrieval loaders: a BEIR folder or zip, or separate corpus / queries / qrels files.

Corpus and queries come as CSV, TSV, JSONL or Parquet; qrels also in TREC format. Validation is strict and
names the file and the line of the first problem; rows with empty text are skipped with a warning, and so
are the judgements that point at them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from core.data.datasets import RetrievalDataset
from core.data.fields import as_grade, as_id, as_text, pick_column, require, skipped_note, split_name
from core.data.readers import TABLE_SUFFIXES, read_table, read_text
from core.runtime import DataImportError, extract_zip_safely, scratch_dir

__all__ = ["load_retrieval_beir", "load_retrieval_files"]

DOC_ID_COLS = ("_id", "id", "doc_id", "docid", "corpus-id", "corpus_id", "pid", "did")
DOC_TEXT_COLS = ("text", "contents", "content", "body", "passage", "abstract", "document")
QUERY_ID_COLS = ("_id", "id", "query_id", "query-id", "qid", "queryid")
QUERY_TEXT_COLS = ("text", "query", "question", "title")
QREL_QID_COLS = ("query-id", "query_id", "qid", "queryid", "query")
QREL_DID_COLS = ("corpus-id", "corpus_id", "doc_id", "docid", "doc-id", "pid", "did", "document")
QREL_SCORE_COLS = ("score", "relevance", "rel", "label", "grade", "judgment")


def _read_corpus(path: Path, warnings: list[str]) -> pd.DataFrame:
    table = read_table(path)
    warnings.extend(table.warnings)
    if not table.records:
        raise table.error("no documents in file")
    id_col = pick_column(table, None, DOC_ID_COLS, "document id")
    text_col = pick_column(table, None, DOC_TEXT_COLS, "document text")
    title_col = next((c for c in table.columns if c.lower() == "title"), None)
    ids, titles, texts, seen = [], [], [], {}
    skipped: dict[str, int] = {}
    for rec in table.records:
        did = as_id(require(table, rec, id_col))
        if not did:
            raise table.error(f"empty document id in column {id_col!r}", rec.line)
        if did in seen:
            raise table.error(
                f"duplicate document id {did!r} (first on {table.row_word} {seen[did]})", rec.line
            )
        seen[did] = rec.line
        title = as_text(rec.values.get(title_col)) if title_col else ""
        text = as_text(rec.values.get(text_col)) if title else as_text(require(table, rec, text_col))
        if not title and not text:
            skipped[did] = rec.line
            continue
        ids.append(did)
        titles.append(title)
        texts.append(text)
    if not ids:
        raise table.error(f"all {len(table.records)} documents have empty text; nothing to import")
    if skipped:
        warnings.append(skipped_note(path.name, "document(s)", list(skipped.values()), table.row_word))
    frame = pd.DataFrame({"doc_id": ids, "title": titles, "text": texts})
    frame.attrs["skipped_ids"] = set(skipped)
    return frame


def _read_queries(path: Path, warnings: list[str]) -> pd.DataFrame:
    table = read_table(path)
    warnings.extend(table.warnings)
    if not table.records:
        raise table.error("no queries in file")
    id_col = pick_column(table, None, QUERY_ID_COLS, "query id")
    text_col = pick_column(table, None, tuple(c for c in QUERY_TEXT_COLS if c != id_col), "query text")
    ids, texts, seen = [], [], {}
    skipped: dict[str, int] = {}
    for rec in table.records:
        qid = as_id(require(table, rec, id_col))
        if not qid:
            raise table.error(f"empty query id in column {id_col!r}", rec.line)
        if qid in seen:
            raise table.error(f"duplicate query id {qid!r} (first on {table.row_word} {seen[qid]})", rec.line)
        seen[qid] = rec.line
        text = as_text(require(table, rec, text_col))
        if not text:
            skipped[qid] = rec.line
            continue
        ids.append(qid)
        texts.append(text)
    if not ids:
        raise table.error(f"all {len(table.records)} queries have empty text; nothing to import")
    if skipped:
        warnings.append(skipped_note(path.name, "query(ies)", list(skipped.values()), table.row_word))
    frame = pd.DataFrame({"query_id": ids, "text": texts})
    frame.attrs["skipped_ids"] = set(skipped)
    return frame


def _read_qrels(path: Path, split: str, warnings: list[str]) -> pd.DataFrame:
    """BEIR qrels (header ``query-id corpus-id score``), headered CSV/TSV/JSONL/Parquet, or TREC
    (``qid 0 docid rel``, no header, whitespace separated)."""
    suffix = path.suffix.lower()
    table = None
    if suffix in (".tsv", ".txt", ".trec", ".qrels"):
        first = next((ln for ln in read_text(path).splitlines() if ln.strip()), "")
        parts = first.split()
        looks_trec = (
            len(parts) in (3, 4)
            and all(not p.isalpha() for p in parts[-1:])
            and not any(p.lower() in QREL_QID_COLS + QREL_SCORE_COLS for p in parts)
        )
        if looks_trec:
            table = read_table(path, header=False)
            if table.columns == ["0", "1", "2", "3"]:
                qcol, dcol, scol = "0", "2", "3"
            elif table.columns == ["0", "1", "2"]:
                qcol, dcol, scol = "0", "1", "2"
            else:
                raise table.error("TREC qrels need 4 columns: query-id iteration doc-id relevance", 1)
    if table is None:
        table = read_table(path)
        qcol = pick_column(table, None, QREL_QID_COLS, "query id")
        dcol = pick_column(table, None, QREL_DID_COLS, "document id")
        scol = pick_column(table, None, QREL_SCORE_COLS, "relevance score")
    warnings.extend(table.warnings)
    rows, seen = [], {}
    for rec in table.records:
        qid, did = as_id(require(table, rec, qcol)), as_id(require(table, rec, dcol))
        if not qid or not did:
            raise table.error("empty query id or document id", rec.line)
        key = (qid, did)
        if key in seen:
            raise table.error(
                f"duplicate judgement for query {qid!r} and document {did!r} "
                f"(first on {table.row_word} {seen[key]})",
                rec.line,
            )
        seen[key] = rec.line
        rows.append((split, qid, did, as_grade(require(table, rec, scol), table, rec.line), rec.line))
    if not rows:
        raise table.error("no relevance judgements in file")
    frame = pd.DataFrame(rows, columns=["split", "query_id", "doc_id", "score", "line"])
    frame.attrs["path"] = str(path)
    frame.attrs["row_word"] = table.row_word
    return frame


def _assemble_retrieval(
    name: str,
    corpus: pd.DataFrame,
    queries: pd.DataFrame,
    qrels_frames: list[pd.DataFrame],
    warnings: list[str],
) -> RetrievalDataset:
    doc_ids = set(corpus["doc_id"])
    query_ids = set(queries["query_id"])
    skipped_docs = corpus.attrs.get("skipped_ids", set())
    skipped_queries = queries.attrs.get("skipped_ids", set())
    kept = []
    for frame in qrels_frames:
        path = Path(frame.attrs.get("path", "qrels"))
        row_word = frame.attrs.get("row_word", "line")
        dropped: list[int] = []
        mask = []
        for qid, did, line in zip(frame["query_id"], frame["doc_id"], frame["line"], strict=True):
            if qid in skipped_queries or did in skipped_docs:
                dropped.append(int(line))
                mask.append(False)
                continue
            if qid not in query_ids:
                raise DataImportError(
                    path, f"query id {qid!r} is not in the queries file", int(line), row_word=row_word
                )
            if did not in doc_ids:
                raise DataImportError(
                    path, f"document id {did!r} is not in the corpus", int(line), row_word=row_word
                )
            mask.append(True)
        if dropped:
            where = ", ".join(f"{row_word} {n}" for n in dropped[:5]) + (" …" if len(dropped) > 5 else "")
            warnings.append(
                f"{path.name}: dropped {len(dropped)} judgement(s) of skipped empty documents or queries ({where})"
            )
        kept.append(frame[mask].drop(columns=["line"]))
    qrels = pd.concat(kept, ignore_index=True)
    if qrels.empty:
        raise DataImportError(
            Path(qrels_frames[0].attrs.get("path", "qrels")),
            "no usable relevance judgements (all point at skipped empty documents or queries)",
        )
    qrels["score"] = qrels["score"].astype("int64")
    corpus = corpus.reset_index(drop=True)
    corpus.attrs = {}
    queries = queries.reset_index(drop=True)
    queries.attrs = {}
    return RetrievalDataset(name, corpus, queries, qrels, tuple(warnings))


def _find_beir_root(folder: Path) -> Path:
    if (folder / "corpus.jsonl").exists() or any(folder.glob("corpus.*")):
        return folder
    hits = sorted(
        p.parent
        for p in folder.rglob("corpus.*")
        if p.suffix.lower() in (".jsonl", ".csv", ".tsv", ".parquet")
    )
    if not hits:
        raise DataImportError(
            folder, "no corpus file found (expected corpus.jsonl, queries.jsonl and qrels/<split>.tsv)"
        )
    return hits[0]


def _first_existing(folder: Path, stem: str) -> Path | None:
    for suffix in (".jsonl", ".parquet", ".csv", ".tsv", ".json"):
        path = folder / f"{stem}{suffix}"
        if path.exists():
            return path
    return None


def load_retrieval_beir(path: Path | str, name: str | None = None) -> RetrievalDataset:
    """Load a BEIR folder or zip: ``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``."""
    path = Path(path)
    if not path.exists():
        raise DataImportError(path, "file or folder not found")
    if path.is_file() and path.suffix.lower() == ".zip":
        with scratch_dir("zip") as tmp:  # owner-tagged: the next start removes it if this process dies
            extract_zip_safely(path, tmp)
            try:
                return load_retrieval_beir(tmp, name or path.stem)
            except DataImportError as err:
                raise err.within(path.name) from None
    root = _find_beir_root(path)
    corpus_path = _first_existing(root, "corpus")
    queries_path = _first_existing(root, "queries")
    if corpus_path is None:
        raise DataImportError(root, "no corpus file (corpus.jsonl)")
    if queries_path is None:
        raise DataImportError(root, "no queries file (queries.jsonl)")
    qrels_dir = root / "qrels"
    qrels_files = (
        sorted(
            p
            for p in qrels_dir.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in TABLE_SUFFIXES
        )
        if qrels_dir.is_dir()
        else []
    )
    if not qrels_files:
        raise DataImportError(root, "no qrels files (expected qrels/<split>.tsv, e.g. qrels/test.tsv)")
    by_split: dict[str, Path] = {}
    for qp in qrels_files:
        split = split_name(qp)
        if split in by_split:
            raise DataImportError(
                qp, f"two qrels files for split {split!r}: {by_split[split].name} and {qp.name}"
            )
        by_split[split] = qp
    return load_retrieval_files(corpus_path, queries_path, by_split, name=name or root.name)


def load_retrieval_files(
    corpus: Path | str,
    queries: Path | str,
    qrels: Mapping[str, Path | str] | Path | str,
    name: str = "dataset",
) -> RetrievalDataset:
    """Load separate corpus / queries / qrels files. ``qrels`` maps split names to files (a single
    path is read as the split named by its file name, ``test`` when that is not a split name)."""
    warnings: list[str] = []
    if not isinstance(qrels, Mapping):
        qp = Path(qrels)
        split = split_name(qp)
        qrels = {split if split in ("train", "validation", "test") else "test": qp}
    corpus_df = _read_corpus(Path(corpus), warnings)
    queries_df = _read_queries(Path(queries), warnings)
    frames = [_read_qrels(Path(p), split, warnings) for split, p in qrels.items()]
    return _assemble_retrieval(name, corpus_df, queries_df, frames, warnings)
