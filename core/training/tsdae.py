"""TSDAE: denoising auto-encoder pretraining (``DenoisingAutoEncoderLoss`` with a tied decoder) on
unlabelled corpus text, noise from ``DenoisingAutoEncoderDataset`` (word deletion)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.models import load_sentence_transformer, quiet_transformers
from core.runtime import InvalidInput, Reporter, log
from core.training.common import (
    hf_args,
    quiet_libraries,
    run_trainer,
    scratch_dir,
    training_device,
)
from core.training.config import TrainConfig

__all__ = ["TSDAEConfig", "delete_noise", "train"]


@dataclass(frozen=True)
class TSDAEConfig(TrainConfig):
    """``del_ratio``: share of words deleted from the input the decoder has to reconstruct."""

    del_ratio: float = 0.6
    epochs: float = 1.0
    max_steps: int | None = None
    batch_size: int = 8
    learning_rate: float = 3e-5
    warmup: float = 0.0
    max_seq_length: int | None = 128
    seed: int = 42

    def validate(self) -> None:
        super().validate()
        if not 0 < self.del_ratio < 1:
            raise InvalidInput("del_ratio must be between 0 and 1 (0.6 in the TSDAE paper).")


def delete_noise(text: str, del_ratio: float = 0.6, rng: np.random.Generator | None = None) -> str:
    """Delete words at random (at least one word stays). Uses nltk's Treebank tokenizer, which needs no
    downloaded data (``word_tokenize`` would need the punkt files, unavailable offline)."""
    from nltk.tokenize import TreebankWordTokenizer
    from nltk.tokenize.treebank import TreebankWordDetokenizer

    rng = rng or np.random.default_rng()
    words = TreebankWordTokenizer().tokenize(text)
    if not words:
        return text
    keep = rng.random(len(words)) > del_ratio
    if not keep.any():
        keep[rng.integers(len(words))] = True
    return TreebankWordDetokenizer().detokenize([w for w, k in zip(words, keep, strict=True) if k])


def train(config: TSDAEConfig, data: Sequence[str], reporter: Reporter | None = None) -> Path:
    """TSDAE on ``data`` (texts); saves the encoder as a sentence-transformer and returns its path."""
    from datasets import Dataset
    from sentence_transformers.sentence_transformer.datasets import DenoisingAutoEncoderDataset
    from sentence_transformers.sentence_transformer.losses import DenoisingAutoEncoderLoss
    from sentence_transformers.sentence_transformer.trainer import SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.training_args import SentenceTransformerTrainingArguments

    texts = [t for t in data if t and t.strip()]
    if not texts:
        raise InvalidInput("TSDAE needs text: the corpus is empty.")
    quiet_transformers()
    quiet_libraries()
    model = load_sentence_transformer(config.base, device=training_device())
    original_len = model.max_seq_length
    if config.max_seq_length:
        model.max_seq_length = min(config.max_seq_length, original_len)
    rng = np.random.default_rng(config.seed)
    noisy = DenoisingAutoEncoderDataset(texts, noise_fn=lambda s: delete_noise(s, config.del_ratio, rng))
    dataset = Dataset.from_dict({"text": texts})
    # noise is drawn anew each time a row is read: (damaged, original) pairs, in the loss's order
    dataset.set_transform(lambda b: {"noisy": [noisy.noise_fn(t) for t in b["text"]], "text": b["text"]})
    loss = DenoisingAutoEncoderLoss(model, tie_encoder_decoder=True)
    log(reporter, "TSDAE decoder: cross-attention weights are new (expected; the decoder is dropped after)")
    with scratch_dir(config.output_dir) as scratch:
        trainer = SentenceTransformerTrainer(
            model=model,
            args=hf_args(
                config, scratch, cls=SentenceTransformerTrainingArguments, remove_unused_columns=False
            ),
            train_dataset=dataset,
            loss=loss,
        )
        run_trainer(trainer, reporter)
    model.max_seq_length = original_len
    model.save(str(config.output_dir))
    return Path(config.output_dir)
