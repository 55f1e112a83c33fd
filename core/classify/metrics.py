"""Scores of classifier predictions: accuracy, macro-F1, MCC, per-class precision/recall/F1, the confusion
matrix and the most confident mistakes (:class:`EvalReport`), single- or multi-label; and the decoding of a
probability matrix into label names (:func:`decode_predictions`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from core.runtime import InvalidInput

__all__ = ["EvalReport", "decode_predictions", "evaluate_predictions"]


@dataclass(frozen=True)
class EvalReport:
    """Scores of one method on one test set."""

    accuracy: float  # exact-match accuracy when multi-label
    macro_f1: float
    mcc: float  # multi-class MCC; mean of per-label MCC when multi-label
    n_test: int
    per_class: tuple[dict[str, Any], ...]  # label, precision, recall, f1, support
    labels: tuple[str, ...]
    confusion: tuple[tuple[int, ...], ...] | None  # rows = true label, columns = predicted (single-label)
    misclassified: tuple[dict[str, Any], ...]  # text, true, predicted, confidence

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["per_class"] = list(self.per_class)
        out["labels"] = list(self.labels)
        out["confusion"] = [list(r) for r in self.confusion] if self.confusion is not None else None
        out["misclassified"] = list(self.misclassified)
        return out


@dataclass(frozen=True)
class _Scores:
    """What the single- and multi-label scorers share: the headline metrics, per-class arrays, wrong rows."""

    accuracy: float
    macro_f1: float
    mcc: float
    per_class: tuple[Any, Any, Any, Any]  # precision, recall, f1, support (one value per label)
    confusion: tuple[tuple[int, ...], ...] | None
    wrong: list[int]  # indices of the rows predicted wrongly


def _multi_hot(values: Sequence[Sequence[str]], labels: Sequence[str]) -> np.ndarray:
    index = {name: i for i, name in enumerate(labels)}
    out = np.zeros((len(values), len(labels)), dtype=np.int64)
    for i, row in enumerate(values):
        for name in row:
            if name in index:
                out[i, index[name]] = 1
    return out


def _multi_label_scores(y_true: Sequence[Any], y_pred: Sequence[Any], labels: list[str]) -> _Scores:
    from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef, precision_recall_fscore_support

    t = _multi_hot(y_true, labels)
    p = _multi_hot(y_pred, labels)
    with warnings.catch_warnings():  # a label absent from both columns has MCC 0 (sklearn warns)
        warnings.simplefilter("ignore")
        mccs = [matthews_corrcoef(t[:, j], p[:, j]) for j in range(len(labels))]
    return _Scores(
        accuracy=float(accuracy_score(t, p)),
        macro_f1=float(f1_score(t, p, average="macro", zero_division=0)),
        mcc=float(np.mean(mccs)) if mccs else 0.0,
        per_class=precision_recall_fscore_support(t, p, average=None, zero_division=0),
        confusion=None,
        wrong=[i for i in range(len(t)) if not np.array_equal(t[i], p[i])],
    )


def _single_label_scores(y_true: Sequence[Any], y_pred: Sequence[Any], labels: list[str]) -> _Scores:
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        matthews_corrcoef,
        precision_recall_fscore_support,
    )

    t = [str(v) for v in y_true]
    p = [str(v) for v in y_pred]
    matrix = confusion_matrix(t, p, labels=labels)
    return _Scores(
        accuracy=float(accuracy_score(t, p)),
        macro_f1=float(f1_score(t, p, labels=labels, average="macro", zero_division=0)),
        mcc=float(matthews_corrcoef(t, p)) if len(set(t) | set(p)) > 1 else 0.0,
        per_class=precision_recall_fscore_support(t, p, labels=labels, average=None, zero_division=0),
        confusion=tuple(tuple(int(x) for x in row) for row in matrix),
        wrong=[i for i in range(len(t)) if t[i] != p[i]],
    )


def _label_str(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _per_class(scores: _Scores, labels: list[str]) -> tuple[dict[str, Any], ...]:
    prec, rec, f1, support = scores.per_class
    return tuple(
        {
            "label": labels[j],
            "precision": float(prec[j]),
            "recall": float(rec[j]),
            "f1": float(f1[j]),
            "support": int(support[j]),
        }
        for j in range(len(labels))
    )


def _misclassified(
    wrong: list[int],
    y_true: Sequence[Any],
    y_pred: Sequence[Any],
    texts: Sequence[str] | None,
    confidence: Sequence[float] | None,
    limit: int,
) -> tuple[dict[str, Any], ...]:
    if confidence is not None:  # most confident mistakes first: the ones worth looking at
        wrong = sorted(wrong, key=lambda i: -float(confidence[i]))
    return tuple(
        {
            "text": texts[i] if texts is not None else "",
            "true": _label_str(y_true[i]),
            "predicted": _label_str(y_pred[i]),
            "confidence": float(confidence[i]) if confidence is not None else None,
        }
        for i in wrong[:limit]
    )


def evaluate_predictions(
    y_true: Sequence[Any],
    y_pred: Sequence[Any],
    labels: Sequence[str],
    *,
    texts: Sequence[str] | None = None,
    confidence: Sequence[float] | None = None,
    max_misclassified: int = 200,
) -> EvalReport:
    """Accuracy, macro-F1, MCC, per-class precision/recall/F1, confusion matrix and misclassified rows.

    Labels are names; multi-label truths and predictions are lists of names per row.
    """
    labels = list(labels)
    if len(y_true) != len(y_pred):
        raise InvalidInput(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    multi = bool(y_true) and isinstance(y_true[0], (list, tuple))
    scores = (_multi_label_scores if multi else _single_label_scores)(y_true, y_pred, labels)
    return EvalReport(
        accuracy=scores.accuracy,
        macro_f1=scores.macro_f1,
        mcc=scores.mcc,
        n_test=len(y_true),
        per_class=_per_class(scores, labels),
        labels=tuple(labels),
        confusion=scores.confusion,
        misclassified=_misclassified(scores.wrong, y_true, y_pred, texts, confidence, max_misclassified),
    )


def decode_predictions(
    proba: np.ndarray, labels: Sequence[str], multi_label: bool, threshold: float = 0.5
) -> tuple[list[Any], list[float]]:
    """Label names (lists when multi-label) and a confidence per row from a probability matrix."""
    proba = np.asarray(proba, dtype=np.float64)
    if multi_label:
        preds = [[labels[j] for j in np.flatnonzero(row >= threshold)] for row in proba]
        conf = [float(row.max()) if len(row) else 0.0 for row in proba]
        return preds, conf
    best = proba.argmax(axis=1)
    return [labels[j] for j in best], [float(proba[i, j]) for i, j in enumerate(best)]
