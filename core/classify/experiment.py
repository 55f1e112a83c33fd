"""Few-shot classification experiments: what one is (:class:`ClassifyConfig`: methods × N values × seeds on one
dataset and body) and what it produced (:class:`RunScore` per method, N and seed; :class:`ClassifyResult`;
mean ± std over seeds with :func:`summarize`). Methods (``METHODS``):

- ``setfit``   contrastive fine-tuning of the body on pairs of the sample, then a head (see
  :mod:`core.training.setfit`);
- ``logreg``   logistic regression on *frozen* embeddings of the same body, fitted on the same sample
  (:mod:`core.classify.baselines`);
- ``zeroshot`` cosine similarity between a text and each label name (only when labels have names; it uses
  no labelled example, so its score is the same for every N and seed).

:mod:`core.classify.run` runs an experiment.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from core.classify.metrics import EvalReport
from core.models import DEFAULT_BI_ENCODER
from core.runtime import InvalidInput
from core.training import SetFitConfig, pair_plan

__all__ = [
    "METHODS",
    "METHOD_TITLES",
    "ClassifyConfig",
    "ClassifyResult",
    "RunScore",
    "expected_minutes",
    "summarize",
]

METHODS = ("setfit", "logreg", "zeroshot")
METHOD_TITLES = {
    "setfit": "SetFit",
    "logreg": "Frozen embeddings + logistic regression",
    "zeroshot": "Zero-shot",
}


def _default_setfit() -> SetFitConfig:
    return SetFitConfig()


@dataclass(frozen=True)
class ClassifyConfig:
    """One classification experiment: methods × N values × seeds on one dataset and body."""

    dataset: str
    body: str = DEFAULT_BI_ENCODER
    methods: tuple[str, ...] = METHODS
    n_values: tuple[int, ...] = (8,)
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    setfit: SetFitConfig = field(default_factory=_default_setfit)
    test_limit: int | None = None  # None: the full test split
    max_misclassified: int = 200
    keep_model: bool = False  # keep the SetFit model of (first N, first seed) in the result

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown:
            raise InvalidInput(f"Unknown method(s) {unknown}; choose from {list(METHODS)}")
        if not self.methods:
            raise InvalidInput("Choose at least one method.")
        if not self.n_values or any(int(n) < 1 for n in self.n_values):
            raise InvalidInput(f"N per class must be positive integers, got {list(self.n_values)}")
        if not self.seeds:
            raise InvalidInput("Give at least one seed.")
        if self.setfit.body != self.body:  # one body for SetFit and the baselines
            object.__setattr__(self, "setfit", replace(self.setfit, body=self.body))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["methods"] = list(self.methods)
        out["n_values"] = list(self.n_values)
        out["seeds"] = list(self.seeds)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassifyConfig:
        data = dict(data)
        setfit = data.pop("setfit", None) or {}
        known = {f for f in cls.__dataclass_fields__}
        extra = set(data) - known
        if extra:
            raise InvalidInput(f"Unknown classify settings: {sorted(extra)}")
        for key in ("methods", "n_values", "seeds"):
            if key in data and data[key] is not None:
                data[key] = tuple(int(v) for v in data[key]) if key != "methods" else tuple(data[key])
        return cls(**data, setfit=SetFitConfig.from_dict(setfit))


@dataclass(frozen=True)
class RunScore:
    """Scores of one (method, N, seed) on the test split."""

    method: str
    n_per_class: int
    seed: int
    accuracy: float
    macro_f1: float
    mcc: float
    train_s: float
    n_train: int


@dataclass
class ClassifyResult:
    """Everything a run produced; ``to_dict`` is what jobs store and pages read."""

    config: ClassifyConfig
    dataset: str
    label_names: tuple[str, ...]
    multi_label: bool
    n_test: int
    full_test: bool
    rows: list[RunScore]
    details: dict[tuple[str, int], EvalReport]  # (method, N) → report of the first seed
    notes: list[str] = field(default_factory=list)
    setfit_info: list[dict[str, Any]] = field(default_factory=list)
    model: Any = None  # the kept SetFit model (not serialised)

    def summary(self) -> list[dict[str, Any]]:
        return summarize(self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "body": self.config.body,
            "methods": list(self.config.methods),
            "n_values": list(self.config.n_values),
            "seeds": list(self.config.seeds),
            "label_names": list(self.label_names),
            "multi_label": self.multi_label,
            "n_test": self.n_test,
            "full_test": self.full_test,
            "rows": [asdict(r) for r in self.rows],
            "summary": self.summary(),
            "details": [
                {"method": m, "n_per_class": n, "seed": self.config.seeds[0], **rep.to_dict()}
                for (m, n), rep in self.details.items()
            ],
            "notes": list(self.notes),
            "setfit_runs": list(self.setfit_info),
            "config": self.config.to_dict(),
        }


def summarize(rows: Sequence[RunScore | dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean ± standard deviation (over seeds) per (method, N); std is 0 for a single seed."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in rows:
        r = asdict(row) if isinstance(row, RunScore) else dict(row)
        groups.setdefault((r["method"], int(r["n_per_class"])), []).append(r)
    out = []
    for (method, n), items in groups.items():
        entry: dict[str, Any] = {"method": method, "n_per_class": n, "seeds": len(items)}
        for metric in ("accuracy", "macro_f1", "mcc", "train_s"):
            values = np.asarray([float(i[metric]) for i in items])
            entry[f"{metric}_mean"] = float(values.mean())
            entry[f"{metric}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        out.append(entry)
    order = {m: i for i, m in enumerate(METHODS)}
    out.sort(key=lambda e: (order.get(e["method"], 9), e["n_per_class"]))
    return out


def expected_minutes(config: ClassifyConfig, n_train_per_n: dict[int, int], s_per_step: float = 2.0) -> float:
    """Rough duration on this machine, for the page's warning (SetFit steps dominate)."""
    steps = 0
    if "setfit" in config.methods:
        for n, n_train in n_train_per_n.items():
            steps += pair_plan(replace(config.setfit, n_per_class=n), n_train).steps * len(config.seeds)
    return math.ceil(steps * s_per_step / 60)
