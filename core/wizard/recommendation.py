"""Evaluating the rule table: :func:`recommend` turns answers into a :class:`Recommendation` — the
decisions, the rule behind each (:class:`FiredRule`) and the JSON the CLI and the page show. Pure: no model
is loaded, nothing is measured here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.wizard.answers import QUESTION_BY_NAME, QUESTIONS, Answers
from core.wizard.facts import derive_facts
from core.wizard.rules import RERANKER_WARNING, RULES, Fact, Rule

__all__ = [
    "ADAPTATION_NAMES",
    "INDEX_VARIANT_NAMES",
    "FiredRule",
    "Recommendation",
    "human_list",
    "recommend",
]

ADAPTATION_NAMES = {
    "mlm": "MLM continued pretraining",
    "tsdae": "TSDAE",
    "contrastive": "contrastive fine-tuning with hard negatives",
}
FIRST_STAGE_NAMES = {
    "dense": "bi-encoder",
    "hybrid": "hybrid BM25 + bi-encoder",
    "bm25": "BM25",
    "splade": "SPLADE (learned sparse)",
    "static": "static embeddings (model2vec)",
}
INDEX_VARIANT_NAMES = {
    "binary": "binary index with float rescoring",
    "int8": "int8 (scalar-quantised) index",
}
_DENSE_FIRST_STAGES = ("dense", "hybrid")  # the first stages whose index variants the spectrum measures
_CLASSIFIER_NAMES = {
    "setfit": "SetFit classifier",
    "logreg": "logistic regression on frozen embeddings",
    "fine-tune": "fine-tuned small classifier",
    "zero-shot": "zero-shot by label-name similarity",
}


def human_list(items: list[str] | tuple[str, ...], last: str = "and") -> str:
    """``a``, ``a and b``, ``a, b and c`` (never a Python list)."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


