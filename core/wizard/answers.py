"""The wizard's questions and answers: names, types and limits, validation with clear errors, and how
given, measured and default answers are combined (``complete_answers``).

The page and the CLI's answers file use the same names (:data:`QUESTIONS`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.runtime import InvalidInput
from core.wizard.questions import (
    DOMAINS,
    SPECTRUM_ANSWERS,
    SPECTRUM_FAMILIES,
    SPECTRUM_QUESTIONS,
    TASKS,
    Question,
)

__all__ = [
    "DEFAULT_ANSWERS",
    "DOMAINS",
    "QUESTIONS",
    "QUESTION_BY_NAME",
    "SPECTRUM_ANSWERS",
    "SPECTRUM_FAMILIES",
    "TASKS",
    "Answers",
    "Question",
    "WizardInputError",
    "complete_answers",
    "estimate_domain",
    "validate_answers",
]

FRAGMENTATION_SPECIALISED = 0.05  # share of words split into 3+ word pieces
OVERLAP_SPECIALISED = 0.3  # BM25-vs-dense overlap@10 below this: the two disagree strongly


class WizardInputError(InvalidInput):
    """An unknown answer name or an impossible value; the message names it."""


# --------------------------------------------------------------------------------------------------
# questions and answers
# --------------------------------------------------------------------------------------------------
QUESTIONS: tuple[Question, ...] = (
    Question("task", "Task", "choice", "What the embeddings are for.", TASKS, measured=True),
    Question(
        "corpus_size",
        "Corpus size (documents)",
        "int",
        "Documents to search (retrieval / similarity) or texts to classify.",
        minimum=1,
        maximum=1e11,
        measured=True,
    ),
    Question(
        "latency_budget_ms",
        "Query latency budget (ms)",
        "float",
        "Longest acceptable time to answer one query, end to end.",
        minimum=1,
        maximum=600_000,
        tasks=("retrieval", "similarity"),
    ),
    Question(
        "throughput_qps",
        "Throughput (queries / s)",
        "float",
        "Queries per second the system must sustain.",
        minimum=0,
        maximum=1e7,
        tasks=("retrieval", "similarity"),
    ),
    Question(
        "labelled_pairs",
        "Labelled query–document pairs",
        "int",
        "Judged relevant (query, document) pairs available for training (not the test split).",
        minimum=0,
        maximum=1e10,
        measured=True,
        tasks=("retrieval", "similarity"),
    ),
    Question(
        "labels_per_class",
        "Labelled examples per class",
        "int",
        "For classification: typical number of labelled training examples per class.",
        minimum=0,
        maximum=1e10,
        measured=True,
        tasks=("classification",),
    ),
    Question(
        "unlabeled_text",
        "Unlabeled domain text available",
        "bool",
        "Raw text from the domain (e.g. the corpus itself) that unsupervised adaptation can learn from.",
        measured=True,
        tasks=("retrieval", "similarity"),
    ),
    Question("gpu", "GPU available", "bool", "A CUDA / MPS device for training and serving.", measured=True),
    Question(
        "domain",
        "Domain",
        "choice",
        "Generic text, or a specialised domain with its own jargon (estimated from the data).",
        DOMAINS,
        measured=True,
    ),
    Question(
        "fragmentation",
        "Tokenizer fragmentation",
        "ratio",
        "Share of words the model's tokenizer splits into 3+ pieces (measured).",
        minimum=0,
        maximum=1,
        measured=True,
        asked=False,
    ),
    Question(
        "bm25_dense_overlap",
        "BM25-vs-dense overlap@10",
        "ratio",
        "Mean share of the top 10 that BM25 and the bi-encoder have in common on sample queries (measured).",
        minimum=0,
        maximum=1,
        measured=True,
        asked=False,
    ),
    Question(
        "baseline_ndcg10",
        "Dense baseline nDCG@10",
        "ratio",
        "nDCG@10 of the zero-shot bi-encoder on the dataset's test queries (measured).",
        minimum=0,
        maximum=1,
        measured=True,
        asked=False,
    ),
    Question(
        "embedding_dim",
        "Embedding dimension",
        "int",
        "Dimension of the bi-encoder's vectors.",
        minimum=1,
        maximum=65_536,
        measured=True,
        asked=False,
    ),
    Question(
        "text_beyond_window",
        "Share of the text beyond the model window",
        "ratio",
        "Tokens past the bi-encoder's window (what truncation never searches) over all tokens (measured).",
        minimum=0,
        maximum=1,
        measured=True,
        asked=False,
        tasks=("retrieval",),
    ),
    Question(
        "doc_tokens_p50",
        "Median document length (tokens)",
        "int",
        "Median tokens per document in the bi-encoder's tokenizer (measured).",
        minimum=0,
        maximum=1e9,
        measured=True,
        asked=False,
        tasks=("retrieval",),
    ),
    Question(
        "model_window",
        "Model window (tokens)",
        "int",
        "The bi-encoder's max_seq_length: tokens of a document it reads (measured).",
        minimum=1,
        maximum=1e6,
        measured=True,
        asked=False,
        tasks=("retrieval",),
    ),
    Question(
        "quality_bar",
        "Quality bar (share of the best nDCG@10)",
        "ratio",
        "A cheaper first stage (SPLADE, a static model, a compressed index) is good enough when it keeps at "
        "least this share of the best measured nDCG@10 on your queries.",
        minimum=0,
        maximum=1,
        tasks=("retrieval",),
    ),
    Question(
        "encode_budget_h",
        "Time to encode the corpus (hours)",
        "float",
        "The longest you accept to (re-)encode the whole corpus on this hardware (a new model, a re-index).",
        minimum=0.001,
        maximum=1e6,
        tasks=("retrieval", "similarity"),
    ),
    Question(
        "memory_budget_gb",
        "Index memory budget (GB)",
        "float",
        "RAM the vector index may take on one serving machine.",
        minimum=0.001,
        maximum=1e6,
        tasks=("retrieval", "similarity"),
    ),
    Question(
        "reranker_available",
        "Pretrained reranker available",
        "bool",
        "A cross-encoder with a trained head is registered here or given by folder / hub id.",
        measured=True,
        asked=False,
    ),
    *SPECTRUM_QUESTIONS,
)
QUESTION_BY_NAME = {q.name: q for q in QUESTIONS}


@dataclass(frozen=True)
class Answers:
    """The answers the rules read. Measured signals are ``None`` when not measured."""

    task: str = "retrieval"
    corpus_size: int = 10_000
    latency_budget_ms: float = 200.0
    throughput_qps: float = 10.0
    labelled_pairs: int = 0
    labels_per_class: int = 0
    unlabeled_text: bool = True
    gpu: bool = False
    domain: str = "generic"
    fragmentation: float | None = None
    bm25_dense_overlap: float | None = None
    baseline_ndcg10: float | None = None
    embedding_dim: int = 384
    text_beyond_window: float | None = None
    doc_tokens_p50: int | None = None
    model_window: int | None = None
    reranker_available: bool = False
    quality_bar: float = 0.95
    encode_budget_h: float = 8.0
    memory_budget_gb: float = 8.0
    ndcg10_bm25: float | None = None
    ndcg10_splade: float | None = None
    ndcg10_dense: float | None = None
    ndcg10_hybrid: float | None = None
    ndcg10_static: float | None = None
    ndcg10_static_rescore: float | None = None
    ndcg10_int8: float | None = None
    ndcg10_binary: float | None = None
    encode_rate_dense: float | None = None
    encode_rate_splade: float | None = None
    encode_rate_static: float | None = None
    bytes_dense: float | None = None
    bytes_int8: float | None = None
    bytes_binary: float | None = None
    bytes_splade: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


DEFAULT_ANSWERS = Answers()
_OPTIONAL = {
    "fragmentation",
    "bm25_dense_overlap",
    "baseline_ndcg10",
    "text_beyond_window",
    "doc_tokens_p50",
    "model_window",
    *SPECTRUM_ANSWERS,
}


def _coerce(q: Question, value: Any) -> Any:
    """One answer converted to its type, or :class:`WizardInputError`."""
    if value is None and q.name in _OPTIONAL:
        return None
    bad = f"answer {q.name!r}: "
    if q.kind == "choice":
        text = str(value).strip().lower() if isinstance(value, str) else value
        aliases = {"specialized": "specialised", "rag": "retrieval", "dedup": "similarity"}
        text = aliases.get(text, text)
        if text not in q.choices:
            raise WizardInputError(f"{bad}{value!r} is not one of {', '.join(q.choices)}.")
        return text
    if q.kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"true", "yes", "1", "false", "no", "0"}:
            return value.strip().lower() in {"true", "yes", "1"}
        raise WizardInputError(f"{bad}{value!r} is not true or false.")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise WizardInputError(f"{bad}{value!r} is not a number.")
    try:
        number = float(value)
    except ValueError:
        raise WizardInputError(f"{bad}{value!r} is not a number.") from None
    if not math.isfinite(number):
        raise WizardInputError(f"{bad}{value!r} is not a finite number.")
    if q.kind == "int":
        if number != int(number):
            raise WizardInputError(f"{bad}{value!r} must be a whole number.")
        number = int(number)
    if q.minimum is not None and number < q.minimum:
        raise WizardInputError(f"{bad}{value!r} is below the smallest possible value {q.minimum:g}.")
    if q.maximum is not None and number > q.maximum:
        raise WizardInputError(f"{bad}{value!r} is above the largest possible value {q.maximum:g}.")
    return number


def validate_answers(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Check names and values of (possibly partial) answers; returns them converted to their types."""
    if not isinstance(raw, Mapping):
        raise WizardInputError("answers must be a JSON object of name: value.")
    unknown = sorted(set(raw) - set(QUESTION_BY_NAME))
    if unknown:
        raise WizardInputError(
            f"unknown answer name(s) {', '.join(map(repr, unknown))}; known: {', '.join(QUESTION_BY_NAME)}."
        )
    return {name: _coerce(QUESTION_BY_NAME[name], value) for name, value in raw.items()}


