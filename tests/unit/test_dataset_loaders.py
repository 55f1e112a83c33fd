"""Every loader: BEIR folder and zip, separate files in each format, TREC qrels, classification tables."""

from __future__ import annotations

import json
import zipfile
from collections import Counter

import pandas as pd
import pytest

from core.data import (
    LabeledDataset,
    RetrievalDataset,
    dataset_summary,
    import_dataset,
    inspect_table,
    load_classification,
    load_dataset,
    load_path,
    load_retrieval_beir,
    load_retrieval_files,
    scan_data_dir,
    split_of_file,
    staged_files,
)
from tests.tiny_data import (
    CORPUS,
    LABELED,
    QRELS,
    QUERIES,
    write_beir,
    write_frame,
    write_jsonl,
    write_labeled,
    zip_folder,
)


def _check_tiny_retrieval(ds: RetrievalDataset) -> None:
    assert ds.doc_ids == ["d1", "d2", "d3", "d4"]
    assert ds.queries["query_id"].tolist() == ["q1", "q2", "q3"]
    assert ds.splits == ["train", "test"]
    # graded relevance kept, zeros (judged not relevant) kept
    assert ds.qrels_dict("test") == {"q1": {"d1": 2, "d2": 0}, "q2": {"d2": 1}}
    assert ds.qrels_dict("train") == {"q3": {"d3": 1, "d4": 0}}
    assert ds.split_queries("test")["query_id"].tolist() == ["q1", "q2"]


# -- retrieval ----------------------------------------------------------------------------------------
def test_beir_folder(tmp_path):
    ds = load_retrieval_beir(write_beir(tmp_path / "tiny"))
    _check_tiny_retrieval(ds)
    assert ds.name == "tiny"
    assert ds.warnings == ()
    # title and text joined for indexing, empty title gives just the text
    assert ds.doc_texts()[0] == "Cats Cats purr when they are content."
    assert ds.doc_texts()[2] == "Birds migrate south in winter to find food."
    assert dataset_summary(ds) == {
        "name": "tiny",
        "kind": "retrieval",
        "documents": 4,
        "queries": 3,
        "qrels": 5,
        "rows": None,
        "labels": None,
        "splits": {"train": {"queries": 1, "qrels": 2}, "test": {"queries": 2, "qrels": 3}},
    }


def test_beir_zip_with_nested_folder_and_macos_junk(tmp_path):
    folder = write_beir(tmp_path / "src")
    zip_path = zip_folder(folder, tmp_path / "tiny.zip", prefix="tiny-beir/")
    with zipfile.ZipFile(zip_path, "a") as zf:
        zf.writestr("__MACOSX/tiny-beir/._corpus.jsonl", b"\x00\x05junk")
    ds = load_path(zip_path)
    assert isinstance(ds, RetrievalDataset)
    assert ds.name == "tiny"
    _check_tiny_retrieval(ds)


def test_beir_dev_split_is_named_validation(tmp_path):
    folder = write_beir(tmp_path / "d", qrels={"dev": [("q1", "d1", 1)], "test": [("q2", "d2", 1)]})
    assert load_retrieval_beir(folder).splits == ["validation", "test"]
    assert split_of_file("dev.tsv") == "validation"
    assert split_of_file("corpus.jsonl") is None


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_separate_files_in_each_format(tmp_path, suffix):
    corpus = pd.DataFrame(CORPUS).rename(columns={"_id": "doc_id"})
    queries = pd.DataFrame(QUERIES).rename(columns={"_id": "query_id"})
    qrels = {
        split: pd.DataFrame(rows, columns=["query_id", "doc_id", "relevance"])
        for split, rows in QRELS.items()
    }
    ds = load_retrieval_files(
        write_frame(corpus, tmp_path / f"docs{suffix}"),
        write_frame(queries, tmp_path / f"questions{suffix}"),
        {split: write_frame(frame, tmp_path / f"{split}{suffix}") for split, frame in qrels.items()},
        name="sep",
    )
    _check_tiny_retrieval(ds)
    assert ds.corpus["title"].tolist() == ["Cats", "Dogs", "", "Fish"]


def test_numeric_ids_in_parquet_and_csv_stay_plain_strings(tmp_path):
    corpus = pd.DataFrame({"id": [10, 11], "text": ["ten", "eleven"]})
    queries = pd.DataFrame({"id": [1, 2], "text": ["q one", "q two"]})
    qrels = pd.DataFrame({"qid": [1, 2], "docid": [10, 11], "score": [1, 2]})
    ds = load_retrieval_files(
        write_frame(corpus, tmp_path / "c.parquet"),
        write_frame(queries, tmp_path / "q.csv"),
        write_frame(qrels, tmp_path / "test.parquet"),
    )
    assert ds.doc_ids == ["10", "11"]
    assert ds.qrels_dict("test") == {"1": {"10": 1}, "2": {"11": 2}}


