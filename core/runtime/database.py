"""The workspace's SQLite file: its schema and its connections (WAL mode, ``BEGIN IMMEDIATE`` writes).

:class:`Database` is the base of :class:`~core.runtime.runs.RunTable` and so of
:class:`~core.runtime.store.Workspace`: every table's methods open their connections through it.

- **Reads never write.** They use read-only connections (``mode=ro``); the journal mode (WAL) is set once,
  when the file is made, not on every connection; the schema script runs only when ``user_version`` says
  the file is older than :data:`SCHEMA_VERSION`. When the disk is so full that SQLite cannot even make its
  shared-memory index, a read falls back to ``locking_mode=EXCLUSIVE`` (an index in memory, nothing written).
- **Writes are cheap.** Each write is one short ``BEGIN IMMEDIATE`` transaction with ``synchronous=NORMAL``
  (no fsync at commit in WAL mode). What used to cost an fsync per transaction was closing the *last*
  connection, which checkpoints the WAL and deletes it; so each process keeps one idle read-only connection
  per database open (the anchor, shared by every handle on that file and closed with the last of them), and
  WAL pages are checkpointed when the WAL fills (every 1,000 pages) and when the process lets go of the file.
- **A full disk** turns every failed write into one :class:`~core.runtime.errors.DiskFull` (see
  :mod:`core.runtime.space`), and :meth:`Database.forget` lets deletes through (files first, then the
  reserve).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from core.runtime.errors import DiskFull, StoreError, one_line
from core.runtime.space import disk_full_error, is_disk_full, release_reserve

__all__ = ["BUSY_TIMEOUT_S", "SCHEMA", "SCHEMA_VERSION", "Database"]

T = TypeVar("T")
BUSY_TIMEOUT_S = 30.0
SCHEMA_VERSION = 2  # 2: runs.eta (seconds left when the run last reported progress)
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
    updated          REAL,
    eta              REAL
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

# (pid, database path) -> [anchor connection or None, number of open handles]
_ANCHORS: dict[tuple[int, str], list[Any]] = {}
# re-entrant: a handle collected by the garbage collector releases its anchor from a finalizer, which can run
# inside _hold_anchor on the same thread (an allocation while connecting starts a collection); a plain Lock
# deadlocked there
_ANCHORS_LOCK = threading.RLock()


def _hold_anchor(key: tuple[int, str], open_anchor: Callable[[], sqlite3.Connection | None]) -> None:
    with _ANCHORS_LOCK:
        entry = _ANCHORS.setdefault(key, [None, 0])
        entry[1] += 1
        if entry[0] is None:
            entry[0] = open_anchor()


def _release_anchor(key: tuple[int, str]) -> None:
    if key[0] != os.getpid():
        return  # a forked child never closes its parent's connection
    with _ANCHORS_LOCK:
        entry = _ANCHORS.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] <= 0:
            del _ANCHORS[key]
            if entry[0] is not None:
                entry[0].close()
            _checkpoint(key[1])


def _checkpoint(db_path: str) -> None:
    """Copy the WAL into the database file when a process is done with it (the last connection to close
    also deletes the WAL), so the ``.sqlite`` file alone is complete between uses. Best effort."""
    with contextlib.suppress(sqlite3.Error):
        uri = Path(db_path).as_uri() + "?mode=rw"  # never creates a file that is gone
        conn = sqlite3.connect(uri, uri=True, timeout=1.0, isolation_level=None)
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()


# columns added after version 1, for files made before them: (table, column, type)
_ADDED_COLUMNS = (("runs", "eta", "REAL"),)


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    """``ALTER TABLE ... ADD COLUMN`` for each column an older file's tables lack."""
    for table, column, kind in _ADDED_COLUMNS:
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


