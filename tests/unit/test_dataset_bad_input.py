"""Every kind of bad input gets one clear error naming the file, the line and the problem, and leaves the
workspace exactly as it was (no row, no dataset folder, no staging leftovers)."""

from __future__ import annotations

import json
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from core.data import import_dataset, load_classification, load_retrieval_files, save_dataset
from core.runtime import DataImportError, StoreError, Workspace
from tests.tiny_data import (
    CORPUS,
    LABELED,
    QUERIES,
    workspace_state,
    write_beir,
    write_jsonl,
    write_labeled,
    write_qrels_tsv,
    zip_folder,
)

Case = Callable[[Path], tuple[Callable[[Workspace], object], list[str]]]
CASES: dict[str, Case] = {}


def case(fn: Case) -> Case:
    CASES[fn.__name__] = fn
    return fn


def _import(path: Path, **options) -> Callable[[Workspace], object]:
    return lambda ws: import_dataset(ws, path, name="new", **options)


def _import_files(corpus: Path, queries: Path, qrels: dict[str, Path]) -> Callable[[Workspace], object]:
    return lambda ws: save_dataset(ws, load_retrieval_files(corpus, queries, qrels, name="new"))


def _lines(path: Path, *lines: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- malformed rows --------------------------------------------------------------------------------------
@case
def csv_row_with_too_many_fields(tmp: Path):
    corpus = _lines(tmp / "corpus.csv", "doc_id,text", "d1,hello", "d2,too,many")
    queries = write_jsonl(tmp / "queries.jsonl", QUERIES)
    qrels = write_qrels_tsv(tmp / "test.tsv", [("q1", "d1", 1)])
    return _import_files(corpus, queries, {"test": qrels}), [
        "corpus.csv, line 3:",
        "expected 2 fields",
        "found 3",
    ]


@case
def jsonl_line_with_invalid_json(tmp: Path):
    folder = write_beir(tmp / "b")
    _lines(folder / "corpus.jsonl", json.dumps(CORPUS[0]), '{"_id": "d2", "text": }')
    return _import(folder), ["corpus.jsonl, line 2:", "invalid JSON"]


@case
def jsonl_line_that_is_not_an_object(tmp: Path):
    folder = write_beir(tmp / "b")
    _lines(folder / "queries.jsonl", json.dumps(QUERIES[0]), json.dumps(QUERIES[1]), "[1, 2]")
    return _import(folder), ["queries.jsonl, line 3:", "expected a JSON object, found list"]


@case
def csv_quote_never_closed(tmp: Path):
    path = _lines(tmp / "reviews.csv", "text,label", "fine,a", '"broken,b', "also fine,a", "last,b")
    return _import(path), ["reviews.csv, line 3:", "quoted field", "never closed"]


@case
def trec_qrels_row_with_missing_column(tmp: Path):
    folder = write_beir(tmp / "b", qrels={})
    trec = _lines(tmp / "qrels.trec", "q1 0 d1 1", "q2 0 d2")
    return _import_files(folder / "corpus.jsonl", folder / "queries.jsonl", {"test": trec}), [
        "qrels.trec, line 2:",
        "expected 4 columns, found 3",
    ]


@case
def qrels_score_not_a_number(tmp: Path):
    folder = write_beir(tmp / "b")
    _lines(folder / "qrels" / "test.tsv", "query-id\tcorpus-id\tscore", "q1\td1\t1", "q2\td2\thigh")
    return _import(folder), ["test.tsv, line 3:", "relevance score 'high' is not a number"]


@case
def qrels_score_not_whole(tmp: Path):
    folder = write_beir(tmp / "b")
    _lines(folder / "qrels" / "test.tsv", "query-id\tcorpus-id\tscore", "q1\td1\t0.5")
    return _import(folder), ["test.tsv, line 2:", "not a whole number"]


@case
def parquet_that_is_not_parquet(tmp: Path):
    write_beir(tmp / "b")
    (tmp / "b" / "corpus.jsonl").unlink()
    (tmp / "b" / "corpus.parquet").write_bytes(b"PAR1 this is not really parquet")
    return _import(tmp / "b"), ["corpus.parquet:", "not a readable Parquet file"]


@case
def empty_file(tmp: Path):
    tmp.mkdir()
    path = tmp / "empty.csv"
    path.write_text("")
    return _import(path), ["empty.csv:", "file is empty"]


# -- missing columns ---------------------------------------------------------------------------------------
@case
def corpus_without_text_column(tmp: Path):
    corpus = _lines(tmp / "corpus.csv", "doc_id,body_html", "d1,<p>x</p>")
    queries = write_jsonl(tmp / "queries.jsonl", QUERIES)
    qrels = write_qrels_tsv(tmp / "test.tsv", [("q1", "d1", 1)])
    return _import_files(corpus, queries, {"test": qrels}), [
        "corpus.csv, line 1:",
        "missing document text column",
        "columns: doc_id, body_html",
    ]


@case
def query_line_without_id_field(tmp: Path):
    folder = write_beir(tmp / "b")
    write_jsonl(folder / "queries.jsonl", [QUERIES[0], {"text": "no id here"}])
    return _import(folder), ["queries.jsonl, line 2:", "missing field '_id'"]


@case
def qrels_without_score_column(tmp: Path):
    folder = write_beir(tmp / "b")
    _lines(folder / "qrels" / "test.tsv", "query-id\tcorpus-id\tnote", "q1\td1\tyes")
    return _import(folder), ["test.tsv, line 1:", "missing relevance score column"]


@case
def classification_without_label_column(tmp: Path):
    path = write_labeled(tmp / "x.csv", [{"text": r["text"], "score": 1} for r in LABELED])
    return _import(path), [
        "x.csv, line 1:",
        "cannot tell which column holds the label",
        "columns: text, score",
    ]


@case
def classification_chosen_column_absent(tmp: Path):
    path = write_labeled(tmp / "x.jsonl")
    return _import(path, label_col="tag"), ["x.jsonl, line 1:", "missing column 'tag'"]


@case
def classification_row_without_label(tmp: Path):
    path = _lines(tmp / "x.csv", "text,label", "good,pos", "bad,neg", "unsure,")
    return _import(path), ["x.csv, line 4:", "missing label in column 'label'"]


@case
def classification_row_without_split(tmp: Path):
    path = _lines(tmp / "x.csv", "text,label,split", "a,pos,train", "b,neg,train", "c,pos,", "d,neg,test")
    return _import(path), ["x.csv, line 4:", "no value in the split column 'split'"]


@case
def classification_with_one_label(tmp: Path):
    path = write_labeled(tmp / "one.csv", [{"text": f"t{i}", "label": "same"} for i in range(5)])
    return _import(path), ["one.csv:", "needs at least 2 distinct labels"]


# -- duplicate ids -----------------------------------------------------------------------------------------
@case
def duplicate_document_id(tmp: Path):
    folder = write_beir(tmp / "b", corpus=[*CORPUS[:2], dict(CORPUS[2], _id="d1"), CORPUS[3]])
    return _import(folder), ["corpus.jsonl, line 3:", "duplicate document id 'd1' (first on line 1)"]


@case
def duplicate_query_id(tmp: Path):
    folder = write_beir(tmp / "b", queries=[*QUERIES, dict(QUERIES[0], text="again")])
    return _import(folder), ["queries.jsonl, line 4:", "duplicate query id 'q1' (first on line 1)"]


@case
def duplicate_judgement(tmp: Path):
    folder = write_beir(tmp / "b", qrels={"test": [("q1", "d1", 1), ("q2", "d2", 1), ("q1", "d1", 2)]})
    return _import(folder), ["test.tsv, line 4:", "duplicate judgement for query 'q1' and document 'd1'"]


@case
def two_qrels_files_for_one_split(tmp: Path):
    folder = write_beir(tmp / "b", qrels={"dev": [("q1", "d1", 1)], "validation": [("q2", "d2", 1)]})
    return _import(folder), ["validation.tsv:", "two qrels files for split 'validation'"]


# -- qrels pointing nowhere --------------------------------------------------------------------------------
@case
def qrels_unknown_document(tmp: Path):
    folder = write_beir(tmp / "b", qrels={"test": [("q1", "d1", 1), ("q2", "d9", 1)]})
    return _import(folder), ["test.tsv, line 3:", "document id 'd9' is not in the corpus"]


@case
def qrels_unknown_query(tmp: Path):
    folder = write_beir(tmp / "b", qrels={"train": [("q9", "d1", 1)]})
    return _import(folder), ["train.tsv, line 2:", "query id 'q9' is not in the queries file"]


# -- empty texts -------------------------------------------------------------------------------------------
@case
def all_documents_empty(tmp: Path):
    folder = write_beir(tmp / "b", corpus=[{"_id": "d1", "text": ""}, {"_id": "d2", "text": "  "}])
    return _import(folder), ["corpus.jsonl:", "all 2 documents have empty text"]


@case
def all_queries_empty(tmp: Path):
    folder = write_beir(tmp / "b", queries=[{"_id": "q1", "text": ""}])
    return _import(folder), ["queries.jsonl:", "all 1 queries have empty text"]


@case
def all_rows_empty(tmp: Path):
    path = write_labeled(tmp / "e.tsv", [{"text": "", "label": "a"}, {"text": " ", "label": "b"}])
    return _import(path), ["e.tsv:", "all 2 rows have empty text"]


@case
def only_judgements_of_empty_documents(tmp: Path):
    corpus = [*CORPUS, {"_id": "d5", "text": ""}]
    folder = write_beir(tmp / "b", corpus=corpus, qrels={"test": [("q1", "d5", 1)]})
    return _import(folder), ["test.tsv:", "no usable relevance judgements"]


# -- undecodable bytes -------------------------------------------------------------------------------------
@case
def binary_file_with_nul_bytes(tmp: Path):
    folder = write_beir(tmp / "b")
    (folder / "queries.jsonl").write_bytes(json.dumps(QUERIES[0]).encode() + b"\n\x00\x01\x02binary\n")
    return _import(folder), ["queries.jsonl, line 2:", "NUL byte", "binary file"]


# -- archives ----------------------------------------------------------------------------------------------
def _zip_with(tmp: Path, name: str, member: zipfile.ZipInfo | str, data: bytes = b"x") -> Path:
    path = zip_folder(write_beir(tmp / "src"), tmp / name)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr(member, data, compress_type=zipfile.ZIP_DEFLATED)
    return path


@case
def zip_member_escaping_with_dotdot(tmp: Path):
    path = _zip_with(tmp, "evil.zip", "../../outside.jsonl")
    return _import(path), ["evil.zip:", "'../../outside.jsonl'", "path escaping the folder"]


@case
def zip_member_with_absolute_path(tmp: Path):
    path = _zip_with(tmp, "abs.zip", "/etc/cron.d/evil")
    return _import(path), ["abs.zip:", "'/etc/cron.d/evil'", "path escaping the folder"]


@case
def zip_member_that_is_a_symlink(tmp: Path):
    info = zipfile.ZipInfo("qrels/link.tsv")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    path = _zip_with(tmp, "link.zip", info, b"/etc/passwd")
    return _import(path), ["link.zip:", "'qrels/link.tsv'", "symbolic link"]


@case
def zip_with_bad_member_reports_the_member(tmp: Path):
    folder = write_beir(tmp / "src", qrels={"test": [("q1", "d7", 1)]})
    path = zip_folder(folder, tmp / "member.zip", prefix="inner/")
    return _import(path), ["member.zip/test.tsv, line 2:", "document id 'd7' is not in the corpus"]


@case
def not_a_zip(tmp: Path):
    tmp.mkdir()
    path = tmp / "fake.zip"
    path.write_bytes(b"this is not a zip archive")
    return _import(path), ["fake.zip:", "not a valid zip archive"]


# -- size limit --------------------------------------------------------------------------------------------
@case
def file_over_the_size_limit(tmp: Path):
    folder = write_beir(tmp / "b", corpus=[{"_id": f"d{i}", "text": "word " * 40} for i in range(20)])
    return _import(folder), ["corpus.jsonl:", "over the 0.00286 MB limit", "ESL_MAX_FILE_MB"]


@case
def zip_unpacking_over_the_size_limit(tmp: Path):
    path = _zip_with(tmp, "big.zip", "padding.bin", b"0" * 4000)
    return _import(path), ["big.zip:", "unpacks to over 0.00286 MB", "ESL_MAX_FILE_MB"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_names_file_line_problem_and_stores_nothing(name, ws, tmp_path, monkeypatch):
    import_dataset(ws, write_beir(tmp_path / "existing"), name="existing")  # the workspace is not empty
    before = workspace_state(ws)
    action, expected = CASES[name](tmp_path / "case")
    if name in ("file_over_the_size_limit", "zip_unpacking_over_the_size_limit"):
        monkeypatch.setenv("ESL_MAX_FILE_MB", str(3000 / 2**20))  # 3,000 bytes
    with pytest.raises(DataImportError) as info:
        action(ws)
    message = str(info.value)
    assert "\n" not in message
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert workspace_state(ws) == before
    assert ws.get_dataset("new") is None


def test_latin1_falls_back_with_a_warning_naming_file_and_line(ws, tmp_path):
    folder = write_beir(tmp_path / "l")
    lines = (folder / "corpus.jsonl").read_bytes().splitlines()
    lines[2] = b'{"_id": "d3", "text": "Caf\xe9 au lait for birds"}'
    (folder / "corpus.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    _, ds = import_dataset(ws, folder)
    assert ds.corpus.loc[2, "text"] == "Café au lait for birds"
    assert any(
        w.startswith("corpus.jsonl, line 3: not valid UTF-8") and "Latin-1" in w for w in ds.warnings
    ), ds.warnings


def test_empty_texts_are_skipped_with_a_count(ws, tmp_path):
    rows = [*LABELED, {"text": "", "label": "pos"}, {"text": "   ", "label": "neg"}]
    _, ds = import_dataset(ws, write_labeled(tmp_path / "e.csv", rows))
    assert len(ds.data) == 20
    assert any(
        w.startswith("e.csv: skipped 2 row(s) with empty text (line 22, line 23)") for w in ds.warnings
    )


def test_taken_name_is_refused_and_stores_nothing(ws, tmp_path):
    import_dataset(ws, write_beir(tmp_path / "a"), name="taken")
    before = workspace_state(ws)
    with pytest.raises(StoreError, match="already exists"):
        import_dataset(ws, write_labeled(tmp_path / "b.csv"), name="taken")
    assert workspace_state(ws) == before


def test_bad_test_size_is_refused(tmp_path):
    with pytest.raises(ValueError, match="between 0 and 1"):
        load_classification(write_labeled(tmp_path / "x.csv"), test_size=1.5)
