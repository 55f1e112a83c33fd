"""A battery of hostile inputs, each run through ``python -m core datasets import`` (in process, through
``core.cli.main``): every one exits with code 2 and exactly one ``error: …`` line on stderr naming the file
(or the name) and the problem — no traceback, no hang — and leaves the workspace as it was (no dataset row,
no folder under datasets/, nothing under tmp/).

Each case builds its input in a fresh folder and says what the error line must contain; the first fragment
names the file. The battery covers encodings and BOMs, NUL bytes, huge lines, deep nesting, numbers out of
range, values that are not text, duplicate and dangling ids, invisible and look-alike characters, split
typos, FIFOs, devices, sockets and links, archives (zip slip, bombs, bad CRC, encryption, unknown methods,
clashes, long names), names with quotes, newlines and ``../``, wrong formats, and bad settings.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import socket
import stat
import struct
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.cli import main
from core.runtime import DataImportError, open_user_file
from tests.tiny_data import CORPUS, LABELED, QUERIES, workspace_state, write_beir, write_labeled, zip_folder

Build = Callable[[Path], "str | Path | list[str]"]


@dataclass(frozen=True)
class Case:
    build: Build  # makes the input under a fresh folder; returns the path (or the full CLI arguments)
    expect: tuple[str, ...]  # fragments of the error line; the first one names the file (or the name)
    args: tuple[str, ...] = ()  # extra arguments of `datasets import`
    env: dict[str, str] = field(default_factory=dict)


CASES: dict[str, Case] = {}


def case(name: str, *expect: str, args: tuple[str, ...] = (), env: dict[str, str] | None = None):
    def register(build: Build) -> Build:
        assert name not in CASES, name
        CASES[name] = Case(build, expect, args, env or {})
        return build

    return register


def add(name: str, build: Build, *expect: str, args: tuple[str, ...] = (), env: dict[str, str] | None = None):
    case(name, *expect, args=args, env=env)(build)


# -- builders ----------------------------------------------------------------------------------------------
def beir(
    tmp: Path,
    *,
    corpus: bytes | str | None = None,
    queries: bytes | str | None = None,
    qrels: bytes | str | None = None,
    qrels_name: str = "test.tsv",
) -> Path:
    """A BEIR folder from the tiny data, with any of its three files replaced by raw content."""
    folder = write_beir(tmp / "beir", qrels={})
    (folder / "qrels").mkdir(exist_ok=True)
    default_qrels = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n"
    for name, content in (
        ("corpus.jsonl", corpus),
        ("queries.jsonl", queries),
        (f"qrels/{qrels_name}", default_qrels if qrels is None else qrels),
    ):
        if content is not None:
            (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return folder


def jsonl(*rows: object) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


def corpus_with(*extra: object) -> str:
    return jsonl(*CORPUS, *extra)


def queries_with(*extra: object) -> str:
    return jsonl(*QUERIES, *extra)


def qrels_tsv(*rows: str) -> str:
    return "query-id\tcorpus-id\tscore\n" + "".join(r + "\n" for r in rows)


def table(tmp: Path, name: str, content: bytes | str) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def labeled_csv(*rows: str, header: str = "text,label") -> str:
    good = [f"{r['text']},{r['label']}" for r in LABELED]
    return "\n".join([header, *good, *rows]) + "\n"


def parquet(tmp: Path, name: str, columns: dict[str, pa.Array]) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), tmp / name)
    return tmp / name


def beir_zip(tmp: Path, name: str = "data.zip", prefix: str = "", **files: bytes | str) -> Path:
    """A zip of the tiny BEIR folder (``prefix`` before each member), plus extra members."""
    path = zip_folder(write_beir(tmp / "src"), tmp / name, prefix=prefix)
    with zipfile.ZipFile(path, "a") as zf:
        for member, data in files.items():
            zf.writestr(member, data)
    return path


def zip_with_info(tmp: Path, info: zipfile.ZipInfo, data: bytes = b"x", name: str = "data.zip") -> Path:
    path = beir_zip(tmp, name)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr(info, data)
    return path


def patch_zip(path: Path, member: str, patch: Callable[[bytearray, int, int], None]) -> Path:
    """Edit the raw bytes of one member: ``patch(data, local header offset, central header offset)``."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        local = zf.getinfo(member).header_offset
    central = next(
        i for i in _all(data, b"PK\x01\x02") if data[i + 46 : i + 46 + len(member)] == member.encode()
    )
    patch(data, local, central)
    path.write_bytes(bytes(data))
    return path


def _all(data: bytearray, needle: bytes) -> Iterator[int]:
    i = data.find(needle)
    while i >= 0:
        yield i
        i = data.find(needle, i + 1)


# -- encodings, BOMs, NUL bytes, binary files --------------------------------------------------------------
add("nul_byte_in_corpus", lambda t: beir(t, corpus=corpus_with().encode() + b'{"_id": "d9", "text": "a\x00b"}\n'),
    "corpus.jsonl, line 5", "NUL byte")  # fmt: skip
add("nul_byte_in_csv_table", lambda t: table(t, "reviews.csv", labeled_csv("bad\x00row,pos")),
    "reviews.csv, line 22", "NUL byte")  # fmt: skip
add("nul_byte_in_qrels", lambda t: beir(t, qrels=qrels_tsv("q1\td1\t1", "q2\x00\td2\t1")),
    "test.tsv, line 3", "NUL byte")  # fmt: skip
