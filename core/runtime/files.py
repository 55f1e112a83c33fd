"""Files: atomic writes, size limits and safe archive extraction (no path escapes, no links, bounded size).

Everything the workspace writes goes through :func:`atomic_write_bytes`, so readers see the old file or
the new one, never a mix; archives brought by users go through :func:`extract_zip_safely`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from core.runtime.config import get_settings
from core.runtime.errors import DataImportError

__all__ = [
    "atomic_write_bytes",
    "atomic_write_dir",
    "atomic_write_json",
    "atomic_write_with",
    "check_size",
    "extract_zip_safely",
    "format_mb",
    "iter_zip_members",
]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    """JSON version of :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, json.dumps(obj, indent=2, default=str).encode("utf-8"))


def atomic_write_with(path: Path, write: Callable[[Path], None]) -> None:
    """:func:`atomic_write_bytes` for writers that want a path (``faiss.write_index``, ``np.save``): ``write``
    fills a temporary file beside ``path``, which then replaces ``path``; on any error it is removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_dir(path: Path, write: Callable[[Path], None]) -> None:
    """A folder written whole or not at all: ``write`` fills a temporary folder beside ``path``, which then
    takes the place of ``path`` (an old folder there is removed); on any error the temporary one is removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        write(tmp)
        for file in tmp.rglob("*"):
            if file.is_file():
                with open(file, "rb") as fh:
                    os.fsync(fh.fileno())
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
            os.replace(path, old / path.name)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def check_size(path: Path, limit: int | None = None) -> None:
    """Refuse files above the configured limit (``ESL_MAX_FILE_MB``, default 1 GB)."""
    limit = get_settings().max_file_bytes if limit is None else limit
    size = path.stat().st_size
    if size > limit:
        raise DataImportError(
            path,
            f"file is {format_mb(size)}, over the {format_mb(limit)} limit (set ESL_MAX_FILE_MB to raise it)",
        )


def format_mb(size: int) -> str:
    """Bytes as MB the way ``ESL_MAX_FILE_MB`` counts them (2**20 bytes)."""
    mb = size / 2**20
    return f"{mb:,.0f} MB" if mb >= 100 else f"{mb:.3g} MB"


def iter_zip_members(archive: zipfile.ZipFile) -> Iterator[zipfile.ZipInfo]:
    """File members, without macOS resource-fork junk (``__MACOSX/``, ``._*``)."""
    for info in archive.infolist():
        name = info.filename.replace("\\", "/")
        if info.is_dir() or name.startswith("__MACOSX/") or PurePosixPath(name).name.startswith("._"):
            continue
        yield info


def extract_zip_safely(zip_path: Path, dest: Path, limit: int | None = None) -> Path:
    """Extract a zip archive into ``dest``, refusing members that escape it, links, and archives whose
    unpacked size exceeds the file-size limit. Returns ``dest``."""
    limit = get_settings().max_file_bytes if limit is None else limit
    check_size(zip_path, limit)
    try:
        archive = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as err:
        raise DataImportError(zip_path, f"not a valid zip archive ({err})") from err
    with archive:
        total = 0
        dest_resolved = dest.resolve()
        for info in archive.infolist():
            name = info.filename
            pure = PurePosixPath(name.replace("\\", "/"))
            if pure.is_absolute() or ".." in pure.parts or (len(name) > 1 and name[1] == ":"):
                raise DataImportError(zip_path, f"archive member {name!r} has a path escaping the folder")
            target = (dest / pure).resolve()
            if not target.is_relative_to(dest_resolved):
                raise DataImportError(zip_path, f"archive member {name!r} has a path escaping the folder")
            mode = (info.external_attr >> 16) & 0o170000
            if mode == 0o120000:
                raise DataImportError(
                    zip_path, f"archive member {name!r} is a symbolic link; links are not accepted"
                )
            total += info.file_size
            if total > limit:
                raise DataImportError(
                    zip_path,
                    f"archive unpacks to over {format_mb(limit)}, the file-size limit (set ESL_MAX_FILE_MB to raise it)",
                )
        for info in iter_zip_members(archive):
            target = dest / PurePosixPath(info.filename.replace("\\", "/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(target, "wb") as out:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
    return dest
