"""The records of the rule table: :class:`Fact` (a reference to another fact), :class:`When` (one
condition) and :class:`Rule` (one row), plus the task conditions most rows share."""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["DENSE_TASKS", "RETRIEVAL", "Fact", "Rule", "When"]


@dataclass(frozen=True)
class Fact:
    """A reference to another fact, usable as a condition value or as a value a rule sets."""

    name: str


_OPS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "in": lambda x, y: x in y,
    "not in": lambda x, y: x not in y,
}


@dataclass(frozen=True)
class When:
    """A condition: ``facts[field] <op> value``; ``value`` may be a :class:`Fact`. A comparison with a
    missing (None) fact is False, so rules on unmeasured signals do not fire."""

    field: str
    op: str
    value: Any = None

    def holds(self, facts: Mapping[str, Any]) -> bool:
        left = facts[self.field]
        right = facts[self.value.name] if isinstance(self.value, Fact) else self.value
        if self.op == "is none":
            return left is None
        if self.op == "not none":
            return left is not None
        if left is None or right is None:
            return False
        return bool(_OPS[self.op](left, right))

    def describe(self) -> str:
        value = self.value.name if isinstance(self.value, Fact) else repr(self.value)
        return f"{self.field} {self.op}" + ("" if self.op in ("is none", "not none") else f" {value}")


@dataclass(frozen=True)
class Rule:
    """One row of the table: when every condition holds, set ``sets`` (field -> value or Fact) and say why."""

    id: str
    title: str
    when: tuple[When, ...]
    because: str  # rationale, formatted with the facts
    sets: tuple[tuple[str, Any], ...] = ()
    priority: int = 10
    warnings: tuple[str, ...] = ()
    advice: str = ""  # what to do, formatted with the facts

    def fires(self, facts: Mapping[str, Any]) -> bool:
        return all(w.holds(facts) for w in self.when)


RETRIEVAL = When("task", "==", "retrieval")
DENSE_TASKS = When("task", "in", ("retrieval", "similarity"))
