"""Text encoders and the on-disk embedding cache.

An :class:`Encoder` turns texts into L2-normalised float32 vectors. Corpus embeddings are cached on disk
under a key made of the model fingerprint, the corpus fingerprint and every setting that changes the
vectors (backend, max sequence length, prompt), so a second evaluation with the same model and corpus
never encodes the corpus again, and vectors of different backends never mix.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from core.progress import ProgressFn, RateTracker, report
from core.store import Workspace, atomic_write_bytes

__all__ = [
    "EmbeddingCache",
    "EncodeSettings",
    "Encoder",
    "SentenceTransformerEncoder",
    "encode_corpus",
    "encode_in_batches",
    "encoder_cache_key",
    "get_encoder",
    "normalize_rows",
    "token_lengths",
]


@runtime_checkable
class Encoder(Protocol):
    """Anything that maps texts to unit vectors."""

    name: str
    fingerprint: str  # changes whenever the vectors would (weights, backend, settings)
    dim: int

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: ProgressFn | None = None
    ) -> np.ndarray: ...


@dataclass(frozen=True)
class EncodeSettings:
    """Everything besides the weights that changes an embedding."""

    backend: str = "torch"
    max_seq_length: int | None = None
    normalize: bool = True
    precision: str = "fp32"  # fp32 | fp16 (torch on a GPU) | bf16 | int8


def normalize_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return x / norms


def token_lengths(
    tokenizer: Any, texts: Sequence[str], *, cap: int | None = None, chunk: int = 1024
) -> np.ndarray:
    """Tokens per text (special tokens included), at most ``cap`` when given (what encoding keeps)."""
    out: list[int] = []
    for start in range(0, len(texts), chunk):
        enc = tokenizer(
            list(texts[start : start + chunk]), add_special_tokens=True, truncation=False, verbose=False
        )
        out.extend(len(ids) for ids in enc["input_ids"])
    lengths = np.asarray(out, dtype=np.int64)
    return np.minimum(lengths, cap) if cap else lengths


def encode_in_batches(
    texts: Sequence[str],
    encode_batch: Callable[[list[str]], np.ndarray],
    dim: int,
    *,
    batch_size: int = 32,
    progress: ProgressFn | None = None,
    sort: bool = True,
    lengths: Sequence[int] | None = None,
) -> np.ndarray:
    """Run ``encode_batch`` over ``texts`` in batches and return the vectors in input order.

    With ``sort`` (the default) texts go longest first — by ``lengths`` (tokens, after truncation) when
    given, else by characters — so each batch holds texts of similar length and padding (which costs as
    much compute as real tokens) is small; without it batches are taken in input order. Progress is
    reported every few batches with the throughput in texts/s."""
    texts = list(texts)
    out = np.zeros((len(texts), dim), dtype=np.float32)
    if not texts:
        return out
    batch_size = max(1, int(batch_size))
    if sort:
        keys = (
            np.asarray(lengths, dtype=np.int64)
            if lengths is not None
            else np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
        )
        order = np.argsort(-keys, kind="stable")
    else:
        order = np.arange(len(texts))
    tracker = RateTracker()
    every = max(1, 128 // batch_size)
    starts = range(0, len(texts), batch_size)
    for n, start in enumerate(starts, 1):
        idx = order[start : start + batch_size]
        out[idx] = encode_batch([texts[i] for i in idx])
        if n % every == 0 or n == len(starts):
            done = min(start + batch_size, len(texts))
            rate = tracker.rate(done)
            report(progress, "encode", done, len(texts), f"{rate:,.1f} texts/s" if rate else "", rate)
    return out


class SentenceTransformerEncoder:
    """A sentence-transformers model in torch (fp32; fp16 or bf16 when ``precision`` says so).

    Texts are encoded longest first (by token count after truncation) in batches of similar length (see
    :func:`encode_in_batches`); the order of the output matches the input."""

    def __init__(
        self,
        model: Any,
        name: str,
        model_fingerprint: str,
        settings: EncodeSettings = EncodeSettings(),
        *,
        sort_by_length: bool = True,
    ):
        self.model = model
        self.name = name
        self.settings = settings
        self.sort_by_length = sort_by_length
        self.plan: Any = None  # core.backends.BackendPlan, set by the factory
        if settings.max_seq_length:
            model.max_seq_length = settings.max_seq_length
        if settings.precision in ("bf16", "fp16"):
            import torch

            model.to(torch.bfloat16 if settings.precision == "bf16" else torch.float16)
        dim_fn = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dim = int(dim_fn())
        self.fingerprint = encoder_cache_key(model_fingerprint, settings)
        self._lock = threading.Lock()

    @property
    def max_seq_length(self) -> int:
        return int(self.model.max_seq_length)

    @property
    def tokenizer(self) -> Any:
        return self.model.tokenizer

    def encode_batch(self, texts: list[str]) -> np.ndarray:
        """One batch, padded to its longest text."""
        vecs = self.model.encode(
            texts,
            batch_size=len(texts),
            convert_to_tensor=True,
            normalize_embeddings=False,
            show_progress_bar=False,
        )
        vecs = vecs.float().cpu().numpy()
        return normalize_rows(vecs) if self.settings.normalize else vecs

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: ProgressFn | None = None
    ) -> np.ndarray:
        texts = list(texts)
        lengths = None
        if self.sort_by_length and len(texts) > batch_size and self.tokenizer is not None:
            lengths = token_lengths(self.tokenizer, texts, cap=self.max_seq_length)
        with self._lock:  # torch models are not safe to share between threads mid-forward
            return encode_in_batches(
                texts,
                self.encode_batch,
                self.dim,
                batch_size=batch_size,
                progress=progress,
                sort=self.sort_by_length,
                lengths=lengths,
            )


def encoder_cache_key(model_fingerprint: str, settings: EncodeSettings) -> str:
    """Fingerprint of an encoder: the model's plus every setting that changes the vectors. (fp32 leaves
    the precision out, so keys made before precisions existed stay valid.)"""
    fields = asdict(settings)
    if fields.get("precision") == "fp32":
        fields.pop("precision")
    payload = json.dumps({"model": model_fingerprint, **fields}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def get_encoder(
    model: str,
    ws: Workspace | None = None,
    *,
    backend: str = "torch",
    max_seq_length: int | None = None,
    device: str | None = None,
) -> Encoder:
    """Load ``model`` (name, folder or hub id) as an :class:`Encoder` running on ``backend``
    (torch | onnx | onnx-int8 | bf16). A backend that cannot run here falls back to torch; the
    encoder's ``plan`` says what is used and why (see :func:`core.backends.plan_backend`)."""
    from core.backends import make_backend_encoder

    return make_backend_encoder(model, ws, backend=backend, max_seq_length=max_seq_length, device=device)


