"""Classification jobs: a single SetFit run (one N, several seeds, the model saved with a model card) and a
learning curve (several N × seeds). Both also score the baselines on the same samples.

Job config = :meth:`core.classify.ClassifyConfig.to_dict` plus, for single runs, ``save_model``
(default true: save the SetFit model of the first seed in the run's folder) and ``register_as`` (also
register it under that name when the job succeeds).

Run result (``RunRecord.result``) = :meth:`ClassifyResult.to_dict` plus, when a SetFit model was kept:
``model_path`` (a ``SetFitModel.save_pretrained`` folder in the run's folder) and ``body_path`` (the same
folder: ``SentenceTransformer(body_path)`` loads the fine-tuned body, e.g. for before/after views).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.classify.experiment import ClassifyConfig, ClassifyResult, run_classification
from core.data import resolve_dataset
from core.runtime import InvalidInput, ModelRecord, StoreError, Workspace
from core.training import save_setfit

__all__ = [
    "CURVE_KIND",
    "RUN_KIND",
    "classify_curve_job",
    "classify_run_job",
    "model_card",
    "model_meta",
    "register_setfit_model",
]

RUN_KIND = "setfit_run"
CURVE_KIND = "setfit_curve"
MODEL_FOLDER = "setfit-model"


def _split_config(config: dict[str, Any]) -> tuple[ClassifyConfig, str | None, bool]:
    data = dict(config)
    register_as = data.pop("register_as", None) or None
    save_model = bool(data.pop("save_model", True)) or register_as is not None
    return ClassifyConfig.from_dict(data), register_as, save_model


def _execute(ctx: Any, cfg: ClassifyConfig) -> ClassifyResult:
    ds = resolve_dataset(ctx.ws, cfg.dataset)
    ctx.log(
        f"dataset {ds.name}: {len(ds.label_names)} labels; methods {', '.join(cfg.methods)}; "
        f"N {list(cfg.n_values)} × seeds {list(cfg.seeds)}; body {cfg.body}"
    )

    return run_classification(cfg, ds, ws=ctx.ws, reporter=ctx.reporter())


def classify_run_job(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    """Job ``setfit_run``: one N, several seeds; keeps and saves the SetFit model of the first seed."""
    cfg, register_as, save_model = _split_config(config)
    if len(cfg.n_values) != 1:
        raise InvalidInput("A single run takes one N per class; use a learning curve for several.")
    keep = "setfit" in cfg.methods and save_model

    cfg = replace(cfg, keep_model=keep)
    result = _execute(ctx, cfg)
    out = result.to_dict()
    if keep and result.model is not None:
        path = ctx.run_dir / MODEL_FOLDER
        card = model_card(out, run_id=ctx.run_id)
        save_setfit(result.model, path, card)
        out.update({"model_path": str(path), "body_path": str(path), "model_card": card})
        ctx.log(f"saved the SetFit model (seed {cfg.seeds[0]}) to {path}")
        if register_as:
            staged = ctx.staging_dir() / MODEL_FOLDER
            shutil.copytree(path, staged)
            out["install"] = [
                {
                    "name": register_as,
                    "kind": "setfit",
                    "staged": str(staged),
                    "base": cfg.body,
                    "meta": model_meta(out),
                }
            ]
    return out


def classify_curve_job(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    """Job ``setfit_curve``: N values × seeds, SetFit against the baselines (no model is kept)."""
    cfg, _, _ = _split_config(config)
    return _execute(ctx, cfg).to_dict()


def model_meta(result: dict[str, Any]) -> dict[str, Any]:
    setfit = next((s for s in result["summary"] if s["method"] == "setfit"), {})
    return {
        "description": (
            f"SetFit on {result['dataset']} (N={result['n_values'][0]} per class, seed {result['seeds'][0]}); "
            f"body {result['body']}"
        ),
        "dataset": result["dataset"],
        "labels": result["label_names"],
        "n_per_class": result["n_values"][0],
        "seed": result["seeds"][0],
        "accuracy_mean": setfit.get("accuracy_mean"),
        "body_loadable_with": "SentenceTransformer(path)",
    }


def model_card(result: dict[str, Any], *, run_id: str | None = None) -> str:
    """A short README for an exported SetFit model: how it was trained and how it scored."""
    first = result["setfit_runs"][0] if result.get("setfit_runs") else {}
    sf = first.get("config", {})
    seed = result["seeds"][0]
    n = result["n_values"][0]
    own = next(
        (
            r
            for r in result["rows"]
            if r["method"] == "setfit" and r["seed"] == seed and r["n_per_class"] == n
        ),
        None,
    )
    lines = [
        f"# SetFit classifier for {result['dataset']}",
        "",
        f"Trained with Embedding Strategy Lab on {time.strftime('%Y-%m-%d %H:%M')}"
        + (f" (run `{run_id}`)." if run_id else "."),
        "",
        "## How it was trained",
        f"- Body: `{result['body']}`, fine-tuned contrastively (SetFit); head: {sf.get('head', 'logistic')}"
        + (" (one-vs-rest, multi-label)" if result.get("multi_label") else ""),
        f"- Data: {n} labelled examples per class from the train split ({first.get('n_train', '?')} texts, "
        f"seed {seed}), {len(result['label_names'])} labels",
        f"- Pairs: {first.get('pairs', '?')}"
        + (f" (capped from {first.get('wanted_pairs')})" if first.get("capped") else "")
        + f", num_iterations {sf.get('num_iterations')}, {sf.get('epochs')} epoch(s), batch size "
        f"{sf.get('batch_size')}, body learning rate {sf.get('body_learning_rate')}, "
        f"max sequence length {sf.get('max_seq_length')}",
        f"- Training time: {first.get('train_s', 0):.0f} s",
        "",
        f"## Scores on the test split ({result['n_test']} texts"
        + ("" if result.get("full_test", True) else ", a stratified slice")
        + ")",
        "",
        "| method | seeds | accuracy | macro-F1 | MCC |",
        "|---|---|---|---|---|",
    ]
    if own:
        lines.append(
            f"| **this model** (SetFit, seed {seed}) | 1 | {own['accuracy']:.3f} | {own['macro_f1']:.3f} | "
            f"{own['mcc']:.3f} |"
        )
    names = {
        "setfit": "SetFit",
        "logreg": "frozen body + logistic regression",
        "zeroshot": "zero-shot (label names)",
    }
    for s in result["summary"]:
        lines.append(
            f"| {names.get(s['method'], s['method'])} (mean ± std) | {s['seeds']} | "
            f"{s['accuracy_mean']:.3f} ± {s['accuracy_std']:.3f} | {s['macro_f1_mean']:.3f} | {s['mcc_mean']:.3f} |"
        )
    lines += [
        "",
        "Baselines use the same samples and the same body, frozen.",
        "",
        "## How to use",
        "```python",
        "from setfit import SetFitModel",
        'model = SetFitModel.from_pretrained("THIS_FOLDER")',
        'model.predict_proba(["some text"])',
        "",
        "# the fine-tuned body alone (for embeddings):",
        "from sentence_transformers import SentenceTransformer",
        'body = SentenceTransformer("THIS_FOLDER")',
        "```",
        "",
    ]
    return "\n".join(lines)


def register_setfit_model(
    ws: Workspace,
    model_path: str | Path,
    name: str,
    *,
    base: str | None = None,
    meta: dict[str, Any] | None = None,
) -> ModelRecord:
    """Copy a saved SetFit folder into the workspace's models and register it (kind ``setfit``).
    The registered folder loads with ``SetFitModel.from_pretrained`` and, for the body, ``SentenceTransformer``."""
    source = Path(model_path)
    if not (source / "model_head.pkl").exists():
        raise FileNotFoundError(f"{source} is not a saved SetFit model (no model_head.pkl).")
    name = ws.check_name(name, "model name")
    if ws.get_model(name) is not None:
        raise StoreError(f"A model named {name!r} is already registered; choose another name.")
    staged = ws.staging_dir() / MODEL_FOLDER
    shutil.copytree(source, staged)
    try:
        record = ws.install_model(name, "setfit", staged, base=base, meta=meta or {})
    finally:
        shutil.rmtree(staged.parent, ignore_errors=True)
    return record
