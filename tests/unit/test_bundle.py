"""Strategy bundle: card (Markdown with PNG charts), JSON, and the rebuild script's source."""

from __future__ import annotations

import io
import json
import py_compile
import zipfile

from core.wizard import (
    bundle_data,
    bundle_zip,
    complete_answers,
    make_card,
    pipeline_spec,
    recommend,
    render_script,
    write_bundle,
)
from tests.wizard_data import PCA_ROWS

EVIDENCE = {
    "verdict": "agrees",
    "summary": "The evidence agrees: hybrid beats BM25 by +0.045 nDCG@10.",
    "recommended": "hybrid",
    "claims": [
        {
            "claim": "first stage",
            "verdict": "agrees",
            "detail": "hybrid beats BM25 by +0.045 nDCG@10",
            "next_step": "",
            "numbers": {},
        }
    ],
    "comparison": {
        "dataset": "scifact",
        "split": "test",
        "queries": 300,
        "strategies": {
            "bm25": {
                "label": "BM25",
                "ndcg@10": 0.6791,
                "recall@100": 0.91,
                "latency_ms_p50": 1.0,
                "latency_ms_p95": 2.0,
            },
            "hybrid": {
                "label": "Hybrid",
                "ndcg@10": 0.7244,
                "recall@100": 0.95,
                "latency_ms_p50": 30.0,
                "latency_ms_p95": 40.0,
                "spec": {"kind": "hybrid", "alpha": 0.45, "tune_split": "train", "fusion": "convex"},
            },
        },
    },
    "comparison_run": "20260101-000000-abcdef",
    "notes": ["The reranker is not measured."],
}
GOTCHAS = {
    "dataset": "scifact",
    "split": "test",
    "pca": PCA_ROWS,
    "cosine_vs_dot": {
        "cosine_ndcg@10": 0.7976,
        "dot_ndcg@10": 0.7607,
        "delta": -0.0369,
        "top10_agreement": 0.72,
        "norm_cv": 0.10,
        "norm_min": 1.59,
        "norm_max": 3.34,
        "model_normalises": True,
        "corpus": "a 1,000-document sample",
        "documents": 1000,
    },
    "reranker_latency": {
        "measured": False,
        "k": 50,
        "expected_ms": [100, 500],
        "note": "not measured: no cross-encoder is available here",
    },
}


def card(**answers):
    a, s = complete_answers(
        {"corpus_size": 5183, "latency_budget_ms": 2000, "domain": "specialised", **answers}
    )
    rec = recommend(a, s).to_json()
    rec["evidence"] = EVIDENCE
    return make_card(rec, dataset="scifact", model="all-MiniLM-L6-v2", gotchas=GOTCHAS)


def test_bundle_files_charts_and_card_content(tmp_path):
    paths = write_bundle(tmp_path / "b", card())
    assert {"card", "json", "script", "chart:quality", "chart:pca", "chart:cosine_vs_dot"} <= set(paths)
    for role, path in paths.items():
        if role.startswith("chart:"):
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000
    md = paths["card"].read_text()
    assert md.startswith("# Embedding strategy for scifact")
    assert "![quality and latency](charts/quality.png)" in md and "![PCA trade-off](charts/pca.png)" in md
    assert "| Hybrid | 0.7244 |" in md and "hybrid beats BM25 by +0.045 nDCG@10" in md
    assert "⚠️ No pretrained cross-encoder" in md  # the reranker warning is in the card
    assert "`jargon-hybrid-adapt`" in md and "| 128 | 0.6110 |" in md
    assert "Not measured: no cross-encoder" in md and "dot product 0.7607 (-0.0369)" in md
    data = json.loads(paths["json"].read_text())
    assert (
        data["recommendation"]["evidence"]["verdict"] == "agrees"
        and data["charts"]["pca"] == "charts/pca.png"
    )
    py_compile.compile(str(paths["script"]), doraise=True)


def test_pipeline_uses_the_verified_spec_and_keeps_the_reranker_out_until_given():
    c = card()
    assert c["pipeline"]["first_stage"] == "hybrid" and c["pipeline"]["first_stage_spec"]["alpha"] == 0.45
    assert c["pipeline"]["rerank_top_k"] == 50 and c["pipeline"]["reranker"] is None
    a, s = complete_answers({"corpus_size": 300, "latency_budget_ms": 5000})
    alone = pipeline_spec(recommend(a, s).to_json(), "bert-tiny", reranker="my-ce")
    assert alone["first_stage"] == "dense" and alone["rerank_top_k"] == 300 and alone["reranker"] == "my-ce"


def test_classification_script_and_zip(tmp_path):
    a, s = complete_answers({"task": "classification", "labels_per_class": 8})
    c = make_card(recommend(a, s).to_json(), dataset="sst2", model="bert-tiny")
    source = render_script(c)
    assert "run_classification" in source and bundle_data(c)["methods"] == ["setfit", "logreg"]
    assert repr(json.dumps(bundle_data(c))) in source  # the methods reach the script as data
    (tmp_path / "s.py").write_text(source)
    py_compile.compile(str(tmp_path / "s.py"), doraise=True)
    names = zipfile.ZipFile(io.BytesIO(bundle_zip(c))).namelist()
    assert {"strategy/strategy_card.md", "strategy/strategy.json", "strategy/rebuild_pipeline.py"} <= set(
        names
    )
