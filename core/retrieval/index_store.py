"""Indexes saved in the workspace under ``cache/indexes`` and reused by the next build: FAISS files
(``<key>.faiss``) and BM25 folders (``<key>.bm25``), each with a manifest (``<key>.<suffix>.json``: size
and SHA-256 of every file, what it was built from, how long the build took).

Keys are fingerprints of what the index was built from (corpus or vectors) and of its build settings, never
of live objects. Entries are written atomically (the entry first, its manifest last), so an entry without a
manifest is an unfinished one; an entry whose files do not match their manifest, or that its reader cannot
read, is damaged: both are removed and the caller builds the index again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from core.runtime import Workspace, atomic_write_dir, atomic_write_json, atomic_write_with

__all__ = ["IndexStore", "fingerprint", "vectors_fingerprint"]

T = TypeVar("T")
FINGERPRINT_ROWS = 64  # rows of a vector array hashed into its fingerprint (with its shape and dtype)
STALE_TEMP_S = 3600.0  # temporary files of a writer killed midway are removed after this long


def fingerprint(*parts: Any) -> str:
    """A short stable key of JSON-serialisable ``parts``."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


def vectors_fingerprint(source: str, shape: tuple[int, ...], rows: np.ndarray) -> str:
    """Key of a vector array: where it came from (encoder + corpus fingerprints), its shape, and the bytes of
    a fixed sample of its rows (``rows``), so that different vectors under one name never share an index."""
    h = hashlib.sha256(f"{source}|{shape}|{rows.dtype.str}".encode())
    h.update(np.ascontiguousarray(rows).tobytes())
    return h.hexdigest()[:24]


def _digest(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _files(entry: Path) -> list[Path]:
    return sorted(p for p in entry.rglob("*") if p.is_file()) if entry.is_dir() else [entry]


class IndexStore:
    """Saved indexes of one workspace (``cache/indexes``)."""

    def __init__(self, ws: Workspace | Path, *, stale_after_s: float = STALE_TEMP_S):
        self.folder = ws.cache_dir("indexes") if isinstance(ws, Workspace) else Path(ws)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.loads = 0
        self.saves = 0
        self.discarded = 0
        self.cleanup(stale_after_s)

    def cleanup(self, older_than_s: float = STALE_TEMP_S) -> int:
        """Remove temporary files and folders (``.name.*``) left by writers killed midway; returns how many."""
        removed = 0
        now = time.time()
        for tmp in self.folder.glob(".*"):
            try:
                if now - tmp.stat().st_mtime < older_than_s:
                    continue
                if tmp.is_dir():
                    shutil.rmtree(tmp)
                else:
                    tmp.unlink()
            except OSError:
                continue
            removed += 1
        return removed

    def path(self, key: str, suffix: str) -> Path:
        return self.folder / f"{key}.{suffix}"

    def _manifest(self, key: str, suffix: str) -> Path:
        return self.folder / f"{key}.{suffix}.json"

    def discard(self, key: str, suffix: str) -> None:
        """Remove an entry and its manifest (damaged, or not what its key promised)."""
        entry = self.path(key, suffix)
        self.discarded += 1
        with contextlib.suppress(OSError):
            self._manifest(key, suffix).unlink()
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()

    def _intact(self, entry: Path, manifest: dict[str, Any]) -> bool:
        files = manifest.get("files")
        if not isinstance(files, dict) or not entry.exists():
            return False
        found = {str(p.relative_to(entry)) if entry.is_dir() else entry.name: p for p in _files(entry)}
        if set(found) != set(files):
            return False
        for name, path in found.items():
            want = files[name]
            if path.stat().st_size != want.get("bytes") or _digest(path) != want.get("sha256"):
                return False
        return True

    def load(self, key: str, suffix: str, read: Callable[[Path], T]) -> tuple[T, dict[str, Any]] | None:
        """``(read(entry), manifest meta)`` of a saved, intact entry; None when there is none (a damaged
        one is removed first)."""
        entry, manifest_path = self.path(key, suffix), self._manifest(key, suffix)
        if not manifest_path.exists():
            if entry.exists():  # an entry whose manifest never came: unfinished or damaged
                self.discard(key, suffix)
            return None
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            if not self._intact(entry, manifest):
                raise ValueError("files differ from their manifest")
            value = read(entry)
        except Exception:  # any failure to read a saved index means: build it again
            self.discard(key, suffix)
            return None
        self.loads += 1
        return value, dict(manifest.get("meta") or {})

    def save(
        self,
        key: str,
        suffix: str,
        write: Callable[[Path], None],
        meta: dict[str, Any],
        *,
        folder: bool = False,
    ) -> Path | None:
        """Write an entry with ``write(path)`` (a file, or a folder when ``folder``) and its manifest.
        Returns its path, or None when writing failed (nothing is left; the index in memory is still good)."""
        entry = self.path(key, suffix)
        try:
            with contextlib.suppress(OSError):
                self._manifest(key, suffix).unlink()
            if folder:
                atomic_write_dir(entry, write)
            else:
                atomic_write_with(entry, write)
            files = {
                str(p.relative_to(entry)) if entry.is_dir() else entry.name: {
                    "bytes": p.stat().st_size,
                    "sha256": _digest(p),
                }
                for p in _files(entry)
            }
            atomic_write_json(self._manifest(key, suffix), {"key": key, "files": files, "meta": meta})
        except Exception:  # a full disk, a library that cannot write: keep the index in memory, save nothing
            self.discard(key, suffix)
            return None
        self.saves += 1
        return entry

    def size(self, key: str, suffix: str) -> int:
        """Bytes on disk of an entry (0 when there is none)."""
        entry = self.path(key, suffix)
        return sum(p.stat().st_size for p in _files(entry)) if entry.exists() else 0
