"""Datasets: retrieval (corpus, queries, graded qrels per split) and classification (texts with labels).

Loaders accept a BEIR folder or zip, separate corpus / queries / qrels files (CSV, TSV, JSONL, Parquet;
qrels also in TREC format), and classification tables. Validation is strict and names the file and the
line of the first problem; nothing reaches the workspace unless the whole import succeeds.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import re
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from core.data.readers import TABLE_SUFFIXES, Table, read_table, read_text
from core.runtime import (
    DataImportError,
    DatasetRecord,
    InvalidInput,
    NotFound,
    StoreError,
    Workspace,
    extract_zip_safely,
    get_settings,
)

__all__ = [
    "DataSource",
    "Dataset",
    "LabeledDataset",
    "RetrievalDataset",
    "TableInfo",
    "cleanup_stale_files",
    "dataset_summary",
    "detect_kind",
    "import_dataset",
    "inspect_table",
    "load_classification",
    "load_dataset",
    "load_path",
    "load_retrieval_beir",
    "load_retrieval_files",
    "resolve_dataset",
    "save_dataset",
    "scan_data_dir",
    "split_of_file",
    "staged_files",
]

DOC_ID_COLS = ("_id", "id", "doc_id", "docid", "corpus-id", "corpus_id", "pid", "did")
DOC_TEXT_COLS = ("text", "contents", "content", "body", "passage", "abstract", "document")
QUERY_ID_COLS = ("_id", "id", "query_id", "query-id", "qid", "queryid")
QUERY_TEXT_COLS = ("text", "query", "question", "title")
QREL_QID_COLS = ("query-id", "query_id", "qid", "queryid", "query")
QREL_DID_COLS = ("corpus-id", "corpus_id", "doc_id", "docid", "doc-id", "pid", "did", "document")
QREL_SCORE_COLS = ("score", "relevance", "rel", "label", "grade", "judgment")
CLS_TEXT_COLS = ("text", "sentence", "content", "utterance", "query", "review", "document", "message")
CLS_LABEL_COLS = ("label_text", "label_name", "intent", "category", "class", "labels", "label", "target", "y")
CLS_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")
SPLIT_ALIASES = {"dev": "validation", "val": "validation", "valid": "validation"}


# --------------------------------------------------------------------------------------------------
# dataset types
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class RetrievalDataset:
    """A corpus, its queries and graded relevance judgements per split."""

    name: str
    corpus: pd.DataFrame  # doc_id, title, text (all str)
    queries: pd.DataFrame  # query_id, text
    qrels: pd.DataFrame  # split, query_id, doc_id, score (int)
    warnings: tuple[str, ...] = ()
    kind: ClassVar[str] = "retrieval"

    @property
    def splits(self) -> list[str]:
        order = {"train": 0, "validation": 1, "test": 2}
        return sorted(self.qrels["split"].unique().tolist(), key=lambda s: (order.get(s, 3), s))

    @property
    def default_split(self) -> str:
        splits = self.splits
        return "test" if "test" in splits else splits[-1]

    def qrels_dict(self, split: str) -> dict[str, dict[str, int]]:
        """``{query_id: {doc_id: score}}`` for one split (all judged pairs, zeros included)."""
        self._check_split(split)
        sub = self.qrels[self.qrels["split"] == split]
        out: dict[str, dict[str, int]] = {}
        for qid, did, score in zip(sub["query_id"], sub["doc_id"], sub["score"], strict=True):
            out.setdefault(qid, {})[did] = int(score)
        return out

    def split_queries(self, split: str) -> pd.DataFrame:
        """The queries judged in ``split`` (``query_id``, ``text``), in file order."""
        self._check_split(split)
        judged = set(self.qrels.loc[self.qrels["split"] == split, "query_id"])
        return self.queries[self.queries["query_id"].isin(judged)].reset_index(drop=True)

    def _check_split(self, split: str) -> None:
        if split not in set(self.qrels["split"]):
            raise NotFound(f"Dataset {self.name!r} has no split {split!r}; it has {self.splits}.")

    @property
    def doc_ids(self) -> list[str]:
        return self.corpus["doc_id"].tolist()

    def doc_texts(self) -> list[str]:
        """Text used for indexing and encoding: title and body joined by a space (as BEIR and MTEB do)."""
        titles = self.corpus["title"].fillna("")
        texts = self.corpus["text"].fillna("")
        return [f"{t} {x}".strip() for t, x in zip(titles, texts, strict=True)]

    @functools.cached_property
    def fingerprint(self) -> str:
        """Hash of the corpus (ids and texts): changes whenever the indexed content would."""
        h = hashlib.sha256()
        for did, text in zip(self.corpus["doc_id"], self.doc_texts(), strict=True):
            h.update(did.encode())
            h.update(b"\x00")
            h.update(text.encode())
            h.update(b"\x01")
        return h.hexdigest()[:24]


@dataclass(frozen=True, eq=False)
class LabeledDataset:
    """Texts with one label each (or a list of labels, when ``multi_label``) and a split column."""

    name: str
    data: pd.DataFrame  # text, label (str) | labels (list[str]), split
    label_names: tuple[str, ...]
    multi_label: bool = False
    warnings: tuple[str, ...] = ()
    kind: ClassVar[str] = "classification"

    @property
    def splits(self) -> list[str]:
        order = {"train": 0, "validation": 1, "test": 2}
        return sorted(self.data["split"].unique().tolist(), key=lambda s: (order.get(s, 3), s))

    def split(self, name: str) -> pd.DataFrame:
        if name not in set(self.data["split"]):
            raise NotFound(f"Dataset {self.name!r} has no split {name!r}; it has {self.splits}.")
        return self.data[self.data["split"] == name].reset_index(drop=True)

    def texts(self, split: str) -> list[str]:
        return self.split(split)["text"].tolist()

    def targets(self, split: str) -> list[str] | list[list[str]]:
        """Labels of a split: a string per row, or a list of strings per row when multi-label."""
        frame = self.split(split)
        return [list(v) for v in frame["labels"]] if self.multi_label else frame["label"].tolist()

    @functools.cached_property
    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for text in self.data["text"]:
            h.update(text.encode())
            h.update(b"\x01")
        return h.hexdigest()[:24]


Dataset = RetrievalDataset | LabeledDataset


def dataset_summary(ds: Dataset) -> dict[str, Any]:
    """The import summary printed by the CLI and shown on the Data page."""
    if isinstance(ds, RetrievalDataset):
        splits = {}
        for split in ds.splits:
            sub = ds.qrels[ds.qrels["split"] == split]
            splits[split] = {"queries": int(sub["query_id"].nunique()), "qrels": len(sub)}
        return {
            "name": ds.name,
            "kind": ds.kind,
            "documents": len(ds.corpus),
            "queries": len(ds.queries),
            "qrels": len(ds.qrels),
            "rows": None,
            "labels": None,
            "splits": splits,
        }
    counts = ds.data["split"].value_counts()
    return {
        "name": ds.name,
        "kind": ds.kind,
        "documents": None,
        "queries": None,
        "qrels": None,
        "rows": len(ds.data),
        "labels": len(ds.label_names),
        "splits": {s: {"rows": int(counts[s])} for s in ds.splits},
    }


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def _pick(table: Table, wanted: str | None, candidates: Sequence[str], what: str) -> str:
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


def _as_id(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _require(table: Table, rec: Any, column: str) -> Any:
    """The value of ``column`` in a record; a JSON record without the field is an error."""
    if column not in rec.values:
        raise table.error(f"missing field {column!r}", rec.line)
    return rec.values[column]


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN
        return ""
    return str(value).strip()


def _as_grade(value: Any, table: Table, line: int) -> int:
    try:
        num = float(str(value).strip())
    except ValueError:
        raise table.error(f"relevance score {value!r} is not a number", line) from None
    if not num.is_integer():
        raise table.error(
            f"relevance score {value!r} is not a whole number (graded relevance: 0, 1, 2 …)", line
        )
    return int(num)


def split_of_file(file_name: str) -> str | None:
    """``train`` / ``validation`` / ``test`` when a file name names a split (``dev.tsv`` → validation)."""
    split = _split_name(Path(file_name))
    return split if split in ("train", "validation", "test") else None


def _split_name(path: Path) -> str:
    stem = path.stem.lower()
    return SPLIT_ALIASES.get(stem, stem)


# --------------------------------------------------------------------------------------------------
# retrieval loaders
# --------------------------------------------------------------------------------------------------
def _read_corpus(path: Path, warnings: list[str]) -> pd.DataFrame:
    table = read_table(path)
    warnings.extend(table.warnings)
    if not table.records:
        raise table.error("no documents in file")
    id_col = _pick(table, None, DOC_ID_COLS, "document id")
    text_col = _pick(table, None, DOC_TEXT_COLS, "document text")
    title_col = next((c for c in table.columns if c.lower() == "title"), None)
    ids, titles, texts, seen = [], [], [], {}
    skipped: dict[str, int] = {}
    for rec in table.records:
        did = _as_id(_require(table, rec, id_col))
        if not did:
            raise table.error(f"empty document id in column {id_col!r}", rec.line)
        if did in seen:
            raise table.error(
                f"duplicate document id {did!r} (first on {table.row_word} {seen[did]})", rec.line
            )
        seen[did] = rec.line
        title = _as_text(rec.values.get(title_col)) if title_col else ""
        text = _as_text(rec.values.get(text_col)) if title else _as_text(_require(table, rec, text_col))
        if not title and not text:
            skipped[did] = rec.line
            continue
        ids.append(did)
        titles.append(title)
        texts.append(text)
    if not ids:
        raise table.error(f"all {len(table.records)} documents have empty text; nothing to import")
    if skipped:
        where = ", ".join(f"{table.row_word} {n}" for n in list(skipped.values())[:5])
        warnings.append(
            f"{path.name}: skipped {len(skipped)} document(s) with empty text ({where}"
            + (" …)" if len(skipped) > 5 else ")")
        )
    frame = pd.DataFrame({"doc_id": ids, "title": titles, "text": texts})
    frame.attrs["skipped_ids"] = set(skipped)
    return frame


def _read_queries(path: Path, warnings: list[str]) -> pd.DataFrame:
    table = read_table(path)
    warnings.extend(table.warnings)
    if not table.records:
        raise table.error("no queries in file")
    id_col = _pick(table, None, QUERY_ID_COLS, "query id")
    text_col = _pick(table, None, tuple(c for c in QUERY_TEXT_COLS if c != id_col), "query text")
    ids, texts, seen = [], [], {}
    skipped: dict[str, int] = {}
    for rec in table.records:
        qid = _as_id(_require(table, rec, id_col))
        if not qid:
            raise table.error(f"empty query id in column {id_col!r}", rec.line)
        if qid in seen:
            raise table.error(f"duplicate query id {qid!r} (first on {table.row_word} {seen[qid]})", rec.line)
        seen[qid] = rec.line
        text = _as_text(_require(table, rec, text_col))
        if not text:
            skipped[qid] = rec.line
            continue
        ids.append(qid)
        texts.append(text)
    if not ids:
        raise table.error(f"all {len(table.records)} queries have empty text; nothing to import")
    if skipped:
        where = ", ".join(f"{table.row_word} {n}" for n in list(skipped.values())[:5])
        warnings.append(
            f"{path.name}: skipped {len(skipped)} query(ies) with empty text ({where}"
            + (" …)" if len(skipped) > 5 else ")")
        )
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
        qcol = _pick(table, None, QREL_QID_COLS, "query id")
        dcol = _pick(table, None, QREL_DID_COLS, "document id")
        scol = _pick(table, None, QREL_SCORE_COLS, "relevance score")
    warnings.extend(table.warnings)
    rows, seen = [], {}
    for rec in table.records:
        qid, did = _as_id(_require(table, rec, qcol)), _as_id(_require(table, rec, dcol))
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
        rows.append((split, qid, did, _as_grade(_require(table, rec, scol), table, rec.line), rec.line))
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
        with tempfile.TemporaryDirectory(prefix="esl-zip-") as tmp:
            extract_zip_safely(path, Path(tmp))
            try:
                return load_retrieval_beir(Path(tmp), name or path.stem)
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
        split = _split_name(qp)
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
        split = _split_name(qp)
        qrels = {split if split in ("train", "validation", "test") else "test": qp}
    corpus_df = _read_corpus(Path(corpus), warnings)
    queries_df = _read_queries(Path(queries), warnings)
    frames = [_read_qrels(Path(p), split, warnings) for split, p in qrels.items()]
    return _assemble_retrieval(name, corpus_df, queries_df, frames, warnings)


# --------------------------------------------------------------------------------------------------
# classification loader
# --------------------------------------------------------------------------------------------------
def _parse_labels(value: Any) -> list[str] | str | None:
    """A label cell: a scalar, a list (multi-label), or a JSON list written as text."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [_as_id(v) for v in value if _as_id(v)]
    if isinstance(value, float) and value != value:
        return None
    text = _as_id(value)
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            return [_as_id(v) for v in parsed if _as_id(v)]
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
            return [str(names[k]) for k in sorted(names, key=lambda x: _natural(str(x)))]
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
    tcol = _pick(table, text_col, CLS_TEXT_COLS, "text")
    if label_col is None and _guess_label_col(table, tcol) is None:
        raise table.column_error(
            f"cannot tell which column holds the label; choose one (columns: {', '.join(table.columns)})"
        )
    lcol = _pick(table, label_col, tuple(c for c in CLS_LABEL_COLS if c != tcol.lower()), "label")
    if lcol == tcol:
        raise table.column_error(f"the text and the label cannot both be column {tcol!r}")
    scol = None
    if split is None and use_split_col:
        if split_col:
            scol = _pick(table, split_col, (), "split")
        else:
            scol = next((c for c in table.columns if c.lower() == "split"), None)
    names = _label_names_file(path)
    rows: list[dict[str, Any]] = []
    empty: list[int] = []
    for rec in table.records:
        text = _as_text(_require(table, rec, tcol))
        if not text:
            empty.append(rec.line)
            continue
        label = _parse_labels(_require(table, rec, lcol))
        if label is None or label == []:
            raise table.error(f"missing label in column {lcol!r}", rec.line)
        if names is not None:
            label = _map_names(label, names, table, rec.line)
        row_split = split or (_as_id(rec.values.get(scol)).lower() if scol else None)
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
        where = ", ".join(f"{table.row_word} {n}" for n in empty[:5])
        warnings.append(
            f"{path.name}: skipped {len(empty)} row(s) with empty text ({where}"
            + (" …)" if len(empty) > 5 else ")")
        )
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
        split = _split_name(p)
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
    if isinstance(source, Mapping):
        files = {SPLIT_ALIASES.get(k, k): Path(v) for k, v in source.items()}
        if not files:
            raise InvalidInput("no files given")
    else:
        path = Path(source)
        if not path.exists():
            raise DataImportError(path, "file or folder not found")
        files = _split_files(path) if path.is_dir() else {"": path}
    rows: list[dict[str, Any]] = []
    for split, path in files.items():
        part, text_col_used, label_col_used = _read_labeled_file(
            path,
            (split or None) if not make_split else None,
            text_col,
            label_col,
            split_col,
            not make_split,
            warnings,
        )
        text_col, label_col = text_col or text_col_used, label_col or label_col_used
        rows.extend(part)
    first = next(iter(files.values()))
    frame = pd.DataFrame(rows)
    multi = any(isinstance(v, list) for v in frame["label"])
    if multi:
        frame["labels"] = [v if isinstance(v, list) else [v] for v in frame["label"]]
        frame = frame.drop(columns=["label"])
        all_labels = sorted({x for v in frame["labels"] for x in v}, key=_natural)
    else:
        frame["label"] = frame["label"].astype(str)
        all_labels = sorted(frame["label"].unique().tolist(), key=_natural)
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