@dataclass(frozen=True)
class FiredRule:
    """A rule that fired, with its rationale filled in and the fields it decided (or lost)."""

    id: str
    title: str
    rationale: str
    decides: tuple[str, ...]
    overridden: tuple[str, ...]
    advice: str = ""
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Recommendation:
    """The decisions, the rule behind each, and everything needed to explain them."""

    answers: Answers
    sources: dict[str, str]
    decisions: dict[str, Any]
    decided_by: dict[str, str]
    fired: tuple[FiredRule, ...]
    facts: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def task(self) -> str:
        return self.answers.task

    @property
    def first_stage(self) -> str | None:
        return self.decisions.get("first_stage")

    @property
    def reranker(self) -> dict[str, Any] | None:
        kind = self.decisions.get("reranker")
        if not kind:
            return None
        top_k = self.decisions.get("rerank_top_k")
        if self.first_stage == "cross-encoder":
            top_k = self.answers.corpus_size
        return {
            "model": "cross-encoder",
            "top_k": top_k,
            "available": self.answers.reranker_available,
            "warning": RERANKER_WARNING,
        }

    @property
    def adaptation(self) -> dict[str, Any] | None:
        steps = self.decisions.get("adaptation")
        if not steps:
            return None
        return {"steps": list(steps), "negatives": self.decisions.get("negatives", "bm25 mined")}

    @property
    def classifier(self) -> str | None:
        return self.decisions.get("classifier")

    @property
    def warnings(self) -> list[str]:
        seen: list[str] = []
        for f in self.fired:
            for w in f.warnings:
                if w not in seen:
                    seen.append(w)
        return seen

    @property
    def strategy(self) -> str:
        """A one-line name of the whole strategy the rules arrive at (parts that cannot run here marked)."""
        if self.task == "classification":
            return _CLASSIFIER_NAMES.get(self.classifier or "", "classifier")
        parts = []
        first = self.first_stage or "dense"
        if first == "cross-encoder":
            parts.append("cross-encoder over all documents")
            if not self.answers.reranker_available:
                parts[-1] += " (only with a pretrained cross-encoder)"
        else:
            parts.append(FIRST_STAGE_NAMES.get(first, first))
            if self.reranker:
                parts.append(f"cross-encoder rerank@{self.reranker['top_k']}")
                if not self.answers.reranker_available:
                    parts[-1] += " (only with a pretrained cross-encoder)"
        if self.index_variant:
            parts.append(INDEX_VARIANT_NAMES[self.index_variant])
        if self.decisions.get("dimension"):
            parts.append(f"PCA {self.answers.embedding_dim}→{self.decisions['dimension']}-d")
        if self.adaptation:
            parts.append("adapted by " + " → ".join(self.adaptation["steps"]))
        return " + ".join(parts)

    @property
    def index_variant(self) -> str | None:
        """The compressed index the rules picked (``binary`` / ``int8``), when the first stage has vectors."""
        variant = self.decisions.get("index_variant")
        return variant if variant and self.usable_first_stage in _DENSE_FIRST_STAGES else None

    @property
    def strategy_spec(self) -> str | None:
        """The comparison's name of the first stage to build (core.evaluate.CompareOptions strategies), the
        family, index variant and chunking picked included: ``splade``, ``static``, ``hybrid:binary``,
        ``dense:int8@256/64``."""
        if self.task == "classification":
            return None
        first = self.usable_first_stage
        first = "dense" if first == "cross-encoder" else first
        name = f"{first}:{self.index_variant}" if self.index_variant else first
        window, overlap = self.facts.get("chunk_window"), self.facts.get("chunk_overlap")
        return f"{name}@{window}/{overlap}" if self.decisions.get("chunking") and window else name

    @property
    def usable_first_stage(self) -> str:
        """The first stage that can run here: a cross-encoder over everything needs a pretrained one."""
        first = self.first_stage or "dense"
        return "dense" if first == "cross-encoder" and not self.answers.reranker_available else first

    @property
    def headline(self) -> str:
        """What to build now, in words, from what is available here only (an unavailable reranker is left
        out and said in :attr:`unavailable`), e.g. ``Hybrid BM25 + bi-encoder, adapted with TSDAE, then
        contrastive fine-tuning with hard negatives``."""
        if self.task == "classification":
            name = _CLASSIFIER_NAMES.get(self.classifier or "", "classifier")
            return name[0].upper() + name[1:]
        usable = self.usable_first_stage
        text = "cross-encoder over all documents" if usable == "cross-encoder" else FIRST_STAGE_NAMES[usable]
        extras = []
        if self.reranker and self.answers.reranker_available and usable != "cross-encoder":
            extras.append(f"its top {self.reranker['top_k']} reranked by the cross-encoder")
        if self.index_variant:
            extras.append(f"in a {INDEX_VARIANT_NAMES[self.index_variant]}")
        if self.decisions.get("dimension"):
            dims = f"{self.answers.embedding_dim} to {self.decisions['dimension']}"
            extras.append(f"vectors reduced by PCA from {dims}")
        if self.adaptation:
            names = [ADAPTATION_NAMES.get(s, s) for s in self.adaptation["steps"]]
            extras.append("adapted with " + ", then ".join(names))
        text = ", ".join([text, *extras])
        return text[0].upper() + text[1:]

    @property
    def unavailable(self) -> list[str]:
        """What the rules would add but cannot run here, one sentence each."""
        if self.task == "classification" or self.answers.reranker_available:
            return []
        if self.first_stage == "cross-encoder":
            return [
                "A cross-encoder over all documents would fit the latency budget, but no pretrained "
                "cross-encoder is available here: the bi-encoder is recommended instead."
            ]
        if self.reranker:
            return [
                f"Reranking the top {self.reranker['top_k']} with a cross-encoder would fit the budget, but no "
                "pretrained cross-encoder is available here: bring one to try it."
            ]
        return []

    def to_json(self, evidence: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The CLI's output shape."""
        return {
            "strategy": self.strategy,
            "strategy_spec": self.strategy_spec,
            "headline": self.headline,
            "unavailable": self.unavailable,
            "task": self.task,
            "first_stage": self.first_stage,
            "reranker": self.reranker,
            "adaptation": self.adaptation,
            "classifier": self.classifier,
            "index": {
                "dimension": self.decisions.get("dimension") or self.answers.embedding_dim,
                "type": self.decisions.get("index", "exact"),
                "variant": self.index_variant,
                "similarity": self.decisions.get("similarity", "cosine"),
            },
            "rationale": [f.to_json() for f in self.fired],
            "warnings": self.warnings,
            "evidence": dict(evidence or {}),
            "answers": self.answers.to_dict(),
            "answer_sources": dict(self.sources),
            "defaulted": [
                n
                for n, s in self.sources.items()
                if s == "default" and QUESTION_BY_NAME[n].asked and self.task in QUESTION_BY_NAME[n].tasks
            ],
        }


def _resolve(value: Any, facts: Mapping[str, Any]) -> Any:
    return facts[value.name] if isinstance(value, Fact) else value


def recommend(
    answers: Answers,
    sources: Mapping[str, str] | None = None,
    rules: tuple[Rule, ...] = RULES,
) -> Recommendation:
    """Evaluate the rule table over the answers."""
    facts = derive_facts(answers)
    fired = [r for r in rules if r.fires(facts)]
    winners: dict[str, Rule] = {}
    for rule in sorted(fired, key=lambda r: -r.priority):  # stable: table order breaks ties
        for name, _ in rule.sets:
            winners.setdefault(name, rule)
    decisions = {}
    for name, rule in winners.items():
        value = dict(rule.sets)[name]
        decisions[name] = _resolve(value, facts)
    records = []
    for rule in fired:
        names = tuple(n for n, _ in rule.sets)
        records.append(
            FiredRule(
                id=rule.id,
                title=rule.title,
                rationale=rule.because.format(**facts),
                decides=tuple(n for n in names if winners[n] is rule),
                overridden=tuple(f"{n} (by {winners[n].id})" for n in names if winners[n] is not rule),
                advice=rule.advice.format(**facts),
                warnings=rule.warnings if any(winners[n] is rule for n in names) else (),
            )
        )
    return Recommendation(
        answers=answers,
        sources=dict(sources or {q.name: "given" for q in QUESTIONS}),
        decisions=decisions,
        decided_by={name: rule.id for name, rule in winners.items()},
        fired=tuple(records),
        facts=facts,
    )
