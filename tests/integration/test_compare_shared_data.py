"""The published numbers reproduce on SciFact (test split) with the packaged all-MiniLM-L6-v2, the cached
re-run encodes no corpus text, and Cranfield (graded qrels) runs end to end through the CLI.

Corpus vectors live in the ``persistent_ws`` embedding cache, so each machine encodes SciFact once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.data import load_retrieval_beir
from core.encoding import make_encoder
from core.evaluate import evaluate_run, load_comparison, run_comparison
from core.retrieval import Corpus, DenseSpec, RetrieverBuilder, default_specs
from tests.conftest import PERSISTENT_HOME

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
JSON_KEYS = {
    "ndcg@10",
    "recall@10",
    "recall@100",
    "p@10",
    "mrr@10",
    "map@100",
    "latency_ms_p50",
    "latency_ms_p95",
    "index_s",
}


class CountingEncoder:
    """Wraps the real encoder and remembers every text it was asked to encode."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name
        self.fingerprint = inner.fingerprint
        self.dim = inner.dim
        self.texts: list[str] = []

    def encode(self, texts, *, batch_size=32, progress=None):
        self.texts.extend(texts)
        return self.inner.encode(texts, batch_size=batch_size, progress=progress)


@pytest.fixture(scope="module")
def scifact(data_dir):
    return load_retrieval_beir(data_dir / "scifact")


@pytest.fixture(scope="module")
def minilm(persistent_ws):
    return make_encoder("all-MiniLM-L6-v2", persistent_ws)


@pytest.fixture(scope="module")
def scifact_report(scifact, minilm, persistent_ws):
    specs = default_specs(tune_split="train")  # bm25, dense (MiniLM, exact), hybrid (alpha tuned on train)
    builder = RetrieverBuilder(Corpus.from_dataset(scifact), persistent_ws, encoder_factory=lambda *a: minilm)
    return run_comparison(scifact, "test", specs, ws=persistent_ws, builder=builder, latency_sample=20)


def test_scifact_reproduces_published_numbers(scifact_report):
    rep = scifact_report
    assert rep.queries == 300
    ndcg = {name: res.metrics["ndcg@10"] for name, res in rep.strategies.items()}
    assert ndcg["bm25"] >= 0.660, ndcg  # BEIR: 0.665
    assert 0.635 <= ndcg["dense"] <= 0.655, ndcg  # MTEB: 0.645
    assert ndcg["hybrid"] > max(ndcg["bm25"], ndcg["dense"]), ndcg
    hybrid = rep.strategies["hybrid"]
    assert hybrid.extra["tune_split"] == "train" and 0.0 < hybrid.extra["tuned_alpha"] < 1.0
    assert len(hybrid.extra["alpha_curve"]) == 21
    assert set(rep.p_values) == {"dense", "hybrid"}
    assert set(rep.to_json()["strategies"]["hybrid"]) == JSON_KEYS
    for res in rep.strategies.values():
        assert res.warnings == []
        assert len(res.curves["k"]) == 100 and res.curves["recall"][-1] >= res.curves["recall"][0]


def test_cached_rerun_encodes_no_corpus_text(scifact, scifact_report, minilm, persistent_ws):
    counting = CountingEncoder(minilm)
    builder = RetrieverBuilder(
        Corpus.from_dataset(scifact), persistent_ws, encoder_factory=lambda *a: counting
    )
    rep = run_comparison(
        scifact, "test", {"dense": DenseSpec()}, ws=persistent_ws, builder=builder, latency_sample=5
    )
    assert rep.strategies["dense"].extra["from_cache"] is True
    assert builder.cache.hits == 1 and builder.cache.misses == 0
    queries = set(scifact.split_queries("test")["text"])
    assert counting.texts, "the queries are encoded"
    assert set(counting.texts) <= queries  # ... and nothing else: no corpus text
    assert len(counting.texts) < len(scifact.corpus)
    # same vectors, same numbers as the first run
    assert rep.strategies["dense"].metrics == pytest.approx(scifact_report.strategies["dense"].metrics)


def test_cranfield_graded_qrels_end_to_end_via_cli(data_dir, tmp_path):
    home = tmp_path / "home"
    (home / "cache").mkdir(parents=True)
    shared_cache = PERSISTENT_HOME / "cache" / "embeddings"
    shared_cache.mkdir(parents=True, exist_ok=True)
    (home / "cache" / "embeddings").symlink_to(shared_cache)  # reuse the machine's cached vectors
    folder = data_dir / "cranfield"
    proc = subprocess.run(
        # onnx-int8 (2x torch fp32 here) keeps this test short; the backend's own tests check its quality
        [
            sys.executable,
            "-m",
            "core",
            "evaluate",
            "--dataset",
            str(folder),
            "--backend",
            "onnx-int8",
            "--json",
        ],
        cwd=REPO,
        env=os.environ | {"ESL_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert set(out) >= {"dataset", "split", "queries", "strategies"}  # and what ran (settings, notes, ...)
    assert out["dataset"] == "cranfield" and out["split"] == "test" and out["queries"] > 200
    assert list(out["strategies"]) == ["bm25", "dense", "hybrid"]
    for numbers in out["strategies"].values():
        assert set(numbers) == JSON_KEYS
        assert 0.0 < numbers["ndcg@10"] < 1.0
    # nDCG used the grades: binarising the qrels changes it
    from core.runtime import Workspace

    ws = Workspace(home)
    run = ws.list_runs(kind="evaluate")[0]
    rep = load_comparison(ws, run.id)
    ds = load_retrieval_beir(folder)
    graded = ds.qrels_dict("test")
    assert max(s for docs in graded.values() for s in docs.values()) > 1
    binary = {q: {d: int(s > 0) for d, s in docs.items()} for q, docs in graded.items()}
    bm25_run = rep.strategies["bm25"].run
    graded_ndcg, _ = evaluate_run(graded, bm25_run)
    binary_ndcg, _ = evaluate_run(binary, bm25_run)
    assert graded_ndcg["ndcg@10"] == pytest.approx(out["strategies"]["bm25"]["ndcg@10"], abs=1e-4)
    assert graded_ndcg["ndcg@10"] != pytest.approx(binary_ndcg["ndcg@10"], abs=1e-3)
    assert graded_ndcg["recall@10"] == pytest.approx(binary_ndcg["recall@10"])