def _natural(value: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", value))


def _stratified_split(
    frame: pd.DataFrame, multi: bool, test_size: float, seed: int
) -> tuple[list[str], bool]:
    from sklearn.model_selection import train_test_split

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


# --------------------------------------------------------------------------------------------------
# kind detection, data folder scan
# --------------------------------------------------------------------------------------------------
def detect_kind(path: Path) -> str:
    """``retrieval`` for BEIR folders / zips, ``classification`` for tables or folders of split files."""
    if path.is_file() and path.suffix.lower() == ".zip":
        return "retrieval"
    if path.is_dir():
        if any(path.glob("corpus.*")) or (path / "qrels").is_dir() or any(path.glob("*/corpus.*")):
            return "retrieval"
        return "classification"
    return "classification"


@dataclass(frozen=True)
class DataSource:
    """A dataset found in the data folder, ready for one-click import."""

    name: str
    kind: str
    path: Path
    description: str = ""
    license: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def scan_data_dir(folder: Path | str | None = None) -> list[DataSource]:
    """List importable datasets in ``ESL_DATA_DIR`` (sub-folders in BEIR or classification layout)."""
    folder = Path(folder) if folder else get_settings().data_dir
    if not folder.is_dir():
        return []
    provenance: dict[str, Any] = {}
    prov_file = folder / "PROVENANCE.json"
    if prov_file.exists():
        try:
            provenance = json.loads(prov_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            provenance = {}
    sources = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        has_data = (
            any(sub.glob("*.jsonl"))
            or any(sub.glob("*.csv"))
            or any(sub.glob("*.parquet"))
            or any(sub.glob("*.tsv"))
        )
        if not has_data:
            continue
        info = provenance.get(sub.name, {})
        sources.append(
            DataSource(
                name=sub.name,
                kind=detect_kind(sub),
                path=sub,
                description=str(info.get("domain") or info.get("kind") or ""),
                license=str(info.get("license") or ""),
            )
        )
    for zipped in sorted(folder.glob("*.zip")):
        sources.append(DataSource(name=zipped.stem, kind="retrieval", path=zipped))
    return sources


# --------------------------------------------------------------------------------------------------
# store integration
# --------------------------------------------------------------------------------------------------
def load_path(
    path: Path | str,
    *,
    kind: str | None = None,
    name: str | None = None,
    text_col: str | None = None,
    label_col: str | None = None,
    test_size: float = 0.2,
    seed: int = 42,
    split_col: str | None = None,
    make_split: bool = False,
) -> Dataset:
    """Load a dataset straight from a path (no workspace needed): a BEIR folder or zip, a
    classification table, or a folder of ``train`` / ``test`` / ``validation`` tables."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DataImportError(path, "file or folder not found")
    kind = kind or detect_kind(path)
    name = name or (path.stem if path.is_file() else path.name)
    if kind == "retrieval":
        return load_retrieval_beir(path, name=name)
    if kind == "classification":
        return load_classification(
            path,
            name=name,
            text_col=text_col,
            label_col=label_col,
            test_size=test_size,
            seed=seed,
            split_col=split_col,
            make_split=make_split,
        )
    raise DataImportError(path, f"unknown dataset kind {kind!r} (use retrieval or classification)")


def _write_files(ds: Dataset):
    def write(folder: Path) -> None:
        if isinstance(ds, RetrievalDataset):
            ds.corpus.to_parquet(folder / "corpus.parquet", index=False)
            ds.queries.to_parquet(folder / "queries.parquet", index=False)
            ds.qrels.to_parquet(folder / "qrels.parquet", index=False)
            meta = {"kind": ds.kind, "warnings": list(ds.warnings)}
        else:
            ds.data.to_parquet(folder / "data.parquet", index=False)
            meta = {
                "kind": ds.kind,
                "label_names": list(ds.label_names),
                "multi_label": ds.multi_label,
                "warnings": list(ds.warnings),
            }
        (folder / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")

    return write


def save_dataset(
    ws: Workspace, ds: Dataset, name: str | None = None, source: str | None = None
) -> DatasetRecord:
    """Store a loaded dataset in the workspace under ``name`` (atomic)."""
    name = name or ds.name
    summary = dataset_summary(ds) | {"name": name}
    return ws.add_dataset(name, ds.kind, _write_files(ds), summary, source=source)


@contextlib.contextmanager
def staged_files(ws: Workspace, files: Mapping[str, bytes]) -> Iterator[dict[str, Path]]:
    """Write uploaded files (original name → bytes) into a staging folder of the workspace and yield
    their paths by name; the folder is removed afterwards, whatever happens."""
    stage = ws.staging_dir()
    try:
        paths: dict[str, Path] = {}
        for i, (original, data) in enumerate(files.items()):
            safe = Path(str(original).replace("\\", "/")).name or f"upload-{i}"
            target = stage / str(i) / safe
            target.parent.mkdir()
            target.write_bytes(data)
            paths[original] = target
        yield paths
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def import_dataset(
    ws: Workspace, path: Path | str, *, name: str | None = None, **options: Any
) -> tuple[DatasetRecord, Dataset]:
    """Load ``path`` and store it; nothing is stored if any check fails."""
    ds = load_path(path, name=name, **options)
    record = save_dataset(ws, ds, name or ds.name, source=str(Path(path).expanduser().resolve()))
    return record, ds


@functools.lru_cache(maxsize=16)
def _load_stored(folder: str, name: str, mtime: float) -> Dataset:
    path = Path(folder)
    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    if meta["kind"] == "retrieval":
        return RetrievalDataset(
            name,
            pd.read_parquet(path / "corpus.parquet"),
            pd.read_parquet(path / "queries.parquet"),
            pd.read_parquet(path / "qrels.parquet"),
            tuple(meta.get("warnings", [])),
        )
    data = pd.read_parquet(path / "data.parquet")
    if meta.get("multi_label"):
        data["labels"] = [list(v) for v in data["labels"]]
    return LabeledDataset(
        name, data, tuple(meta["label_names"]), bool(meta.get("multi_label")), tuple(meta.get("warnings", []))
    )


def load_dataset(ws: Workspace, name: str) -> Dataset:
    """Load a stored dataset by name."""
    record = ws.get_dataset(name)
    if record is None:
        known = ", ".join(r.name for r in ws.list_datasets()) or "none yet"
        raise StoreError(f"No dataset named {name!r} in the workspace (known: {known}).")
    try:
        return _load_stored(str(record.folder), record.name, (record.folder / "meta.json").stat().st_mtime)
    except (OSError, ValueError, KeyError, TypeError) as err:  # files gone or damaged outside the app
        raise StoreError(
            f"Dataset {name!r} cannot be read from {record.folder}: {type(err).__name__}: {err}"
        ) from err


def resolve_dataset(ws: Workspace, name_or_path: str, **options: Any) -> Dataset:
    """A stored dataset by name, else a dataset loaded from a path (not imported), else a data-folder name."""
    if ws.get_dataset(name_or_path) is not None:
        return load_dataset(ws, name_or_path)
    path = Path(name_or_path).expanduser()
    if path.exists():
        return load_path(path, **options)
    for source in scan_data_dir():
        if source.name == name_or_path:
            return load_path(source.path, kind=source.kind, **options)
    raise StoreError(
        f"{name_or_path!r} is neither a dataset in the workspace nor an existing path "
        "(import it with `python -m core datasets import PATH`)."
    )


def cleanup_stale_files(ws: Workspace) -> None:
    """Remove staging leftovers of crashed imports (dataset folders never recorded are invisible anyway)."""
    ws.cleanup_staging()

    known = {r.folder.name for r in ws.list_datasets()}
    for folder in (ws.home / "datasets").iterdir():
        if folder.name not in known and folder.is_dir() and time.time() - folder.stat().st_mtime > 3600:
            shutil.rmtree(folder, ignore_errors=True)
