"""The workspace's SQLite file: its schema and short-lived connections (WAL mode, ``BEGIN IMMEDIATE`` writes).

:class:`Database` is the base of :class:`~core.runtime.runs.RunTable` and so of
:class:`~core.runtime.store.Workspace`: every table's methods open their connections through it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

__all__ = ["SCHEMA", "Database"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    name     TEXT PRIMARY KEY,
    kind     TEXT NOT NULL,
    folder   TEXT NOT NULL UNIQUE,
    summary  TEXT NOT NULL,
    source   TEXT,
    created  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS models (
    name     TEXT PRIMARY KEY,
    kind     TEXT NOT NULL,
    path     TEXT NOT NULL,
    base     TEXT,
    meta     TEXT NOT NULL DEFAULT '{}',
    run_id   TEXT,
    created  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    title            TEXT NOT NULL DEFAULT '',
    queue            TEXT,
    status           TEXT NOT NULL,
    config           TEXT NOT NULL DEFAULT '{}',
    result           TEXT,
    error            TEXT,
    pid              INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    step             INTEGER,
    total            INTEGER,
    loss             REAL,
    message          TEXT,
    created          REAL NOT NULL,
    started          REAL,
    finished         REAL,
    updated          REAL
);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs(status, created);
CREATE TABLE IF NOT EXISTS run_events (
    run_id   TEXT NOT NULL,
    ts       REAL NOT NULL,
    kind     TEXT NOT NULL,
    step     INTEGER,
    total    INTEGER,
    loss     REAL,
    message  TEXT
);
CREATE INDEX IF NOT EXISTS run_events_by_run ON run_events(run_id, ts);
"""


class Database:
    """Connections to ``workspace.sqlite`` in ``home`` (created, with its tables, when missing).

    Connections are short-lived and writes use ``BEGIN IMMEDIATE``, so several app sessions, worker
    processes and CLI calls can share one workspace.
    """

    def __init__(self, home: Path):
        self.home = home
        with self._connect() as conn:
            conn.executescript(SCHEMA)

    @property
    def db_path(self) -> Path:
        return self.home / "workspace.sqlite"

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path, timeout=30.0, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A connection for reading, closed afterwards."""
        conn = self._connect()
        try:
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): committed on success, rolled back on error."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()