@pytest.mark.parametrize("columns", [4, 3])
def test_trec_qrels(tmp_path, columns):
    write_beir(tmp_path / "t", qrels={})
    rows = ["q1 0 d1 2", "q1 0 d2 0", "q2 0 d2 1"] if columns == 4 else ["q1 d1 2", "q1 d2 0", "q2 d2 1"]
    trec = tmp_path / "qrels.test.trec"
    trec.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ds = load_retrieval_files(
        tmp_path / "t" / "corpus.jsonl", tmp_path / "t" / "queries.jsonl", {"test": trec}
    )
    assert ds.qrels_dict("test") == {"q1": {"d1": 2, "d2": 0}, "q2": {"d2": 1}}


def test_single_qrels_path_is_named_by_its_file(tmp_path):
    folder = write_beir(tmp_path / "t")
    ds = load_retrieval_files(
        folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / "train.tsv"
    )
    assert ds.splits == ["train"]


def test_utf8_bom_is_dropped(tmp_path):
    folder = write_beir(tmp_path / "b")
    raw = (folder / "corpus.jsonl").read_bytes()
    (folder / "corpus.jsonl").write_bytes(b"\xef\xbb\xbf" + raw)
    qrels = folder / "qrels" / "test.tsv"
    qrels.write_bytes(b"\xef\xbb\xbf" + qrels.read_bytes())
    ds = load_retrieval_beir(folder)
    assert ds.doc_ids[0] == "d1"
    assert ds.warnings == ()
    _check_tiny_retrieval(ds)


def test_cranfield_like_empty_documents_are_skipped_with_warnings(tmp_path):
    corpus = [*CORPUS, {"_id": "d5", "title": "", "text": ""}]
    folder = write_beir(tmp_path / "e", corpus=corpus, qrels={"test": [("q1", "d1", 1), ("q2", "d5", 2)]})
    ds = load_retrieval_beir(folder)
    assert "d5" not in ds.doc_ids
    assert ds.qrels_dict("test") == {"q1": {"d1": 1}}
    assert any("corpus.jsonl: skipped 1 document(s) with empty text (line 5)" in w for w in ds.warnings)
    assert any("test.tsv: dropped 1 judgement(s)" in w and "line 3" in w for w in ds.warnings)


# -- classification ------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_classification_in_each_format(tmp_path, suffix):
    ds = load_classification(write_labeled(tmp_path / f"reviews{suffix}"), name="rev")
    assert isinstance(ds, LabeledDataset)
    assert ds.label_names == ("neg", "pos")
    assert not ds.multi_label
    assert len(ds.data) == 20
    assert set(ds.splits) == {"train", "test"}
    assert dataset_summary(ds)["rows"] == 20
    assert dataset_summary(ds)["labels"] == 2


def test_made_split_is_stratified_and_seeded(tmp_path):
    rows = [{"text": f"t{i}", "label": "a" if i < 60 else ("b" if i < 90 else "c")} for i in range(100)]
    path = write_labeled(tmp_path / "x.csv", rows)
    one = load_classification(path, test_size=0.2, seed=7)
    again = load_classification(path, test_size=0.2, seed=7)
    other = load_classification(path, test_size=0.2, seed=8)
    assert one.data["split"].tolist() == again.data["split"].tolist()
    assert one.data["split"].tolist() != other.data["split"].tolist()
    test_counts = Counter(one.split("test")["label"])
    assert test_counts == {"a": 12, "b": 6, "c": 2}  # 20% of each label
    assert any("stratified 80%/20%" in w and "seed 7" in w for w in one.warnings)


def test_tiny_labels_fall_back_to_random_split_and_say_so(tmp_path):
    rows = [{"text": f"t{i}", "label": "a"} for i in range(8)] + [{"text": "lonely", "label": "b"}]
    ds = load_classification(write_labeled(tmp_path / "x.csv", rows), test_size=0.3)
    assert any("random" in w for w in ds.warnings)
    assert set(ds.splits) == {"train", "test"}


def test_given_split_files_in_a_folder(tmp_path):
    write_labeled(tmp_path / "f" / "train.csv", LABELED[:6] + LABELED[10:16])
    write_labeled(tmp_path / "f" / "dev.csv", LABELED[6:8] + LABELED[16:18])
    write_labeled(tmp_path / "f" / "test.csv", LABELED[8:10] + LABELED[18:20])
    ds = load_path(tmp_path / "f")
    assert ds.kind == "classification"
    assert ds.splits == ["train", "validation", "test"]
    assert [len(ds.split(s)) for s in ds.splits] == [12, 4, 4]
    assert ds.warnings == ()
    info = inspect_table(tmp_path / "f")
    assert info.split_files == ("train", "validation", "test")
    assert info.path.name == "train.csv"


def test_split_column_is_used_and_can_be_overridden(tmp_path):
    rows = [dict(r, part="test" if i % 5 == 0 else "train") for i, r in enumerate(LABELED)]
    path = write_labeled(tmp_path / "s.jsonl", rows)
    given = load_classification(path, split_col="part")
    assert Counter(given.data["split"]) == {"train": 16, "test": 4}
    made = load_classification(path, split_col="part", make_split=True, test_size=0.5)
    assert Counter(made.data["split"]) == {"train": 10, "test": 10}
    auto = load_classification(write_labeled(tmp_path / "t.csv", [dict(r, split="dev") for r in LABELED]))
    assert auto.splits == ["validation"]


