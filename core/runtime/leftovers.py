"""What crashed processes leave behind, and how it is recognised as theirs.

Every scratch name the runtime makes carries its owner: ``p<pid>.<host>`` (:func:`owner_tag`), so a later
start can tell a staging folder or an unpacked archive whose process is gone (removed at once) from one a
live import is still writing (kept). Names without an owner are removed only when old
(:data:`STALE_AFTER_S`). :func:`scratch_dir` is the temporary folder outside the workspace (unpacked
archives); :func:`remove_stale_scratch` cleans those of dead processes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

__all__ = [
    "STALE_AFTER_S",
    "owner_alive",
    "owner_tag",
    "remove_path",
    "remove_stale_scratch",
    "scratch_dir",
    "stale",
    "stale_temp_files",
]

STALE_AFTER_S = 3600.0  # a leftover whose owner is unknown is removed only after this long
TEMP_MIN_AGE_S = 2.0  # an atomic write's temporary file younger than this may be about to be renamed
SCRATCH_PREFIX = "esl-"
_OWNER = re.compile(r"-p(\d+)\.([0-9a-f]{6})-")
_LEGACY_SCRATCH = re.compile(r"^esl-(zip|bundle)-")  # tempfile names of older versions (no owner)
_ATOMIC_TEMP = re.compile(r"^\..+\.[A-Za-z0-9_]{8}$")  # tempfile.mkstemp(prefix=".<name>.")


def _host() -> str:
    return hashlib.blake2s(socket.gethostname().encode(), digest_size=3).hexdigest()


def owner_tag() -> str:
    """``p<pid>.<host>``: put it between dashes in a scratch name so a later start knows whose it is."""
    return f"p{os.getpid()}.{_host()}"


def owner_alive(pid: int, since: float) -> bool:
    """True when process ``pid`` (of this machine) runs and was started before ``since`` (so it is not a
    newer process that got the same pid)."""
    if pid == os.getpid():
        return True
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and proc.create_time() <= since + 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    except psutil.Error:
        return True  # cannot tell: keep it


def stale(path: Path, older_than_s: float = STALE_AFTER_S, now: float | None = None) -> bool:
    """Whether a scratch entry can go: its owner (from the name) is a dead process of this machine, or it is
    older than ``older_than_s``."""
    try:
        mtime = path.lstat().st_mtime
    except OSError:
        return False
    now = time.time() if now is None else now
    if now - mtime > older_than_s:
        return True
    match = _OWNER.search(path.name)
    if match is None or match.group(2) != _host():
        return False
    return not owner_alive(int(match.group(1)), min(mtime, now))


def remove_path(path: Path) -> bool:
    """Remove a file or a folder tree (links are removed, never followed). Returns whether it is gone."""
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return not os.path.lexists(path)


@contextlib.contextmanager
def scratch_dir(what: str) -> Iterator[Path]:
    """A temporary folder outside the workspace (``$TMPDIR/esl-<what>-<owner>-…``), removed afterwards; if
    the process is killed first, the next start removes it (:func:`remove_stale_scratch`)."""
    with tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{what}-{owner_tag()}-") as tmp:
        yield Path(tmp)


def remove_stale_scratch(root: Path | None = None) -> int:
    """Remove scratch folders of dead processes (and ownerless old ones) from the temporary folder."""
    root = Path(root or tempfile.gettempdir())
    removed = 0
    now = time.time()
    try:
        entries = [e for e in os.scandir(root) if e.name.startswith(SCRATCH_PREFIX)]
    except OSError:
        return 0
    for entry in entries:
        path = Path(entry.path)
        owned = _OWNER.search(entry.name) is not None
        if (owned or _LEGACY_SCRATCH.match(entry.name)) and stale(path, now=now) and remove_path(path):
            removed += 1
    return removed


def _open_files() -> set[str]:
    """Paths of the regular files open in the processes this user can inspect."""
    seen: set[str] = set()
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            seen.update(f.path for f in proc.open_files())
    return seen


def stale_temp_files(folders: list[Path]) -> list[Path]:
    """Temporary files of atomic writes (``.<name>.<random>``) that a killed writer left in ``folders``:
    not open in any process and untouched for a moment (an open one is still being written)."""
    now = time.time()
    candidates = []
    for folder in folders:
        for dirpath, _dirs, files in os.walk(folder):
            for name in files:
                path = Path(dirpath) / name
                with contextlib.suppress(OSError):
                    if _ATOMIC_TEMP.match(name) and now - path.lstat().st_mtime > TEMP_MIN_AGE_S:
                        candidates.append(path)
    if not candidates:
        return []
    busy = _open_files()
    return [p for p in candidates if str(p) not in busy]
