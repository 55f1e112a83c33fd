"""Run files keep any id (issue 15, item 2): stored comparisons are Parquet ``(qid, docid, score)`` tables
that give back ids with spaces, tabs and newlines; TREC downloads stay valid TREC (whitespace in ids
percent-encoded, ambiguous ids refused); comparisons stored as TREC files before still reopen."""

from __future__ import annotations

import io
import json
import math
import shutil
import zipfile
from types import SimpleNamespace

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.compare_downloads import trec_zip
from core.data import RetrievalDataset
from core.evaluate import (
    RUN_SUFFIX,
    evaluate_run,
    format_trec_run,
    load_comparison,
    read_run,
    read_trec_run,
    run_comparison,
    run_path,
    save_comparison,
    trec_id,
    trec_path,
    write_run,
    write_trec_run,
)
from core.retrieval import BM25Spec, Corpus, DenseSpec, HybridSpec, RetrieverBuilder
from core.runtime import InvalidInput, StoreError

IDS = st.text(max_size=12)  # any Unicode text: spaces, tabs, newlines, quotes, NUL, the empty id
SCORES = st.floats(allow_nan=False, width=64)
RUNS = st.dictionaries(IDS, st.dictionaries(IDS, SCORES, max_size=6), max_size=6)


@settings(max_examples=200, deadline=None)
@given(run=RUNS)
def test_any_run_round_trips_through_a_run_file(tmp_path_factory, run):
    path = tmp_path_factory.mktemp("run") / f"r{RUN_SUFFIX}"
    write_run(run, path)
    again = read_run(path)
    assert again == run
    assert [list(docs) for docs in again.values()] == [list(docs) for docs in run.values()]  # order kept
    assert list(again) == list(run)


@settings(max_examples=200, deadline=None)
@given(run=RUNS)
def test_a_trec_download_is_valid_trec_or_refused_with_a_reason(run):
    try:
        text = format_trec_run(run, tag="my run")
    except InvalidInput as err:  # an empty id, or two ids that would be written alike
        assert "TREC run file" in str(err)
        ids = [q for q, d in run.items() if d] + [d for docs in run.values() for d in docs]
        tokens = {trec_id(i) for i in set(ids)}
        assert "" in ids or len(tokens) < len(set(ids))
        return
    lines = text.splitlines()
    assert len(lines) == sum(len(d) for d in run.values())
    for line in lines:
        qid, q0, did, rank, score, tag = line.split(" ")  # exactly six columns
        assert q0 == "Q0" and tag == "my_run" and int(rank) >= 1 and not math.isnan(float(score))
        assert not any(c.isspace() for c in qid + did)


def test_trec_ids_percent_encode_whitespace_and_keep_everything_else():
    assert trec_id("doc-1%2F:é") == "doc-1%2F:é"  # no whitespace: written as it is
    assert trec_id("doc one\ttwo\nthree\u00a0four") == "doc%20one%09two%0Athree%C2%A0four"
    text = format_trec_run({"q 1": {"d\t1": 2.0, "d2": 1.0}}, tag="bm25")
    assert text == "q%201 Q0 d%091 1 2.000000 bm25\nq%201 Q0 d2 2 1.000000 bm25\n"
    with pytest.raises(InvalidInput, match=r"'a b' and 'a%20b' would both be written as 'a%20b'"):
        format_trec_run({"q1": {"a b": 1.0, "a%20b": 0.5}}, tag="x")
    with pytest.raises(InvalidInput, match="empty query id"):
        format_trec_run({"": {"d1": 1.0}}, tag="x")


# --------------------------------------------------------------------------------------------------
# stored comparisons
# --------------------------------------------------------------------------------------------------
DOCS = {
    "doc one": "the cat sat on the mat",
    "doc\ttwo": "dogs chase cats in the park",
    "doc one two": "stock markets fell sharply on monday",  # 'doc one' + ' two' once split on spaces
    " lead space": "the central bank raised interest rates",
    "tab\tand space ": "a kitten is a young cat",
    "d6": "interest rates and young cats",
}
QUERIES = {"q 1": "young cat", "q\t2": "interest rates bank", "q 1 2": "markets fell", "q4": "cats park"}
QRELS = [
    ("test", "q 1", "tab\tand space ", 2),
    ("test", "q 1", "doc one", 1),
    ("test", "q\t2", " lead space", 1),
    ("test", "q 1 2", "doc one two", 1),
    ("test", "q4", "doc\ttwo", 1),
    ("train", "q\t2", " lead space", 1),
]


@pytest.fixture
def spaced() -> RetrievalDataset:
    corpus = pd.DataFrame({"doc_id": list(DOCS), "title": [""] * len(DOCS), "text": list(DOCS.values())})
    queries = pd.DataFrame({"query_id": list(QUERIES), "text": list(QUERIES.values())})
    qrels = pd.DataFrame(QRELS, columns=["split", "query_id", "doc_id", "score"])
    return RetrievalDataset("spaced ids", corpus, queries, qrels)


