"""The two baselines SetFit is measured against, both on the *frozen* body: logistic regression on its
embeddings of the sample (:func:`logreg_predict`), and zero-shot similarity to the label names
(:func:`zero_shot_predict`, only when labels are words: :func:`has_label_names`). Frozen embeddings come
from the on-disk cache when it has them (:func:`frozen_vectors`, keyed by :func:`texts_fingerprint`).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from core.data import FewShotSample
from core.encoding import EmbeddingCache, Encoder, encode_corpus

__all__ = [
    "frozen_vectors",
    "has_label_names",
    "label_text",
    "logreg_predict",
    "texts_fingerprint",
    "zero_shot_predict",
]


def texts_fingerprint(texts: Sequence[str]) -> str:
    """Stable id of an ordered list of texts (embedding-cache key)."""
    h = hashlib.sha256()
    for text in texts:
        h.update(text.encode("utf-8"))
        h.update(b"\x01")
    return h.hexdigest()[:24]


def frozen_vectors(
    encoder: Encoder,
    texts: Sequence[str],
    cache: EmbeddingCache | None,
    *,
    batch_size: int = 64,
    progress: Any = None,
) -> np.ndarray:
    """Embeddings of ``texts`` by the frozen body, from the on-disk cache when it has them."""
    vectors, _ = encode_corpus(
        encoder, list(texts), texts_fingerprint(texts), cache, batch_size=batch_size, progress=progress
    )
    return vectors


def _logreg(multi_label: bool, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    clf = LogisticRegression(max_iter=1000, random_state=seed)
    return OneVsRestClassifier(clf) if multi_label else clf


def logreg_predict(
    train_vectors: np.ndarray, sample: FewShotSample, test_vectors: np.ndarray
) -> tuple[np.ndarray, float]:
    """Fit logistic regression on the sample's frozen vectors; returns test probabilities
    (columns in ``sample.label_names`` order) and the fit time in seconds."""
    y = np.asarray(sample.label_ids())
    start = time.perf_counter()
    clf = _logreg(sample.multi_label, sample.seed)
    clf.fit(train_vectors, y)
    fit_s = time.perf_counter() - start
    raw = clf.predict_proba(test_vectors)
    if sample.multi_label:
        return np.asarray(raw), fit_s
    proba = np.zeros((len(test_vectors), len(sample.label_names)))
    proba[:, np.asarray(clf.classes_, dtype=int)] = raw  # classes never sampled keep probability 0
    return proba, fit_s


_NUMERIC = re.compile(r"^[+-]?\d+(\.\d+)?$")


def has_label_names(labels: Sequence[str]) -> bool:
    """True when labels are words (zero-shot can use them), not bare numbers or codes."""
    return any(not _NUMERIC.match(str(label).strip()) for label in labels)


def label_text(label: str) -> str:
    """The text a label name is embedded as: ``card_arrival`` → ``card arrival``."""
    text = re.sub(r"[_\-]+", " ", str(label))
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def zero_shot_predict(
    label_vectors: np.ndarray, test_vectors: np.ndarray, *, temperature: float = 0.05
) -> np.ndarray:
    """Probabilities from cosine similarity to each label name (softmax with ``temperature``)."""
    sims = np.asarray(test_vectors) @ np.asarray(label_vectors).T
    z = sims / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
