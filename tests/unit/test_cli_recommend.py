"""``python -m core recommend``: answers file in, recommendation JSON out; bad answers exit 2."""

from __future__ import annotations

import json

import pytest

from core.cli import main

KEYS = {"strategy", "first_stage", "reranker", "adaptation", "classifier", "rationale", "evidence"}


def run(capsys, tmp_path, answers, *args):
    path = tmp_path / "answers.json"
    path.write_text(answers if isinstance(answers, str) else json.dumps(answers))
    code = main(["recommend", "--answers", str(path), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_output_with_defaults_listed(capsys, tmp_path):
    code, out, err = run(capsys, tmp_path, {"task": "classification", "labels_per_class": 12}, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) >= KEYS
    assert data["classifier"] == "setfit" and data["strategy"] == "SetFit classifier"
    assert [r["id"] for r in data["rationale"]] == ["few-labels-setfit"]
    assert data["evidence"] == {} and data["answer_sources"]["labels_per_class"] == "given"
    assert "gpu" in data["defaulted"] and "labels_per_class" not in data["defaulted"]


def test_text_output_names_rules_and_warnings(capsys, tmp_path):
    answers = {"task": "retrieval", "corpus_size": 100_000, "latency_budget_ms": 1_000}
    code, out, _ = run(capsys, tmp_path, answers)
    assert code == 0
    # one human headline (what can run here), like the page's; the rule table's full strategy below it
    assert out.startswith("Recommended: Bi-encoder\n")
    assert "(the rule table's full strategy: bi-encoder + cross-encoder rerank@50" in out
    assert "reranker     cross-encoder on the top 50 (not available here)" in out
    assert "{'" not in out and "['" not in out and "=" not in out.split("Why:")[0]  # no Python reprs
    assert "WARNING: No pretrained cross-encoder" in out
    assert "[large-corpus-bi-encoder]" in out and "[scale-and-precision-rerank]" in out
    assert "Defaulted (not answered, not measured):" in out


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"latency": 100}, "unknown answer name(s) 'latency'"),
        ({"corpus_size": -5}, "'corpus_size': -5 is below"),
        ({"task": "ranking"}, "'task': 'ranking' is not one of retrieval, classification, similarity"),
        ({"gpu": 3}, "'gpu': 3 is not true or false"),
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
    ],
)
def test_bad_answers_exit_2_with_one_line(capsys, tmp_path, answers, message):
    code, out, err = run(capsys, tmp_path, answers, "--json")
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1 and err.startswith("error: ")


def test_verify_needs_a_dataset_and_a_missing_file_is_a_user_error(capsys, tmp_path):
    code, _, err = run(capsys, tmp_path, {"task": "retrieval"}, "--verify")
    assert code == 2 and "--verify, --gotchas and --spectrum need --dataset" in err
    assert main(["recommend", "--answers", str(tmp_path / "nope.json")]) == 2
    assert "nope.json" in capsys.readouterr().err