add("utf16_bom_then_invalid_utf16", lambda t: beir(t, queries=b"\xff\xfe" + "{}".encode("utf-16-le") + b"\x00\xd8"),
    "queries.jsonl", "not valid UTF-16")  # fmt: skip
add("utf32_file_read_as_utf16_has_nuls", lambda t: beir(t, corpus=corpus_with().encode("utf-32")),
    "corpus.jsonl, line 1", "NUL")  # fmt: skip
add("utf16_text_with_a_nul_character", lambda t: table(t, "u16.csv", labeled_csv("a\x00b,pos").encode("utf-16")),
    "u16.csv, line 22", "NUL")  # fmt: skip
add("gzip_named_jsonl", lambda t: beir(t, corpus=gzip.compress(corpus_with().encode())),
    "corpus.jsonl", "NUL byte")  # fmt: skip
add(
    "binary_with_nul_named_csv",
    lambda t: table(t, "data.csv", b"BZh91AY&SY\x00\x01\x02"),
    "data.csv",
    "NUL byte",
)
add(
    "random_binary_named_tsv", lambda t: table(t, "noise.tsv", bytes(range(256)) * 4), "noise.tsv", "NUL byte"
)
add("parquet_magic_then_garbage", lambda t: table(t, "fake.parquet", b"PAR1 not really parquet PAR1"),
    "fake.parquet", "not a readable Parquet file")  # fmt: skip
add("zip_named_parquet", lambda t: table(t, "z.parquet", beir_zip(t / "z").read_bytes()),
    "z.parquet", "not a readable Parquet file")  # fmt: skip
add("parquet_truncated", lambda t: table(t, "cut.parquet", write_labeled(t / "p" / "x.parquet").read_bytes()[:-40]),
    "cut.parquet", "not a readable Parquet file")  # fmt: skip
add("csv_text_in_a_jsonl_corpus", lambda t: beir(t, corpus="_id,text\nd1,hello\n"),
    "corpus.jsonl, line 1", "invalid JSON")  # fmt: skip
add("utf8_bom_only_corpus", lambda t: beir(t, corpus=b"\xef\xbb\xbf"), "corpus.jsonl", "no documents in file")
add("utf8_bom_only_csv", lambda t: table(t, "bom.csv", b"\xef\xbb\xbf"), "bom.csv", "file is empty")
add("bom_in_the_middle_of_a_header", lambda t: table(t, "mid.csv", "te\ufeffxt,label\nhello,pos\nbye,neg\n"),
    "mid.csv, line 1", "missing text column", "'te\\ufeffxt'")  # fmt: skip
add("look_alike_header", lambda t: table(t, "cyr.csv", "t\u0435xt,label\nhello,pos\nbye,neg\n"),
    "cyr.csv, line 1", "missing text column")  # fmt: skip
add("jsonl_with_a_bare_cr_inside_json", lambda t: beir(t, corpus=corpus_with('{"_id": "d9", "text": "a\rb"}')),
    "corpus.jsonl, line 5", "invalid JSON")  # fmt: skip
add("control_character_inside_a_json_string", lambda t: beir(t, queries=queries_with('{"_id": "q9", "text": "a\x01b"}')),
    "queries.jsonl, line 4", "invalid JSON")  # fmt: skip


# -- sizes: huge lines, files over the limit, bombs ------------------------------------------------------
add("line_over_16_mb", lambda t: beir(t, corpus=corpus_with({"_id": "big", "text": "a" * (16 * 2**20 + 10)})),
    "corpus.jsonl, line 5", "over 16 MB")  # fmt: skip
add("csv_field_over_the_field_limit", lambda t: table(t, "wide.csv", labeled_csv('"' + ("a" * 1023 + "\n") * 17_000 + '",pos')),
    "wide.csv", "malformed row")  # fmt: skip
add("file_over_the_size_limit", lambda t: beir(t, corpus=corpus_with(*({"_id": f"x{i}", "text": "w " * 50} for i in range(40)))),
    "corpus.jsonl", "over the 0.00381 MB limit", "ESL_MAX_FILE_MB", env={"ESL_MAX_FILE_MB": str(4000 / 2**20)})  # fmt: skip
add("zip_file_over_the_size_limit", lambda t: beir_zip(t, "big.zip", **{"pad.bin": b"0" * 5000}),
    "big.zip", "over the 0.00381 MB limit", env={"ESL_MAX_FILE_MB": str(4000 / 2**20)})  # fmt: skip


@case(
    "zip_unpacking_over_the_size_limit",
    "small.zip",
    "unpacks to over 0.00381 MB",
    env={"ESL_MAX_FILE_MB": str(4000 / 2**20)},
)
def _(t: Path):
    path = beir_zip(t, "small.zip")
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("pad.bin", b"0" * 5000)
    return path


@case("zip_bomb_of_zeros", "bomb.zip", "unpacks to over 1 MB", env={"ESL_MAX_FILE_MB": "1"})
def _(t: Path):
    path = beir_zip(t, "bomb.zip")
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("corpus2.jsonl", b"\x00" * (30 * 2**20))
    return path


