"""Text encoders: the :class:`Encoder` contract, batching by length, and the sentence-transformers encoder.

An :class:`Encoder` turns texts into L2-normalised float32 vectors. Its fingerprint
(:func:`encoder_cache_key`) is the model fingerprint plus every setting that changes the vectors (backend,
max sequence length, precision), the key of the embedding cache (:mod:`core.encoding.cache`).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import itertools
import json
import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from core.runtime import RateTracker, Reporter, report

__all__ = [
    "EncodeSettings",
    "Encoder",
    "SentenceTransformerEncoder",
    "encode_in_batches",
    "encoder_cache_key",
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
        self, texts: Sequence[str], *, batch_size: int = 32, progress: Reporter | None = None
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
    tokenizer: Any,
    texts: Sequence[str],
    *,
    cap: int | None = None,
    chunk: int = 512,
    threads: int | None = None,
) -> np.ndarray:
    """Tokens per text (special tokens included), at most ``cap`` when given (what encoding keeps).

    Chunks are tokenized by ``threads`` threads (default: the CPU count, at most 8), each with its own
    copy of the tokenizer: a fast tokenizer releases the GIL while it works, but one instance must not
    be shared between threads."""
    texts = list(texts)
    chunks = [texts[start : start + chunk] for start in range(0, len(texts), chunk)]
    threads = min(len(chunks), threads or min(8, os.cpu_count() or 1))

    def count(part: list[str], tok: Any) -> list[int]:
        enc = tok(part, add_special_tokens=True, truncation=False, verbose=False)
        return [len(ids) for ids in enc["input_ids"]]

    if threads <= 1:
        counts = [count(part, tokenizer) for part in chunks]
    else:
        local = threading.local()

        def work(part: list[str]) -> list[int]:
            if not hasattr(local, "tokenizer"):
                local.tokenizer = copy.deepcopy(tokenizer)
            return count(part, local.tokenizer)

        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="esl-tokens") as pool:
            counts = list(pool.map(work, chunks))
    lengths = np.asarray([n for part in counts for n in part], dtype=np.int64)
    return np.minimum(lengths, cap) if cap else lengths


def _batch_order(texts: list[str], sort: bool, lengths: Sequence[int] | None) -> np.ndarray:
    """Indexes of ``texts`` in encoding order: longest first (by ``lengths``, else characters) with ``sort``."""
    if not sort:
        return np.arange(len(texts))
    keys = (
        np.asarray(lengths, dtype=np.int64)
        if lengths is not None
        else np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    )
    return np.argsort(-keys, kind="stable")


def _prepared(
    batches: Iterator[np.ndarray],
    texts: list[str],
    prepare: Callable[[list[str]], Any],
    ahead: int,
    workers: int,
) -> Iterator[tuple[np.ndarray, Any]]:
    """``(indexes, prepare(batch texts))`` per batch, in order, with up to ``ahead`` batches prepared by
    ``workers`` threads while the caller encodes the current one."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="esl-prepare") as pool:
        pending: deque = deque()

        def submit() -> None:
            idx = next(batches, None)
            if idx is not None:
                pending.append((idx, pool.submit(prepare, [texts[i] for i in idx])))

        for _ in range(max(1, ahead, workers)):
            submit()
        while pending:
            idx, future = pending.popleft()
            submit()
            yield idx, future.result()


