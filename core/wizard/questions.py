"""The wizard's question record and the measured-only questions of the first-stage spectrum
(:data:`SPECTRUM_QUESTIONS`: nDCG@10 per family, encode rates, index bytes per vector)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

__all__ = [
    "DOMAINS",
    "SPECTRUM_ANSWERS",
    "SPECTRUM_FAMILIES",
    "SPECTRUM_QUESTIONS",
    "SPECTRUM_RATES",
    "SPECTRUM_SIZES",
    "TASKS",
    "Question",
]

TASKS = ("retrieval", "classification", "similarity")
DOMAINS = ("generic", "specialised")


@dataclass(frozen=True)
class Question:
    """One question of the wizard (the page and the CLI answers file use ``name``)."""

    name: str
    label: str
    kind: str  # choice | int | float | bool | ratio
    help: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    measured: bool = False  # True when it can be measured from a dataset
    asked: bool = True  # False: a measured signal, shown but not asked
    tasks: tuple[str, ...] = TASKS  # the tasks this question matters for


# what the spectrum measurement (core.wizard.spectrum) fills in: per family, nDCG@10 on the user's queries,
# encode rate and index bytes per vector; shown with how they were measured, never asked
SPECTRUM_FAMILIES = {
    "bm25": "BM25",
    "splade": "SPLADE",
    "dense": "dense (transformer)",
    "hybrid": "hybrid BM25 + dense",
    "static": "static model",
    "static_rescore": "static + transformer rescoring",
    "int8": "dense, int8 index",
    "binary": "dense, binary index + rescoring",
}
SPECTRUM_RATES = {"dense": "the transformer", "splade": "SPLADE", "static": "the static model"}
SPECTRUM_SIZES = {"dense": "float32", "int8": "int8", "binary": "binary", "splade": "SPLADE (sparse)"}


def _spectrum_questions() -> tuple[Question, ...]:
    out = [
        Question(
            f"ndcg10_{f}",
            f"nDCG@10, {label}",
            "ratio",
            f"Measured nDCG@10 of {label} on your queries.",
            (),
            0,
            1,
        )
        for f, label in SPECTRUM_FAMILIES.items()
    ]
    out += [
        Question(
            f"encode_rate_{f}",
            f"Encode rate, {label} (passages / s)",
            "float",
            f"Passages per second {label} encodes on this machine (measured).",
            (),
            0,
            1e9,
        )
        for f, label in SPECTRUM_RATES.items()
    ]
    out += [
        Question(
            f"bytes_{f}",
            f"Index bytes per vector, {label}",
            "float",
            f"Bytes per document of the {label} index (measured).",
            (),
            0,
            1e9,
        )
        for f, label in SPECTRUM_SIZES.items()
    ]
    return tuple(dataclasses.replace(q, measured=True, asked=False, tasks=("retrieval",)) for q in out)


SPECTRUM_QUESTIONS = _spectrum_questions()
SPECTRUM_ANSWERS = tuple(q.name for q in SPECTRUM_QUESTIONS)
