"""``python -m core evaluate`` prints the spectrum: the table's new columns (family, encode passages/s, index
MB, bytes per vector, ratios against dense float32 exact) and ``"spectrum"`` in ``--json``, on a tiny data set
with the fake encoder."""

from __future__ import annotations

import json

import pytest

import core.retrieval.builder as builder_module
from core.cli import main
from tests.fakes import HashingEncoder
from tests.tiny_data import PETS_CORPUS, PETS_QRELS, PETS_QUERIES, write_beir

STRATEGIES = "bm25,dense,dense:binary,dense:int8,hybrid"


@pytest.fixture
def pets(tmp_path, monkeypatch, ws):  # type: ignore[no-untyped-def]
    encoder = HashingEncoder(dim=64)
    monkeypatch.setattr(
        builder_module, "_default_encoder_factory", lambda ws, corpus=None: lambda *a: encoder
    )
    return str(write_beir(tmp_path / "pets", PETS_CORPUS, PETS_QUERIES, PETS_QRELS))


def test_json_has_one_spectrum_row_per_strategy_with_ratios_against_dense(pets, capsys):
    assert main(["evaluate", "--dataset", pets, "--strategies", STRATEGIES, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    rows = {r["strategy"]: r for r in out["spectrum"]}
    assert list(rows) == STRATEGIES.split(",")
    assert [r["family"] for r in rows.values()] == ["lexical", "dense", "compressed", "compressed", "hybrid"]
    assert [n for n, r in rows.items() if r["baseline"]] == ["dense"]
    for name, row in rows.items():
        assert row["ndcg_10"] == pytest.approx(out["strategies"][name]["ndcg@10"], abs=1e-4)
        assert row["index_mb"] > 0 and row["quality_kept"] is not None, name
    assert rows["dense"]["encode"] == "measured" and rows["dense"]["encode_pps"] > 0
    assert rows["bm25"]["encode"] == "none"
    assert rows["dense:binary"]["times_smaller"] > 1 and rows["dense:int8"]["bytes_per_vector"] < 256


def test_the_table_prints_the_spectrum_and_a_rerun_says_cached(pets, capsys):
    assert main(["evaluate", "--dataset", pets, "--strategies", STRATEGIES]) == 0
    out = capsys.readouterr().out
    assert "spectrum (ratios against dense)" in out
    header = next(line for line in out.splitlines() if "encode p/s" in line)
    for column in (
        "family",
        "nDCG@10",
        "R@100",
        "p50 ms",
        "index MB",
        "B/vector",
        "kept",
        "smaller",
        "encode x",
    ):
        assert column in header, column
    lines = {line.split()[0]: line for line in out.splitlines() if line.split()[:1]}
    assert "lexical" in lines["bm25"] and "compressed" in lines["dense:binary"]
    assert "100.0%" in lines["dense"] and lines["dense"].rstrip().endswith("=")
    # the second run finds the corpus vectors in the cache: no rate to show
    assert main(["evaluate", "--dataset", pets, "--strategies", "dense,dense:binary", "--json"]) == 0
    again = {r["strategy"]: r for r in json.loads(capsys.readouterr().out)["spectrum"]}
    assert again["dense"]["encode"] == "cached" and again["dense"]["encode_pps"] is None
    assert again["dense:binary"]["times_smaller"] > 1
