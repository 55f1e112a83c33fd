"""all-MiniLM-L6-v2 on a slice of SciFact with every backend: vectors close to torch fp32, nDCG@10 of the
dense strategy close to torch's in one comparison, and the encode CLI filling the embedding cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.data import RetrievalDataset, load_path
from core.encoding import make_encoder
from core.evaluate import run_comparison
from core.retrieval import DenseSpec, backend_variants

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
MODEL = "all-MiniLM-L6-v2"
COSINE_FLOOR = {"onnx": 0.9999, "onnx-int8": 0.98, "bf16": 0.999}


@pytest.fixture(scope="module")
def scifact_slice(data_dir) -> RetrievalDataset:
    """20 test queries, their judged documents and 100 others (~125 documents)."""
    ds = load_path(data_dir / "scifact")
    test = ds.qrels[ds.qrels["split"] == "test"]
    qids = test["query_id"].drop_duplicates().head(20)
    qrels = test[test["query_id"].isin(set(qids))].reset_index(drop=True)
    judged = set(qrels["doc_id"])
    keep = ds.corpus["doc_id"].isin(judged)
    others = ds.corpus.index[~keep][:100]
    corpus = ds.corpus[keep | ds.corpus.index.isin(others)].reset_index(drop=True)
    return RetrievalDataset("scifact-slice", corpus, ds.queries, qrels)


def test_backends_stay_close_to_torch_fp32_in_vectors_and_ndcg(scifact_slice, persistent_ws):
    texts = scifact_slice.doc_texts()[:24]
    ref = make_encoder(MODEL, persistent_ws, backend="torch", device="cpu").encode(texts)
    for backend, floor in COSINE_FLOOR.items():
        enc = make_encoder(MODEL, persistent_ws, backend=backend, device="cpu")
        if enc.plan.fell_back:  # e.g. bf16 on a CPU without AVX512-BF16: says why, runs torch
            assert enc.plan.reason
            continue
        cos = (enc.encode(texts) * ref).sum(1)
        assert cos.min() >= floor, (backend, float(cos.min()))

    specs = backend_variants({"dense": DenseSpec(model=MODEL)}, ["onnx", "onnx-int8", "bf16"])
    rep = run_comparison(scifact_slice, "test", specs, ws=persistent_ws, k=10, latency_sample=2)
    base = rep.strategies["dense"].metrics["ndcg@10"]
    assert base > 0.5  # MiniLM finds the judged abstracts among ~125 documents
    for name in ("dense-onnx", "dense-onnx-int8", "dense-bf16"):
        assert abs(rep.strategies[name].metrics["ndcg@10"] - base) <= 0.03, name
    assert rep.strategies["dense-onnx-int8"].extra["backend"].startswith("onnx-int8")


def _write_beir(ds: RetrievalDataset, folder: Path, docs: int) -> None:
    """A BEIR folder with the judged documents of ``ds`` first, then others, ``docs`` in all."""
    (folder / "qrels").mkdir(parents=True)
    judged = set(ds.qrels["doc_id"])
    corpus = ds.corpus.assign(j=~ds.corpus["doc_id"].isin(judged)).sort_values("j", kind="stable").head(docs)
    ids = set(corpus["doc_id"])
    qrels = ds.qrels[ds.qrels["doc_id"].isin(ids)]
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for row in corpus.itertuples():
            fh.write(json.dumps({"_id": row.doc_id, "title": row.title, "text": row.text}) + "\n")
    with open(folder / "queries.jsonl", "w", encoding="utf-8") as fh:
        for qid in qrels["query_id"].unique():
            fh.write(json.dumps({"_id": qid, "text": "a query"}) + "\n")
    rows = "".join(f"{r.query_id}\t{r.doc_id}\t{r.score}\n" for r in qrels.itertuples())
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + rows, encoding="utf-8")


def test_encode_cli_fills_the_cache_and_reports_truncation(scifact_slice, tmp_path, isolated_home):
    folder = tmp_path / "slice"
    _write_beir(scifact_slice, folder, 24)

    def run(*args: str) -> dict:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "core",
                "encode",
                "--dataset",
                str(folder),
                "--model",
                MODEL,
                "--json",
                *args,
            ],
            cwd=REPO,
            env=os.environ | {"ESL_HOME": str(isolated_home)},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    first = run("--backend", "onnx-int8", "--max-seq-length", "128")
    assert first["backend"] == "onnx-int8" and first["documents"] == 24 and not first["cached"]
    assert 0 < first["truncated_share"] <= 1 and first["rate"] > 0 and first["estimate_s"] > 0
    again = run("--backend", "onnx-int8", "--max-seq-length", "128")
    assert again["cached"] and "seconds" not in again
    other = run("--backend", "torch", "--max-seq-length", "128", "--estimate")
    assert not other["cached"] and "seconds" not in other  # another backend: not mixed with int8's vectors
    files = list((isolated_home / "cache" / "embeddings").glob("*/shard-*.npy"))  # one store, one shard
    assert len(files) == 1 and np.load(files[0]).shape == (24, 384)
