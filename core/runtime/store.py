"""The workspace: one SQLite database (WAL mode) plus files beside it.

Layout of ``ESL_HOME``::

    workspace.sqlite        datasets, models, runs, run events
    datasets/<folder>/      Parquet files of one imported dataset (folder name is random; names live in SQL)
    models/<name>/          models trained in the app
    runs/<run id>/          artifacts of a run (TREC files, charts, exported models)
    cache/                  embedding cache, ONNX exports, numba cache
    tmp/                    staging area: everything is written here first, then renamed into place
    workspace.reserve       pre-allocated space given up so that deletes work on a full disk

Every write is atomic: files are staged in ``tmp/`` and moved into place inside the same SQL transaction
that records them, so a failed import or a crash leaves no half-written dataset or model behind; what a
killed process leaves (staging folders named after their owner, unpacked archives, folders never recorded)
is removed by :meth:`Workspace.clean_up` at the next start.
:class:`Workspace` holds the datasets and models tables; it inherits the runs tables from
:class:`~core.runtime.runs.RunTable` and the connections (short-lived, ``BEGIN IMMEDIATE`` writes, shared
safely by app sessions, workers and CLI calls) from :class:`~core.runtime.database.Database`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.runtime.config import get_settings
from core.runtime.errors import LabError, StoreError
from core.runtime.leftovers import (
    owner_tag,
    remove_path,
    remove_stale_scratch,
    stale,
    stale_temp_files,
)
from core.runtime.records import DatasetRecord, ModelRecord
from core.runtime.runs import RunTable
from core.runtime.space import disk_full_error, ensure_reserve, is_disk_full

__all__ = ["Workspace", "open_workspace"]

_NAME_RE = re.compile(r"^[\w][\w .,+@()\-]{0,99}$")


class Workspace(RunTable):
    """Handle on one workspace folder: datasets, models and (from :class:`RunTable`) runs. Cheap to
    create; safe to share between threads; a context manager (or :meth:`close`) to let go of it early."""

    def __init__(self, home: Path | str | None = None):
        home = Path(home).expanduser().resolve() if home else get_settings().home
        try:
            for sub in ("datasets", "models", "runs", "cache", "tmp"):
                (home / sub).mkdir(parents=True, exist_ok=True)
        except OSError as err:
            if is_disk_full(err, home):
                raise disk_full_error(home, "creating the workspace") from err
            raise StoreError(f"Cannot create the workspace at {home}: {err.strerror or err}.") from err
        super().__init__(home)

    # -- folders ----------------------------------------------------------------------------------
    def staging_dir(self) -> Path:
        """A fresh folder under ``tmp/`` for staging files before they are moved into place; its name
        carries its owner, so a later start removes it at once if this process dies."""
        path = self.home / "tmp" / f"{int(time.time())}-{owner_tag()}-{uuid.uuid4().hex[:12]}"
        try:
            path.mkdir(parents=True)
        except OSError as err:
            if is_disk_full(err, self.home):
                raise disk_full_error(self.home, "staging files") from err
            raise
        return path

    def cache_dir(self, *parts: str) -> Path:
        path = self.home.joinpath("cache", *parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def cleanup_staging(self, older_than_s: float = 3600.0) -> int:
        """Remove staging folders left by crashed processes: at once when their owner is gone, otherwise
        only when older than ``older_than_s`` (others may be in use). Returns how many."""
        now = time.time()
        return sum(
            remove_path(child)
            for child in (self.home / "tmp").iterdir()
            if stale(child, older_than_s, now=now)
        )

    def clean_up(self) -> dict[str, int]:
        """The start-up clean-up (CLI start, app start): what killed processes left — staging folders,
        unpacked archives, dataset and model folders never recorded, temporary files of atomic writes —
        and the disk reserve made again when there is room. Never raises; returns what was removed."""
        removed: dict[str, int] = {}
        steps: dict[str, Callable[[], int]] = {
            "staging": self.cleanup_staging,
            "scratch": remove_stale_scratch,
            "orphans": self.remove_orphans,
            "temp files": lambda: sum(
                remove_path(p) for p in stale_temp_files([self.home / "cache", self.home / "runs"])
            ),
        }
        for what, step in steps.items():
            try:
                removed[what] = step()
            except (OSError, LabError, sqlite3.Error):
                removed[what] = 0  # best effort: a full or read-only disk must not stop the command
        ensure_reserve(self.home)
        return removed

    def remove_orphans(self) -> int:
        """Remove dataset and model folders that no record points to (a process killed between moving them
        into place and committing). Decided under the write lock, so no import is midway."""
        folders = [p for sub in ("datasets", "models") for p in (self.home / sub).iterdir() if p.is_dir()]
        if not folders or not self._unrecorded(folders, self._recorded_folders_read()):
            return 0
        with self.transaction("removing unrecorded folders") as conn:
            orphans = self._unrecorded(folders, self._recorded_folders(conn))
            return sum(remove_path(p) for p in orphans)

    def _recorded_folders_read(self) -> set[Path]:
        with self._read() as conn:
            return self._recorded_folders(conn)

    def _recorded_folders(self, conn: sqlite3.Connection) -> set[Path]:
        """The folders rows point to. A model's path is matched by its folder name in ``models/``, so a
        workspace moved to another place (its rows still naming the old one) never loses its models."""
        datasets = {self.home / "datasets" / r["folder"] for r in conn.execute("SELECT folder FROM datasets")}
        paths = [Path(r["path"]) for r in conn.execute("SELECT path FROM models")]
        return datasets | {self.home / "models" / p.name for p in paths if p.parent.name == "models"}

    @staticmethod
    def _unrecorded(folders: list[Path], recorded: set[Path]) -> list[Path]:
        return [p for p in folders if p not in recorded and p.exists()]

    @staticmethod
    def check_name(name: str, what: str = "name") -> str:
        name = (name or "").strip()
        if not _NAME_RE.match(name):
            raise StoreError(
                f"Invalid {what} {name!r}: use 1–100 letters, digits, spaces or . , + @ ( ) - _ "
                "and start with a letter or digit."
            )
        return name

    # -- datasets ---------------------------------------------------------------------------------
    def add_dataset(
        self,
        name: str,
        kind: str,
        write_files: Callable[[Path], None],
        summary: dict[str, Any],
        source: str | None = None,
    ) -> DatasetRecord:
        """Store a dataset atomically: ``write_files(folder)`` writes into a staging folder that only
        becomes visible, together with its row, if everything succeeded."""
        name = self.check_name(name, "dataset name")
        if self.get_dataset(name) is not None:
            raise StoreError(
                f"A dataset named {name!r} already exists; choose another name or delete it first."
            )
        stage = self.staging_dir()
        folder = uuid.uuid4().hex
        final = self.home / "datasets" / folder
        try:
            write_files(stage)
            created = time.time()
            with self.transaction(f"saving dataset {name!r}") as conn:
                if conn.execute("SELECT 1 FROM datasets WHERE name=?", (name,)).fetchone():
                    raise StoreError(f"A dataset named {name!r} already exists.")
                conn.execute(
                    "INSERT INTO datasets(name, kind, folder, summary, source, created) VALUES (?,?,?,?,?,?)",
                    (name, kind, folder, json.dumps(summary), source, created),
                )
                os.rename(stage, final)
        except BaseException as err:
            shutil.rmtree(stage, ignore_errors=True)
            if final.exists() and self._dataset_row_by_folder(folder) is None:
                shutil.rmtree(final, ignore_errors=True)
            if isinstance(err, OSError) and is_disk_full(err, self.home):
                raise disk_full_error(self.home, f"saving dataset {name!r}") from err
            raise
        ensure_reserve(self.home)
        return DatasetRecord(name, kind, final, summary, source, created)

    def _dataset_row_by_folder(self, folder: str) -> sqlite3.Row | None:
        with self._read() as conn:
            return conn.execute("SELECT * FROM datasets WHERE folder=?", (folder,)).fetchone()

    def _dataset_from_row(self, row: sqlite3.Row) -> DatasetRecord:
        return DatasetRecord(
            name=row["name"],
            kind=row["kind"],
            folder=self.home / "datasets" / row["folder"],
            summary=json.loads(row["summary"]),
            source=row["source"],
            created=row["created"],
        )

    def get_dataset(self, name: str) -> DatasetRecord | None:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM datasets WHERE name=?", (name,)).fetchone()
        return self._dataset_from_row(row) if row else None

    def list_datasets(self, kind: str | None = None) -> list[DatasetRecord]:
        with self._read() as conn:
            if kind:
                rows = conn.execute("SELECT * FROM datasets WHERE kind=? ORDER BY name", (kind,)).fetchall()
            else:
                rows = conn.execute("SELECT * FROM datasets ORDER BY name").fetchall()
        return [self._dataset_from_row(r) for r in rows]

    def rename_dataset(self, old: str, new: str) -> None:
        new = self.check_name(new, "dataset name")
        with self.transaction() as conn:
            if not conn.execute("SELECT 1 FROM datasets WHERE name=?", (old,)).fetchone():
                raise StoreError(f"No dataset named {old!r}.")
            if conn.execute("SELECT 1 FROM datasets WHERE name=?", (new,)).fetchone():
                raise StoreError(f"A dataset named {new!r} already exists.")
            row = conn.execute("SELECT summary FROM datasets WHERE name=?", (old,)).fetchone()
            summary = json.loads(row["summary"])
            if isinstance(summary, dict) and "name" in summary:
                summary["name"] = new
            conn.execute(
                "UPDATE datasets SET name=?, summary=? WHERE name=?", (new, json.dumps(summary), old)
            )

    def delete_dataset(self, name: str) -> None:
        """Delete a dataset and its files (even on a full disk: see :meth:`forget`)."""
        record = self.get_dataset(name)
        if record is None:
            raise StoreError(f"No dataset named {name!r}.")

        def delete(conn: sqlite3.Connection) -> None:
            if not conn.execute("DELETE FROM datasets WHERE name=?", (name,)).rowcount:
                raise StoreError(f"No dataset named {name!r}.")

        self.forget(delete, free=lambda: shutil.rmtree(record.folder, ignore_errors=True))
        shutil.rmtree(record.folder, ignore_errors=True)

    # -- models -----------------------------------------------------------------------------------
    def register_model(
        self,
        name: str,
        kind: str,
        path: str | Path,
        *,
        base: str | None = None,
        meta: dict[str, Any] | None = None,
        run_id: str | None = None,
        replace: bool = False,
    ) -> ModelRecord:
        """Record a model (a folder on disk) under ``name``."""
        name = self.check_name(name, "model name")
        created = time.time()
        with self.transaction() as conn:
            exists = conn.execute("SELECT 1 FROM models WHERE name=?", (name,)).fetchone()
            if exists and not replace:
                raise StoreError(f"A model named {name!r} is already registered.")
            conn.execute(
                "INSERT OR REPLACE INTO models(name, kind, path, base, meta, run_id, created) VALUES (?,?,?,?,?,?,?)",
                (name, kind, str(path), base, json.dumps(meta or {}), run_id, created),
            )
        return ModelRecord(name, kind, str(path), base, meta or {}, run_id, created)

    def install_model(
        self,
        name: str,
        kind: str,
        staged_folder: Path,
        *,
        base: str | None = None,
        meta: dict[str, Any] | None = None,
        run_id: str | None = None,
    ) -> ModelRecord:
        """Move a fully written model folder into ``models/`` and register it, atomically."""
        name = self.check_name(name, "model name")
        final = self.home / "models" / re.sub(r"[^\w.\-]+", "_", name)
        if final.exists():
            final = final.with_name(f"{final.name}-{uuid.uuid4().hex[:6]}")
        created = time.time()
        try:
            with self.transaction(f"registering model {name!r}") as conn:
                if conn.execute("SELECT 1 FROM models WHERE name=?", (name,)).fetchone():
                    raise StoreError(f"A model named {name!r} is already registered.")
                conn.execute(
                    "INSERT INTO models(name, kind, path, base, meta, run_id, created) VALUES (?,?,?,?,?,?,?)",
                    (name, kind, str(final), base, json.dumps(meta or {}), run_id, created),
                )
                shutil.move(str(staged_folder), final)
        except BaseException as err:
            if final.exists() and self.get_model(name) is None:
                shutil.rmtree(final, ignore_errors=True)
            if isinstance(err, OSError) and is_disk_full(err, self.home):
                raise disk_full_error(self.home, f"installing model {name!r}") from err
            raise
        ensure_reserve(self.home)
        return ModelRecord(name, kind, str(final), base, meta or {}, run_id, created)

    def _model_from_row(self, row: sqlite3.Row) -> ModelRecord:
        return ModelRecord(
            name=row["name"],
            kind=row["kind"],
            path=row["path"],
            base=row["base"],
            meta=json.loads(row["meta"] or "{}"),
            run_id=row["run_id"],
            created=row["created"],
        )

    def get_model(self, name: str) -> ModelRecord | None:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM models WHERE name=?", (name,)).fetchone()
        return self._model_from_row(row) if row else None

    def list_models(self, kind: str | None = None) -> list[ModelRecord]:
        with self._read() as conn:
            if kind:
                rows = conn.execute("SELECT * FROM models WHERE kind=? ORDER BY created", (kind,)).fetchall()
            else:
                rows = conn.execute("SELECT * FROM models ORDER BY created").fetchall()
        return [self._model_from_row(r) for r in rows]

    def delete_model(self, name: str, *, delete_files: bool = True) -> None:
        """Unregister a model; its folder goes too when it lives in ``models/`` (with ``delete_files=False``
        the caller must move it out of ``models/``: the next start removes unrecorded folders there)."""
        record = self.get_model(name)
        if record is None:
            raise StoreError(f"No model named {name!r}.")
        path = Path(record.path)
        owned = delete_files and path.is_relative_to(self.home / "models")

        def delete(conn: sqlite3.Connection) -> None:
            if not conn.execute("DELETE FROM models WHERE name=?", (name,)).rowcount:
                raise StoreError(f"No model named {name!r}.")

        self.forget(delete, free=lambda: owned and shutil.rmtree(path, ignore_errors=True))
        if owned:
            shutil.rmtree(path, ignore_errors=True)


def open_workspace(home: Path | str | None = None) -> Workspace:
    """Open (creating if needed) the workspace at ``home`` or ``ESL_HOME``."""
    return Workspace(home)