@case("zip_whose_sizes_lie", "liar.zip", "archive member 'pad.txt'")
def _(t: Path):
    path = beir_zip(t, "liar.zip")
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("pad.txt", b"z" * 200_000)

    def shrink(data: bytearray, local: int, central: int) -> None:  # declare 10 bytes unpacked
        struct.pack_into("<I", data, local + 22, 10)
        struct.pack_into("<I", data, central + 24, 10)

    return patch_zip(path, "pad.txt", shrink)


@case("zip_with_too_many_members", "many.zip", "members, over the 10,000 accepted")
def _(t: Path):
    path = beir_zip(t, "many.zip")
    with zipfile.ZipFile(path, "a") as zf:
        for i in range(10_001):
            zf.writestr(f"junk/{i}.txt", b"")
    return path


# -- nesting and numbers out of range --------------------------------------------------------------------
DEEP = "[" * 100_000 + "]" * 100_000
add("json_nested_100000_deep_in_corpus", lambda t: beir(t, corpus=corpus_with('{"_id": "d9", "text": "x", "meta": ' + DEEP + "}")),
    "corpus.jsonl, line 5", "nested too deeply")  # fmt: skip
add("json_nested_100000_deep_in_queries", lambda t: beir(t, queries=queries_with('{"_id": "q9", "text": ' + DEEP + "}")),
    "queries.jsonl, line 4", "nested too deeply")  # fmt: skip
add(
    "json_array_file_nested_deep",
    lambda t: table(t, "deep.json", "[" + DEEP + "]"),
    "deep.json",
    "nested too deeply",
)
add("label_names_nested_deep", lambda t: (write_labeled(t / "b" / "train.csv"), table(t / "b", "label_names.json", DEEP))[0].parent,
    "label_names.json", "nested too deeply", args=("--kind", "classification"))  # fmt: skip
add("integer_of_5000_digits", lambda t: beir(t, corpus=corpus_with('{"_id": ' + "7" * 5000 + ', "text": "x"}')),
    "corpus.jsonl, line 5", "invalid JSON")  # fmt: skip
for _name, _score in [("1e300", "1e300"), ("minus_1e300", "-1e300"), ("1e309", "1e309"), ("2_pow_40", str(2**40)),
                      ("100_digit_int", "9" * 100)]:  # fmt: skip
    add(f"relevance_{_name}", lambda t, s=_score: beir(t, qrels=qrels_tsv("q1\td1\t1", f"q2\td2\t{s}")),
        "test.tsv, line 3", "out of range")  # fmt: skip
for _name, _score, _problem in [("inf", "inf", "out of range"), ("nan", "nan", "not a number"),
                                ("half", "0.5", "not a whole number"), ("word", "high", "not a number"),
                                ("empty", "", "not a number")]:  # fmt: skip
    add(f"relevance_{_name}", lambda t, s=_score: beir(t, qrels=qrels_tsv("q1\td1\t1", f"q2\td2\t{s}")),
        "test.tsv, line 3", _problem)  # fmt: skip
for _name, _value, _problem in [("true", True, "not a number"), ("object", {"a": 1}, "not a number"),
                                ("list", [1], "not a number"), ("huge_json_int", 10**40, "out of range"),
                                ("NaN", float("nan"), "not a number")]:  # fmt: skip
    add(f"jsonl_relevance_{_name}",
        lambda t, v=_value: beir(t, qrels=jsonl({"query-id": "q1", "corpus-id": "d1", "score": v}), qrels_name="test.jsonl"),
        "test.jsonl, line 1", _problem)  # fmt: skip
add("jsonl_relevance_missing", lambda t: beir(t, qrels=jsonl({"query-id": "q1", "corpus-id": "d1", "score": 1}, {"query-id": "q2", "corpus-id": "d2"}), qrels_name="test.jsonl"),
    "test.jsonl, line 2", "missing field 'score'")  # fmt: skip


# -- values that are not text (refused, never stored as Python reprs) ---------------------------------------
for _field, _value, _kind in [("text", {"a": 1}, "a JSON object"), ("text", ["a", "b"], "a list"),
                              ("text", True, "the boolean true"), ("title", {"t": 1}, "a JSON object"),
                              ("_id", {"id": 1}, "a JSON object"), ("_id", ["d9"], "a list"),
                              ("_id", False, "the boolean false")]:  # fmt: skip
    add(f"corpus_{_field.strip('_')}_is_{_kind.split()[-1]}",
        lambda t, f=_field, v=_value: beir(t, corpus=corpus_with({"_id": "d9", "text": "x", "title": "", **{f: v}})),
        "corpus.jsonl, line 5", f"{_field!r} holds {_kind}, not text")  # fmt: skip
add("query_text_is_a_list", lambda t: beir(t, queries=queries_with({"_id": "q9", "text": ["what", "why"]})),
    "queries.jsonl, line 4", "'text' holds a list, not text")  # fmt: skip
add("qrels_query_id_is_an_object", lambda t: beir(t, qrels=jsonl({"query-id": {"q": 1}, "corpus-id": "d1", "score": 1}), qrels_name="test.jsonl"),
    "test.jsonl, line 1", "'query-id' holds a JSON object")  # fmt: skip
add("label_text_is_an_object", lambda t: table(t, "cls.jsonl", jsonl(*LABELED, {"text": {"html": "<p>"}, "label": "pos"})),
    "cls.jsonl, line 21", "'text' holds a JSON object")  # fmt: skip
