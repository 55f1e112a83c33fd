"""Property-based tests of every importer (Hypothesis): whatever ids and texts a user file holds — quotes,
separators, newlines, tabs, look-alike and invisible characters, numbers — a file written by the standard
writer of its format imports into the workspace and reads back with the same content (ids cleaned of
invisible format characters and surrounding blanks, texts stripped), and arbitrary bytes given as a file
are either read or refused with one :class:`DataImportError` line — never another exception.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from core.data import import_path, load_classification, load_dataset, load_path
from core.data.fields import clean_id
from core.runtime import DataImportError, Workspace
from tests.tiny_data import write_frame, write_jsonl, write_qrels_tsv

# any character but surrogates and NUL (a NUL in a text file is refused as binary, tested in the battery)
CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
TEXT = st.text(CHARS, min_size=1, max_size=40).filter(lambda t: t.strip() != "")
ID = st.text(CHARS, min_size=1, max_size=12).filter(lambda t: clean_id(t) != "")
TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".parquet")
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def _unique_ids(ids: list[str]) -> bool:
    cleaned = [clean_id(i) for i in ids]
    return len(set(cleaned)) == len(cleaned)


@st.composite
def retrieval_sets(draw) -> tuple[list[dict], list[dict], list[tuple[str, str, int]]]:
    """A corpus, its queries and test judgements, with hostile ids, titles and texts."""
    doc_ids = draw(st.lists(ID, min_size=1, max_size=6).filter(_unique_ids))
    query_ids = draw(st.lists(ID, min_size=1, max_size=4).filter(_unique_ids))
    corpus = [{"_id": d, "title": draw(st.one_of(st.just(""), TEXT)), "text": draw(TEXT)} for d in doc_ids]
    queries = [{"_id": q, "text": draw(TEXT)} for q in query_ids]
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from(query_ids), st.sampled_from(doc_ids)),
            min_size=1,
            max_size=8,
            unique_by=lambda p: (clean_id(p[0]), clean_id(p[1])),
        )
    )
    qrels = [(q, d, draw(st.integers(0, 3))) for q, d in pairs]
    return corpus, queries, qrels


@contextmanager
def _workspace() -> Iterator[tuple[Workspace, Path]]:
    """A fresh workspace and a scratch folder per example (function-scoped fixtures do not reset)."""
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "home")
        try:
            yield ws, Path(tmp)
        finally:
            ws.close()


def _expected_corpus(corpus: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "doc_id": [clean_id(d["_id"]) for d in corpus],
            "title": [d["title"].strip() for d in corpus],
            "text": [d["text"].strip() for d in corpus],
        }
    )


def _assert_round_trip(ds, corpus, queries, qrels) -> None:
    got = ds.corpus[["doc_id", "title", "text"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, _expected_corpus(corpus), check_dtype=False)
    assert dict(zip(ds.queries["query_id"], ds.queries["text"], strict=True)) == {
        clean_id(q["_id"]): q["text"].strip() for q in queries
    }
    want = {(clean_id(q), clean_id(d)): s for q, d, s in qrels}
    test = ds.qrels[ds.qrels["split"] == "test"]
    assert dict(zip(zip(test["query_id"], test["doc_id"], strict=True), test["score"], strict=True)) == want


@SETTINGS
@given(data=retrieval_sets())
def test_a_beir_folder_with_any_ids_and_texts_imports_and_reads_back_the_same(data):
    corpus, queries, qrels = data
    with _workspace() as (ws, tmp):
        folder = tmp / "beir"
        write_jsonl(folder / "corpus.jsonl", corpus)
        write_jsonl(folder / "queries.jsonl", queries)
        write_qrels_tsv(folder / "qrels" / "test.tsv", qrels)
        try:
            record, _ = import_path(ws, folder, name="prop")
        except DataImportError as err:
            # a TSV qrels file cannot hold an id with a tab or a line break: refused, with the file named
            assert any(
                any(c in q + d for c in "\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029") for q, d, _ in qrels
            )
            assert "\n" not in str(err) and "test.tsv" in str(err)
            assert ws.list_datasets() == []
            event("refused")
            return
        event("imported")
        _assert_round_trip(load_dataset(ws, record.name), corpus, queries, qrels)


@SETTINGS
@given(data=retrieval_sets(), suffix=st.sampled_from(TABLE_SUFFIXES))
def test_separate_corpus_queries_and_qrels_tables_in_any_format_read_back_the_same(data, suffix):
    corpus, queries, qrels = data
    with _workspace() as (_, tmp):
        write_frame(pd.DataFrame(corpus), tmp / f"corpus{suffix}")
        write_frame(pd.DataFrame(queries), tmp / f"queries{suffix}")
        frame = pd.DataFrame(qrels, columns=["query-id", "corpus-id", "score"])
        write_frame(frame, tmp / "qrels" / f"test{suffix}")
        folder = tmp
        try:
            ds = load_path(folder, kind="retrieval")
        except DataImportError as err:
            event(f"refused: {suffix}")
            assert "\n" not in str(err)
            # pandas writes a lone carriage return unquoted, which ends the row in any CSV reader
            assert suffix in (".csv", ".tsv") and "\\r" in json.dumps(data), str(err)
            return
        _assert_round_trip(ds, corpus, queries, qrels)


@st.composite
def labeled_tables(draw) -> list[dict]:
    labels = draw(st.lists(ID, min_size=2, max_size=4).filter(_unique_ids))
    rows = [{"text": draw(TEXT), "label": label} for label in labels for _ in range(3)]
    return draw(st.permutations(rows))


@SETTINGS
@given(rows=labeled_tables(), suffix=st.sampled_from(TABLE_SUFFIXES))
def test_a_labelled_table_with_any_texts_and_labels_reads_back_every_row(rows, suffix):
    with _workspace() as (_, tmp):
        path = write_frame(pd.DataFrame(rows), tmp / f"train{suffix}")
        try:
            ds = load_classification(path, name="prop")
        except DataImportError as err:
            assert "\n" not in str(err)
            assert suffix in (".csv", ".tsv") and "\\r" in json.dumps(rows), str(err)  # as above
            return
        got = sorted(zip(ds.data["text"], ds.data["label"], strict=True))
        want = sorted((r["text"].strip(), clean_id(r["label"])) for r in rows)
        assert got == want
        assert set(ds.label_names) == {clean_id(r["label"]) for r in rows}


@pytest.mark.parametrize("name", ["corpus.jsonl", "corpus.csv", "train.tsv", "queries.jsonl", "data.parquet"])
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=400))
def test_arbitrary_bytes_are_read_or_refused_with_one_line(name, blob, tmp_path):
    path = tmp_path / name
    path.write_bytes(blob)
    try:
        load_path(path) if not name.startswith(("corpus", "queries")) else load_path(path.parent)
    except DataImportError as err:
        assert "\n" not in str(err)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(CHARS, max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


def _as_stored_text(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=JSON_VALUES)
def test_any_json_value_in_a_text_field_is_text_or_one_clear_error(value, tmp_path):
    """Objects, lists and booleans are never stored as Python reprs: they are refused, naming the file."""
    folder = tmp_path / "beir"
    write_jsonl(folder / "corpus.jsonl", [{"_id": "d1", "text": value}, {"_id": "d2", "text": "plain"}])
    write_jsonl(folder / "queries.jsonl", [{"_id": "q1", "text": "plain"}])
    write_qrels_tsv(folder / "qrels" / "test.tsv", [("q1", "d2", 1)])
    try:
        ds = load_path(folder, kind="retrieval")
    except DataImportError as err:
        assert "\n" not in str(err) and "corpus.jsonl" in str(err)
        assert isinstance(value, (dict, list, bool, float)), (value, str(err))
        return
    assert not isinstance(value, (dict, list, bool))
    texts = dict(zip(ds.corpus["doc_id"], ds.corpus["text"], strict=True))
    assert texts.get("d1", "") == _as_stored_text(value)  # an empty text is skipped with a warning