def complete_answers(
    given: Mapping[str, Any], measured: Mapping[str, Any] | None = None
) -> tuple[Answers, dict[str, str]]:
    """Given answers, then measured values, then defaults. Returns the answers and where each came from
    (``given`` | ``measured`` | ``default``)."""
    given = validate_answers(given)
    measured = validate_answers({k: v for k, v in (measured or {}).items() if v is not None})
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for q in QUESTIONS:
        if q.name in given:
            values[q.name], sources[q.name] = given[q.name], "given"
        elif q.name in measured:
            values[q.name], sources[q.name] = measured[q.name], "measured"
        else:
            values[q.name], sources[q.name] = getattr(DEFAULT_ANSWERS, q.name), "default"
    if "domain" not in given and "domain" not in measured:
        estimate = estimate_domain(values["fragmentation"], values["bm25_dense_overlap"])
        if estimate is not None:
            values["domain"], sources["domain"] = estimate[0], "measured"
    return Answers(**values), sources


def estimate_domain(fragmentation: float | None, overlap: float | None) -> tuple[str, str] | None:
    """``(domain, reason)`` from the measured signals, or None when neither was measured."""
    if fragmentation is None and overlap is None:
        return None
    reasons = []
    if fragmentation is not None:
        high = fragmentation >= FRAGMENTATION_SPECIALISED
        reasons.append(
            f"{fragmentation:.1%} of words split into 3+ word pieces "
            f"({'at or above' if high else 'below'} {FRAGMENTATION_SPECIALISED:.0%})"
        )
    if overlap is not None:
        low = overlap < OVERLAP_SPECIALISED
        reasons.append(
            f"BM25 and the bi-encoder share {overlap:.0%} of their top 10 "
            f"({'below' if low else 'at or above'} {OVERLAP_SPECIALISED:.0%})"
        )
    specialised = (fragmentation is not None and fragmentation >= FRAGMENTATION_SPECIALISED) or (
        overlap is not None and overlap < OVERLAP_SPECIALISED
    )
    return ("specialised" if specialised else "generic"), "; ".join(reasons)
