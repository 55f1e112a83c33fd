"""What the trainers share: training data records, validated hyper-parameters, the device choice, the
transformers ``TrainingArguments`` they all build, and the cancel / progress bridge."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.runtime import InvalidInput, Reporter, detect_device, log
from core.training.callbacks import hf_callback
from core.training.config import training_precision

__all__ = [
    "Triples",
    "fit_triples",
    "hf_args",
    "quiet_libraries",
    "run_trainer",
    "scratch_dir",
    "training_device",
]


@dataclass(frozen=True)
class Triples:
    """Training examples for contrastive and cross-encoder runs: one row per (query, positive) with its
    hard negatives (every row has the same number of negatives, possibly zero)."""

    anchors: tuple[str, ...]
    positives: tuple[str, ...]
    negatives: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        if not (len(self.anchors) == len(self.positives) == len(self.negatives)):
            raise InvalidInput("anchors, positives and negatives must have the same length.")
        widths = {len(n) for n in self.negatives}
        if len(widths) > 1:
            raise InvalidInput("every row needs the same number of negatives.")

    def __len__(self) -> int:
        return len(self.anchors)

    @property
    def num_negatives(self) -> int:
        return len(self.negatives[0]) if self.negatives else 0

    def columns(self) -> dict[str, list[str]]:
        """Columns in the order sentence-transformers losses read them: anchor, positive, negative_1..n."""
        cols: dict[str, list[str]] = {"anchor": list(self.anchors), "positive": list(self.positives)}
        for j in range(self.num_negatives):
            cols[f"negative_{j + 1}"] = [row[j] for row in self.negatives]
        return cols

    @classmethod
    def build(cls, rows: Sequence[tuple[str, str, Sequence[str]]], num_negatives: int) -> tuple[Triples, int]:
        """Rows of (query, positive, negatives) -> Triples with exactly ``num_negatives`` each: rows short
        of negatives repeat their last one; rows without any are dropped (their count is returned)."""
        anchors, positives, negs = [], [], []
        dropped = 0
        for query, positive, negatives in rows:
            negatives = list(negatives)[:num_negatives]
            if num_negatives and not negatives:
                dropped += 1
                continue
            while len(negatives) < num_negatives:
                negatives.append(negatives[-1])
            anchors.append(query)
            positives.append(positive)
            negs.append(tuple(negatives))
        return cls(tuple(anchors), tuple(positives), tuple(negs)), dropped


def training_device() -> str:
    """cuda when present (or whatever ESL_DEVICE forces), else cpu."""
    return detect_device()


def hf_args(cfg: Any, output_dir: Path, *, cls: Any = None, **extra: Any) -> Any:
    """``TrainingArguments`` (or a sentence-transformers subclass) for a quiet, checkpoint-free run."""

    if cls is None:
        from transformers import TrainingArguments as cls
    device = training_device()
    precision, _ = training_precision(getattr(cfg, "precision", "auto"), device)
    kwargs: dict[str, Any] = {
        "output_dir": str(output_dir),
        "per_device_train_batch_size": cfg.batch_size,
        "learning_rate": cfg.learning_rate,
        "num_train_epochs": cfg.epochs,
        "max_steps": cfg.max_steps if cfg.max_steps and cfg.max_steps > 0 else -1,
        "warmup_steps": float(cfg.warmup),
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": [],
        "disable_tqdm": True,
        "seed": cfg.seed,
        "data_seed": cfg.seed,
        "use_cpu": device == "cpu",
        "bf16": precision == "bf16",
        "dataloader_num_workers": 0,
    }
    kwargs.update(extra)
    return cls(**kwargs)


@contextlib.contextmanager
def scratch_dir(output_dir: str | Path) -> Iterator[Path]:
    """A folder beside ``output_dir`` for trainer scratch files, removed afterwards (its name starts
    with the output folder's, so the job runner's clean-up of a killed run finds it)."""
    out = Path(output_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f"{out.name}-scratch-", dir=out.parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def quiet_libraries() -> None:
    """No tqdm bars or per-log dict prints from transformers / datasets / sentence-transformers: a job
    reports through its reporter, and ``--json`` output must stay clean."""
    os.environ["TQDM_DISABLE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    with contextlib.suppress(Exception):
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    with contextlib.suppress(Exception):
        import datasets

        datasets.disable_progress_bars()
        datasets.utils.logging.set_verbosity_error()


def run_trainer(trainer: Any, reporter: Reporter | None) -> int:
    """Train with step and loss reports to ``reporter``; a :class:`~core.runtime.Cancelled` raised by the
    reporter ends training (nothing gets saved). Returns the number of optimizer steps done."""
    from transformers.trainer_callback import PrinterCallback  # heavy: transformers imports torch

    trainer.remove_callback(PrinterCallback)  # it prints every log dict to stdout
    trainer.add_callback(hf_callback(reporter))
    precision = "bf16 autocast" if getattr(trainer.args, "bf16", False) else "fp32"
    log(reporter, f"training on {training_device()} in {precision}")
    trainer.train()
    return int(trainer.state.global_step)


def fit_triples(
    model: Any,
    loss: Any,
    config: Any,
    data: Triples,
    reporter: Reporter | None,
    *,
    trainer_cls: Any,
    args_cls: Any,
    callbacks: Sequence[Any] = (),
) -> Path:
    """Train a sentence-transformers ``model`` (dense or sparse) with ``loss`` on ``data``: texts cut to
    ``config.max_seq_length`` while training only, batches without a text twice (a query twice in a batch
    is a false in-batch negative), scratch files removed; saves to ``config.output_dir`` and returns it."""
    from datasets import Dataset
    from sentence_transformers.base.sampler import BatchSamplers

    original_len = model.max_seq_length
    if config.max_seq_length:
        model.max_seq_length = min(config.max_seq_length, original_len)
    with scratch_dir(config.output_dir) as scratch:
        trainer = trainer_cls(
            model=model,
            args=hf_args(config, scratch, cls=args_cls, batch_sampler=BatchSamplers.NO_DUPLICATES),
            train_dataset=Dataset.from_dict(data.columns()),
            loss=loss,
            callbacks=list(callbacks) or None,
        )
        run_trainer(trainer, reporter)
    model.max_seq_length = original_len
    model.save(str(config.output_dir))
    return Path(config.output_dir)
