"""Disk space: telling a full disk from other failures, the one "disk full" error, and the reserve.

A full disk must not lock the user out of their own workspace: reads never write (see
:mod:`core.runtime.database`), every write that finds no space raises :class:`DiskFull` (one line saying how
to free space), and deletes can always go through. A delete frees its files first; when even that leaves too
little room for SQLite to record it, the workspace's **reserve** — a small file of pre-allocated space
(``workspace.reserve``, :data:`RESERVE_BYTES`) made while space was plentiful — is given up for it. The
reserve is made again by a later start when there is room.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
from pathlib import Path

from core.runtime.errors import DiskFull

__all__ = [
    "LOW_SPACE_BYTES",
    "RESERVE_BYTES",
    "RESERVE_NAME",
    "disk_full_error",
    "ensure_reserve",
    "free_bytes",
    "is_disk_full",
    "release_reserve",
]

RESERVE_NAME = "workspace.reserve"
RESERVE_BYTES = 1 << 20  # room for SQLite's shared-memory index and the WAL pages of a large delete
LOW_SPACE_BYTES = 1 << 20  # below this, an I/O error of the workspace is taken for a full disk
_ROOMY_BYTES = 16 * RESERVE_BYTES  # the reserve is (re)made only when at least this much is free
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_SQLITE_MAYBE_FULL = ("SQLITE_IOERR", "SQLITE_CANTOPEN")


def free_bytes(path: Path) -> int | None:
    """Bytes available to this user on the file system of ``path`` (its nearest existing parent)."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def _low_space(path: Path | None) -> bool:
    free = free_bytes(path) if path is not None else None
    return free is not None and free < LOW_SPACE_BYTES


def is_disk_full(err: BaseException, path: Path | None = None) -> bool:
    """True when ``err`` (an ``OSError`` or a SQLite error) comes from a full disk; ``path`` (the workspace)
    lets an unspecific I/O error count as one when that disk has almost no space left."""
    if isinstance(err, DiskFull):
        return True
    if isinstance(err, sqlite3.Error):
        name = getattr(err, "sqlite_errorname", "") or ""
        if name == "SQLITE_FULL" or "database or disk is full" in str(err):
            return True
        return (name.startswith(_SQLITE_MAYBE_FULL) or "disk I/O error" in str(err)) and _low_space(path)
    if isinstance(err, OSError):
        if err.errno in _FULL_ERRNOS or "No space left on device" in str(err):
            return True
        return _low_space(path)
    return False


def disk_full_error(home: Path, doing: str = "writing to the workspace") -> DiskFull:
    """The one error of a write that found no space (its message is one line)."""
    free = free_bytes(home)
    left = f"{free / 2**20:.1f} MB free" if free is not None else "no space left"
    return DiskFull(
        f"disk full: {doing} needs space on {home} ({left}); free space or delete datasets/runs "
        "(`python -m core datasets delete NAME`, `python -m core runs delete RUN_ID`)."
    )


def ensure_reserve(home: Path) -> bool:
    """Make the reserve when it is missing and the disk is roomy. Returns whether a reserve is in place."""
    path = Path(home) / RESERVE_NAME
    if path.exists():
        return True
    free = free_bytes(home)
    if free is None or free < _ROOMY_BYTES:
        return False
    tmp = path.with_name(f".{RESERVE_NAME}.{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            try:
                os.posix_fallocate(fh.fileno(), 0, RESERVE_BYTES)  # real blocks, no writing
            except (AttributeError, OSError):
                fh.write(b"\0" * RESERVE_BYTES)
        os.replace(tmp, path)
        return True
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        return False


def release_reserve(home: Path) -> int:
    """Give up the reserve (when a delete found the disk full). Returns the bytes freed."""
    path = Path(home) / RESERVE_NAME
    try:
        size = path.stat().st_size
        path.unlink()
        return size
    except OSError:
        return 0