add("label_is_an_object", lambda t: table(t, "cls.jsonl", jsonl(*LABELED, {"text": "fine", "label": {"x": 1}})),
    "cls.jsonl, line 21", "'label' holds a JSON object, not a label")  # fmt: skip
add("label_is_a_list_of_lists", lambda t: table(t, "cls.jsonl", jsonl(*LABELED, {"text": "fine", "label": [["x"]]})),
    "cls.jsonl, line 21", "'label' holds a list")  # fmt: skip
add("parquet_binary_text_column", lambda t: parquet(t, "bin.parquet", {"text": pa.array([b"\x00\x01"] * 4), "label": pa.array(["a", "b"] * 2)}),
    "bin.parquet, row 1", "'text' holds binary data")  # fmt: skip
add("parquet_struct_text_column", lambda t: parquet(t, "st.parquet", {"text": pa.array([{"a": 1}] * 4), "label": pa.array(["a", "b"] * 2)}),
    "st.parquet, row 1", "'text' holds a JSON object")  # fmt: skip
add("parquet_list_text_column", lambda t: parquet(t, "li.parquet", {"text": pa.array([["a"]] * 4), "label": pa.array(["a", "b"] * 2)}),
    "li.parquet, row 1", "'text' holds a list")  # fmt: skip
add("parquet_binary_label_column", lambda t: parquet(t, "bl.parquet", {"text": pa.array(["a", "b"] * 2), "label": pa.array([b"x", b"y"] * 2)}),
    "bl.parquet, row 1", "'label' holds binary data")  # fmt: skip


# -- duplicate, empty, invisible and dangling ids -------------------------------------------------------------
add("duplicate_document_id", lambda t: beir(t, corpus=corpus_with({"_id": "d2", "text": "again"})),
    "corpus.jsonl, line 5", "duplicate document id 'd2' (first on line 2)")  # fmt: skip
add("duplicate_id_behind_a_bom", lambda t: beir(t, corpus=corpus_with({"_id": "\ufeffd1", "text": "again"})),
    "corpus.jsonl, line 5", "duplicate document id 'd1'")  # fmt: skip
add("duplicate_id_behind_a_zero_width_space", lambda t: beir(t, corpus=corpus_with({"_id": "d\u200b3", "text": "again"})),
    "corpus.jsonl, line 5", "duplicate document id 'd3'")  # fmt: skip
add("duplicate_id_behind_spaces", lambda t: beir(t, corpus=corpus_with({"_id": "  d4 ", "text": "again"})),
    "corpus.jsonl, line 5", "duplicate document id 'd4'")  # fmt: skip
add("duplicate_id_of_an_empty_document", lambda t: beir(t, corpus=corpus_with({"_id": "d1", "text": ""})),
    "corpus.jsonl, line 5", "duplicate document id 'd1'")  # fmt: skip
add("duplicate_query_id", lambda t: beir(t, queries=queries_with({"_id": "q1", "text": "again"})),
    "queries.jsonl, line 4", "duplicate query id 'q1'")  # fmt: skip
add("duplicate_judgement", lambda t: beir(t, qrels=qrels_tsv("q1\td1\t1", "q1\td1\t2")),
    "test.tsv, line 3", "duplicate judgement for query 'q1' and document 'd1'")  # fmt: skip
add("duplicate_judgement_behind_a_bom", lambda t: beir(t, qrels=qrels_tsv("q1\td1\t1", "q1\t\ufeffd1\t2")),
    "test.tsv, line 3", "duplicate judgement")  # fmt: skip
add("empty_document_id", lambda t: beir(t, corpus=corpus_with({"_id": "", "text": "x"})),
    "corpus.jsonl, line 5", "empty document id")  # fmt: skip
add("whitespace_document_id", lambda t: beir(t, corpus=corpus_with({"_id": " \t ", "text": "x"})),
    "corpus.jsonl, line 5", "empty document id")  # fmt: skip
add("zero_width_only_document_id", lambda t: beir(t, corpus=corpus_with({"_id": "\u200b\ufeff", "text": "x"})),
    "corpus.jsonl, line 5", "empty document id")  # fmt: skip
add("null_document_id", lambda t: beir(t, corpus=corpus_with({"_id": None, "text": "x"})),
    "corpus.jsonl, line 5", "empty document id")  # fmt: skip
add("empty_query_id", lambda t: beir(t, queries=queries_with({"_id": "", "text": "x"})),
    "queries.jsonl, line 4", "empty query id")  # fmt: skip
add("qrels_dangling_document", lambda t: beir(t, qrels=qrels_tsv("q1\td1\t1", "q2\tghost\t1")),
    "test.tsv, line 3", "document id 'ghost' is not in the corpus")  # fmt: skip
add("qrels_dangling_query", lambda t: beir(t, qrels=qrels_tsv("q1\td1\t1", "q9\td2\t1")),
    "test.tsv, line 3", "query id 'q9' is not in the queries file")  # fmt: skip
add("qrels_cyrillic_look_alike_id", lambda t: beir(t, qrels=qrels_tsv("q1\td1\t1", "q2\t\u0501" + "2\t1")),
    "test.tsv, line 3", "is not in the corpus")  # fmt: skip
add("qrels_fullwidth_look_alike_id", lambda t: beir(t, qrels=qrels_tsv("q1\td1\t1", "q2\td\uff12\t1")),
    "test.tsv, line 3", "is not in the corpus")  # fmt: skip
