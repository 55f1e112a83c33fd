"""The bundle's rebuild script takes every value as data: a hostile dataset, strategy or model name changes
what the script prints, never what it does (issue 15, item 1)."""

from __future__ import annotations

import ast
import contextlib
import copy
import io
import json
import os
import runpy
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.runtime import REPO_ROOT
from core.wizard import TEMPLATES, complete_answers, make_card, recommend, render_script, write_bundle
from tests.tiny_data import PETS_CORPUS, PETS_QRELS, PETS_QUERIES, write_beir
from tests.unit.test_bundle import card as retrieval_card

HOSTILE = (
    'pets"""\nimport os; os.system("touch PWNED_1")\n"""'
    "'; __import__('os').system('touch PWNED_2') # \\N{x} \\ %(prog)s %d {dataset!r} \r\n\x00 ''' \u2028"
)
# any text, lone surrogates included (a file name with undecodable bytes gets them from surrogateescape)
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)


def _classification_card():
    a, s = complete_answers({"task": "classification", "labels_per_class": 8})
    return make_card(recommend(a, s).to_json(), dataset="sst2", model="bert-tiny")


BASE = {"retrieval": retrieval_card(), "classification": _classification_card()}


def _card(task: str, *, strategy: str, dataset: str, model: str) -> dict:
    card = copy.deepcopy(BASE[task])
    card["recommendation"]["strategy"] = strategy
    card["dataset"] = dataset
    card["pipeline"]["model"] = model
    return card


def _bundle_literal(tree: ast.Module) -> ast.Constant:
    """The string literal of ``BUNDLE = json.loads(<literal>)``."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "BUNDLE":
            (arg,) = node.value.args
            assert isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            return arg
    raise AssertionError("no BUNDLE constant")


def _shape(source: str) -> str:
    """The script's syntax tree with the two places that carry values (the docstring and the BUNDLE
    literal) blanked: equal shapes mean the scripts do the same thing."""
    tree = ast.parse(source)
    tree.body[0].value.value = "<docstring>"
    _bundle_literal(tree).value = "<bundle>"
    return ast.dump(tree)


def _help(path: Path) -> tuple[int, str]:
    """Run the script with ``--help`` in this process (cwd: its folder); exit code and what it printed."""
    out, saved_path, saved_argv, cwd = io.StringIO(), list(sys.path), list(sys.argv), os.getcwd()
    try:
        os.chdir(path.parent)
        sys.argv = [str(path), "--help"]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            runpy.run_path(str(path), run_name="__main__")
        code = None
    except SystemExit as stop:
        code = stop.code
    finally:
        os.chdir(cwd)
        sys.path[:], sys.argv[:] = saved_path, saved_argv
    return code, out.getvalue()


REFERENCE = {task: _shape(render_script(card)) for task, card in BASE.items()}


@pytest.mark.parametrize("task", ["retrieval", "classification"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategy=ANY_TEXT, dataset=ANY_TEXT, model=ANY_TEXT)
def test_any_names_give_a_script_that_parses_holds_them_as_data_and_only_prints_help(
    task, strategy, dataset, model
):
    card = _card(task, strategy=strategy, dataset=dataset, model=model)
    source = render_script(card)
    tree = ast.parse(source)  # it parses
    bundle = json.loads(_bundle_literal(tree).value)
    assert bundle["pipeline"] == card["pipeline"]  # PIPELINE (= BUNDLE["pipeline"]) is the input
    assert (bundle["strategy"], bundle["dataset"], bundle["pipeline"]["model"]) == (strategy, dataset, model)
    assert _shape(source) == REFERENCE[task]  # the values changed no statement of the script
    doc = ast.get_docstring(tree)
    assert json.dumps(dataset) in doc and json.dumps(strategy) in doc  # the docstring shows them escaped
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rebuild_pipeline.py"
        path.write_text(source, encoding="utf-8")
        code, printed = _help(path)
        assert code == 0 and printed.startswith("usage: ")
        assert sorted(os.listdir(tmp)) == ["rebuild_pipeline.py"]


def test_strings_that_look_like_json_keywords_are_kept():
    card = _card("retrieval", strategy="true", dataset="null", model="untrue-nullable-model")
    card["pipeline"]["index"] = "falsehood"
    bundle = json.loads(_bundle_literal(ast.parse(render_script(card))).value)
    assert (
        bundle["pipeline"]["model"] == "untrue-nullable-model" and bundle["pipeline"]["index"] == "falsehood"
    )
    assert (bundle["strategy"], bundle["dataset"]) == ("true", "null")


@pytest.mark.parametrize("task", ["retrieval", "classification"])
def test_a_hostile_dataset_name_gives_a_bundle_whose_script_only_prints_help(tmp_path, task):
    """Must show (issue 15): a dataset named with \"\"\", quotes, newlines and __import__: --help only
    prints help, in a fresh interpreter, and creates no file."""
    card = _card(task, strategy=HOSTILE, dataset=HOSTILE, model=HOSTILE)
    paths = write_bundle(tmp_path / "bundle", card)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    env = dict(os.environ, ESL_HOME=str(tmp_path / "home"), ESL_REPO=str(REPO_ROOT))
    done = subprocess.run(
        [sys.executable, str(paths["script"]), "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: rebuild_pipeline.py") and "--dataset" in done.stdout
    assert done.stderr == ""
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # no PWNED_*, no home
    assert "__import__('os').system('touch PWNED_2')" in done.stdout  # shown as text, in the description


def test_a_hostile_dataset_path_rebuilds_bm25_on_that_dataset(tmp_path):
    """The value reaches the script's run intact: --dataset defaults to the hostile folder, which is read."""
    folder = tmp_path / 'pets"""; __import__("os").system("touch PWNED") \'x'
    write_beir(folder, PETS_CORPUS, PETS_QUERIES, PETS_QRELS)
    card = _card("retrieval", strategy=HOSTILE, dataset=str(folder), model="no-such-model")
    card["pipeline"].update(first_stage="bm25", first_stage_spec=None, dimension=None, reranker=None)
    card["pipeline"]["rerank_top_k"] = None
    paths = write_bundle(tmp_path / "bundle", card)
    env = dict(os.environ, ESL_HOME=str(tmp_path / "home"), ESL_REPO=str(REPO_ROOT), HF_HUB_OFFLINE="1")
    done = subprocess.run(
        [sys.executable, str(paths["script"]), "--query", "young cat purrs", "--k", "2"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)
    assert out["documents"] == len(PETS_CORPUS) and out["pipeline"]["first_stage"] == "bm25"
    assert out["results"][0]["hits"][0]["doc_id"] in ("d1", "d5")
    assert not list(tmp_path.rglob("PWNED*"))


def test_templates_are_package_files_tracked_by_git():
    """A fresh clone has them: they sit in the package and git tracks them."""
    folder = REPO_ROOT / "core" / "wizard" / "templates"
    tracked = subprocess.run(
        ["git", "ls-files", "--", str(folder)], cwd=REPO_ROOT, capture_output=True, text=True
    ).stdout.split()
    for name in TEMPLATES.values():
        assert (folder / name).is_file()
        if tracked:  # outside a git checkout (an sdist), there is nothing to ask
            assert f"core/wizard/templates/{name}" in tracked
