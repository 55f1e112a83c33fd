"""What an adaptation job is asked to do, parsed once at the job boundary: :class:`AdaptJob` (job kind
``adapt``) and :class:`MineJob` (kind ``mine``), plus the methods they can train.

The CLI and the Adapt page build the job config these classes read (``AdaptJob(...).to_dict()``), so the
job and its callers agree on every name and default. ``from_dict`` takes stored configs as they were
written: missing keys and ``None`` values keep the defaults, unknown keys are an error.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from typing import Any

from core.adapt.mining import TRAIN_SPLIT, MiningConfig
from core.models import DEFAULT_BI_ENCODER, SPARSE_KIND
from core.retrieval import DEFAULT_RERANK_DEPTH
from core.runtime import InvalidInput
from core.training import TRAINERS, get_trainer

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "MODEL_KINDS",
    "TRAIN_COST_FACTOR",
    "AdaptEstimate",
    "AdaptJob",
    "MineJob",
    "default_model_name",
    "describe_methods",
    "estimate_adapt",
    "method_defaults",
    "train_fields",
    "training_steps",
]

# contrastive first: MLM continued pretraining measured harmful on SciFact (README, "Adapt"), contrastive helped
DEFAULT_METHOD = "contrastive"
METHODS = (DEFAULT_METHOD, *(m for m in TRAINERS if m != DEFAULT_METHOD))
# hard negatives mined per query by default: one for a bi-encoder (MNRL adds the in-batch ones), two for a
# cross-encoder (it sees no in-batch negatives)
_NEGATIVES = {"contrastive": 1, "cross-encoder": 2, "splade": 1}
# a training step (forward + backward + optimizer) costs about three forward passes over its texts
TRAIN_COST_FACTOR = 3.0
MODEL_KINDS = {method: trainer.model_kind for method, trainer in TRAINERS.items()}


def train_fields(method: str) -> list[str]:
    """Hyper-parameters a method accepts (the fields of its config besides base and output_dir)."""
    return get_trainer(method).config.settings()


def describe_methods() -> dict[str, str]:
    """Method name → one line saying what it trains on, the default method first."""
    return {method: TRAINERS[method].description for method in METHODS}


def method_defaults(method: str) -> dict[str, Any]:
    """The settings a method starts from, read from its config class (defined once there): ``epochs``,
    ``batch_size``, ``max_seq_length`` and, for methods that mine, ``num_negatives``. A form that switches
    method switches to these."""
    config = get_trainer(method).config
    wanted = ("epochs", "batch_size", "max_seq_length", "mlm_probability")
    out = {f.name: f.default for f in dataclasses.fields(config) if f.name in wanted}
    if method in _NEGATIVES:
        out["num_negatives"] = _NEGATIVES[method]
    return out


def training_steps(rows: int, *, batch_size: int, epochs: float, max_steps: int | None = None) -> int:
    """Optimizer steps for ``rows`` training rows: ``ceil(rows / batch) * epochs``, capped by ``max_steps``."""
    steps = math.ceil(math.ceil(max(rows, 0) / max(batch_size, 1)) * max(epochs, 0.0))
    return min(steps, max_steps) if max_steps else steps


@dataclass(frozen=True)
class AdaptEstimate:
    """Expected length of an adapt job, from an encoding rate measured on this machine just before."""

    steps: int
    train_s: float
    eval_s: float
    rate: float  # texts per second, measured
    eval_texts: int  # texts the before/after evaluation encodes (cached base vectors excluded)

    @property
    def seconds(self) -> float:
        return self.train_s + self.eval_s


def _texts_per_row(method: str, negatives: int) -> int:
    if get_trainer(method).data == "texts":
        return 2 if method == "tsdae" else 1  # TSDAE encodes the damaged text and decodes the original
    return 2 + negatives  # query, positive and its hard negatives


def estimate_adapt(
    method: str,
    *,
    rows: int,
    settings: Mapping[str, Any],
    rate: float,
    corpus: int,
    queries: int,
    base_cached: bool,
    negatives: int = 1,
    rerank_depth: int = DEFAULT_RERANK_DEPTH,
) -> AdaptEstimate:
    """How long training ``rows`` rows and the before/after evaluation take at ``rate`` texts/s (measured
    now, at inference): a step costs :data:`TRAIN_COST_FACTOR` forward passes over its texts; the evaluation
    encodes the corpus and queries with the trained model, and with the base model too unless its corpus
    vectors are cached (``base_cached``); a cross-encoder scores ``rerank_depth`` pairs per query."""
    batch = int(settings.get("batch_size") or 1)
    steps = training_steps(
        rows, batch_size=batch, epochs=float(settings.get("epochs") or 0), max_steps=settings.get("max_steps")
    )
    rate = max(rate, 1e-9)
    train_s = steps * batch * _texts_per_row(method, negatives) * TRAIN_COST_FACTOR / rate
    if method == "cross-encoder":
        eval_texts = queries * rerank_depth + (0 if base_cached else corpus + queries)
    else:
        eval_texts = (corpus + queries) * (1 if base_cached else 2)
    return AdaptEstimate(steps, train_s, eval_texts / rate, rate, eval_texts)


def default_model_name(method: str, base: str, dataset: str) -> str:
    """A readable, unique-enough registry name such as ``all-MiniLM-L6-v2-contrastive-scifact-0915``."""
    stem = Path(base.rstrip("/")).name or base
    raw = f"{stem}-{method}-{dataset}-{time.strftime('%m%d-%H%M%S')}"
    return re.sub(r"[^\w.,+@()\- ]+", "_", raw)[:100]


def _settings(cls: type, data: Mapping[str, Any], what: str) -> dict[str, Any]:
    """The non-empty values of ``data`` (``None``, ``""``, 0 and empty lists keep the defaults); keys that
    are not fields of ``cls`` fail, and so do missing required ones."""
    fields = dataclasses.fields(cls)
    unknown = set(data) - {f.name for f in fields}
    if unknown:
        raise InvalidInput(f"Unknown {what} settings: {sorted(unknown)}")
    values = {k: v for k, v in data.items() if v}
    required = [f.name for f in fields if f.default is MISSING and f.default_factory is MISSING]
    missing = [name for name in required if name not in values]
    if missing:
        raise InvalidInput(f"The {what} config needs {', '.join(missing)}.")
    return values


@dataclass(frozen=True)
class AdaptJob:
    """One ``adapt`` job. ``train``: the method's hyper-parameters (validated by
    :func:`core.training.train_config`); ``base`` left out of a stored config: the method's default
    (SPLADE-tiny for ``splade``). ``mining``: how hard negatives are mined, for the methods that train
    on (query, positive, negatives) triples (``None`` for those that train on corpus texts); its dense
    ranker defaults to ``base`` (to the default bi-encoder when ``base`` is a SPLADE model). ``negatives_from``: a ``mine`` run whose negatives are used instead, minus
    the reviewed ``drop`` pairs (query id, doc id). ``eval_split`` ``None``: the dataset's default split;
    ``eval_queries`` / ``corpus_limit``: samples, ``None`` for all. ``first_stage``, ``first_stage_model``
    and ``rerank_top_k`` describe what a cross-encoder is judged on."""

    method: str
    dataset: str
    base: str = DEFAULT_BI_ENCODER
    name: str | None = None  # None: default_model_name()
    train: Mapping[str, Any] = field(default_factory=dict)
    mining: MiningConfig | None = None
    negatives_from: str | None = None
    drop: tuple[tuple[str, str], ...] = ()
    train_split: str = TRAIN_SPLIT
    eval_split: str | None = None
    evaluate: bool = True
    eval_queries: int | None = None
    corpus_limit: int | None = None
    first_stage: str = "hybrid"
    first_stage_model: str = DEFAULT_BI_ENCODER
    rerank_top_k: int = DEFAULT_RERANK_DEPTH

    def __post_init__(self) -> None:
        get_trainer(self.method)  # an unknown method fails here

    @property
    def trains_on_texts(self) -> bool:
        """Whether the method trains on corpus texts (MLM, TSDAE) rather than mined triples."""
        return get_trainer(self.method).data == "texts"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AdaptJob:
        """The job a stored config describes; the mining settings are read only for methods that mine."""
        values = _settings(cls, data, "adapt job")
        if "method" in values and "base" not in values:  # e.g. SPLADE-tiny for splade
            values["base"] = get_trainer(str(values["method"])).default_base
        mining = values.pop("mining", None)
        values["train"] = dict(values.get("train", {}))
        values["drop"] = tuple((str(q), str(d)) for q, d in values.get("drop", ()))
        values["evaluate"] = bool(data.get("evaluate", True))
        for key in ("eval_queries", "corpus_limit", "rerank_top_k"):
            if key in values:
                values[key] = int(values[key])
        job = cls(**values)
        if job.trains_on_texts:
            return job
        # the dense miner ranks with the base bi-encoder; a SPLADE base is not one: the default then
        ranker = DEFAULT_BI_ENCODER if MODEL_KINDS[job.method] == SPARSE_KIND else job.base
        return dataclasses.replace(job, mining=MiningConfig.from_dict(mining, model=ranker))

    def to_dict(self) -> dict[str, Any]:
        """The job config (what :meth:`from_dict` reads back); ``None`` values are left out."""
        data = dataclasses.asdict(self)
        data["train"] = dict(self.train)
        data["drop"] = [list(pair) for pair in self.drop]
        return {k: v for k, v in data.items() if v is not None}


@dataclass(frozen=True)
class MineJob:
    """One ``mine`` job: negatives mined on ``split`` of ``dataset``, stored for review."""

    dataset: str
    split: str = TRAIN_SPLIT
    mining: MiningConfig = field(default_factory=MiningConfig)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MineJob:
        values = _settings(cls, data, "mine job")
        values["mining"] = MiningConfig.from_dict(values.get("mining"))
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
