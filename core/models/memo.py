"""Loaded models kept in memory between the jobs of a warm worker: a small LRU keyed by fingerprint.

A warm job worker (:mod:`core.runtime.warm`) runs job after job in one process; loading a model is the slow
part of a job's start. The runtime cannot import this layer, so it turns the memo on through the
environment: the worker is started with ``ESL_MODEL_MEMO=<how many models>`` and every process without it
keeps none (a CLI command or a one-job worker loads what it needs and exits). Callers memoise at the call
site with a key naming everything the object depends on — the model's weight fingerprint and the settings
it was built with — so a retrained model or another backend is never served from memory::

    encoder = memoized(f"encoder|{fingerprint}|{backend}", lambda: build_encoder(...))

Only objects that their users do not change belong here (inference encoders and rerankers, not a model
about to be trained).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from core.runtime import ConfigError

__all__ = ["MEMO_ENV", "ModelMemo", "memo_capacity", "memoized", "model_memo"]

MEMO_ENV = "ESL_MODEL_MEMO"  # how many loaded models a process keeps (0 or unset: none)
T = TypeVar("T")


def memo_capacity() -> int:
    """The capacity asked for by ``ESL_MODEL_MEMO`` (0 when unset); a bad value is a ConfigError."""
    raw = os.environ.get(MEMO_ENV, "").strip()
    if not raw:
        return 0
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{MEMO_ENV} must be a whole number of models, got {raw!r}.") from None
    if value < 0:
        raise ConfigError(f"{MEMO_ENV} must be 0 or more, got {value}.")
    return value


class ModelMemo:
    """A thread-safe LRU of loaded objects by key. ``capacity`` 0 keeps nothing (every call builds)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[str, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def get_or_make(self, key: str, make: Callable[[], T]) -> T:
        """The object stored under ``key``, built with ``make()`` (once, even when threads ask together)
        and stored when it is not there; the least recently used one goes when the memo is full."""
        if self.capacity <= 0:
            return make()
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            building = self._building.setdefault(key, threading.Lock())
        with building:
            with self._lock:
                if key in self._items:  # another thread built it meanwhile
                    self._items.move_to_end(key)
                    self.hits += 1
                    return self._items[key]
            try:
                value = make()  # outside the memo's lock: a load takes seconds
            finally:
                with self._lock:
                    self._building.pop(key, None)
            with self._lock:
                self.misses += 1
                self._items[key] = value
                while len(self._items) > self.capacity:
                    self._items.popitem(last=False)
        return value

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_MEMO: list[ModelMemo] = []
_MEMO_LOCK = threading.Lock()


def model_memo() -> ModelMemo:
    """This process's memo (capacity from ``ESL_MODEL_MEMO`` when first asked for)."""
    with _MEMO_LOCK:
        if not _MEMO:
            _MEMO.append(ModelMemo(memo_capacity()))
        return _MEMO[0]


def memoized(key: str, make: Callable[[], T]) -> T:
    """``make()``, or the object an earlier call with the same ``key`` made in this process when the
    process keeps a memo (a warm worker); see :class:`ModelMemo`."""
    return model_memo().get_or_make(key, make)
