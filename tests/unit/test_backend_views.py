"""Pure parts of the backend widgets: option labels, the faster backend offered, the quality-guard table."""

from __future__ import annotations

import pandas as pd
import pytest

from components.backend_views import (
    backend_label,
    backend_quality_table,
    faster_backend,
    make_backend_quality_figure,
)
from core.data import RetrievalDataset
from core.encoding import backend_statuses
from core.evaluate import run_comparison
from core.retrieval import BM25Spec, Corpus, DenseSpec, RetrieverBuilder, backend_variants

NO_BF16 = frozenset({"avx2", "avx512f", "avx512_vnni"})
WITH_BF16 = frozenset({"avx2", "avx512f", "avx512_bf16"})


def test_unavailable_backends_are_labelled_with_their_reason():
    statuses = {s.backend: s for s in backend_statuses("cpu", flags=NO_BF16)}
    assert backend_label(statuses["torch"]) == "torch"
    label = backend_label(statuses["bf16"])
    assert label.startswith("bf16 — unavailable: ") and "AVX512-BF16" in label


def test_faster_backend_prefers_bf16_then_int8_and_only_replaces_torch():
    assert faster_backend(backend_statuses("cpu", flags=WITH_BF16), "torch") == "bf16"
    assert faster_backend(backend_statuses("cpu", flags=NO_BF16), "torch") == "onnx-int8"
    assert faster_backend(backend_statuses("cpu", flags=WITH_BF16), "onnx") is None


@pytest.fixture
def report(fake_encoder):
    corpus = pd.DataFrame(
        {"doc_id": ["d1", "d2", "d3"], "title": "", "text": ["cats on mats", "bank rates", "markets fell"]}
    )
    queries = pd.DataFrame({"query_id": ["q1", "q2"], "text": ["cats", "rates"]})
    qrels = pd.DataFrame(
        [("test", "q1", "d1", 1), ("test", "q2", "d2", 1)], columns=["split", "query_id", "doc_id", "score"]
    )
    ds = RetrievalDataset("tiny", corpus, queries, qrels)
    builder = RetrieverBuilder(Corpus.from_dataset(ds), encoder_factory=lambda m, b, msl: fake_encoder)
    specs = backend_variants({"bm25": BM25Spec(), "dense": DenseSpec(model="m")}, ["onnx-int8"])
    return run_comparison(ds, "test", specs, k=3, latency_sample=1, builder=builder)


def test_quality_table_lists_dense_backends_against_torch(report):
    df = backend_quality_table(report)
    assert df["strategy"].tolist() == ["dense", "dense-onnx-int8"]
    assert df["backend"].tolist() == ["torch", "onnx-int8"]
    assert df["Δ ndcg@10"].tolist() == [0.0, 0.0]  # the same (fake) vectors score the same
    assert df.attrs["reference"] == "torch"
    fig = make_backend_quality_figure(df)
    assert list(fig.data[0].x) == ["dense", "dense-onnx-int8"]


def test_quality_table_is_empty_with_one_backend(report):
    one = type(report)(**{**report.__dict__, "strategies": {"dense": report.strategies["dense"]}})
    assert backend_quality_table(one).empty
    assert len(make_backend_quality_figure(backend_quality_table(one)).data) == 0