def _comparison(ds, fake_encoder, ws):
    builder = RetrieverBuilder(Corpus.from_dataset(ds), ws, encoder_factory=lambda *a: fake_encoder)
    specs = {"bm25": BM25Spec(), "dense one": DenseSpec(), "dense_one": DenseSpec(), "hybrid": HybridSpec()}
    return run_comparison(ds, "test", specs, ws=ws, k=6, builder=builder, latency_sample=2)


def test_a_comparison_on_ids_with_spaces_and_tabs_reopens_with_identical_metrics(spaced, fake_encoder, ws):
    """Must show (issue 15): ids with spaces and tabs, through save_comparison / load_comparison."""
    rep = _comparison(spaced, fake_encoder, ws)
    assert set(rep.strategies["bm25"].run) == set(QUERIES)
    again = load_comparison(ws, save_comparison(ws, rep))
    qrels = spaced.qrels_dict("test")
    for name, res in rep.strategies.items():
        back = again.strategies[name]
        assert back.run == res.run  # every id and score as it was
        assert back.metrics == res.metrics and back.per_query == res.per_query
        means, per_query = evaluate_run(qrels, back.run)
        assert means == {m: res.metrics[m] for m in means}  # the reopened run scores the same
        assert per_query == {m: res.per_query[m] for m in per_query}
    assert again.to_json() == rep.to_json()
    # two strategy names with one safe file name got two run files
    assert run_path(ws, again.run_id, "dense one") != run_path(ws, again.run_id, "dense_one")


def test_the_old_trec_files_would_have_corrupted_the_same_comparison(spaced, fake_encoder, ws, tmp_path):
    """What item 2 was: the same run through a TREC file read back by splitting on whitespace."""
    run = _comparison(spaced, fake_encoder, ws).strategies["bm25"].run
    legacy = tmp_path / "bm25.trec"
    legacy.write_text(
        "".join(f"{q} Q0 {d} 1 {s} bm25\n" for q, docs in run.items() for d, s in docs.items()), "utf-8"
    )
    try:
        back = read_trec_run(legacy)
    except ValueError:  # a score column that is a piece of an id: "no readable comparison report"
        back = None
    assert back != run


def test_a_comparison_stored_as_trec_files_still_reopens(fake_encoder, ws):
    ids = {"d1": "cat on a mat", "d2": "dogs in a park", "d3": "young cats"}
    ds = RetrievalDataset(
        "plain",
        pd.DataFrame({"doc_id": list(ids), "title": [""] * 3, "text": list(ids.values())}),
        pd.DataFrame({"query_id": ["q1", "q2"], "text": ["young cat", "dog park"]}),
        pd.DataFrame(
            [("test", "q1", "d3", 1), ("test", "q2", "d2", 1)],
            columns=["split", "query_id", "doc_id", "score"],
        ),
    )
    builder = RetrieverBuilder(Corpus.from_dataset(ds), ws, encoder_factory=lambda *a: fake_encoder)
    rep = run_comparison(ds, "test", {"bm25": BM25Spec()}, ws=ws, k=3, builder=builder, latency_sample=1)
    run_id = save_comparison(ws, rep)
    # make it look like a comparison stored before run files were Parquet
    run_path(ws, run_id, "bm25").unlink()
    write_trec_run(rep.strategies["bm25"].run, trec_path(ws, run_id, "bm25"), tag="bm25")
    again = load_comparison(ws, run_id).strategies["bm25"]
    assert set(again.run) == set(rep.strategies["bm25"].run)
    assert evaluate_run(ds.qrels_dict("test"), again.run)[0] == pytest.approx(rep.strategies["bm25"].metrics)


def test_a_broken_run_file_is_one_clear_store_error(spaced, fake_encoder, ws):
    run_id = save_comparison(ws, _comparison(spaced, fake_encoder, ws))
    run_path(ws, run_id, "hybrid").write_bytes(b"PAR1 not really parquet")
    with pytest.raises(StoreError, match=rf"Run '{run_id}' has no readable comparison report"):
        load_comparison(ws, run_id)
    shutil.rmtree(ws.run_dir(run_id))
    report = ws.home / "runs" / run_id / "report.json"
    report.parent.mkdir(parents=True)
    report.write_text(json.dumps({"strategies": {"x": {}}}))
    with pytest.raises(StoreError):
        load_comparison(ws, run_id)


def test_the_trec_zip_gives_each_strategy_its_own_file():
    runs = {"a b": {"q 1": {"d 1": 1.0}}, "a_b": {"q1": {"d1": 1.0}}}
    report = SimpleNamespace(strategies={n: SimpleNamespace(run=r) for n, r in runs.items()})
    files = zipfile.ZipFile(io.BytesIO(trec_zip(report)))
    assert files.namelist() == ["a_b.trec", "a_b-2.trec"]
    assert files.read("a_b.trec").decode() == "q%201 Q0 d%201 1 1.000000 a_b\n"
