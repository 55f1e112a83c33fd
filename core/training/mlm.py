"""MLM continued pretraining (transformers ``Trainer`` + ``DataCollatorForLanguageModeling``) on corpus
text; the adapted encoder is wrapped back into a sentence-transformer with mean pooling."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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

__all__ = ["MLMConfig", "train"]


@dataclass(frozen=True)
class MLMConfig(TrainConfig):
    """``base``: a bi-encoder (name or folder); ``mlm_probability``: share of tokens masked."""

    mlm_probability: float = 0.15
    epochs: float = 1.0
    max_steps: int | None = None
    batch_size: int = 16
    learning_rate: float = 5e-5
    warmup: float = 0.06
    max_seq_length: int | None = 128
    seed: int = 42

    def validate(self) -> None:
        super().validate()
        if not 0 < self.mlm_probability < 1:
            raise InvalidInput("mlm_probability must be between 0 and 1 (0.15 is the usual rate).")


def train(config: MLMConfig, data: Sequence[str], reporter: Reporter | None = None) -> Path:
    """Continue masked-language-model pretraining of ``config.base`` on ``data`` (texts); saves a
    sentence-transformer (mean pooling) to ``config.output_dir`` and returns that path."""
    from datasets import Dataset
    from sentence_transformers.sentence_transformer.modules import Pooling
    from transformers import AutoModelForMaskedLM, AutoTokenizer, DataCollatorForLanguageModeling, Trainer

    texts = [t for t in data if t and t.strip()]
    if not texts:
        raise InvalidInput("MLM needs text: the corpus is empty.")
    quiet_transformers()
    quiet_libraries()
    st_model = load_sentence_transformer(config.base, device=training_device())
    location = st_model.transformers_model.config._name_or_path
    tokenizer = AutoTokenizer.from_pretrained(location)
    mlm_model = AutoModelForMaskedLM.from_pretrained(location)
    log(reporter, "MLM head: new weights unless the base shipped one (expected: it is only used in training)")
    max_len = config.max_seq_length or st_model.max_seq_length
    dataset = Dataset.from_dict({"text": texts}).map(
        lambda b: tokenizer(b["text"], truncation=True, max_length=max_len, return_special_tokens_mask=True),
        batched=True,
        remove_columns=["text"],
    )
    collator = DataCollatorForLanguageModeling(
        tokenizer, mlm_probability=config.mlm_probability, seed=config.seed
    )
    with scratch_dir(config.output_dir) as scratch:
        trainer = Trainer(
            model=mlm_model,
            args=hf_args(config, scratch, remove_unused_columns=False),
            train_dataset=dataset,
            data_collator=collator,
        )
        run_trainer(trainer, reporter)
    # wrap the adapted encoder back into the sentence-transformer: same tokenizer, mean pooling
    encoder = mlm_model.base_model.to("cpu")
    missing, unexpected = st_model.transformers_model.load_state_dict(encoder.state_dict(), strict=False)
    bad = [k for k in missing if not k.startswith("pooler.")]
    if bad or unexpected:
        raise RuntimeError(
            f"MLM encoder weights do not fit the bi-encoder: missing {bad}, unexpected {unexpected}"
        )
    for i, module in enumerate(st_model):
        if isinstance(module, Pooling) and module.pooling_mode != "mean":
            st_model[i] = Pooling(module.get_embedding_dimension(), "mean")  # type: ignore[index]
    st_model.save(str(config.output_dir))
    return Path(config.output_dir)
