"""SetFit end to end with the tiny packaged BERT on a slice of SST-2: train, save, reload, predict;
the single-run job registers the model; the pair cap bounds the steps; cancel stops training."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def tiny_sst2(tmp_path: Path, data_dir: Path) -> Path:
    """12 train rows per label and 40 test rows of SST-2, as a folder of split files."""
    folder = tmp_path / "tiny-sst2"
    folder.mkdir()
    train = pd.read_csv(data_dir / "sst2" / "train.csv")
    test = pd.read_csv(data_dir / "sst2" / "test.csv")
    train.groupby("label_text").head(12).to_csv(folder / "train.csv", index=False)
    test.groupby("label_text").head(20).to_csv(folder / "test.csv", index=False)
    return folder


@pytest.mark.parametrize("loss", ["cosent", "cosine"])
def test_train_save_reload_predict(tiny_sst2: Path, ws, loss: str):
    from sentence_transformers import SentenceTransformer

    from core.data import load_path, sample_per_class
    from core.training import SetFitConfig, fit_setfit, load_setfit, pair_plan, save_setfit

    ds = load_path(tiny_sst2)
    cfg = SetFitConfig(body="bert-tiny", n_per_class=4, seed=0, max_pairs=32, batch_size=8, loss=loss)
    sample = sample_per_class(ds, 4, 0)
    steps = []
    model, info = fit_setfit(cfg, sample, lambda p: p.is_log or steps.append(p.done), ws=ws)
    plan = pair_plan(cfg, len(sample))
    assert plan.capped and info["pairs"] == 32
    assert info["steps"] == plan.steps == 4 and max(steps) == 4
    path = save_setfit(model, ws.home / "exported", card="# card")
    reloaded = load_setfit(path, device="cpu")
    texts = ["a wonderful , moving film", "a dull , lifeless mess"]
    assert list(reloaded.predict(texts)) == list(model.predict(texts))
    assert set(reloaded.predict(texts)) <= {"negative", "positive"}
    probs = reloaded.predict_proba(texts, as_numpy=True)
    assert probs.shape == (2, 2) and abs(float(probs.sum()) - 2.0) < 1e-6
    body = SentenceTransformer(str(path), device="cpu")  # the folder is also the tuned body
    assert body.encode(texts).shape == (2, 128)
    assert (path / "README.md").read_text() == "# card"


def test_cancel_stops_training(tiny_sst2: Path, ws):
    from core.data import load_path, sample_per_class
    from core.runtime import Cancelled
    from core.training import SetFitConfig, fit_setfit

    ds = load_path(tiny_sst2)
    seen = []

    def callbacks(p):  # type: ignore[no-untyped-def]  # a reporter that asks to stop after the first step
        if p.is_log:
            return
        if seen:
            raise Cancelled("cancelled by the user")
        seen.append(p.done)

    with pytest.raises(Cancelled):
        fit_setfit(
            SetFitConfig(body="bert-tiny", max_pairs=160, batch_size=8), sample_per_class(ds, 4, 0), callbacks
        )
    assert max(seen) < 20  # stopped long before the 20 planned steps


def test_single_run_job_saves_and_registers(tiny_sst2: Path, ws):
    from core.classify import ClassifyConfig
    from core.models import load_sentence_transformer, resolve_model
    from core.runtime import jobs
    from core.training import SetFitConfig, load_setfit

    config = ClassifyConfig(
        dataset=str(tiny_sst2),
        body="bert-tiny",
        n_values=(4,),
        seeds=(0, 1),
        setfit=SetFitConfig(max_pairs=32, batch_size=8),
    ).to_dict() | {"register_as": "tiny-setfit"}
    run = jobs.run_inline(ws, "setfit_run", config)
    assert run.status == "done", run.error
    result = run.result
    assert {s["method"] for s in result["summary"]} == {"setfit", "logreg", "zeroshot"}
    assert all(s["seeds"] == 2 for s in result["summary"]) and result["n_test"] == 40 and result["full_test"]
    assert Path(result["model_path"]).is_dir() and result["body_path"] == result["model_path"]
    assert "tiny-sst2" in result["model_card"] and "accuracy" in result["model_card"]
    info = resolve_model("tiny-setfit", ws)
    assert info.kind == "setfit" and info.base == "bert-tiny" and result["models"][0]["path"] == info.location
    model = load_setfit(info.location, device="cpu")
    assert model.predict(["a wonderful film"])[0] in {"negative", "positive"}
    body = load_sentence_transformer("tiny-setfit", ws, device="cpu")  # what the explorer uses
    assert body.encode(["a wonderful film"]).shape == (1, 128)
    detail = next(d for d in result["details"] if d["method"] == "setfit")
    assert len(detail["confusion"]) == 2 and sum(map(sum, detail["confusion"])) == 40
