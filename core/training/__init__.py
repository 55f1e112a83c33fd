"""training — trainers behind one contract: ``train(config, data, reporter) -> saved model folder``.

Each trainer's config is a frozen subclass of :class:`TrainConfig` (shared fields and validation);
:data:`TRAINERS` maps a method name (mlm, tsdae, contrastive, cross-encoder, splade) to its trainer; SetFit
(:func:`fit_setfit`) trains a few-shot classifier on a :class:`~core.data.FewShotSample`. Training uses the
GPU when there is one. Imports runtime, data and models only.
"""

from core.training.callbacks import TRAIN_STAGE, hf_callback, step_message
from core.training.common import Triples, hf_args, quiet_libraries, run_trainer, scratch_dir, training_device
from core.training.config import PRECISIONS, TrainConfig, training_precision
from core.training.contrastive import LOSSES, ContrastiveConfig
from core.training.cross_encoder import CE_LOSSES, CrossEncoderConfig
from core.training.mlm import MLMConfig
from core.training.registry import TRAINERS, Trainer, get_trainer, train_config
from core.training.setfit import (
    PAIR_LOSSES,
    PairPlan,
    SetFitConfig,
    fit_setfit,
    load_setfit,
    pair_plan,
    save_setfit,
)
from core.training.setfit import train as train_setfit
from core.training.sparse import DEFAULT_SPLADE_BASE, SparseConfig, check_splade_folder
from core.training.tsdae import TSDAEConfig, delete_noise

__all__ = [
    "CE_LOSSES",
    "DEFAULT_SPLADE_BASE",
    "LOSSES",
    "PAIR_LOSSES",
    "PRECISIONS",
    "TRAINERS",
    "TRAIN_STAGE",
    "ContrastiveConfig",
    "CrossEncoderConfig",
    "MLMConfig",
    "PairPlan",
    "SetFitConfig",
    "SparseConfig",
    "TSDAEConfig",
    "TrainConfig",
    "Trainer",
    "Triples",
    "check_splade_folder",
    "delete_noise",
    "fit_setfit",
    "get_trainer",
    "hf_args",
    "hf_callback",
    "load_setfit",
    "pair_plan",
    "quiet_libraries",
    "run_trainer",
    "save_setfit",
    "scratch_dir",
    "step_message",
    "train_config",
    "train_setfit",
    "training_device",
    "training_precision",
]