def test_multi_label_rows_as_lists_and_json_text(tmp_path):
    rows = [{"text": f"row {i}", "labels": ["x", "y"] if i % 2 else ["y"]} for i in range(10)]
    for suffix in (".jsonl", ".parquet", ".csv"):
        frame = pd.DataFrame(rows)
        if suffix == ".csv":
            frame["labels"] = frame["labels"].map(json.dumps)
        ds = load_classification(write_frame(frame, tmp_path / f"m{suffix}"), make_split=True)
        assert ds.multi_label
        assert ds.label_names == ("x", "y")
        assert sorted(map(tuple, ds.data["labels"])) == sorted([("x", "y")] * 5 + [("y",)] * 5)
        assert all(isinstance(t, list) for t in ds.targets("train"))


def test_label_names_file_maps_indices(tmp_path):
    write_labeled(tmp_path / "b" / "train.csv", [{"text": f"t{i}", "label": i % 3} for i in range(9)])
    (tmp_path / "b" / "label_names.json").write_text(json.dumps(["card", "loan", "atm"]))
    ds = load_path(tmp_path / "b", kind="classification")
    assert ds.label_names == ("card", "loan", "atm")
    assert Counter(ds.data["label"]) == {"card": 3, "loan": 3, "atm": 3}


def test_explicit_columns_when_not_obvious(tmp_path):
    rows = [{"body": f"doc {i}", "tag": "a" if i % 2 else "b", "n": i} for i in range(10)]
    path = write_labeled(tmp_path / "odd.csv", rows)
    info = inspect_table(path)
    assert info.columns == ("body", "tag", "n")
    assert info.text_col is None and info.label_col is None
    assert len(info.preview) == 10
    ds = load_path(path, text_col="body", label_col="tag")
    assert ds.label_names == ("a", "b")


def test_inspect_guesses_known_columns(tmp_path):
    info = inspect_table(write_labeled(tmp_path / "g.csv", [dict(r, split="train") for r in LABELED]))
    assert (info.text_col, info.label_col, info.split_col, info.rows) == ("text", "label", "split", 20)


# -- store integration -----------------------------------------------------------------------------------
def test_import_save_load_round_trip(ws, tmp_path):
    record, ds = import_dataset(ws, write_beir(tmp_path / "rt"), name="round trip")
    back = load_dataset(ws, "round trip")
    pd.testing.assert_frame_equal(back.corpus, ds.corpus)
    pd.testing.assert_frame_equal(back.qrels, ds.qrels)
    assert back.fingerprint == ds.fingerprint
    assert record.summary["documents"] == 4
    _, cls = import_dataset(ws, write_labeled(tmp_path / "c.jsonl"), name="cls")
    back_cls = load_dataset(ws, "cls")
    assert back_cls.label_names == cls.label_names
    assert back_cls.data["split"].tolist() == cls.data["split"].tolist()


def test_staged_files_are_removed_afterwards(ws):
    with staged_files(ws, {"a/../../corpus.jsonl": b"{}", "x/q.csv": b"a,b\n"}) as paths:
        assert paths["a/../../corpus.jsonl"].name == "corpus.jsonl"
        assert paths["a/../../corpus.jsonl"].is_relative_to(ws.home / "tmp")
        assert all(p.exists() for p in paths.values())
    assert list((ws.home / "tmp").iterdir()) == []


def test_scan_data_dir_lists_both_kinds(tmp_path):
    write_beir(tmp_path / "data" / "beir1")
    write_labeled(tmp_path / "data" / "cls1" / "train.csv")
    (tmp_path / "data" / "notes").mkdir()
    (tmp_path / "data" / "PROVENANCE.json").write_text(
        json.dumps({"beir1": {"domain": "pets", "license": "CC0"}})
    )
    sources = {s.name: s for s in scan_data_dir(tmp_path / "data")}
    assert set(sources) == {"beir1", "cls1"}
    assert sources["beir1"].kind == "retrieval"
    assert sources["beir1"].description == "pets"
    assert sources["cls1"].kind == "classification"


def test_jsonl_keys_may_differ_between_lines(tmp_path):
    corpus = [
        {"_id": "d1", "text": "only text"},
        {"_id": "d2", "title": "T", "text": "with title", "extra": 1},
    ]
    write_jsonl(tmp_path / "c.jsonl", corpus)
    write_jsonl(tmp_path / "q.jsonl", [{"_id": "q", "text": "t"}])
    (tmp_path / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq\td2\t1\n")
    ds = load_retrieval_files(tmp_path / "c.jsonl", tmp_path / "q.jsonl", tmp_path / "test.tsv")
    assert ds.corpus["title"].tolist() == ["", "T"]
