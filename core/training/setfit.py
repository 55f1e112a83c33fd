"""SetFit: contrastive fine-tuning of a sentence-transformer body on pairs built from a few labelled
examples, then a classification head on the tuned embeddings (the ``setfit`` library).

The number of pairs drives the cost: SetFit draws ``2 × num_iterations × n_train`` pairs per epoch, which
grows with the number of classes (Banking77 at N=8: 616 texts → 24,640 pairs). ``max_pairs`` caps it; the
cap is applied as a step limit, and the pair generator stops once it has enough unique pairs.
"""

from __future__ import annotations

import contextlib
import logging as py_logging
import math
import os
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

from core.data import FewShotSample, LabeledDataset, sample_per_class
from core.models import DEFAULT_BI_ENCODER, load_sentence_transformer
from core.runtime import InvalidInput, Reporter, Workspace, configure_environment, detect_device, log, report
from core.training.callbacks import TRAIN_STAGE, hf_callback
from core.training.config import PRECISIONS, training_precision

__all__ = [
    "PAIR_LOSSES",
    "PairPlan",
    "SetFitConfig",
    "fit_setfit",
    "load_setfit",
    "pair_plan",
    "save_setfit",
    "train",
]


PAIR_LOSSES = ("cosent", "cosine")


@dataclass(frozen=True)
class SetFitConfig:
    """How one SetFit model is trained.

    Defaults are the paper's where 2 CPU cores allow (see ``bench/bf16_training.py``): ``num_iterations=20``
    as in the SetFit paper gives its 640 pairs for a binary set at N=8 (40 steps, ~20 s with bf16 autocast
    here, ~35 s in fp32); ``max_pairs=1280`` caps many-class sets (Banking77 at N=8 would otherwise draw
    24,640 pairs: at 1280 it trains 80 steps, ~45 s with bf16).

    ``loss`` is the body's pair loss: ``cosent`` (sentence-transformers' CoSENTLoss, the default here: it only
    asks same-label pairs to score above different-label pairs) or ``cosine`` (setfit's own default,
    CosineSimilarityLoss, which pulls every different-label pair to cosine 0). On Banking77 at N=8 with the
    capped pair budget, ``cosine`` left the body no better than frozen (0.7955 vs 0.7955, seed 0) and
    ``cosent`` reached 0.8078 (see the README).
    """

    n_per_class: int = 8
    seed: int = 0
    body: str = DEFAULT_BI_ENCODER
    head: Literal["logistic", "differentiable"] = "logistic"
    num_iterations: int = 20
    epochs: int = 1
    batch_size: int = 16
    body_learning_rate: float = 2e-5
    max_pairs: int | None = 1280  # per epoch; None: no cap
    head_epochs: int = 16  # differentiable head only
    head_learning_rate: float = 1e-2  # differentiable head only
    max_seq_length: int | None = 128
    loss: Literal["cosent", "cosine"] = "cosent"
    multi_label: bool = False  # set from the data: one-vs-rest heads
    precision: str = "auto"  # auto: bf16 autocast where the device computes it natively (training.config)

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise InvalidInput(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.head not in ("logistic", "differentiable"):
            raise InvalidInput(f"head must be 'logistic' or 'differentiable', got {self.head!r}")
        if self.loss not in PAIR_LOSSES:
            raise InvalidInput(f"loss must be one of {', '.join(PAIR_LOSSES)}, got {self.loss!r}")
        for name in ("n_per_class", "num_iterations", "epochs", "batch_size", "head_epochs"):
            if int(getattr(self, name)) < 1:
                raise InvalidInput(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_pairs is not None and self.max_pairs < 2:
            raise InvalidInput(f"max_pairs must be at least 2 (or None for no cap), got {self.max_pairs}")
        if self.body_learning_rate <= 0:
            raise InvalidInput("body_learning_rate must be positive")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> SetFitConfig:
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        extra = set(data) - known
        if extra:
            raise InvalidInput(f"Unknown SetFit settings: {sorted(extra)}")
        return cls(**data)


@dataclass(frozen=True)
class PairPlan:
    """How many contrastive pairs and optimizer steps a run will use."""

    n_train: int
    wanted_pairs: int  # 2 × num_iterations × n_train (per epoch)
    pairs: int  # after the cap (per epoch)
    num_iterations: int  # passed to setfit (lowered when capped, so fewer pairs are materialised)
    steps: int  # optimizer steps over all epochs
    capped: bool


def pair_plan(config: SetFitConfig, n_train: int) -> PairPlan:
    """The pair budget of a run on ``n_train`` texts."""
    n_train = max(1, int(n_train))
    wanted = 2 * config.num_iterations * n_train
    if config.max_pairs is not None and wanted > config.max_pairs:
        pairs = int(config.max_pairs)
        iterations = max(1, math.ceil(pairs / (2 * n_train)))
        capped = True
    else:
        pairs, iterations, capped = wanted, config.num_iterations, False
    steps = math.ceil(pairs / config.batch_size) * config.epochs
    return PairPlan(n_train, wanted, pairs, iterations, steps, capped)


def _quiet() -> None:
    with contextlib.suppress(ImportError):
        import datasets

        datasets.disable_progress_bars()
        datasets.utils.logging.set_verbosity_error()
    with contextlib.suppress(ImportError):
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
    with contextlib.suppress(ImportError):
        from setfit import logging as sf_logging

        sf_logging.set_verbosity_error()
    py_logging.getLogger("sentence_transformers").setLevel(py_logging.ERROR)


def _load_body(config: SetFitConfig, ws: Workspace | None) -> Any:
    """A fresh copy of the body (training changes its weights, so never a shared cached instance)."""
    body = load_sentence_transformer(config.body, ws)
    if config.max_seq_length:
        body.max_seq_length = min(int(config.max_seq_length), int(body.max_seq_length or 10**6))
    return body


def _make_head(config: SetFitConfig, dim: int, n_labels: int, device: Any) -> Any:
    if config.head == "differentiable":
        from setfit import SetFitHead

        return SetFitHead(
            in_features=dim, out_features=n_labels, device=device, multitarget=config.multi_label
        )
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    clf = LogisticRegression(max_iter=1000, random_state=config.seed)
    return OneVsRestClassifier(clf) if config.multi_label else clf


def _build_model(config: SetFitConfig, sample: FewShotSample, ws: Workspace | None) -> Any:
    """A ``SetFitModel``: a fresh copy of the body and a new, seeded head for the sample's labels."""
    from setfit import SetFitModel
    from transformers import set_seed

    labels = list(sample.label_names)
    body = _load_body(config, ws)
    set_seed(config.seed)  # the differentiable head is initialised here, before the Trainer seeds
    dim_fn = getattr(body, "get_embedding_dimension", None) or body.get_sentence_embedding_dimension
    head = _make_head(config, int(dim_fn()), len(labels), body.device)
    return SetFitModel(
        model_body=body,
        model_head=head,
        multi_target_strategy="one-vs-rest" if config.multi_label else None,
        normalize_embeddings=True,
        labels=labels,
    )


def _training_args(config: SetFitConfig, plan: PairPlan, output_dir: str) -> Any:
    """setfit's ``TrainingArguments`` for ``config`` (the pair cap becomes a step limit)."""
    from sentence_transformers.sentence_transformer import losses as st_losses
    from setfit import TrainingArguments

    return TrainingArguments(
        output_dir=output_dir,
        loss=st_losses.CoSENTLoss if config.loss == "cosent" else st_losses.CosineSimilarityLoss,
        batch_size=(config.batch_size, 16),
        num_epochs=(config.epochs, config.head_epochs),
        num_iterations=plan.num_iterations,
        max_steps=plan.steps if plan.capped else -1,
        body_learning_rate=(config.body_learning_rate, config.body_learning_rate / 2),
        head_learning_rate=config.head_learning_rate,
        seed=config.seed,
        report_to="none",
        save_strategy="no",
        show_progress_bar=False,
        logging_steps=max(1, plan.steps // 10),
        logging_first_step=False,
        max_length=config.max_seq_length,
    )


@contextlib.contextmanager
def _mixed_precision(precision: str) -> Iterator[None]:
    """setfit builds its sentence-transformers trainer with default arguments, so bf16 autocast reaches it
    only through accelerate's documented switch, ``ACCELERATE_MIXED_PRECISION``, while it is built."""
    if precision != "bf16":
        yield
        return
    previous = os.environ.get("ACCELERATE_MIXED_PRECISION")
    os.environ["ACCELERATE_MIXED_PRECISION"] = "bf16"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("ACCELERATE_MIXED_PRECISION", None)
        else:
            os.environ["ACCELERATE_MIXED_PRECISION"] = previous


def _make_trainer(model: Any, args: Any, sample: FewShotSample, callback: Any) -> Any:
    """setfit's ``Trainer`` on the sample, reporting through ``callback`` only (no printing, no tqdm)."""
    from datasets import Dataset
    from setfit import Trainer
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_dict({"text": list(sample.texts), "label": sample.label_ids()}),
        metric=_accuracy_metric,  # evaluate.load("accuracy") needs the hub
        callbacks=[callback],
    )
    st_trainer = trainer.st_trainer
    for cb in (PrinterCallback, ProgressCallback):
        st_trainer.pop_callback(cb)
    st_trainer.args.disable_tqdm = True
    st_trainer.args.dataloader_pin_memory = False  # CPU runs: avoids a warning per run
    return trainer


def _train(trainer: Any, args: Any, plan: PairPlan, reporter: Reporter | None) -> None:
    """The body's contrastive epochs, then the head."""
    warnings.filterwarnings("ignore", message=".*pin_memory.*no accelerator.*")
    trainer.train_embeddings(*trainer.dataset_to_parameters(trainer.train_dataset), args=args)
    report(reporter, TRAIN_STAGE, plan.steps, plan.steps, "training the classification head")
    trainer.train_classifier(*trainer.dataset_to_parameters(trainer.train_dataset), args=args)


def fit_setfit(
    config: SetFitConfig,
    sample: FewShotSample,
    reporter: Reporter | None = None,
    *,
    ws: Workspace | None = None,
    output_dir: Path | str | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Train a ``SetFitModel`` on ``sample`` in memory. Returns the model and facts about the run
    (pair plan, steps done, seconds, last loss). A :class:`~core.runtime.Cancelled` raised by ``reporter``
    stops it."""
    _quiet()
    config = replace(config, multi_label=bool(sample.multi_label))
    start = time.perf_counter()
    model = _build_model(config, sample, ws)
    plan = pair_plan(config, len(sample))
    with contextlib.ExitStack() as scratch:
        if output_dir is None:
            output_dir = scratch.enter_context(tempfile.TemporaryDirectory(prefix="setfit-"))
        args = _training_args(config, plan, str(output_dir))
        bridge = hf_callback(reporter)
        precision, _ = training_precision(config.precision, str(model.model_body.device.type))
        with _mixed_precision(precision):
            trainer = _make_trainer(model, args, sample, bridge)
        log(
            reporter,
            f"SetFit N={config.n_per_class} seed={config.seed}: {len(sample)} texts, {plan.pairs} pairs"
            + (f" (capped from {plan.wanted_pairs})" if plan.capped else "")
            + f", {plan.steps} steps in {precision}",
        )
        _train(trainer, args, plan, reporter)
    model.model_body.eval()
    info = {
        "train_s": time.perf_counter() - start,
        "steps": int(trainer.st_trainer.state.global_step),
        "planned_steps": plan.steps,
        "pairs": plan.pairs,
        "wanted_pairs": plan.wanted_pairs,
        "capped": plan.capped,
        "precision": precision,
        "n_train": len(sample),
        "last_loss": bridge.last_loss,
        "config": config.to_dict(),
    }
    return model, info


def _accuracy_metric(y_pred: Any, y_test: Any) -> dict[str, float]:
    from sklearn.metrics import accuracy_score

    return {"accuracy": float(accuracy_score(y_test, y_pred))}


def save_setfit(model: Any, path: Path | str, card: str | None = None) -> Path:
    """``SetFitModel.save_pretrained`` into ``path`` (plus our model card as README.md when given).

    The folder is also a plain sentence-transformers folder: ``SentenceTransformer(path)`` loads the tuned
    body (``config_setfit.json`` and ``model_head.pkl`` are simply ignored)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    _quiet()
    model.save_pretrained(str(path))
    if card:
        (path / "README.md").write_text(card, encoding="utf-8")
    return path


def load_setfit(path: Path | str, device: str | None = None) -> Any:
    """Load a saved SetFit model folder (local files only)."""
    configure_environment()
    _quiet()
    from setfit import SetFitModel

    return SetFitModel.from_pretrained(str(path), local_files_only=True, device=device or detect_device())


def train(
    config: SetFitConfig,
    data: LabeledDataset | FewShotSample,
    reporter: Reporter | None = None,
    *,
    ws: Workspace | None = None,
    output_dir: Path | str | None = None,
) -> Path:
    """Train SetFit and save it; returns the saved folder. ``data`` is a labelled dataset (N per class
    are then sampled from its train split with ``config.n_per_class`` and ``config.seed``) or a sample."""
    sample = (
        data if isinstance(data, FewShotSample) else sample_per_class(data, config.n_per_class, config.seed)
    )
    model, _info = fit_setfit(config, sample, reporter, ws=ws)
    if output_dir is None:
        output_dir = (ws or Workspace()).staging_dir() / "setfit-model"
    return save_setfit(model, output_dir)