add("qrels_empty_query_id", lambda t: beir(t, qrels=qrels_tsv("q1\td1\t1", "\td2\t1")),
    "test.tsv, line 3", "empty query id or document id")  # fmt: skip
add("qrels_only_for_empty_documents", lambda t: beir(t, corpus=corpus_with({"_id": "d9", "text": " "}), qrels=qrels_tsv("q1\td9\t1")),
    "test.tsv", "no usable relevance judgements")  # fmt: skip
add("qrels_header_only", lambda t: beir(t, qrels=qrels_tsv()), "test.tsv", "no relevance judgements")
add("qrels_without_score_column", lambda t: beir(t, qrels="query-id\tcorpus-id\tnote\nq1\td1\tyes\n"),
    "test.tsv, line 1", "missing relevance score column")  # fmt: skip
add("trec_qrels_with_ragged_rows", lambda t: beir(t, qrels="q1 0 d1 1\nq2 0 d2\n", qrels_name="test.trec"),
    "test.trec, line 2", "expected 4 columns, found 3")  # fmt: skip
add("all_documents_empty", lambda t: beir(t, corpus=jsonl({"_id": "a", "text": ""}, {"_id": "b", "text": " \n"})),
    "corpus.jsonl", "have empty text")  # fmt: skip
add(
    "all_queries_empty",
    lambda t: beir(t, queries=jsonl({"_id": "q1", "text": "\u3000"})),
    "queries.jsonl",
    "have empty text",
)


# -- split names ------------------------------------------------------------------------------------------
add(
    "qrels_split_typo",
    lambda t: beir(t, qrels_name="tset.tsv"),
    "tset.tsv",
    "'tset' is not a split name",
    "--custom-splits",
)
add(
    "qrels_split_plural",
    lambda t: beir(t, qrels_name="tests.tsv"),
    "tests.tsv",
    "'tests' is not a split name",
)
add(
    "qrels_split_with_quotes_and_newline",
    lambda t: beir(t, qrels_name='te"s\nt.tsv'),
    "t.tsv",
    "is not a split name",
)
add(
    "qrels_split_look_alike",
    lambda t: beir(t, qrels_name="t\u0435st.tsv"),
    "t\u0435st.tsv",
    "is not a split name",
)
add("two_qrels_files_for_validation", lambda t: (beir(t, qrels_name="dev.tsv"), beir(t, qrels_name="validation.tsv"))[0],
    "validation.tsv", "two qrels files for split 'validation'")  # fmt: skip
add("split_column_typo", lambda t: table(t, "s.csv", "text,label,split\na,pos,train\nb,neg,trian\n"),
    "s.csv, line 3", "'trian' is not a split name")  # fmt: skip
add("split_column_look_alike", lambda t: table(t, "s.csv", "text,label,split\na,pos,train\nb,neg,t\u0435st\n"),
    "s.csv, line 3", "is not a split name")  # fmt: skip
add("split_column_empty_value", lambda t: table(t, "s.csv", "text,label,split\na,pos,train\nb,neg,\n"),
    "s.csv, line 3", "no value in the split column")  # fmt: skip
add("split_column_object", lambda t: table(t, "s.jsonl", jsonl({"text": "a", "label": "x", "split": {"s": 1}})),
    "s.jsonl, line 1", "'split' holds a JSON object")  # fmt: skip


# -- FIFOs, devices, sockets, links, folders and paths ------------------------------------------------------
def fifo(t: Path, name: str) -> Path:
    t.mkdir(parents=True, exist_ok=True)
    os.mkfifo(t / name)
    return t / name


def link(t: Path, name: str, target: str | Path) -> Path:
    t.mkdir(parents=True, exist_ok=True)
    (t / name).symlink_to(target)
    return t / name


def beir_with(t: Path, name: str, make: Callable[[Path, str], Path]) -> Path:
    folder = beir(t)
    (folder / name).unlink(missing_ok=True)
    make(folder, name)
    return folder


add("fifo_as_a_table", lambda t: fifo(t, "pipe.csv"), "pipe.csv", "FIFO", "not a regular file")
add("fifo_as_the_corpus", lambda t: beir_with(t, "corpus.jsonl", fifo), "corpus.jsonl", "FIFO")
add("fifo_as_qrels", lambda t: beir_with(t, "qrels/test.tsv", fifo), "test.tsv", "FIFO")
add("fifo_as_label_names", lambda t: (write_labeled(t / "b" / "train.csv"), fifo(t / "b", "label_names.json"))[0].parent,
    "label_names.json", "FIFO", args=("--kind", "classification"))  # fmt: skip
add("fifo_as_a_zip", lambda t: fifo(t, "pipe.zip"), "pipe.zip", "FIFO")
add("link_to_dev_zero", lambda t: link(t, "zero.csv", "/dev/zero"), "zero.csv", "a device")
add("link_to_dev_zero_as_corpus", lambda t: beir_with(t, "corpus.jsonl", lambda f, n: link(f, n, "/dev/zero")),
    "corpus.jsonl", "a device")  # fmt: skip
