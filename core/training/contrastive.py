"""Contrastive fine-tuning of a bi-encoder with MultipleNegativesRankingLoss (in-batch negatives plus
mined hard negatives), or its cached variant for large batches, on (query, positive, negatives) rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.models import load_sentence_transformer, quiet_transformers
from core.runtime import InvalidInput, Reporter, log
from core.training.common import Triples, fit_triples, quiet_libraries, training_device
from core.training.config import TrainConfig

__all__ = ["LOSSES", "ContrastiveConfig", "train"]

LOSSES = ("mnrl", "cached-mnrl")


@dataclass(frozen=True)
class ContrastiveConfig(TrainConfig):
    """``loss``: ``mnrl`` or ``cached-mnrl`` (GradCache: big batches in ``mini_batch_size`` memory).
    ``max_seq_length`` truncates texts while training only (a speed knob on CPU); the saved model keeps
    the base model's length."""

    loss: str = "mnrl"
    epochs: float = 1.0
    max_steps: int | None = None
    batch_size: int = 32
    mini_batch_size: int = 16
    learning_rate: float = 2e-5
    warmup: float = 0.1
    scale: float = 20.0
    max_seq_length: int | None = 256
    seed: int = 42

    def validate(self) -> None:
        super().validate()
        if self.loss not in LOSSES:
            raise InvalidInput(f"Unknown loss {self.loss!r}: use one of {', '.join(LOSSES)}.")
        if self.batch_size < 2:
            raise InvalidInput("MultipleNegativesRankingLoss needs batch_size >= 2 (in-batch negatives).")
        if self.mini_batch_size < 1:
            raise InvalidInput("mini_batch_size must be at least 1.")


def train(config: ContrastiveConfig, data: Triples, reporter: Reporter | None = None) -> Path:
    """Fine-tune ``config.base`` on ``data``; saves a sentence-transformer and returns its path."""
    from sentence_transformers.sentence_transformer import losses
    from sentence_transformers.sentence_transformer.trainer import SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.training_args import SentenceTransformerTrainingArguments

    if len(data) < 2:
        raise InvalidInput("Contrastive training needs at least 2 (query, positive) pairs.")
    quiet_transformers()
    quiet_libraries()
    model = load_sentence_transformer(config.base, device=training_device())
    if config.loss == "cached-mnrl":
        loss = losses.CachedMultipleNegativesRankingLoss(
            model, scale=config.scale, mini_batch_size=config.mini_batch_size
        )
    else:
        loss = losses.MultipleNegativesRankingLoss(model, scale=config.scale)
    log(
        reporter,
        f"{len(data):,} rows with {data.num_negatives} hard negative(s) each; batch {config.batch_size}",
    )
    return fit_triples(
        model,
        loss,
        config,
        data,
        reporter,
        trainer_cls=SentenceTransformerTrainer,
        args_cls=SentenceTransformerTrainingArguments,
    )
