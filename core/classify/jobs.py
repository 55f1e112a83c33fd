"""Classification jobs: a single SetFit run (one N, several seeds, the model saved with a model card) and a
learning curve (several N × seeds). Both also score the baselines on the same samples.

Job config (:class:`ClassifyJob`) = :meth:`core.classify.ClassifyConfig.to_dict` plus, for single runs, ``save_model``
(default true: save the SetFit model of the first seed in the run's folder) and ``register_as`` (also
register it under that name when the job succeeds).

Run result (``RunRecord.result``) = :meth:`ClassifyResult.to_dict` plus, when a SetFit model was kept:
``model_path`` (a ``SetFitModel.save_pretrained`` folder in the run's folder) and ``body_path`` (the same
folder: ``SentenceTransformer(body_path)`` loads the fine-tuned body, e.g. for before/after views).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.classify.experiment import ClassifyConfig, ClassifyResult
from core.classify.run import run_classification
from core.data import resolve_dataset
from core.runtime import InvalidInput, ModelRecord, StoreError, Workspace
from core.training import save_setfit

__all__ = [
    "CURVE_KIND",
    "RUN_KIND",
    "ClassifyJob",
    "classify_curve_job",
    "classify_run_job",
    "model_card",
    "model_meta",
    "register_setfit_model",
]

RUN_KIND = "setfit_run"
CURVE_KIND = "setfit_curve"
MODEL_FOLDER = "setfit-model"


@dataclass(frozen=True)
class ClassifyJob:
    """The config of a ``setfit_run`` / ``setfit_curve`` job, parsed once at the job boundary (:meth:`from_dict`).

    ``save_model`` (single runs) keeps the SetFit model of the first seed in the run's folder; ``register_as``
    also registers it under that name when the job succeeds (and implies ``save_model``)."""

    experiment: ClassifyConfig
    register_as: str | None = None
    save_model: bool = True

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClassifyJob:
        """:meth:`ClassifyConfig.to_dict` plus ``register_as`` and ``save_model`` (missing keys: defaults;
        unknown keys: :class:`~core.runtime.InvalidInput`)."""
        data = dict(data)
        register_as = data.pop("register_as", None) or None
        save_model = bool(data.pop("save_model", True)) or register_as is not None
        return cls(ClassifyConfig.from_dict(data), register_as, save_model)

    def to_dict(self) -> dict[str, Any]:
        return self.experiment.to_dict() | {"register_as": self.register_as, "save_model": self.save_model}


def _execute(ctx: Any, cfg: ClassifyConfig) -> ClassifyResult:
    ds = resolve_dataset(ctx.ws, cfg.dataset)
    ctx.log(
        f"dataset {ds.name}: {len(ds.label_names)} labels; methods {', '.join(cfg.methods)}; "
        f"N {list(cfg.n_values)} × seeds {list(cfg.seeds)}; body {cfg.body}"
    )
    return run_classification(cfg, ds, ws=ctx.ws, reporter=ctx.reporter())


def _install(ctx: Any, job: ClassifyJob, path: Path, out: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``install`` entry that registers the saved model as ``job.register_as`` when the job succeeds."""
    staged = ctx.staging_dir() / MODEL_FOLDER
    shutil.copytree(path, staged)
    meta = model_meta(out)
    return [
        {
            "name": job.register_as,
            "kind": "setfit",
            "staged": str(staged),
            "base": job.experiment.body,
            "meta": meta,
        }
    ]


def classify_run_job(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    """Job ``setfit_run``: one N, several seeds; keeps and saves the SetFit model of the first seed."""
    job = ClassifyJob.from_dict(config)
    if len(job.experiment.n_values) != 1:
        raise InvalidInput("A single run takes one N per class; use a learning curve for several.")
    keep = "setfit" in job.experiment.methods and job.save_model
    cfg = replace(job.experiment, keep_model=keep)
    result = _execute(ctx, cfg)
    out = result.to_dict()
    if keep and result.model is not None:
        path = ctx.run_dir / MODEL_FOLDER
        card = model_card(out, run_id=ctx.run_id)
        save_setfit(result.model, path, card)
        out.update({"model_path": str(path), "body_path": str(path), "model_card": card})
        ctx.log(f"saved the SetFit model (seed {cfg.seeds[0]}) to {path}")
        if job.register_as:
            out["install"] = _install(ctx, job, path, out)
    return out


def classify_curve_job(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    """Job ``setfit_curve``: N values × seeds, SetFit against the baselines (no model is kept)."""
    return _execute(ctx, ClassifyJob.from_dict(config).experiment).to_dict()


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


_CARD_METHODS = {
    "setfit": "SetFit",
    "logreg": "frozen body + logistic regression",
    "zeroshot": "zero-shot (label names)",
}
_CARD_USAGE = [
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


def _card_training(result: dict[str, Any], first: dict[str, Any]) -> list[str]:
    """The card's "How it was trained" section, from the first SetFit run's facts."""
    sf = first.get("config", {})
    return [
        "## How it was trained",
        f"- Body: `{result['body']}`, fine-tuned contrastively (SetFit); head: {sf.get('head', 'logistic')}"
        + (" (one-vs-rest, multi-label)" if result.get("multi_label") else ""),
        f"- Data: {result['n_values'][0]} labelled examples per class from the train split "
        f"({first.get('n_train', '?')} texts, seed {result['seeds'][0]}), {len(result['label_names'])} labels",
        f"- Pairs: {first.get('pairs', '?')}"
        + (f" (capped from {first.get('wanted_pairs')})" if first.get("capped") else "")
        + f", num_iterations {sf.get('num_iterations')}, {sf.get('epochs')} epoch(s), batch size "
        f"{sf.get('batch_size')}, body learning rate {sf.get('body_learning_rate')}, "
        f"max sequence length {sf.get('max_seq_length')}",
        f"- Training time: {first.get('train_s', 0):.0f} s",
    ]


def _card_scores(result: dict[str, Any]) -> list[str]:
    """The card's score table: this model's own row, then mean ± std of every method."""
    seed, n = result["seeds"][0], result["n_values"][0]
    lines = [
        f"## Scores on the test split ({result['n_test']} texts"
        + ("" if result.get("full_test", True) else ", a stratified slice")
        + ")",
        "",
        "| method | seeds | accuracy | macro-F1 | MCC |",
        "|---|---|---|---|---|",
    ]
    own = [
        r for r in result["rows"] if r["method"] == "setfit" and r["seed"] == seed and r["n_per_class"] == n
    ]
    if own:
        r = own[0]
        lines.append(
            f"| **this model** (SetFit, seed {seed}) | 1 | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | {r['mcc']:.3f} |"
        )
    for s in result["summary"]:
        lines.append(
            f"| {_CARD_METHODS.get(s['method'], s['method'])} (mean ± std) | {s['seeds']} | "
            f"{s['accuracy_mean']:.3f} ± {s['accuracy_std']:.3f} | {s['macro_f1_mean']:.3f} | {s['mcc_mean']:.3f} |"
        )
    return lines


def model_card(result: dict[str, Any], *, run_id: str | None = None) -> str:
    """A short README for an exported SetFit model: how it was trained and how it scored."""
    first = result["setfit_runs"][0] if result.get("setfit_runs") else {}
    lines = [
        f"# SetFit classifier for {result['dataset']}",
        "",
        f"Trained with Embedding Strategy Lab on {time.strftime('%Y-%m-%d %H:%M')}"
        + (f" (run `{run_id}`)." if run_id else "."),
        "",
        *_card_training(result, first),
        "",
        *_card_scores(result),
        *_CARD_USAGE,
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
