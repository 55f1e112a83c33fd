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
from collections.abc import Sequence
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
    "encoder_cache_key",
    "get_encoder",
    "normalize_rows",
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


def normalize_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return x / norms


class SentenceTransformerEncoder:
    """A sentence-transformers model (torch backend). Texts are encoded longest first in chunks so that
    progress can be reported; the order of the output matches the input."""

    def __init__(
        self, model: Any, name: str, model_fingerprint: str, settings: EncodeSettings = EncodeSettings()
    ):
        self.model = model
        self.name = name
        self.settings = settings
        if settings.max_seq_length:
            model.max_seq_length = settings.max_seq_length
        dim_fn = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dim = int(dim_fn())
        self.fingerprint = encoder_cache_key(model_fingerprint, settings)
        self._lock = threading.Lock()

    @property
    def max_seq_length(self) -> int:
        return int(self.model.max_seq_length)

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: ProgressFn | None = None
    ) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        chunk = max(batch_size * 4, 64)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        tracker = RateTracker()
        with self._lock:  # torch models are not safe to share between threads mid-forward
            for start in range(0, len(texts), chunk):
                idx = order[start : start + chunk]
                vecs = self.model.encode(
                    [texts[i] for i in idx],
                    batch_size=batch_size,
                    convert_to_numpy=True,
                    normalize_embeddings=self.settings.normalize,
                    show_progress_bar=False,
                )
                out[idx] = vecs
                done = min(start + chunk, len(texts))
                rate = tracker.rate(done)
                report(progress, "encode", done, len(texts), f"{rate:,.0f} texts/s" if rate else "", rate)
        return out


def encoder_cache_key(model_fingerprint: str, settings: EncodeSettings) -> str:
    payload = json.dumps({"model": model_fingerprint, **asdict(settings)}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def get_encoder(
    model: str,
    ws: Workspace | None = None,
    *,
    backend: str = "torch",
    max_seq_length: int | None = None,
    device: str | None = None,
) -> Encoder:
    """Load ``model`` (name, folder or hub id) as an :class:`Encoder`."""
    from core.models import load_sentence_transformer, model_fingerprint, resolve_model

    if backend != "torch":
        from core.backends import make_backend_encoder  # added with the encoding backends

        return make_backend_encoder(model, ws, backend=backend, max_seq_length=max_seq_length, device=device)
    info = resolve_model(model, ws, kind="bi-encoder")
    st_model = load_sentence_transformer(model, ws, device=device)
    return SentenceTransformerEncoder(
        st_model, info.name, model_fingerprint(info), EncodeSettings(backend, max_seq_length)
    )


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
