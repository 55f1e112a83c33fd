"""Files: atomic writes, size limits, bounded reads of user files and safe archive extraction.

Everything the workspace writes goes through :func:`atomic_write_bytes`, so readers see the old file or
the new one, never a mix. Every file a user brings is opened with :func:`open_user_file` (regular files
only: a FIFO, a device or a socket is refused before anything is read, and no read goes past the size
limit) and archives go through :func:`extract_zip_safely` (no path escapes, no links, no encryption,
streamed in bounded chunks with the running total checked against the limit).
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import lzma
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
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
    "open_user_file",
    "user_path_kind",
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
    try:
        size = path.stat().st_size
    except OSError as err:
        raise _os_error(path, err) from None
    if size > limit:
        raise _too_big(path, size, limit)


def _too_big(path: Path, size: int | None, limit: int) -> DataImportError:
    what = f"file is {format_mb(size)}, over" if size is not None else "file grew over"
    return DataImportError(path, f"{what} the {format_mb(limit)} limit (set ESL_MAX_FILE_MB to raise it)")


_OS_PROBLEMS = {
    errno.ENOENT: "file not found",
    errno.ENOTDIR: "file not found (a part of the path is not a folder)",
    errno.EACCES: "cannot be read (permission denied)",
    errno.EPERM: "cannot be read (permission denied)",
    errno.ELOOP: "is a symbolic link that loops or goes too deep",
    errno.ENAMETOOLONG: "the file name is too long",
    errno.ENXIO: "is a socket or a device without a reader, not a regular file",
}


def _os_error(path: Path, err: OSError) -> DataImportError:
    problem = _OS_PROBLEMS.get(err.errno or 0) or f"cannot be read ({err.strerror or err})"
    return DataImportError(path, problem)


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a plain file"


def user_path_kind(path: Path) -> str:
    """``"file"``, ``"dir"`` or ``"missing"`` for a path a user gave (links followed); anything else (a
    FIFO, a device, a socket, an unreadable path) is a DataImportError naming it."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    except OSError as err:
        raise _os_error(path, err) from None
    except ValueError:  # an embedded NUL byte
        raise DataImportError(path, "the file name contains a NUL character") from None
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    raise DataImportError(path, f"is {_kind_of(mode)}, not a regular file")


class _BoundedFile(io.RawIOBase):
    """A raw file that refuses to read past ``limit`` bytes (a file growing while read, a lying size)."""

    def __init__(self, fd: int, path: Path, limit: int):
        super().__init__()
        self._fd, self._path, self._limit = fd, path, limit

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        pos = os.lseek(self._fd, 0, os.SEEK_CUR)
        want = min(len(buffer), self._limit + 1 - pos)
        if want <= 0:
            raise _too_big(self._path, None, self._limit)
        got = os.readv(self._fd, [memoryview(buffer)[:want]])
        if pos + got > self._limit:
            raise _too_big(self._path, None, self._limit)
        return got

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return os.lseek(self._fd, offset, whence)

    def tell(self) -> int:
        return os.lseek(self._fd, 0, os.SEEK_CUR)

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        super().close()


_OPEN_FLAGS = os.O_RDONLY | sum(
    getattr(os, f, 0) for f in ("O_NONBLOCK", "O_NOCTTY", "O_CLOEXEC", "O_BINARY")
)