class EmbeddingCache:
    """``.npy`` files under ``cache/embeddings``, keyed by encoder fingerprint and corpus fingerprint."""

    def __init__(self, ws: Workspace):
        self.folder = ws.cache_dir("embeddings")
        self.hits = 0
        self.misses = 0

    def path(self, encoder_fp: str, corpus_fp: str) -> Path:
        return self.folder / f"{encoder_fp}-{corpus_fp}.npy"

    def get(self, encoder_fp: str, corpus_fp: str, expected_rows: int) -> np.ndarray | None:
        path = self.path(encoder_fp, corpus_fp)
        if not path.exists():
            return None
        try:
            arr = np.load(path, mmap_mode="r")
        except (OSError, ValueError):
            return None
        if arr.shape[0] != expected_rows:
            return None
        return np.asarray(arr)

    def put(self, encoder_fp: str, corpus_fp: str, vectors: np.ndarray) -> None:
        import io

        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(vectors, dtype=np.float32))
        atomic_write_bytes(self.path(encoder_fp, corpus_fp), buf.getvalue())


def encode_corpus(
    encoder: Encoder,
    texts: Sequence[str],
    corpus_fingerprint: str,
    cache: EmbeddingCache | None,
    *,
    batch_size: int = 32,
    progress: ProgressFn | None = None,
) -> tuple[np.ndarray, bool]:
    """Corpus vectors from the cache, or encoded and stored. Returns ``(vectors, from_cache)``."""
    if cache is not None:
        hit = cache.get(encoder.fingerprint, corpus_fingerprint, len(texts))
        if hit is not None:
            cache.hits += 1
            report(progress, "encode", len(texts), len(texts), "loaded from the embedding cache")
            return hit, True
        cache.misses += 1
    vectors = encoder.encode(texts, batch_size=batch_size, progress=progress)
    if cache is not None:
        cache.put(encoder.fingerprint, corpus_fingerprint, vectors)
    return vectors, False
