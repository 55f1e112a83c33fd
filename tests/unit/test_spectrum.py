"""The spectrum table (core.evaluate.spectrum_rows and the Compare page's frame of it): families, encode
rates measured in the run or ``cached``, index sizes of every part, ratios against dense float32 exact, and
what a report without a baseline or a static model shows; once on a hand-made report, once through a real
comparison (fake dense encoder, the packaged splade-tiny)."""

from __future__ import annotations

import pytest

from components.compare_tables import metrics_display_frame, spectrum_display_frame
from components.compress_figures import size_frame
from core.evaluate import (
    CompareOptions,
    ComparisonReport,
    StrategyResult,
    run_comparison,
    spectrum_baseline,
    spectrum_rows,
)
from core.models import DEFAULT_SPARSE_MODEL
from core.retrieval import (
    BM25Spec,
    Corpus,
    DenseSpec,
    FusionSpec,
    RetrieverBuilder,
    SparseSpec,
    make_sparse_encoder,
    spec_to_dict,
)
from tests.fakes import HashingEncoder
from tests.unit.test_splade import tiny  # noqa: F401  (fixture)

N = 1000  # documents of the hand-made report


def _result(name, spec, ndcg, extra, p50=5.0):  # type: ignore[no-untyped-def]
    return StrategyResult(
        name,
        spec.label,
        spec_to_dict(spec),
        {"ndcg@10": ndcg, "recall@100": ndcg + 0.2},
        {},
        p50,
        2 * p50,
        1.0,
        {},
        extra=extra,
    )


def _dense_extra(bytes_per_vector, rate=None, index="exact"):  # type: ignore[no-untyped-def]
    extra = {
        "index": index,
        "index_mb": N * bytes_per_vector / 1e6,
        "index_bytes_per_vector": float(bytes_per_vector),
        "from_cache": rate is None,
    }
    if rate is not None:
        extra |= {"encode_passages_per_s": float(rate), "encode_s": N / rate}
    return extra


SPLADE = {"splade_from_cache": False, "splade_encode_s": 40.0, "splade_postings": 250 * N}
SPLADE |= {"splade_terms_per_doc": 250.0, "splade_index_bytes": 2_000_000}
BM25 = {"bm25_index_bytes": 1_000_000, "bm25_documents": N}


@pytest.fixture
def report() -> ComparisonReport:
    static = DenseSpec(model="minilm-static")
    results = {
        "bm25": _result("bm25", BM25Spec(), 0.60, dict(BM25), p50=0.1),
        "splade": _result("splade", SparseSpec(), 0.58, dict(SPLADE)),
        "dense": _result("dense", DenseSpec(), 0.64, _dense_extra(1536, rate=25.0)),
        "dense:binary": _result("dense:binary", DenseSpec(quantization="binary"), 0.64, _dense_extra(48)),
        "static": _result(
            "static", static, 0.40, _dense_extra(1024, rate=2500.0) | {"backend": "static · fp32 · cpu"}
        ),
        "static_rescore": _result(
            "static_rescore",
            DenseSpec(model="minilm-static", rescore_with=DenseSpec().model),
            0.60,
            _dense_extra(1024),
        ),
        "hybrid3": _result(
            "hybrid3",
            FusionSpec(parts=(BM25Spec(), SparseSpec(), DenseSpec())),
            0.70,
            _dense_extra(1536) | BM25 | SPLADE | {"splade_from_cache": True},
        ),
    }
    return ComparisonReport("toy", "test", 3, 100, results, "bm25", {})


def test_each_strategy_gets_its_family_and_the_ratios_against_dense(report):
    rows = {r.strategy: r for r in spectrum_rows(report)}
    assert [r.family for r in rows.values()] == [
        "lexical",
        "learned sparse",
        "dense",
        "compressed",
        "static",
        "static",
        "hybrid",
    ]
    assert spectrum_baseline(report) == "dense" and rows["dense"].baseline
    assert [n for n, r in rows.items() if r.baseline] == ["dense"]
    base = rows["dense"]
    assert (base.quality_kept, base.times_smaller, base.times_faster_encode) == (1.0, 1.0, 1.0)
    binary = rows["dense:binary"]
    assert binary.quality_kept == pytest.approx(1.0) and binary.times_smaller == pytest.approx(32.0)
    assert rows["static"].quality_kept == pytest.approx(0.40 / 0.64)
    assert rows["static"].times_faster_encode == pytest.approx(100.0)  # 2,500 against 25 passages/s
    assert rows["bm25"].times_smaller == pytest.approx(1.536)  # its index: 1 MB against 1.536 MB
    assert rows["bm25"].bytes_per_vector == pytest.approx(1000.0)