class Database:
    """Connections to ``workspace.sqlite`` in ``home`` (created, with its tables, when missing).

    Connections are short-lived and writes use ``BEGIN IMMEDIATE``, so several app sessions, worker
    processes and CLI calls can share one workspace. :meth:`close` (or leaving a ``with`` block, or the
    handle being garbage-collected) lets go of the process's anchor connection.
    """

    def __init__(self, home: Path):
        self.home = Path(home).resolve()
        if not self.db_path.exists():
            self._create()
        key = (os.getpid(), str(self.db_path))
        _hold_anchor(key, self._open_anchor)
        self._closer = weakref.finalize(self, _release_anchor, key)
        if self._user_version() < SCHEMA_VERSION:
            self._migrate()

    @property
    def db_path(self) -> Path:
        return self.home / "workspace.sqlite"

    # -- life cycle ---------------------------------------------------------------------------------
    def close(self) -> None:
        """Let go of this handle's share of the anchor connection (every other connection is closed already)."""
        self._closer()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.home,))

    # -- connections --------------------------------------------------------------------------------
    def _connect(
        self, *, readonly: bool = False, exclusive: bool = False, any_thread: bool = False
    ) -> sqlite3.Connection:
        """A connection; ``readonly`` ones cannot write. ``exclusive``: the WAL index lives in memory, so no
        shared-memory file has to be made (SQLite takes that lock only on a writable handle, so a read-only
        exclusive connection is a writable one with ``query_only``). ``any_thread``: closed by another
        thread than the one that made it (the anchor)."""
        uri = self.db_path.as_uri() + ("?mode=ro" if readonly and not exclusive else "")
        conn = sqlite3.connect(
            uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=not any_thread
        )
        conn.row_factory = sqlite3.Row
        if exclusive:
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        if readonly and exclusive:
            conn.execute("PRAGMA query_only=1")
        if not readonly:
            conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _open_anchor(self) -> sqlite3.Connection | None:
        """The idle read-only connection that keeps the WAL open between transactions (None when the disk
        is too full to open one: the process then works without it)."""
        conn = None
        try:
            conn = self._connect(readonly=True, any_thread=True)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.Error:
            if conn is not None:
                conn.close()
            return None

    def _reader(self) -> sqlite3.Connection:
        """A read-only connection that has read once (so a full disk shows here, not in the caller)."""
        conn = self._connect(readonly=True)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:
            conn.close()
        conn = self._connect(readonly=True, exclusive=True)  # full disk: no shared-memory file needed
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except BaseException:
            conn.close()
            raise

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection for reading, closed afterwards."""
        try:
            conn = self._reader()
            try:
                yield conn
            finally:
                conn.close()
        except sqlite3.Error as err:
            raise self.store_error(err, "reading the workspace") from err

    @contextlib.contextmanager
    def transaction(self, doing: str = "writing to the workspace") -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): committed on success, rolled back on error. A full disk
        raises :class:`~core.runtime.errors.DiskFull`; ``doing`` names the write in its message."""
        try:
            conn = self._connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                conn.close()
        except sqlite3.Error as err:
            raise self.store_error(err, doing) from err

    def forget(self, delete: Callable[[sqlite3.Connection], T], free: Callable[[], object]) -> T:
        """Run the delete ``delete(conn)`` in a transaction, even on a full disk: when it finds no space,
        ``free()`` removes the files first and the reserve is given up, and it runs once more."""
        try:
            with self.transaction("deleting") as conn:
                return delete(conn)
        except DiskFull:
            free()
            release_reserve(self.home)
            with self.transaction("deleting") as conn:
                return delete(conn)

    def store_error(self, err: BaseException, doing: str) -> StoreError:
        """The one-line :class:`StoreError` of a failed SQLite call (a full disk: :class:`DiskFull`)."""
        if is_disk_full(err, self.home):
            return disk_full_error(self.home, doing)
        name = getattr(err, "sqlite_errorname", "")
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return StoreError(
                f"The workspace database {self.db_path} stayed locked by another process for "
                f"{BUSY_TIMEOUT_S:.0f} s while {doing}; try again."
            )
        if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_CANTOPEN", "SQLITE_IOERR")):
            return StoreError(f"The workspace database {self.db_path} cannot be used: {one_line(err)}.")
        if isinstance(err, sqlite3.OperationalError | sqlite3.IntegrityError):
            raise err  # a bug in our SQL keeps its traceback
        return StoreError(f"Workspace database error while {doing}: {one_line(err)}.")

    # -- schema -------------------------------------------------------------------------------------
    def _set_wal(self, doing: str) -> None:
        try:
            conn = self._connect()
            try:
                conn.execute("PRAGMA journal_mode=WAL")  # persistent: set once, not on every connection
            finally:
                conn.close()
        except sqlite3.Error as err:
            raise self.store_error(err, doing) from err

    def _create(self) -> None:
        self._set_wal("creating the workspace")

    def _user_version(self) -> int:
        with self._read() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        """Create the tables (a new file) or add what an older file lacks, then stamp the version."""
        try:
            self._set_wal("opening the workspace")
            with self.transaction("creating the workspace tables") as conn:
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                _add_missing_columns(conn)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except DiskFull:
            with self._read() as conn:
                ready = conn.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0]
            if ready < 4:
                raise  # a workspace without its tables cannot be used; one that has them can be read
