"""What the Verify step runs for one recommendation: the comparison's strategies and the extra runs (an
adaptation or a SetFit run) that test the other decisions."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.models import DEFAULT_BI_ENCODER

__all__ = ["ExtraCheck", "VerifyPlan"]


@dataclass(frozen=True)
class ExtraCheck:
    """A run of another feature's job kind that tests one decision (or an earlier run that already did)."""

    purpose: str  # adaptation | classifier
    kind: str
    config: dict[str, Any]
    title: str
    reuse: str | None = None  # id of a finished run that answers the same question

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class VerifyPlan:
    """What the Verify step runs for one recommendation on one dataset."""

    dataset: str
    split: str | None
    specs: dict[str, dict[str, Any]]  # strategy name -> spec dict (retrieval only)
    recommended: str | None  # the strategy that embodies the recommendation
    first_stage: str | None  # the recommended first stage (the reranker's input), when reranked
    extras: tuple[ExtraCheck, ...] = ()
    notes: tuple[str, ...] = ()
    reuse_comparison: str | None = None
    model: str = DEFAULT_BI_ENCODER

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["extras"] = [e.to_json() for e in self.extras]
        data["notes"] = list(self.notes)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VerifyPlan:
        data = dict(data)
        data["extras"] = tuple(ExtraCheck(**e) for e in data.get("extras") or ())
        data["notes"] = tuple(data.get("notes") or ())
        return cls(**data)
