"""Compressed dense indexes (float16 / int8 / binary with rescoring, PCA and truncation), their settings
checked, their bytes per vector, the strategy names that ask for them, static_rescore, and the
quality-vs-size figure; all with the fake encoder or synthetic vectors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from components.compress_figures import make_quality_vs_size_figure, size_frame
from core.encoding import normalize_rows
from core.evaluate import CompareOptions, parse_strategy, run_comparison, strategy_variant
from core.retrieval import (
    CompressedIndex,
    Corpus,
    DenseSpec,
    RetrieverBuilder,
    exact_top_k,
    plan_index,
    spec_from_dict,
    spec_to_dict,
)
from core.runtime import InvalidInput
from tests.fakes import HashingEncoder
from tests.unit.test_retrieval_core import tiny  # noqa: F401  (fixture)

DIM = 64


def _clustered(n: int, dim: int = DIM, clusters: int = 20, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = normalize_rows(rng.standard_normal((clusters, dim)))
    noise = normalize_rows(rng.standard_normal((n, dim)))
    return normalize_rows(centres[rng.integers(0, clusters, n)] + 0.6 * noise)


def _queries(docs: np.ndarray, m: int = 40, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(docs), size=m, replace=False)
    return normalize_rows(docs[picks] + 0.1 * normalize_rows(rng.standard_normal((m, docs.shape[1]))))


def _index(docs: np.ndarray, **settings) -> CompressedIndex:
    spec = DenseSpec(**settings)
    return CompressedIndex(docs, spec, plan_index(spec, len(docs)))


def _recall(index: CompressedIndex, docs: np.ndarray, queries: np.ndarray, k: int = 10) -> float:
    exact = exact_top_k(docs, queries, k)
    _, got = index.search(queries, k)
    return float(np.mean([len(set(e) & set(g)) / k for e, g in zip(exact, got, strict=True)]))


# -- each quantization: shapes, bytes, quality -----------------------------------------------------------
@pytest.mark.parametrize(
    ("quantization", "code_bytes", "min_recall"),
    [("float32", 4 * DIM, 1.0), ("float16", 2 * DIM, 0.99), ("int8", DIM, 0.9), ("binary", DIM // 8, 0.7)],
)
def test_each_quantization_searches_like_faiss_in_its_bytes(quantization, code_bytes, min_recall):
    docs = _clustered(2000)
    queries = _queries(docs)
    index = _index(docs, quantization=quantization, dims=None)
    scores, ids = index.search(queries, 10)
    assert scores.shape == ids.shape == (len(queries), 10)
    assert ids.min() >= 0 and ids.max() < len(docs)
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first
    # what the index holds: its codes plus a header of a few hundred bytes
    assert code_bytes <= index.bytes_per_vector <= code_bytes + 1.0
    assert _recall(index, docs, queries) >= min_recall


def test_binary_is_32x_smaller_than_float32_and_int8_4x():
    docs = _clustered(4000)
    f32, i8, b = (_index(docs, quantization=q).nbytes for q in ("float32", "int8", "binary"))
    assert f32 / b >= 30 and f32 / i8 >= 3.9


def test_rescoring_every_candidate_restores_the_exact_order():
    docs = _clustered(200)
    queries = _queries(docs, m=20)
    index = _index(docs, quantization="binary", rescore=20)  # 10 x 20 candidates: the whole corpus
    scores, ids = index.search(queries, 10)
    exact = exact_top_k(docs, queries, 10)
    assert np.array_equal(ids, exact)
    np.testing.assert_allclose(scores, np.take_along_axis(queries @ docs.T, exact, 1), rtol=1e-5)


def test_rescoring_recovers_what_hamming_order_loses():
    docs = _clustered(3000)
    queries = _queries(docs)
    hamming = _recall(_index(docs, quantization="binary", rescore=0), docs, queries)
    rescored = _recall(_index(docs, quantization="binary", rescore=10), docs, queries)
    assert rescored >= hamming + 0.3 and rescored >= 0.85
    scores, _ = _index(docs, quantization="binary", rescore=0).search(queries, 5)
    assert np.all((scores >= -1) & (scores <= 1))  # Hamming shown on the cosine scale


@pytest.mark.parametrize("reduce", ["pca", "truncate"])
def test_fewer_dimensions_shrink_the_index_and_keep_neighbours(reduce):
    docs = _clustered(1500)
    index = _index(docs, dims=32, reduce=reduce)
    assert index.dim == 32
    assert 32 * 4 <= index.bytes_per_vector <= 32 * 4 + 1.0
    assert _recall(index, docs, _queries(docs)) >= (0.6 if reduce == "pca" else 0.3)
    both = _index(docs, dims=32, reduce=reduce, quantization="int8")
    assert 32 <= both.bytes_per_vector <= 33


@pytest.mark.parametrize(
    ("index", "quantization"),
    [("hnsw", "int8"), ("hnsw", "float16"), ("ivf", "int8"), ("hnsw", "binary"), ("ivf", "binary")],
)
def test_approximate_indexes_take_every_quantization(index, quantization):
    docs = _clustered(3000)
    queries = _queries(docs)
    spec = DenseSpec(index=index, quantization=quantization, rescore=10, ivf_nlist=16, ivf_nprobe=8)
    built = CompressedIndex(docs, spec, plan_index(spec, len(docs)))
    assert _recall(built, docs, queries) >= 0.8


def test_too_many_dimensions_or_too_few_vectors_are_refused():
    docs = _clustered(50)
    with pytest.raises(InvalidInput, match="fewer than"):
        _index(docs, dims=DIM)
    with pytest.raises(InvalidInput, match="needs at least"):
        _index(docs[:10], dims=16)


# -- settings -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "bad",
    [
        {"quantization": "int4"},
        {"quantization": ""},
        {"rescore": -1},
        {"rescore": 1000},
        {"rescore": True},
        {"rescore": 2.5},
        {"dims": 4},
        {"dims": "128"},
        {"dims": 100, "quantization": "binary"},
        {"reduce": "svd"},
        {"rescore_with": ""},
        {"rescore_with": "all-MiniLM-L6-v2", "rescore": 0},
    ],
)
def test_invalid_settings_are_one_clear_error(bad):
    with pytest.raises(InvalidInput):
        DenseSpec(**bad)
    with pytest.raises(InvalidInput):
        spec_from_dict({"kind": "dense", **bad})


def test_labels_say_the_variant_and_specs_round_trip():
    plain = DenseSpec()
    assert plain.label == "Dense (all-MiniLM-L6-v2)"
    assert DenseSpec(quantization="int8").label.endswith(" int8")
    assert "binary (rescore ×4)" in DenseSpec(quantization="binary").label
    assert "PCA 128-d" in DenseSpec(dims=128).label
    assert "128-d truncated" in DenseSpec(dims=128, reduce="truncate").label
    spec = DenseSpec(quantization="binary", rescore=8, dims=128, rescore_with="x")
    assert spec_from_dict(spec_to_dict(spec)) == spec
    assert spec_from_dict({"kind": "dense", "model": "m"}) == DenseSpec(model="m")  # older runs still load


# -- strategy names -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "base", "cut", "variant"),
    [
        ("dense:int8", "dense", None, {"quantization": "int8"}),
        ("dense:binary+rescore8", "dense", None, {"quantization": "binary", "rescore": 8}),
        ("dense:pca128", "dense", None, {"dims": 128, "reduce": "pca"}),
        ("dense:dim128", "dense", None, {"dims": 128, "reduce": "truncate"}),
        ("dense:int8@256/64", "dense", (256, 64), {"quantization": "int8"}),
        ("hybrid:binary+pca256", "hybrid", None, {"quantization": "binary", "dims": 256, "reduce": "pca"}),
        ("static", "static", None, {}),
        ("dense@256/64", "dense", (256, 64), {}),
    ],
)
def test_strategy_names_carry_index_variants(name, base, cut, variant):
    assert parse_strategy(name) == (base, cut)
    assert strategy_variant(name) == variant


@pytest.mark.parametrize(
    "name", ["bm25:int8", "dense:int4", "dense:", "dense:pca", "dense:binary+dim100", "dense:rescore-1"]
)
def test_bad_variants_are_refused(name):
    with pytest.raises(InvalidInput):
        CompareOptions(strategies=(name,))


def test_options_build_variant_specs_for_every_dense_part():
    opts = CompareOptions(
        strategies=("dense:int8", "hybrid:binary", "static", "static_rescore:int8", "dense:pca64@128/32"),
        static_model="my-static",
    )
    specs = opts.specs(["train", "test"])
    assert specs["dense:int8"].quantization == "int8"
    assert specs["hybrid:binary"].dense.quantization == "binary"
    assert specs["static"] == DenseSpec(model="my-static", backend=opts.backend)
    rescored = specs["static_rescore:int8"]
    assert (rescored.model, rescored.rescore_with, rescored.quantization) == ("my-static", opts.model, "int8")
    chunked = specs["dense:pca64@128/32"]
    assert chunked.dims == 64 and chunked.chunking.window == 128


# -- through the builder and the comparison -----------------------------------------------------------
def _fakes(model: str, backend: str, msl: int | None) -> HashingEncoder:
    return HashingEncoder(dim=64 if model == "teacher" else 32, name=model)


def test_variants_report_quality_and_bytes_per_vector_in_one_comparison(tiny):  # noqa: F811
    opts = CompareOptions(strategies=("dense", "dense:float16", "dense:int8", "dense:binary+rescore2"))
    builder = RetrieverBuilder(Corpus.from_dataset(tiny), None, encoder_factory=_fakes)
    report = run_comparison(tiny, "test", opts.specs(tiny.splits), builder=builder, k=5)
    sizes = {n: r.extra["index_bytes_per_vector"] for n, r in report.strategies.items()}
    # five documents: the int8 ranges (8 bytes a dimension) weigh more than the codes; see the tests above
    assert sizes["dense"] > sizes["dense:float16"] > sizes["dense:binary+rescore2"]
    assert sizes["dense"] > sizes["dense:int8"] > sizes["dense:binary+rescore2"]
    for res in report.strategies.values():
        assert {"quantization", "dims", "index_mb", "ndcg@10"} <= set(res.extra) | set(res.metrics)
        assert res.latency_ms_p50 >= 0
    assert report.strategies["dense:binary+rescore2"].extra["rescore"] == 2
    assert "ann_recall@10" in report.strategies["dense:int8"].extra
    frame = size_frame(report)
    assert list(frame["strategy"]) == list(report.strategies)
    fig = make_quality_vs_size_figure(frame)
    assert fig.layout.xaxis.type == "log"


def test_static_rescore_ranks_candidates_by_the_second_models_vectors(tiny):  # noqa: F811
    corpus = Corpus.from_dataset(tiny)
    builder = RetrieverBuilder(corpus, None, encoder_factory=_fakes)
    teacher = builder.build(DenseSpec(model="teacher"))
    rescored = builder.build(DenseSpec(model="cheap", rescore_with="teacher", rescore=5))
    assert rescored.rescorer is teacher  # the teacher's vectors and index are shared, not rebuilt
    queries = list(tiny.queries["text"])
    got = rescored.search(queries, 5)
    want = teacher.search(queries, 5)  # 5 x 5 candidates cover the corpus: the teacher's own order
    assert [h.doc_ids for h in got] == [h.doc_ids for h in want]
    np.testing.assert_allclose([h.scores for h in got], [h.scores for h in want], rtol=1e-5)
    assert rescored.describe_compression()["rescore_with"] == "teacher"


# -- the figure -----------------------------------------------------------------------------------------
def test_quality_vs_size_figure_draws_the_frontier_on_a_log_axis():
    df = pd.DataFrame(
        {
            "strategy": ["f32", "int8", "binary", "worse"],
            "label": ["<b>f32</b>", "int8", "binary", "worse"],
            "quality": [0.65, 0.648, 0.63, 0.5],
            "index_bytes_per_vector": [1536.0, 384.0, 48.0, 384.0],
            "index_mb": [8.0, 2.0, 0.25, 2.0],
        }
    )
    fig = make_quality_vs_size_figure(df)
    assert fig.layout.xaxis.type == "log"
    frontier = [t for t in fig.data if t.name == "size frontier"]
    assert len(frontier) == 1 and list(frontier[0].x) == [48.0, 384.0, 1536.0]
    stars = {t.name for t in fig.data if t.marker.symbol == "star"}
    assert stars == {"f32", "int8", "binary"}
    assert "<b>" not in "".join(t.hovertemplate or "" for t in fig.data)  # labels drawn as text
    assert len(make_quality_vs_size_figure(df.iloc[:0]).data) == 0


def test_size_frame_leaves_out_strategies_without_a_dense_index(tiny):  # noqa: F811
    opts = CompareOptions(strategies=("bm25", "dense"))
    builder = RetrieverBuilder(Corpus.from_dataset(tiny), None, encoder_factory=_fakes)
    report = run_comparison(tiny, "test", opts.specs(tiny.splits), builder=builder, k=5)
    assert list(size_frame(report)["strategy"]) == ["dense"]
