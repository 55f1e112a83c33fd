"""Text of user files: lines decoded one at a time (UTF-8, a BOM dropped; UTF-16 with its BOM; lines that
are not UTF-8 read as Latin-1 with one warning), NUL bytes and over-long lines refused, so that a file
is never held whole as bytes and as text at once.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path

from core.runtime import DataImportError, format_mb, open_user_file

__all__ = ["MAX_LINE_BYTES", "decode_all", "read_text", "text_lines"]

MAX_LINE_BYTES = 16 * 2**20  # one line (or one CSV field) of a text table


def _latin1_note(path: Path, line: int, byte: int) -> str:
    return (
        f"{path.name}, line {line}: not valid UTF-8 (byte 0x{byte:02x}); read the lines that are not UTF-8 "
        "as Latin-1 — check accented characters"
    )


def _too_long(path: Path, line: int) -> DataImportError:
    return DataImportError(
        path, f"line is over {format_mb(MAX_LINE_BYTES)} long; split it or use Parquet for such texts", line
    )


def _nul(path: Path, line: int) -> DataImportError:
    return DataImportError(
        path, "contains a NUL byte: this is a binary file, not CSV, TSV or JSONL text", line
    )


def text_lines(fh: io.BufferedReader, path: Path, warnings: list[str]) -> Iterator[tuple[int, str]]:
    """Decoded lines with their numbers (line ends kept): UTF-8 (a BOM is dropped), UTF-16 when the file
    starts with its BOM, else the lines that are not UTF-8 read as Latin-1 with one warning. NUL bytes
    and lines over :data:`MAX_LINE_BYTES` are refused."""
    head = fh.peek(3)[:3]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        yield from _utf16_lines(fh, path)
        return
    if head == b"\xef\xbb\xbf":
        fh.read(3)
    lineno, latin = 0, False
    while raw := fh.readline(MAX_LINE_BYTES + 1):
        if len(raw) > MAX_LINE_BYTES:
            raise _too_long(path, lineno + 1)
        for part in raw.splitlines(keepends=True) if b"\r" in raw else (raw,):
            lineno += 1
            if b"\x00" in part:
                raise _nul(path, lineno)
            try:
                yield lineno, part.decode("utf-8")
            except UnicodeDecodeError as err:
                if not latin:
                    warnings.append(_latin1_note(path, lineno, part[err.start]))
                    latin = True
                yield lineno, part.decode("latin-1")


def _utf16_lines(fh: io.BufferedReader, path: Path) -> Iterator[tuple[int, str]]:
    text = io.TextIOWrapper(fh, encoding="utf-16", newline="")
    lineno = 0
    try:
        while line := text.readline(MAX_LINE_BYTES // 2 + 1):
            lineno += 1
            if len(line) > MAX_LINE_BYTES // 2:
                raise _too_long(path, lineno)
            if "\x00" in line:
                raise _nul(path, lineno)
            yield lineno, line
    except UnicodeError as err:
        raise DataImportError(
            path, f"starts with a UTF-16 byte-order mark but is not valid UTF-16 ({err})", lineno + 1
        ) from None
    finally:
        with contextlib.suppress(ValueError):  # the file may be closed already
            text.detach()


def decode_all(path: Path, raw: bytes, warnings: list[str]) -> str:
    """A whole small file as text, by the same rules as :func:`text_lines`."""
    lines = text_lines(io.BufferedReader(io.BytesIO(raw)), path, warnings)  # type: ignore[arg-type]
    return "".join(text for _, text in lines)


def read_text(path: Path | str, warnings: list[str] | None = None) -> str:
    """Decode a (small) text file: UTF-8 (a BOM is dropped), UTF-16 with a BOM, else Latin-1 lines with a
    warning. Bounded by the size limit; regular files only."""
    path = Path(path)
    with open_user_file(path) as fh:
        raw = fh.read()
    return decode_all(path, raw, warnings if warnings is not None else [])
