"""The one error base of the library, and the errors every layer shares.

Everything a user (or a file they bring) can cause is a :class:`LabError`: pages catch ``LabError`` and
show its message, the CLI prints it as one ``error: …`` line and exits with code 2. Any other exception is
a bug and keeps its traceback.

Errors that say "bad value" also subclass :class:`ValueError`, errors that say "no such thing" also
subclass :class:`KeyError`, so code written against the built-in types keeps working.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "Cancelled",
    "ConfigError",
    "DataImportError",
    "DiskFull",
    "InvalidInput",
    "LabError",
    "ModelNotAvailable",
    "NotFound",
    "StoreError",
    "one_line",
]


def one_line(text: object) -> str:
    """``text`` with every run of white space (newlines included) folded into one space."""
    return " ".join(str(text).split())


class LabError(Exception):
    """Base of every error a user or their input can cause; ``str(err)`` is the message to show."""


class InvalidInput(LabError, ValueError):
    """A setting, argument or answer that cannot be used (out of range, unknown choice, contradiction)."""


class ConfigError(InvalidInput):
    """An environment variable or configuration value that cannot be used."""


class NotFound(LabError, KeyError):
    """A name, run, split or file the user asked for that does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class StoreError(LabError):
    """A workspace operation that cannot be done (name taken, unknown name, bad name)."""


class DiskFull(StoreError):
    """A write that found no space left on the workspace's disk; the message says how to free some."""


class ModelNotAvailable(LabError):
    """A model name that cannot be resolved or loaded here; the message says what to do."""


class Cancelled(LabError):
    """Raised inside long work when the user asked to stop it."""


class DataImportError(LabError):
    """A user file cannot be imported. ``str(err)`` is the one-line message shown to the user."""

    def __init__(
        self,
        file: str | Path,
        problem: str,
        line: int | None = None,
        *,
        row_word: str = "line",
        display: str | None = None,
    ):
        self.file = str(file)
        self.line = line
        self.problem = one_line(problem)
        self.row_word = row_word
        self.display = display or Path(self.file).name or self.file
        where = self.display + (f", {row_word} {line}" if line is not None else "")
        super().__init__(f"{where}: {self.problem}")

    def within(self, outer: str) -> DataImportError:
        """The same error, its file shown as ``outer/<file>`` (e.g. a member of an uploaded zip)."""
        return DataImportError(
            self.file, self.problem, self.line, row_word=self.row_word, display=f"{outer}/{self.display}"
        )
