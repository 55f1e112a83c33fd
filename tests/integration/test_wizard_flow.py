"""The wizard headless, end to end on a small dataset with bert-tiny: measure the answers, recommend,
verify (comparison), gotcha checks, export the bundle — then run the exported script and check that it
rebuilds the verified pipeline (same nDCG@10 as the evidence in the card)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import main
from core.data import import_dataset, load_dataset
from core.runtime import Workspace
from core.wizard import plan_verification
from tests.wizard_data import write_topics_beir

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def test_recommend_verify_gotchas_bundle_and_run_the_exported_script(capsys, tmp_path, isolated_home):
    ws = Workspace(isolated_home)
    import_dataset(ws, write_topics_beir(tmp_path / "topics"))
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"latency_budget_ms": 100, "throughput_qps": 2, "domain": "specialised"}))
    bundle = tmp_path / "bundle"
    # a cross-encoder folder with a classification head (bert-tiny sized; its scores mean nothing, which is
    # what the evidence must then show plainly)
    from sentence_transformers import CrossEncoder

    from core.models import resolve_model

    cross_encoder = tmp_path / "tiny-ce"
    CrossEncoder(resolve_model("bert-tiny").location, num_labels=1).save(str(cross_encoder))
    code = main(
        [
            "recommend",
            "--answers",
            str(answers),
            "--dataset",
            "topics",
            "--model",
            "bert-tiny",
            "--verify",
            "--reranker",
            str(cross_encoder),
            "--short-steps",
            "5",
            "--gotchas",
            "--bundle",
            str(bundle),
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    rec = json.loads(out)

    # measured from the dataset, the rest given or defaulted
    sources = rec["answer_sources"]
    assert sources["corpus_size"] == "measured" and rec["answers"]["corpus_size"] == 80
    assert sources["latency_budget_ms"] == "given" and sources["labelled_pairs"] == "measured"
    assert rec["measured"]["corpus_size"] == "documents in the corpus"

    # the evidence is measured on this dataset
    ev = rec["evidence"]
    comp = ev["comparison"]
    assert (
        comp["dataset"] == "topics"
        and comp["queries"] == 8
        and set(comp["strategies"]) == {"bm25", "dense", "hybrid", "rerank"}
    )
    assert ev["verdict"] in ("agrees", "contradicts", "partly contradicts", "inconclusive")
    first = next(c for c in ev["claims"] if c["claim"] == "first stage")
    assert first["numbers"]["recommended"] == rec["first_stage"] == "hybrid" and ev["recommended"] == "rerank"
    # the rerank of the hybrid top-k by the given cross-encoder, measured against the hybrid alone
    assert rec["reranker"]["top_k"] == 15  # (100 ms - first stage) // 5 ms a pair
    assert comp["strategies"]["rerank"]["spec"]["top_k"] == 15
    rerank = next(c for c in ev["claims"] if c["claim"] == "reranker")
    assert rerank["numbers"]["before"] == comp["strategies"]["hybrid"]["ndcg@10"]
    assert rerank["verdict"] == ("agrees" if rerank["numbers"]["delta"] > 0 else "contradicts")
    assert ws.get_run(ev["comparison_run"]).kind == "evaluate"

    # specialised, unlabeled corpus, 40 (< 100) labelled pairs: TSDAE, checked with a short adapt run
    assert rec["adaptation"]["steps"] == ["tsdae"] and rec["first_stage"] == "hybrid"
    claim = next(c for c in ev["claims"] if c["claim"] == "adaptation")
    numbers = claim["numbers"]
    assert numbers["steps"] == 5 and 0 <= numbers["before"] <= 1 and 0 <= numbers["after"] <= 1
    assert f"{numbers['before']:.3f} → {numbers['after']:.3f}" in claim["detail"]  # whichever way it went
    adapt = ws.get_run(numbers["run_id"])
    assert adapt.kind == "adapt" and adapt.status == "done" and adapt.config["train"]["max_steps"] == 5
    # verifying the same recommendation again reuses both runs
    plan = plan_verification(rec, load_dataset(ws, "topics"), ws, model="bert-tiny", short_steps=5)
    assert plan.extras[0].reuse == adapt.id and plan.reuse_comparison == ev["comparison_run"]

    # gotchas: PCA capped at bert-tiny's 128-d, cosine vs dot on the raw (unnormalised) bert-tiny vectors
    g = rec["gotchas"]
    assert [r["dim"] for r in g["pca"]] == [128]  # 256 / 128 are not below 128
    assert g["cosine_vs_dot"]["model_normalises"] is False and g["cosine_vs_dot"]["norm_cv"] > 0
    latency = g["reranker_latency"]
    assert latency["measured"] is True and latency["k"] == 15 and latency["p95_ms"] >= latency["p50_ms"] > 0

    # the bundle and its script
    card = (bundle / "strategy_card.md").read_text()
    assert (
        "## Evidence on topics" in card and f"{comp['strategies'][ev['recommended']]['ndcg@10']:.4f}" in card
    )
    assert (bundle / "charts" / "quality.png").exists()
    env = dict(os.environ, ESL_HOME=str(isolated_home), PYTHONPATH="")
    run = subprocess.run(
        [sys.executable, str(bundle / "rebuild_pipeline.py"), "--query", "cats whiskers", "--evaluate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout)
    assert result["documents"] == 80
    assert result["pipeline"]["reranker"] == str(cross_encoder) and result["retriever"].endswith("(tiny-ce)")
    measured = comp["strategies"][ev["recommended"]]["ndcg@10"]
    assert result["evaluation"]["ndcg@10"] == pytest.approx(measured, abs=1e-4)


def test_raw_encoder_knows_whether_a_model_normalises():
    from core.wizard import raw_encoder

    minilm, normalises = raw_encoder("all-MiniLM-L6-v2")
    assert normalises is True
    vectors = minilm.encode(["a short text", "another, somewhat longer text about proteins"])
    norms = (vectors**2).sum(axis=1) ** 0.5
    assert abs(norms[0] - 1.0) > 0.1  # the Normalize layer is gone: raw pooled vectors
    tiny, normalises = raw_encoder("bert-tiny")
    assert normalises is False and tiny.fingerprint != minilm.fingerprint


def test_verify_a_classifier_with_a_setfit_run(capsys, tmp_path, isolated_home):
    from tests.tiny_data import LABELED, write_labeled

    ws = Workspace(isolated_home)
    write_labeled(tmp_path / "films" / "train.csv", LABELED)
    write_labeled(tmp_path / "films" / "test.csv", LABELED)
    import_dataset(ws, tmp_path / "films", name="films")
    answers = tmp_path / "answers.json"
    answers.write_text("{}")
    assert main(["recommend", "--answers", str(answers), "--dataset", "films", "--model", "bert-tiny", "--verify",
                 "--short-seeds", "1", "--json"]) == 0  # fmt: skip
    rec = json.loads(capsys.readouterr().out)
    assert rec["task"] == "classification" and rec["classifier"] == "setfit"  # 10 labels per class
    claim = next(c for c in rec["evidence"]["claims"] if c["claim"] == "classifier")
    assert claim["verdict"] in ("agrees", "contradicts")
    assert claim["numbers"]["n_per_class"] == 10 and 0 <= claim["numbers"]["setfit"] <= 1
    assert ws.get_run(claim["numbers"]["run_id"]).kind == "setfit_curve"