add("link_to_dev_urandom_as_zip", lambda t: link(t, "rand.zip", "/dev/urandom"), "rand.zip", "a device")
add("link_to_dev_null", lambda t: link(t, "null.jsonl", "/dev/null"), "null.jsonl", "a device")
add(
    "link_loop",
    lambda t: (link(t, "a.csv", t / "b.csv"), link(t, "b.csv", t / "a.csv"))[0],
    "a.csv",
    "symbolic link",
)
add("dangling_link", lambda t: link(t, "gone.csv", t / "nowhere.csv"), "gone.csv", "not found")
add("folder_named_like_the_corpus", lambda t: beir_with(t, "corpus.jsonl", lambda f, n: (f / n).mkdir() or f / n),
    "corpus.jsonl", "a folder, not a regular file")  # fmt: skip
add("missing_path", lambda t: t / "no" / "such.csv", "such.csv", "not found")
add(
    "path_name_too_long",
    lambda t: (t.mkdir(parents=True, exist_ok=True), t / ("x" * 300 + ".csv"))[1],
    "xxxxxxxx",
    "too long",
)
add("path_with_a_nul_character", lambda t: str(t / "a\x00b.csv"), "b.csv", "NUL character")
add(
    "empty_folder",
    lambda t: (t / "empty").mkdir(parents=True) or t / "empty",
    "empty",
    "no train / test / validation files",
)
add(
    "beir_without_queries",
    lambda t: (beir(t) / "queries.jsonl").unlink() or t / "beir",
    "beir",
    "no queries file",
)
add(
    "beir_without_qrels",
    lambda t: (beir(t) / "qrels" / "test.tsv").unlink() or t / "beir",
    "beir",
    "no qrels files",
)
add(
    "retrieval_kind_on_a_table",
    lambda t: write_labeled(t / "x.csv"),
    "x.csv",
    "no corpus file found",
    args=("--kind", "retrieval"),
)


@case("unix_socket", "sock.csv", "not a regular file")
def _(t: Path):
    short = Path(tempfile.mkdtemp(prefix="esl-", dir="/tmp"))  # socket paths are limited to ~100 bytes
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(short / "sock.csv"))
    SOCKETS.append((server, short))
    return short / "sock.csv"


SOCKETS: list[tuple[socket.socket, Path]] = []


# -- wrong formats and malformed tables --------------------------------------------------------------------
add(
    "unsupported_suffix",
    lambda t: table(t, "book.xlsx", b"PK\x03\x04"),
    "book.xlsx",
    "unsupported file type .xlsx",
)
add("no_suffix", lambda t: table(t, "README", "text,label\n"), "README", "unsupported file type (none)")
add("empty_csv", lambda t: table(t, "empty.csv", ""), "empty.csv", "file is empty")
add("csv_header_only", lambda t: table(t, "h.csv", "text,label\n"), "h.csv", "no rows in file")
add("csv_blank_lines_only", lambda t: table(t, "b.csv", "\n\n\n"), "b.csv", "the header row is empty")
add(
    "csv_duplicate_header",
    lambda t: table(t, "d.csv", "text,text,label\na,b,c\n"),
    "d.csv, line 1",
    "duplicate column names",
)
add(
    "csv_too_many_fields",
    lambda t: table(t, "m.csv", labeled_csv("a,b,c")),
    "m.csv, line 22",
    "expected 2 fields",
)
add("csv_quote_never_closed", lambda t: table(t, "q.csv", labeled_csv('"never closed,pos', "x,neg")),
    "q.csv, line 22", "never closed")  # fmt: skip
add(
    "jsonl_line_is_a_list",
    lambda t: beir(t, queries=queries_with("[1, 2]")),
    "queries.jsonl, line 4",
    "expected a JSON object, found list",
)
add(
    "jsonl_line_is_a_string",
    lambda t: beir(t, queries=queries_with('"q"')),
    "queries.jsonl, line 4",
    "found str",
)
add(
    "jsonl_truncated_line",
    lambda t: beir(t, corpus=corpus_with('{"_id": "d9", "te')),
    "corpus.jsonl, line 5",
    "invalid JSON",
)
add(
    "json_array_of_strings",
    lambda t: table(t, "a.json", '["a", "b"]'),
    "a.json",
    "expected a list of JSON objects",
)
add("json_file_holding_a_string", lambda t: table(t, "s.json", '"just text"'), "s.json, line 1", "found str")
add(
    "json_array_not_closed",
    lambda t: table(t, "c.json", '[{"text": "a", "label": "b"}'),
    "c.json",
    "invalid JSON",
)
add("corpus_without_text_column", lambda t: beir(t, corpus=jsonl({"_id": "d1", "body_html": "<p>"})),
    "corpus.jsonl, line 1", "missing document text column")  # fmt: skip
add(
    "classification_one_label",
    lambda t: table(t, "one.csv", "text,label\na,x\nb,x\n"),
    "one.csv",
    "at least 2 distinct labels",
)
add("classification_labels_differ_by_a_bom_only", lambda t: table(t, "bom.csv", "text,label\na,x\nb,\ufeffx\n"),
    "bom.csv", "at least 2 distinct labels, found ['x']")  # fmt: skip
