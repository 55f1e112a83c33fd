"""Before a long encode: how long it will take (from a short timed sample) and how many documents a
``max_seq_length`` cuts."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.encoding.embeddings import token_lengths
from core.runtime import Reporter, log

__all__ = [
    "ETA_MIN_TEXTS",
    "EncodeEstimate",
    "TruncationStats",
    "announce_encode",
    "estimate_encode_time",
    "format_duration",
    "truncation_stats",
]


ETA_MIN_TEXTS = 1000  # smaller encodes take moments: no estimate


@dataclass(frozen=True)
class EncodeEstimate:
    """Expected encoding time of ``texts`` texts, from ``sample`` texts timed in ``sample_s`` seconds."""

    texts: int
    sample: int
    sample_s: float
    rate: float  # texts per second
    seconds: float
    backend: str = ""

    @property
    def text(self) -> str:
        """E.g. ``~3.2 min for 5,183 texts (27 texts/s, measured on 64)``."""
        return (
            f"~{format_duration(self.seconds)} for {self.texts:,} texts "
            f"({self.rate:,.1f} texts/s, measured on {self.sample})"
        )


def announce_encode(
    encoder: Any, texts: Sequence[str], *, batch_size: int = 32, progress: Reporter | None = None
) -> EncodeEstimate | None:
    """Before a long encode (:data:`ETA_MIN_TEXTS` texts or more, with a reporter): log its expected time
    from a measured throughput: the parity check's for a backend ``auto`` chose
    (``encoder.plan.texts_per_s``), else a short timed sample. Returns the estimate (None: not announced)."""
    n = len(texts)
    if progress is None or n < ETA_MIN_TEXTS:
        return None
    plan = getattr(encoder, "plan", None)
    rate = float(getattr(plan, "texts_per_s", 0.0) or 0.0)
    if rate > 0:
        est = EncodeEstimate(n, 0, 0.0, rate, n / rate, plan.label if plan is not None else "")
        source = "measured by the backend check"
    else:
        est = estimate_encode_time(encoder, texts, sample_size=32, batch_size=batch_size)
        source = f"measured on {est.sample}"
    log(progress, f"encoding {n:,} texts: about {format_duration(est.seconds)} ({est.rate:,.1f}/s, {source})")
    return est


def format_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def estimate_encode_time(
    encoder: Any, texts: Sequence[str], *, sample_size: int = 64, batch_size: int = 32, seed: int = 0
) -> EncodeEstimate:
    """Time ``encoder`` on a random sample of ``texts`` (after a tiny warm-up call, so one-off start
    costs are not extrapolated) and extrapolate to all of them."""
    n = len(texts)
    plan = getattr(encoder, "plan", None)
    label = plan.label if plan is not None else ""
    if n == 0:
        return EncodeEstimate(0, 0, 0.0, 0.0, 0.0, label)
    rng = random.Random(seed)
    idx = sorted(rng.sample(range(n), min(n, max(1, sample_size))))
    sample = [texts[i] for i in idx]
    encoder.encode(sample[:2], batch_size=batch_size)
    start = time.perf_counter()
    encoder.encode(sample, batch_size=batch_size)
    elapsed = max(time.perf_counter() - start, 1e-6)
    rate = len(sample) / elapsed
    return EncodeEstimate(n, len(sample), elapsed, rate, n / rate, label)


@dataclass(frozen=True)
class TruncationStats:
    """Token lengths of (a sample of) a corpus against ``max_seq_length``."""

    max_seq_length: int
    checked: int
    truncated: int
    p50_tokens: float
    p95_tokens: float
    max_tokens: int

    @property
    def share(self) -> float:
        """Share of documents longer than ``max_seq_length`` tokens (cut when encoded)."""
        return self.truncated / self.checked if self.checked else 0.0


def truncation_stats(
    tokenizer: Any, texts: Sequence[str], max_seq_length: int, *, sample: int = 5000, seed: int = 0
) -> TruncationStats:
    """How many of ``texts`` (a random sample of ``sample`` of them when there are more) are longer
    than ``max_seq_length`` tokens and so lose their end when encoded."""
    if len(texts) > sample:
        rng = random.Random(seed)
        texts = [texts[i] for i in sorted(rng.sample(range(len(texts)), sample))]
    lengths = token_lengths(tokenizer, texts)
    if not len(lengths):
        return TruncationStats(max_seq_length, 0, 0, 0.0, 0.0, 0)
    return TruncationStats(
        max_seq_length=int(max_seq_length),
        checked=len(lengths),
        truncated=int((lengths > max_seq_length).sum()),
        p50_tokens=float(np.percentile(lengths, 50)),
        p95_tokens=float(np.percentile(lengths, 95)),
        max_tokens=int(lengths.max()),
    )
