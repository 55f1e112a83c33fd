"""Pure pieces of the long-document views: the length table and histogram, the numbers beside it, the
chunking names of the Compare setup, which passage matched, the paginated corpus view and the encode job's
config from the Data page (bad values: one clear error)."""

from __future__ import annotations

import pandas as pd
import pytest

from components.compare_lengths import length_numbers, lengths_frame, make_length_figure
from components.compare_lists import chunking_of, matched_passage_ids
from components.compare_setup import chunked_names, parse_cuts
from components.compare_views import index_summary
from components.data_encode import encode_config
from components.data_views import page_of
from core.data import ChunkSpec, length_stats
from core.runtime import InvalidInput
from tests.fakes import WordTokenizer


def stats(texts, window=8, spec=None):
    return length_stats(texts, WordTokenizer(), window=window, spec=spec)


def test_lengths_frame_and_numbers_from_length_stats():
    s = stats(["one two three", "a b c d e f g h i j k l m n o p"], window=8, spec=ChunkSpec(16, 4))
    frame = lengths_frame(s)
    assert list(frame.columns) == ["tokens", "beyond", "passages"]
    assert frame["beyond"].tolist() == [max(0, t - 8) for t in frame["tokens"]]
    numbers = length_numbers(s)
    assert numbers["documents beyond the window"] == "50%" and "passages per document" in numbers
    assert "passages per document" not in length_numbers(stats(["x y"], window=8))


def test_length_figure_marks_the_window_and_the_truncated_documents():
    frame = pd.DataFrame({"tokens": [100, 200, 300, 5000, 12000]})
    fig = make_length_figure(frame, window=256, chunking="256/64")
    inside, beyond = fig.data
    assert len(inside.x) == 2 and len(beyond.x) == 3 and "truncated" in beyond.name
    assert fig.layout.title.text == "Tokens per document · passages 256/64"
    assert "log scale" in fig.layout.xaxis.title.text  # 100 .. 12,000 spans two orders of magnitude
    assert any("window 256" in a.text for a in fig.layout.annotations)
    flat = make_length_figure(pd.DataFrame({"tokens": [100, 150, 300]}), window=256)
    assert "log" not in flat.layout.xaxis.title.text
    empty = make_length_figure(pd.DataFrame({"tokens": pd.Series([], dtype="int64")}), window=256)
    assert len(empty.data) == 2 and len(empty.data[0].x) == 0


def test_chunking_names_of_the_setup():
    assert parse_cuts("128/32, 256/64; 128/32") == [(128, 32), (256, 64)]
    assert parse_cuts("") == []
    for bad in ("256", "256/x", "10/2", "256/200"):
        with pytest.raises((ValueError, InvalidInput)):
            parse_cuts(bad)
    names = chunked_names(["dense", "hybrid"], [(128, 32), (256, 64)], ["bm25"], 256)
    assert names == ["dense@128/32", "dense@256/64", "hybrid@128/32", "hybrid@256/64", "bm25@256"]


def test_which_passage_matched_and_whose_chunking():
    extra = {"matched_passages": {"q1": ["d2#p7", "d1#p0", "weird#id#p3"]}}
    assert matched_passage_ids(extra, "q1", ["d1", "d2", "d9", "weird#id"]) == [
        "d1#p0",
        "d2#p7",
        None,
        "weird#id#p3",
    ]
    assert matched_passage_ids({}, "q1", ["d1"]) == [None]
    chunk = {"window": 256, "overlap": 64}
    assert chunking_of({"kind": "bm25", "chunking": chunk}) == (chunk, None)
    assert chunking_of({"kind": "dense", "model": "m", "chunking": chunk}) == (chunk, "m")
    hybrid = {
        "kind": "hybrid",
        "sparse": {"kind": "bm25", "chunking": chunk},
        "dense": {"kind": "dense", "model": "m", "chunking": chunk},
    }
    assert chunking_of(hybrid) == (chunk, "m")
    assert chunking_of({"kind": "rerank", "first_stage": hybrid}) == (chunk, "m")
    assert chunking_of({"kind": "dense", "model": "m"}) is None


def test_index_summary_names_ann_recall():
    from types import SimpleNamespace as NS

    rep = NS(
        strategies={
            "dense": NS(extra={"index": "hnsw", "ann_recall@10": 0.975}),
            "bm25": NS(extra={}),
            "flat": NS(extra={"index": "exact"}),
        }
    )
    assert index_summary(rep) == "Index: **dense**: HNSW index, recall@10 97.5% of exact"
    assert index_summary(NS(strategies={"bm25": NS(extra={})})) == ""


def test_page_of_never_returns_more_than_a_page():
    frame = pd.DataFrame({"x": range(1050)})
    rows, pages = page_of(frame, 1, 100)
    assert pages == 11 and rows["x"].tolist() == list(range(100))
    rows, _ = page_of(frame, 11, 100)
    assert rows["x"].tolist() == list(range(1000, 1050))
    assert page_of(frame, 99, 100)[0]["x"].iloc[0] == 1000 and page_of(frame, -3, 100)[0]["x"].iloc[0] == 0
    rows, pages = page_of(frame.iloc[:0], 1, 100)
    assert pages == 1 and rows.empty


def test_encode_config_of_the_data_page():
    local = encode_config("scifact", "all-MiniLM-L6-v2", "torch", "local", "ray://ignored:1", 4)
    assert local["engine"] == "local" and "ray_address" not in local and "ray_cpus" not in local
    ray = encode_config("scifact", "all-MiniLM-L6-v2", "onnx-int8", "ray", " ray://head:10001 ")
    assert ray["ray_address"] == "ray://head:10001" and ray["engine"] == "ray"
    assert encode_config("s", "m", "torch", "ray", "", 2)["ray_cpus"] == 2
    for bad in ({"engine": "spark"}, {"backend": "tpu"}, {"dataset": ""}):
        args = {"dataset": "s", "model": "m", "backend": "torch", "engine": "local"} | bad
        with pytest.raises(InvalidInput):
            encode_config(**args)