add(
    "classification_all_texts_empty",
    lambda t: table(t, "e.csv", "text,label\n ,a\n\t,b\n"),
    "e.csv",
    "have empty text",
)
add(
    "classification_missing_label",
    lambda t: table(t, "l.csv", labeled_csv("orphan,")),
    "l.csv, line 22",
    "missing label",
)
add(
    "classification_label_column_unknown",
    lambda t: table(t, "u.csv", "text,score\na,1\n"),
    "u.csv, line 1",
    "cannot tell which column",
)
add("classification_chosen_column_absent", lambda t: write_labeled(t / "x.csv"), "x.csv, line 1", "missing column 'tag'",
    args=("--label-col", "tag"))  # fmt: skip
add("classification_text_and_label_same", lambda t: write_labeled(t / "x.csv"), "x.csv", "cannot both be column 'text'",
    args=("--text-col", "text", "--label-col", "text"))  # fmt: skip
add("label_names_invalid_json", lambda t: (write_labeled(t / "b" / "train.csv"), table(t / "b", "label_names.json", "[oops"))[0].parent,
    "label_names.json", "invalid JSON", args=("--kind", "classification"))  # fmt: skip
add("label_names_not_a_list", lambda t: (write_labeled(t / "b" / "train.csv"), table(t / "b", "label_names.json", "3"))[0].parent,
    "label_names.json", "expected a JSON list of label names", args=("--kind", "classification"))  # fmt: skip
add("label_index_out_of_range", lambda t: (table(t / "b", "train.csv", "text,label\na,0\nb,7\n"), table(t / "b", "label_names.json", '["x", "y"]'))[0].parent,
    "train.csv, line 3", "neither an index into label_names.json", args=("--kind", "classification"))  # fmt: skip


# -- archives ----------------------------------------------------------------------------------------------
def _info(name: str, mode: int | None = None) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    if mode is not None:
        info.external_attr = mode << 16
    return info


add(
    "zip_slip_dotdot",
    lambda t: beir_zip(t, "evil.zip", **{"../../outside.jsonl": "x"}),
    "evil.zip",
    "path escaping the folder",
)
add(
    "zip_slip_deep_dotdot",
    lambda t: beir_zip(t, "evil.zip", **{"a/b/../../../x": "x"}),
    "evil.zip",
    "path escaping",
)
add(
    "zip_slip_absolute",
    lambda t: beir_zip(t, "abs.zip", **{"/etc/cron.d/evil": "x"}),
    "abs.zip",
    "path escaping",
)
add(
    "zip_slip_backslashes",
    lambda t: beir_zip(t, "win.zip", **{"..\\..\\evil.txt": "x"}),
    "win.zip",
    "path escaping",
)
add(
    "zip_slip_drive_letter",
    lambda t: beir_zip(t, "drive.zip", **{"C:/Windows/evil.txt": "x"}),
    "drive.zip",
    "path escaping",
)
add("zip_symlink_member", lambda t: zip_with_info(t, _info("qrels/link.tsv", stat.S_IFLNK | 0o777), b"/etc/passwd", "link.zip"),
    "link.zip", "symbolic link")  # fmt: skip
add("zip_encrypted_member", lambda t: patch_zip(beir_zip(t, "enc.zip", **{"secret.txt": "x"}), "secret.txt", _encrypt),
    "enc.zip", "'secret.txt' is encrypted")  # fmt: skip


def _encrypt(data: bytearray, local: int, central: int) -> None:
    data[local + 6] |= 0x1  # general purpose flag bit 0: encrypted
    data[central + 8] |= 0x1


@case("zip_unknown_compression_method", "method.zip", "unsupported compression method (99)")
def _(t: Path):
    path = beir_zip(t, "method.zip", **{"odd.bin": "payload"})

    def method_99(data: bytearray, local: int, central: int) -> None:
        struct.pack_into("<H", data, local + 8, 99)
        struct.pack_into("<H", data, central + 10, 99)

    return patch_zip(path, "odd.bin", method_99)


@case("zip_bad_crc", "crc.zip", "archive member 'corpus.jsonl' cannot be unpacked", "CRC")
def _(t: Path):
    path = beir_zip(t, "crc.zip")

    def flip(data: bytearray, local: int, central: int) -> None:
        name_len, extra_len = struct.unpack_from("<HH", data, local + 26)
        data[local + 30 + name_len + extra_len + 3] ^= 0x55  # a stored byte of the data

    return patch_zip(path, "corpus.jsonl", flip)


add(
    "zip_truncated",
    lambda t: table(t, "cut.zip", beir_zip(t / "z").read_bytes()[:-30]),
    "cut.zip",
    "not a valid zip archive",
)
add("zip_empty_file", lambda t: table(t, "empty.zip", b""), "empty.zip", "not a valid zip archive")
add("zip_that_is_text", lambda t: table(t, "fake.zip", "not a zip"), "fake.zip", "not a valid zip archive")
add(
    "zip_member_name_300_characters",
    lambda t: beir_zip(t, "long.zip", **{"x" * 300 + ".txt": "x"}),
    "long.zip",
    "name too long",
)
add(
    "zip_file_and_folder_clash",
    lambda t: beir_zip(t, "clash.zip", **{"qrels/test.tsv/inner": "x"}),
    "clash.zip",
    "both a file and a folder",
)
add(
    "zip_duplicate_member",
    lambda t: beir_zip(t, "dup.zip", **{"corpus.jsonl": "{}"}),
    "dup.zip",
    "'corpus.jsonl' appears twice",
)
add(
    "zip_without_a_corpus",
    lambda t: table(t, "nothing.zip", _zip_of({"readme.txt": "hi"})),
    "nothing.zip",
    "no corpus file found",
)
add(
    "zip_inside_a_zip",
    lambda t: table(t, "outer.zip", _zip_of({"inner.zip": beir_zip(t / "i").read_bytes()})),
    "outer.zip",
    "no corpus file",
)
add("zip_member_with_bad_data", lambda t: zip_folder(beir(t, qrels=qrels_tsv("q1\td7\t1")), t / "member.zip", prefix="inner/"),
    "member.zip/test.tsv, line 2", "document id 'd7' is not in the corpus")  # fmt: skip
