"""``python -m core evaluate`` on a non-terminal stderr: plain progress lines, no library noise, every
fallback and tuned value stated, run times that are true; progress lines for every classify seed."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import warnings

import pytest

import core.retrieval.builder as builder_module
from core.cli import library_noise, line_printer, main
from core.runtime import Progress
from tests.fakes import HashingEncoder
from tests.tiny_data import PETS_CORPUS, PETS_QRELS, PETS_QUERIES, write_beir


class TimedStderr:
    """A non-terminal stderr that remembers when each line was written."""

    def __init__(self) -> None:
        self.lines: list[tuple[float, str]] = []

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                self.lines.append((time.time(), line))
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


@pytest.fixture
def fake_models(monkeypatch):
    encoder = HashingEncoder(dim=64)
    monkeypatch.setattr(
        builder_module, "_default_encoder_factory", lambda ws, corpus=None: lambda *a: encoder
    )
    return encoder


def _pets(tmp_path, splits=("test", "train")):
    qrels = {s: PETS_QRELS[s] for s in splits}
    return str(write_beir(tmp_path / "pets", PETS_CORPUS, PETS_QUERIES, qrels))


def _evaluate(capsys, monkeypatch, *args):  # type: ignore[no-untyped-def]
    err = TimedStderr()
    monkeypatch.setattr(sys, "stderr", err)
    code = main(["evaluate", *args])
    out = capsys.readouterr().out
    return code, out, err


def test_json_run_without_train_split_states_the_alpha_fallback(
    tmp_path, capsys, monkeypatch, fake_models, ws
):
    code, out, err = _evaluate(capsys, monkeypatch, "--dataset", _pets(tmp_path, ("test",)), "--json")
    assert code == 0
    data = json.loads(out)
    hybrid = data["settings"]["hybrid"]
    assert hybrid["alpha"] == 0.5 and hybrid["alpha_tuned"] is False
    assert hybrid["alpha_source"] == "fallback: there is no train split"
    assert any("alpha fell back to 0.50" in n for n in data["notes"]["hybrid"])
    assert data["settings"]["dense"]["index"] == "exact"
    assert data["latency_caption"].startswith("latency measured on a machine with load")
    assert set(data["composite_not_better"]) == {"hybrid"}
    lines = [line for _, line in err.lines]
    assert lines and all(line.startswith("[evaluate] ") for line in lines), lines
    assert any("dense: encoding corpus" in line for line in lines)
    assert any(line.startswith("[evaluate] hybrid:") for line in lines)  # a line per stage
    assert "\r" not in "".join(lines) and not any("Traceback" in line for line in lines)


def test_tuned_alpha_is_stated_in_the_table(tmp_path, capsys, monkeypatch, fake_models, ws):
    code, out, _ = _evaluate(capsys, monkeypatch, "--dataset", _pets(tmp_path))
    assert code == 0
    assert "alpha " in out and "(tuned on train (2 queries))" in out
    assert "ran with: index exact" in out or "backend" in out
    assert "latency measured on a machine with load" in out
    assert "not significantly better than its best component" in out


def test_a_foreground_comparison_records_its_true_times(tmp_path, capsys, monkeypatch, fake_models, ws):
    code, out, err = _evaluate(capsys, monkeypatch, "--dataset", _pets(tmp_path), "--json")
    assert code == 0
    run = ws.get_run(json.loads(out)["run_id"])
    first, last = err.lines[0][0], err.lines[-1][0]
    assert run.created == run.started <= first  # dated from when the work began, not when it was saved
    assert run.finished >= last
    assert run.elapsed_s >= last - first
    code = main(["runs", "list"])
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["elapsed_s"] == round(run.elapsed_s, 1)
    assert listed[0]["created"] == time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run.created))


def test_library_noise_stays_off_stderr_unless_verbose(caplog, monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)

    def noisy() -> tuple[list[warnings.WarningMessage], str | None]:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            with library_noise(verbose=verbose):
                warnings.warn("unsafe cast from uint64 to int64. Precision may be lost.", stacklevel=1)
                logging.getLogger("transformers.modeling_utils").warning("Loading weights: 100%")
                logging.getLogger("sentence_transformers").warning("No sentence-transformers model found")
                inside = os.environ.get("TQDM_DISABLE")
        return seen, inside

    caplog.set_level(logging.INFO)
    # the level a fresh process has (another test may have quieted the library)
    monkeypatch.setattr(logging.getLogger("transformers"), "level", logging.NOTSET)
    verbose = False
    seen, inside = noisy()
    assert seen == [] and caplog.records == [] and inside == "1"
    assert "TQDM_DISABLE" not in os.environ  # put back afterwards
    assert logging.getLogger("transformers").level == logging.NOTSET  # put back afterwards
    verbose = True
    seen, inside = noisy()
    assert [str(w.message) for w in seen] == ["unsafe cast from uint64 to int64. Precision may be lost."]
    assert {r.getMessage() for r in caplog.records} >= {"Loading weights: 100%"} and inside is None


def test_verbose_is_accepted_anywhere(capsys, ws):
    assert main(["runs", "list", "--verbose"]) == 0
    assert main(["--verbose", "runs", "list"]) == 0
    assert capsys.readouterr().out.split() == ["[]", "[]"]


def test_every_classify_seed_gets_a_progress_line():
    out: list[str] = []

    class Stream:
        def write(self, text: str) -> None:
            out.append(text)

        def flush(self) -> None:
            pass

    show = line_printer(every_s=3600, stream=Stream(), prefix="classify")  # time alone never prints
    done, total = 0, 5 * 4
    for seed in range(5):  # what core.classify reports, faster than any throttle
        for step in (1, 2, 3):
            done += 1
            show(Progress("classify", done, total, f"SetFit N=8 seed={seed}: step {step}/3 · loss 0.5"))
            show(Progress("classify", done, total, "working"))
        done += 1
        show(Progress("classify", done, total, f"SetFit N=8 seed={seed} scored"))
    text = "".join(out)
    for seed in range(5):
        assert f"seed={seed}: step 1/3" in text and f"seed={seed} scored" in text
    assert "working" not in text
    assert text.splitlines()[1].startswith("[classify] SetFit N=8 seed=0 scored (20%)")
