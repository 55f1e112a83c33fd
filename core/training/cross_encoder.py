"""Cross-encoder fine-tuning (``CrossEncoderTrainer``) on (query, positive, hard negatives) rows.

Losses: ``mnrl`` (softmax over the positive, the hard negatives and sampled in-batch negatives — a
listwise objective), ``lambda`` (LambdaLoss, NDCG-weighted, over the positive and the hard negatives),
``listnet``, or ``bce`` (pointwise binary cross-entropy on labelled pairs, the classic baseline).
The base can be a trained bi-encoder: ``CrossEncoder(folder, num_labels=1)`` reuses its encoder and adds
a new one-logit head."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.models import cross_encoder_head_is_trained, quiet_transformers, resolve_model
from core.runtime import InvalidInput, Reporter, log
from core.training.common import (
    Triples,
    hf_args,
    quiet_libraries,
    run_trainer,
    scratch_dir,
    training_device,
)
from core.training.config import TrainConfig

__all__ = ["CE_LOSSES", "CrossEncoderConfig", "train"]

CE_LOSSES = ("mnrl", "lambda", "listnet", "bce")


@dataclass(frozen=True)
class CrossEncoderConfig(TrainConfig):
    """``in_batch_negatives``: extra negatives per query drawn from the batch (``mnrl`` only).
    ``learning_rate`` defaults to 1e-4: a cross-encoder built from a bi-encoder starts with a random
    one-logit head, and on SciFact at 2e-5 its loss stayed at chance for a whole epoch, while at 1e-4 it
    learned within 40 steps (README, Adapt: from the 3-epoch contrastive model it reranked to nDCG@10
    0.689 instead of 0.332)."""

    loss: str = "mnrl"
    epochs: float = 2.0
    max_steps: int | None = None
    batch_size: int = 16
    in_batch_negatives: int = 4
    learning_rate: float = 1e-4
    warmup: float = 0.1
    max_seq_length: int | None = 256
    seed: int = 42

    def validate(self) -> None:
        super().validate()
        if self.loss not in CE_LOSSES:
            raise InvalidInput(
                f"Unknown cross-encoder loss {self.loss!r}: use one of {', '.join(CE_LOSSES)}."
            )
        if self.in_batch_negatives < 0:
            raise InvalidInput("in_batch_negatives cannot be negative.")


def _dataset(data: Triples, loss: str):  # type: ignore[no-untyped-def]
    from datasets import Dataset

    if loss == "mnrl":
        return Dataset.from_dict(data.columns())
    if loss == "bce":
        queries, docs, labels = [], [], []
        for q, p, negs in zip(data.anchors, data.positives, data.negatives, strict=True):
            for doc, label in [(p, 1.0), *((n, 0.0) for n in negs)]:
                queries.append(q)
                docs.append(doc)
                labels.append(label)
        return Dataset.from_dict({"query": queries, "doc": docs, "label": labels})
    # listwise: (query, [docs], [labels])
    return Dataset.from_dict(
        {
            "query": list(data.anchors),
            "docs": [[p, *negs] for p, negs in zip(data.positives, data.negatives, strict=True)],
            "labels": [[1.0] + [0.0] * len(negs) for negs in data.negatives],
        }
    )


def train(config: CrossEncoderConfig, data: Triples, reporter: Reporter | None = None) -> Path:
    """Fine-tune a cross-encoder from ``config.base``; saves a ``CrossEncoder`` folder, returns its path."""
    import torch
    from sentence_transformers.cross_encoder import CrossEncoder, losses
    from sentence_transformers.cross_encoder.trainer import CrossEncoderTrainer
    from sentence_transformers.cross_encoder.training_args import CrossEncoderTrainingArguments

    if len(data) < 2:
        raise InvalidInput("Cross-encoder training needs at least 2 (query, positive) pairs.")
    if config.loss != "mnrl" and data.num_negatives == 0:
        raise InvalidInput(f"The {config.loss} loss needs mined negatives (num_negatives >= 1).")
    quiet_transformers()
    quiet_libraries()
    info = resolve_model(config.base, kind="cross-encoder")
    model = CrossEncoder(
        info.location,
        num_labels=1,
        max_length=config.max_seq_length,
        device=training_device(),
        trust_remote_code=False,
    )

    if not cross_encoder_head_is_trained(info.location):
        log(reporter, "new one-logit classification head on the base encoder (random until trained)")
    if config.loss == "mnrl":
        loss = losses.MultipleNegativesRankingLoss(model, num_negatives=config.in_batch_negatives)
    elif config.loss == "lambda":
        loss = losses.LambdaLoss(model)
    elif config.loss == "listnet":
        loss = losses.ListNetLoss(model)
    else:
        neg_per_pos = max(1, data.num_negatives)
        loss = losses.BinaryCrossEntropyLoss(model, pos_weight=torch.tensor(float(neg_per_pos)))
    log(reporter, f"{len(data):,} queries with {data.num_negatives} hard negative(s); loss {config.loss}")
    with scratch_dir(config.output_dir) as scratch:
        trainer = CrossEncoderTrainer(
            model=model,
            args=hf_args(config, scratch, cls=CrossEncoderTrainingArguments),
            train_dataset=_dataset(data, config.loss),
            loss=loss,
        )
        run_trainer(trainer, reporter)
    model.save(str(config.output_dir))
    return Path(config.output_dir)
