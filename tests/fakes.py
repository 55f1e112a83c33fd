"""Deterministic stand-ins for real models, for fast unit tests."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from core.runtime import Reporter, report

_TOKEN = re.compile(r"\w+")


class HashingEncoder:
    """Bag-of-words hashed into ``dim`` buckets, L2-normalised: similar texts get similar vectors,
    the same text always gets the same vector, and no model is loaded."""

    def __init__(self, dim: int = 64, name: str = "fake-hashing"):
        self.dim = dim
        self.name = name
        self.fingerprint = f"{name}-{dim}"
        self.calls = 0
        self.encoded = 0

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: Reporter | None = None
    ) -> np.ndarray:
        self.calls += 1
        self.encoded += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for tok in _TOKEN.findall(text.lower()):
                h = int.from_bytes(hashlib.md5(tok.encode()).digest()[:4], "little")
                out[i, h % self.dim] += 1.0 if (h >> 31) & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        report(progress, "encode", len(texts), len(texts))
        return out / norms
