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


_WORD_OR_MARK = re.compile(r"\w+|[^\w\s]")


class WordTokenizer:
    """A word-level stand-in for a Hugging Face fast tokenizer: one token per word or punctuation mark
    (the BERT pre-tokenizer's split), character offsets, ``[CLS]``/``[SEP]`` when special tokens are
    added. Deterministic, no files."""

    is_fast = True
    fingerprint = "fake-word-tokenizer"

    def __init__(self, specials: int = 2):
        self.specials = specials
        self.calls = 0

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return self.specials * (2 if pair else 1) - (1 if pair and self.specials else 0)

    def _one(self, text: str, add_special_tokens: bool) -> tuple[list[int], list[tuple[int, int]]]:
        offsets = [m.span() for m in _WORD_OR_MARK.finditer(text)]
        ids = [
            int.from_bytes(hashlib.md5(text[a:b].lower().encode()).digest()[:3], "little") for a, b in offsets
        ]
        if add_special_tokens and self.specials:
            ids = [101, *ids, 102][: len(ids) + self.specials]
            offsets = [(0, 0), *offsets, (0, 0)][: len(offsets) + self.specials]
        return ids, offsets

    def __call__(self, texts, add_special_tokens=True, return_offsets_mapping=False, **_: object) -> dict:
        self.calls += 1
        single = isinstance(texts, str)
        pairs = [self._one(t, add_special_tokens) for t in ([texts] if single else texts)]
        out: dict = {"input_ids": [ids for ids, _ in pairs]}
        if return_offsets_mapping:
            out["offset_mapping"] = [offs for _, offs in pairs]
        return {k: v[0] for k, v in out.items()} if single else out