add("zip_member_with_a_split_typo", lambda t: zip_folder(beir(t, qrels_name="tset.tsv"), t / "typo.zip"),
    "typo.zip/tset.tsv", "is not a split name")  # fmt: skip
add("zip_member_fifo_mode", lambda t: zip_with_info(t, _info("corpus2.jsonl", stat.S_IFIFO | 0o644), b"", "fifo.zip"),
    "fifo.zip", "not a plain file")  # fmt: skip


def _zip_of(members: dict[str, bytes | str]) -> bytes:
    with tempfile.SpooledTemporaryFile() as fh:
        with zipfile.ZipFile(fh, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
        fh.seek(0)
        return fh.read()


# -- names: quotes, newlines, ../, taken ---------------------------------------------------------------------
add(
    "folder_name_with_triple_quotes",
    lambda t: write_beir(t / 'x"""; import os; """'),
    'x"""; import os; """',
    "Invalid dataset name",
)
add(
    "folder_name_with_a_newline",
    lambda t: write_beir(t / "two\nlines"),
    "'two\\nlines'",
    "Invalid dataset name",
)
add(
    "name_with_dotdot",
    lambda t: write_beir(t / "b"),
    "../etc",
    "Invalid dataset name",
    args=("--name", "../etc"),
)
add(
    "name_with_quotes",
    lambda t: write_beir(t / "b"),
    '"x"',
    "Invalid dataset name",
    args=("--name", 'it\'s "x"'),
)
add(
    "name_too_long",
    lambda t: write_beir(t / "b"),
    "nnnnnnnn",
    "Invalid dataset name",
    args=("--name", "n" * 101),
)
add("name_taken", lambda t: write_beir(t / "b"), "'existing'", "already exists", args=("--name", "existing"))
add("file_name_with_quotes_and_bad_rows", lambda t: table(t, 'it\'s "bad".csv', "text,label\na,b,c\n"),
    'it\'s "bad".csv, line 2', "expected 2 fields")  # fmt: skip
add("file_name_with_a_newline_and_bad_rows", lambda t: table(t, "bad\nname.csv", "text,label\na,b,c\n"),
    "bad name.csv, line 2", "expected 2 fields")  # fmt: skip


# -- settings and options --------------------------------------------------------------------------------
for _value in ("lots", "-5", "0", "nan", "inf"):
    add(
        f"max_file_mb_{_value}",
        lambda t: write_beir(t / "b"),
        "ESL_MAX_FILE_MB",
        repr(_value),
        env={"ESL_MAX_FILE_MB": _value},
    )
add(
    "test_size_out_of_range",
    lambda t: write_labeled(t / "x.csv"),
    "test size",
    "between 0 and 1",
    args=("--test-size", "1.5"),
)
add(
    "test_size_nan",
    lambda t: write_labeled(t / "x.csv"),
    "test size",
    "between 0 and 1",
    args=("--test-size", "nan"),
)


# -- the battery -------------------------------------------------------------------------------------------
@pytest.fixture
def quiet_sockets() -> Iterator[None]:
    yield
    while SOCKETS:
        server, folder = SOCKETS.pop()
        server.close()
        with contextlib.suppress(OSError):
            (folder / "sock.csv").unlink()
            folder.rmdir()


def test_the_battery_is_large():
    assert len(CASES) >= 100


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input_exits_2_with_one_line_and_leaves_nothing(
    name, tmp_path, ws, monkeypatch, capsys, quiet_sockets
):
    write_beir(tmp_path / "existing")
    assert main(["datasets", "import", str(tmp_path / "existing")]) == 0  # the workspace is not empty
    capsys.readouterr()
    before = workspace_state(ws)
    spec = CASES[name]
    built = spec.build(tmp_path / "case")
    capsys.readouterr()
    for key, value in spec.env.items():
        monkeypatch.setenv(key, value)
    code = main(["datasets", "import", str(built), *spec.args])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert "Traceback" not in err
    for fragment in spec.expect:
        assert fragment in err, f"{fragment!r} not in {err!r}"
    monkeypatch.delenv("ESL_MAX_FILE_MB", raising=False)
    assert workspace_state(ws) == before
    assert [r.name for r in ws.list_datasets()] == ["existing"]
    assert list((ws.home / "tmp").iterdir()) == []


def test_a_file_growing_past_the_limit_while_read_is_stopped(tmp_path, monkeypatch):
    """The bound is on the reads, not only on the size seen when the file was opened."""

    path = tmp_path / "grow.jsonl"
    path.write_bytes(b"a" * 100)
    with open_user_file(path, limit=150) as fh:
        with path.open("ab") as more:
            more.write(b"b" * 1000)
        with pytest.raises(DataImportError, match="grew over"):
            fh.read()