def test_encode_rates_count_every_model_and_come_from_the_run(report):
    rows = {r.strategy: r for r in spectrum_rows(report)}
    assert (rows["bm25"].encode, rows["bm25"].encode_pps) == ("none", None)  # no model to run
    assert rows["splade"].encode == "measured" and rows["splade"].encode_pps == pytest.approx(25.0)
    # dense:binary's vectors came from the cache, but the run encoded them for dense: that rate
    assert rows["dense:binary"].encode == "measured" and rows["dense:binary"].encode_pps == pytest.approx(
        25.0
    )
    # static_rescore pays for the static model and for MiniLM: 1 / (1/2500 + 1/25)
    assert rows["static_rescore"].encode_pps == pytest.approx(1 / (1 / 2500 + 1 / 25))
    # hybrid3: BM25 (nothing), SPLADE 25/s, dense 25/s -> 12.5 passages/s; indexes of all three parts
    assert rows["hybrid3"].encode_pps == pytest.approx(12.5)
    assert rows["hybrid3"].index_mb == pytest.approx(1.536 + 2.0 + 1.0)
    assert rows["hybrid3"].times_faster_encode == pytest.approx(0.5)


def test_a_model_only_the_cache_had_is_cached_unless_a_sample_rate_is_given(report):
    strategies = {n: r for n, r in report.strategies.items() if n != "dense"}
    cached = ComparisonReport("toy", "test", 3, 100, strategies, "bm25", {})
    rows = {r.strategy: r for r in spectrum_rows(cached)}
    assert rows["dense:binary"].encode == "cached" and rows["dense:binary"].encode_pps is None
    assert rows["hybrid3"].encode == "cached"
    assert spectrum_baseline(cached) is None  # no float32 exact dense: no ratios
    assert all(r.quality_kept is None and r.times_smaller is None and not r.baseline for r in rows.values())
    sampled = {r.strategy: r for r in spectrum_rows(cached, sample_rates={"all-MiniLM-L6-v2": 20.0})}
    assert sampled["dense:binary"].encode == "sample" and sampled["dense:binary"].encode_pps == pytest.approx(
        20.0
    )


def test_without_static_or_splade_the_table_still_holds_every_strategy(report):
    keep = ("bm25", "dense", "dense:binary")
    small = ComparisonReport("toy", "test", 3, 100, {n: report.strategies[n] for n in keep}, "bm25", {})
    frame = spectrum_display_frame(small)
    assert list(frame["strategy"]) == list(keep)
    assert list(frame["family"]) == ["lexical", "dense", "compressed"]
    row = frame.set_index("strategy")
    assert row.loc["bm25", "encode passages/s"] == "—"
    assert row.loc["dense", "nDCG@10 kept"] == "baseline" and row.loc["dense", "× smaller"] == "1x"
    assert (
        row.loc["dense:binary", "× smaller"] == "32.00x"
        and row.loc["dense:binary", "nDCG@10 kept"] == "100.0 %"
    )
    # the numbers the metrics table shows are the same; the costs are no longer repeated there
    assert row.loc["dense", "nDCG@10"] == 0.64 and metrics_display_frame(small).loc[1, "nDCG@10"] == "0.6400"
    assert "p50 ms" in frame.columns and "p50 ms" not in metrics_display_frame(small).columns


def test_a_real_comparison_reports_what_the_table_needs(tiny):  # noqa: F811
    splade = make_sparse_encoder(DEFAULT_SPARSE_MODEL)
    builder = RetrieverBuilder(
        Corpus.from_dataset(tiny),
        encoder_factory=lambda m, b, n: HashingEncoder(dim=32 if "static" in m else 64, name=m),
        sparse_encoder_factory=lambda m, n: splade,
    )
    names = ("bm25", "splade", "dense", "dense:int8", "static", "static_rescore", "hybrid", "hybrid3")
    rep = run_comparison(
        tiny, "test", CompareOptions(strategies=names).specs(tiny.splits), builder=builder, k=5
    )
    rows = {r.strategy: r for r in spectrum_rows(rep)}
    assert list(rows) == list(names) and rows["dense"].baseline
    assert {r.family for r in rows.values()} == {
        "lexical",
        "learned sparse",
        "dense",
        "compressed",
        "static",
        "hybrid",
    }
    for name, row in rows.items():
        assert row.index_mb is not None and row.index_mb > 0, name
        assert row.quality_kept is not None and row.times_smaller is not None, name
        assert row.ndcg_10 == rep.strategies[name].metrics["ndcg@10"]
        assert row.latency_ms_p50 == rep.strategies[name].latency_ms_p50
        if name != "bm25":  # no cache here: every model encoded in this run
            assert row.encode == "measured" and row.encode_pps > 0, name
    assert rows["bm25"].bytes_per_vector > 0 and rows["bm25"].encode == "none"
    assert rows["dense:int8"].times_smaller > 1


def test_the_size_chart_counts_sizes_as_the_table_does(report):
    frame = size_frame(report).set_index("strategy")
    rows = {r.strategy: r for r in spectrum_rows(report)}
    assert "bm25" not in frame.index and "splade" not in frame.index  # no dense index: not on the chart
    for name in frame.index:
        assert frame.loc[name, "index_mb"] == pytest.approx(rows[name].index_mb)
        assert frame.loc[name, "index_bytes_per_vector"] == pytest.approx(rows[name].bytes_per_vector)
    assert frame.loc["hybrid3", "index_mb"] == pytest.approx(1.536 + 2.0 + 1.0)  # all three parts
