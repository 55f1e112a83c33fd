"""How long a corpus's documents are in a model's tokens, and what a window and a :class:`ChunkSpec` make
of them: :func:`length_stats` (for the Compare page and the wizard)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from core.data.chunking import ChunkSpec, check_tokenizer, document_spans, special_tokens, tokenized
from core.runtime import InvalidInput, Reporter, report

__all__ = ["LengthStats", "length_stats"]


@dataclass(frozen=True)
class LengthStats:
    """Tokens per document (special tokens included) of ``checked`` of ``documents`` documents, against a
    model ``window``; with a chunking, passages per document.

    ``share_docs_beyond``: documents longer than the window; ``share_text_beyond``: tokens past the window
    (what truncation never searches) over all tokens."""

    documents: int
    checked: int
    window: int
    tokens: tuple[int, ...]  # per checked document, for a histogram
    p10: float
    p50: float
    p90: float
    mean: float
    max: int
    share_docs_beyond: float
    share_text_beyond: float
    chunking: str | None = None  # the ChunkSpec's label
    passages: tuple[int, ...] = ()  # per checked document
    passages_mean: float = 0.0
    passages_p90: float = 0.0
    passages_total: int = 0  # estimated for the whole corpus when a sample was checked

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sample(n: int, size: int, seed: int) -> list[int]:
    if n <= size:
        return list(range(n))
    return sorted(random.Random(seed).sample(range(n), size))


def length_stats(
    texts: Sequence[str],
    tokenizer: Any,
    *,
    window: int,
    spec: ChunkSpec | None = None,
    sample: int = 1000,
    seed: int = 0,
    progress: Reporter | None = None,
) -> LengthStats:
    """Token lengths of (a seeded sample of ``sample``) ``texts`` against ``window`` (the model's
    ``max_seq_length``), and with ``spec`` the passages each document becomes (titles are not counted)."""
    if window < 1 or sample < 1:
        raise InvalidInput(f"window and sample must be at least 1, got {window} and {sample}.")
    check_tokenizer(tokenizer)
    idx = _sample(len(texts), sample, seed)
    picked = [texts[i] for i in idx]
    specials = special_tokens(tokenizer)
    budget = spec.window - specials if spec is not None else 0
    lengths, passages = [], []
    for i, text, offsets in tokenized(tokenizer, picked):
        lengths.append(len(offsets) + specials)
        if spec is not None:
            passages.append(len(document_spans(text, offsets, spec, budget)))
        if (i + 1) % 64 == 0 or i + 1 == len(picked):
            report(progress, "lengths", i + 1, len(picked), "counting tokens")
    arr = np.asarray(lengths, dtype=np.int64)
    total = int(arr.sum())
    beyond = int(np.maximum(arr - window, 0).sum())
    q = np.percentile(arr, [10, 50, 90]) if len(arr) else np.zeros(3)
    per = np.asarray(passages, dtype=np.int64)
    return LengthStats(
        documents=len(texts),
        checked=len(arr),
        window=int(window),
        tokens=tuple(int(x) for x in arr),
        p10=float(q[0]),
        p50=float(q[1]),
        p90=float(q[2]),
        mean=float(arr.mean()) if len(arr) else 0.0,
        max=int(arr.max()) if len(arr) else 0,
        share_docs_beyond=float((arr > window).mean()) if len(arr) else 0.0,
        share_text_beyond=beyond / total if total else 0.0,
        chunking=spec.label if spec is not None else None,
        passages=tuple(int(x) for x in per),
        passages_mean=float(per.mean()) if len(per) else 0.0,
        passages_p90=float(np.percentile(per, 90)) if len(per) else 0.0,
        passages_total=round(float(per.mean()) * len(texts)) if len(per) else 0,
    )