def open_user_file(path: Path | str, limit: int | None = None) -> io.BufferedReader:
    """Open a file a user brought for reading, in binary: regular files only (checked on the open file,
    so a FIFO never blocks and a link to ``/dev/zero`` is refused), at most ``limit`` bytes
    (``ESL_MAX_FILE_MB`` by default) — every read is bounded by it. Problems are DataImportErrors."""
    path = Path(path)
    limit = get_settings().max_file_bytes if limit is None else limit
    try:
        fd = os.open(path, _OPEN_FLAGS)  # non-blocking: opening a FIFO must not wait for a writer
    except OSError as err:
        raise _os_error(path, err) from None
    except ValueError:
        raise DataImportError(path, "the file name contains a NUL character") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DataImportError(path, f"is {_kind_of(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise _too_big(path, info.st_size, limit)
        os.set_blocking(fd, True)
        return io.BufferedReader(_BoundedFile(fd, path, limit), buffer_size=1 << 20)
    except BaseException:
        os.close(fd)
        raise


def format_mb(size: int) -> str:
    """Bytes as MB the way ``ESL_MAX_FILE_MB`` counts them (2**20 bytes)."""
    mb = size / 2**20
    return f"{mb:,.0f} MB" if mb >= 100 else f"{mb:.3g} MB"


MAX_ZIP_MEMBERS = 10_000
_ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_UNZIP_ERRORS = (
    OSError,
    zlib.error,
    lzma.LZMAError,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    NotImplementedError,
    RuntimeError,
    ValueError,
)


def _is_junk(name: str) -> bool:
    return name.startswith("__MACOSX/") or PurePosixPath(name).name.startswith("._")


def iter_zip_members(archive: zipfile.ZipFile) -> Iterator[zipfile.ZipInfo]:
    """File members, without macOS resource-fork junk (``__MACOSX/``, ``._*``)."""
    for info in archive.infolist():
        if not info.is_dir() and not _is_junk(info.filename.replace("\\", "/")):
            yield info


def _member_path(zip_path: Path, info: zipfile.ZipInfo, dest_resolved: Path) -> PurePosixPath:
    """The member's relative path, refused when it escapes the folder, is a link, or cannot be unpacked."""
    name = info.filename
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or (len(name) > 1 and name[1] == ":"):
        raise DataImportError(zip_path, f"archive member {name!r} has a path escaping the folder")
    if not (dest_resolved / pure).resolve().is_relative_to(dest_resolved):
        raise DataImportError(zip_path, f"archive member {name!r} has a path escaping the folder")
    mode = (info.external_attr >> 16) & 0o170000
    if mode == stat.S_IFLNK:
        raise DataImportError(zip_path, f"archive member {name!r} is a symbolic link; links are not accepted")
    if mode not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise DataImportError(zip_path, f"archive member {name!r} is {_kind_of(mode)}, not a plain file")
    if info.flag_bits & 0x1:
        raise DataImportError(zip_path, f"archive member {name!r} is encrypted; unpack it yourself first")
    if info.compress_type not in _ZIP_METHODS:
        raise DataImportError(
            zip_path, f"archive member {name!r} uses an unsupported compression method ({info.compress_type})"
        )
    if not pure.parts:
        raise DataImportError(zip_path, f"archive member {name!r} has an empty name")
    if any(len(part.encode("utf-8", "surrogateescape")) > 255 for part in pure.parts):
        raise DataImportError(zip_path, f"archive member {name[:80]!r}… has a name too long to unpack")
    if "\x00" in name:
        raise DataImportError(zip_path, f"archive member {name!r} has a NUL character in its name")
    return pure


def _plan_extraction(
    zip_path: Path, archive: zipfile.ZipFile, dest: Path, limit: int
) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Check every member before anything is written: paths, links, encryption, methods, name clashes,
    duplicates, the number of members and their declared total size."""
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise DataImportError(
            zip_path, f"archive has {len(infos):,} members, over the {MAX_ZIP_MEMBERS:,} accepted"
        )
    dest_resolved = dest.resolve()
    files: dict[PurePosixPath, str] = {}
    folders: set[PurePosixPath] = set()
    plan, total = [], 0
    for info in infos:
        pure = _member_path(zip_path, info, dest_resolved)
        folders.update(pure.parents if not info.is_dir() else (pure, *pure.parents))
        if info.is_dir() or _is_junk(info.filename.replace("\\", "/")):
            continue
        if pure in files:
            raise DataImportError(zip_path, f"archive member {info.filename!r} appears twice")
        files[pure] = info.filename
        total += info.file_size
        if total > limit:
            raise _unpacks_over(zip_path, limit)
        plan.append((info, pure))
    clash = next((files[p] for p in files if p in folders), None)
    if clash is not None:
        raise DataImportError(zip_path, f"archive member {clash!r} is both a file and a folder")
    return plan


def _unpacks_over(zip_path: Path, limit: int) -> DataImportError:
    return DataImportError(
        zip_path,
        f"archive unpacks to over {format_mb(limit)}, the file-size limit (set ESL_MAX_FILE_MB to raise it)",
    )


def _unpack_member(
    zip_path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int
) -> int:
    """Stream one member into ``target`` in 1 MB chunks; returns its size. Stops as soon as the running
    total passes ``budget`` (declared sizes can lie)."""
    written = 0
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as src, open(target, "xb") as out:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > budget:
                    raise _unpacks_over(zip_path, budget)
                out.write(chunk)
    except _UNZIP_ERRORS as err:
        detail = getattr(err, "strerror", None) or str(err) or type(err).__name__
        raise DataImportError(
            zip_path, f"archive member {info.filename!r} cannot be unpacked ({detail})"
        ) from None
    return written


def extract_zip_safely(zip_path: Path, dest: Path, limit: int | None = None) -> Path:
    """Extract a zip archive into ``dest``, streaming: refuses members that escape it, links, encrypted
    members, unknown compression methods, names that clash or are too long, and archives whose unpacked
    size (declared, and counted while writing) exceeds the file-size limit. Returns ``dest``."""
    zip_path = Path(zip_path)
    limit = get_settings().max_file_bytes if limit is None else limit
    with open_user_file(zip_path, limit) as fh:
        try:
            archive = zipfile.ZipFile(fh)
        except _UNZIP_ERRORS as err:
            raise DataImportError(zip_path, f"not a valid zip archive ({err})") from None
        with archive:
            total = 0
            for info, pure in _plan_extraction(zip_path, archive, dest, limit):
                total += _unpack_member(zip_path, archive, info, dest / pure, limit - total)
    return dest