def encode_in_batches(
    texts: Sequence[str],
    encode_batch: Callable[[Any], np.ndarray],
    dim: int,
    *,
    batch_size: int = 32,
    progress: Reporter | None = None,
    sort: bool = True,
    lengths: Sequence[int] | None = None,
    prepare: Callable[[list[str]], Any] | None = None,
    ahead: int = 3,
    workers: int = 1,
) -> np.ndarray:
    """Run ``encode_batch`` over ``texts`` in batches and return the vectors in input order.

    With ``sort`` (the default) texts go longest first — by ``lengths`` (tokens, after truncation) when
    given, else by characters — so each batch holds texts of similar length and padding (which costs as
    much compute as real tokens) is small; without it batches are taken in input order. Progress is
    reported every few batches with the throughput in texts/s.

    With ``prepare`` (e.g. tokenization), ``encode_batch`` receives ``prepare(batch_texts)`` instead of
    the texts, and up to ``ahead`` batches are prepared by ``workers`` background threads while the
    current one runs: on a GPU the forward pass is so fast that tokenizing on the same thread would leave
    it idle. ``prepare`` must be safe to call from ``workers`` threads at once."""
    texts = list(texts)
    out = np.zeros((len(texts), dim), dtype=np.float32)
    if not texts:
        return out
    batch_size = max(1, int(batch_size))
    order = _batch_order(texts, sort, lengths)
    batches = [order[start : start + batch_size] for start in range(0, len(texts), batch_size)]
    tracker = RateTracker()
    every = max(1, 128 // batch_size)
    report(progress, "encode", 0, len(texts), "starting")  # setup is over: rates are timed from here

    def done(n: int, idx: np.ndarray, result: np.ndarray) -> None:
        out[idx] = result
        if n % every == 0 or n == len(batches):
            count = min(n * batch_size, len(texts))
            rate = tracker.rate(count)
            report(progress, "encode", count, len(texts), f"{rate:,.1f} texts/s" if rate else "", rate)

    if prepare is None:
        for n, idx in enumerate(batches, 1):
            done(n, idx, encode_batch([texts[i] for i in idx]))
        return out
    ready = _prepared(iter(batches), texts, prepare, ahead, max(1, int(workers)))
    with contextlib.closing(ready):  # an error stops the preparing threads at once
        for n, (idx, features) in enumerate(ready, 1):
            done(n, idx, encode_batch(features))
    return out


class SentenceTransformerEncoder:
    """A sentence-transformers model in torch (fp32; fp16 or bf16 when ``precision`` says so).

    Texts are encoded longest first (by token count after truncation) in batches of similar length (see
    :func:`encode_in_batches`); the order of the output matches the input. With ``prefetch`` (default:
    when the model sits on a GPU) the next batches are tokenized by background threads while the
    current one runs, which is what keeps a GPU busy; the vectors are the same either way."""

    def __init__(
        self,
        model: Any,
        name: str,
        model_fingerprint: str,
        settings: EncodeSettings = EncodeSettings(),
        *,
        sort_by_length: bool = True,
        prefetch: bool | None = None,
    ):
        self.model = model
        self.name = name
        self.settings = settings
        self.sort_by_length = sort_by_length
        self.plan: Any = None  # core.encoding.BackendPlan, set by the factory
        if settings.max_seq_length:
            model.max_seq_length = settings.max_seq_length
        if settings.precision in ("bf16", "fp16"):
            import torch

            model.to(torch.bfloat16 if settings.precision == "bf16" else torch.float16)
        dim_fn = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dim = int(dim_fn())
        self.fingerprint = encoder_cache_key(model_fingerprint, settings)
        self.prefetch = self._on_gpu() if prefetch is None else prefetch
        self.tokenize_threads: int | None = None  # token counting threads (None: up to 8 cores)
        self.prepare_threads: int | None = None  # tokenize-ahead threads (None: up to 4 cores)
        self._preparers: queue.SimpleQueue = queue.SimpleQueue()
        self._preparer_count = 0
        self._lock = threading.Lock()

    def _on_gpu(self) -> bool:
        device = getattr(self.model, "device", None)
        return getattr(device, "type", "cpu") != "cpu"

    def _can_prefetch(self) -> bool:
        """Tokenize-ahead calls the model's own ``preprocess`` and forward pass, as ``encode`` does; models
        with a default prompt or an output truncation keep the plain ``encode`` path."""
        m = self.model
        return (
            self.prefetch
            and callable(getattr(m, "preprocess", None))
            and not getattr(m, "default_prompt_name", None)
            and getattr(m, "truncate_dim", None) is None
        )

    @property
    def max_seq_length(self) -> int:
        return int(self.model.max_seq_length)

    @property
    def tokenizer(self) -> Any:
        return self.model.tokenizer

    def _finish(self, vecs: Any) -> np.ndarray:
        vecs = vecs.float().cpu().numpy()
        return normalize_rows(vecs) if self.settings.normalize else vecs

    def encode_batch(self, texts: list[str]) -> np.ndarray:
        """One batch, padded to its longest text."""
        vecs = self.model.encode(
            texts,
            batch_size=len(texts),
            convert_to_tensor=True,
            normalize_embeddings=False,
            show_progress_bar=False,
        )
        return self._finish(vecs)

    def _ensure_preparers(self, n: int) -> None:
        """``n`` models to tokenize with, one per thread: the model itself and copies that share its
        weights (``deepcopy`` with the parameters and buffers in the memo) but own their tokenizer, which
        must not be used by two threads at once."""
        while self._preparer_count < n:
            if self._preparer_count == 0:
                clone = self.model
            else:
                tensors = itertools.chain(self.model.parameters(), self.model.buffers())
                clone = copy.deepcopy(self.model, memo={id(t): t for t in tensors})
            self._preparers.put(clone)
            self._preparer_count += 1

    def prepare_batch(self, texts: list[str]) -> Any:
        """Tokenized features of one batch (what ``encode`` would feed the model), still on the CPU.
        Safe from several threads: each call borrows one of the tokenizing models."""
        model = self._preparers.get()
        try:
            return model.preprocess(texts)
        finally:
            self._preparers.put(model)

    def encode_features(self, features: Any) -> np.ndarray:
        """The forward pass of one prepared batch."""
        import torch
        from sentence_transformers.util import batch_to_device

        with torch.inference_mode():
            out = self.model(batch_to_device(features, self.model.device))
        return self._finish(out["sentence_embedding"])

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: Reporter | None = None
    ) -> np.ndarray:
        texts = list(texts)
        pipelined = self._can_prefetch() and len(texts) > batch_size
        workers = 1
        with self._lock:  # neither torch models nor tokenizers are safe to share between threads
            if pipelined:
                workers = self.prepare_threads or max(1, min(4, (os.cpu_count() or 2) - 1))
                self._ensure_preparers(workers)
                self.model.eval()  # once per call, not per batch (model.encode does the same)
            lengths = None
            if self.sort_by_length and len(texts) > batch_size and self.tokenizer is not None:
                lengths = token_lengths(
                    self.tokenizer, texts, cap=self.max_seq_length, threads=self.tokenize_threads
                )
            return encode_in_batches(
                texts,
                self.encode_features if pipelined else self.encode_batch,
                self.dim,
                batch_size=batch_size,
                progress=progress,
                sort=self.sort_by_length,
                lengths=lengths,
                prepare=self.prepare_batch if pipelined else None,
                ahead=2 * workers,
                workers=workers,
            )


def encoder_cache_key(model_fingerprint: str, settings: EncodeSettings) -> str:
    """Fingerprint of an encoder: the model's plus every setting that changes the vectors. (fp32 leaves
    the precision out, so keys made before precisions existed stay valid.)"""
    fields = asdict(settings)
    if fields.get("precision") == "fp32":
        fields.pop("precision")
    payload = json.dumps({"model": model_fingerprint, **fields}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]
