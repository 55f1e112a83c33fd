"""The runs half of the workspace: runs (jobs and stored results) and their events (progress, log lines).

:class:`RunTable` opens its connections through its base, :class:`~core.runtime.database.Database`;
:class:`~core.runtime.store.Workspace` builds on it with the datasets and models tables.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

from core.runtime.database import Database
from core.runtime.errors import StoreError
from core.runtime.records import RunEvent, RunRecord
from core.runtime.space import disk_full_error, is_disk_full

__all__ = ["RunTable", "insert_event"]


def _loads(text: str | None) -> Any:
    return json.loads(text) if text else None


def insert_event(
    conn: sqlite3.Connection,
    run_id: str,
    kind: str,
    *,
    step: int | None = None,
    total: int | None = None,
    loss: float | None = None,
    message: str | None = None,
    eta: float | None = None,
) -> None:
    """Append an event inside the caller's transaction; a progress event also moves the run's columns
    (``eta``: seconds left, or unknown — a stale ETA is never kept)."""
    now = time.time()
    conn.execute(
        "INSERT INTO run_events(run_id, ts, kind, step, total, loss, message) VALUES (?,?,?,?,?,?,?)",
        (run_id, now, kind, step, total, loss, message),
    )
    if kind == "progress":
        sets = ["updated=?", "eta=?"]
        params: list[Any] = [now, eta]
        for col, val in (("step", step), ("total", total), ("loss", loss), ("message", message)):
            if val is not None:
                sets.append(f"{col}=?")
                params.append(val)
        conn.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id=?", [*params, run_id])


class RunTable(Database):
    """Runs and run events of the workspace in ``home``; artifacts of a run live in ``runs/<run id>/``."""

    def create_run(
        self,
        kind: str,
        config: dict[str, Any],
        *,
        title: str = "",
        queue: str | None = None,
        status: str = "queued",
        created: float | None = None,
    ) -> str:
        """Insert a run and return its id (also the name of its artifact folder). ``created``: when the
        work was submitted, if earlier than now (a foreground run recorded once it finished); a run
        created ``running`` started then too."""
        now = time.time() if created is None else min(float(created), time.time())
        run_id = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + "-" + uuid.uuid4().hex[:6]
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO runs(id, kind, title, queue, status, config, created, updated, started)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    kind,
                    title,
                    queue,
                    status,
                    json.dumps(config, default=str),
                    now,
                    now,
                    now if status == "running" else None,
                ),
            )
        return run_id

    _RUN_FIELDS = frozenset(
        {
            "status",
            "result",
            "error",
            "pid",
            "cancel_requested",
            "step",
            "total",
            "loss",
            "message",
            "started",
            "finished",
            "title",
            "config",
        }
    )

    def update_run(
        self, run_id: str, *, only_if_status: tuple[str, ...] | None = None, **fields: Any
    ) -> bool:
        """Update columns of a run; with ``only_if_status`` the update happens only from those states.
        Returns whether a row changed."""
        unknown = set(fields) - self._RUN_FIELDS
        if unknown:
            raise StoreError(f"Unknown run fields: {sorted(unknown)}")
        values = {
            k: (json.dumps(v, default=str) if k in ("result", "config") and v is not None else v)
            for k, v in fields.items()
        }
        if "cancel_requested" in values:
            values["cancel_requested"] = int(bool(values["cancel_requested"]))
        values["updated"] = time.time()
        sets = ", ".join(f"{k}=?" for k in values)
        sql = f"UPDATE runs SET {sets} WHERE id=?"
        params: list[Any] = [*values.values(), run_id]
        if only_if_status:
            sql += f" AND status IN ({','.join('?' * len(only_if_status))})"
            params.extend(only_if_status)
        with self.transaction() as conn:
            cur = conn.execute(sql, params)
            return cur.rowcount > 0

    def _run_from_row(self, row: sqlite3.Row) -> RunRecord:
        return RunRecord(
            id=row["id"],
            kind=row["kind"],
            title=row["title"],
            queue=row["queue"],
            status=row["status"],
            config=_loads(row["config"]) or {},
            result=_loads(row["result"]),
            error=row["error"],
            pid=row["pid"],
            cancel_requested=bool(row["cancel_requested"]),
            step=row["step"],
            total=row["total"],
            loss=row["loss"],
            message=row["message"],
            created=row["created"],
            started=row["started"],
            finished=row["finished"],
            updated=row["updated"],
            eta_at_update=row["eta"],
        )

    def get_run(self, run_id: str) -> RunRecord | None:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        return self._run_from_row(row) if row else None

    def list_runs(
        self,
        kind: str | tuple[str, ...] | None = None,
        status: tuple[str, ...] | None = None,
        limit: int = 500,
    ) -> list[RunRecord]:
        """Newest first."""
        sql, params = "SELECT * FROM runs", []
        clauses = []
        if kind:
            kinds = (kind,) if isinstance(kind, str) else kind
            clauses.append(f"kind IN ({','.join('?' * len(kinds))})")
            params.extend(kinds)
        if status:
            clauses.append(f"status IN ({','.join('?' * len(status))})")
            params.extend(status)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY created DESC LIMIT ?"
        params.append(limit)
        with self._read() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [self._run_from_row(r) for r in rows]

    def delete_run(self, run_id: str) -> None:
        """Delete a run, its events and its artifact folder (even on a full disk: see :meth:`forget`)."""
        folder = self.home / "runs" / run_id

        def delete(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM run_events WHERE run_id=?", (run_id,))
            conn.execute("DELETE FROM runs WHERE id=?", (run_id,))

        self.forget(delete, free=lambda: shutil.rmtree(folder, ignore_errors=True))
        shutil.rmtree(folder, ignore_errors=True)

    def run_dir(self, run_id: str) -> Path:
        path = self.home / "runs" / run_id
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            if is_disk_full(err, self.home):
                raise disk_full_error(self.home, f"the folder of run {run_id}") from err
            raise
        return path

    def add_event(
        self,
        run_id: str,
        kind: str,
        *,
        step: int | None = None,
        total: int | None = None,
        loss: float | None = None,
        message: str | None = None,
        eta: float | None = None,
    ) -> None:
        """Append a progress point or a log line to a run."""
        with self.transaction("recording progress") as conn:
            insert_event(conn, run_id, kind, step=step, total=total, loss=loss, message=message, eta=eta)

    def events(self, run_id: str, kind: str | None = None, last: int | None = None) -> list[RunEvent]:
        sql = "SELECT ts, kind, step, total, loss, message FROM run_events WHERE run_id=?"
        params: list[Any] = [run_id]
        if kind:
            sql += " AND kind=?"
            params.append(kind)
        sql += " ORDER BY ts DESC, rowid DESC" if last else " ORDER BY ts, rowid"
        if last:
            sql += " LIMIT ?"
            params.append(last)
        with self._read() as conn:
            rows = conn.execute(sql, params).fetchall()
        events = [RunEvent(r["ts"], r["kind"], r["step"], r["total"], r["loss"], r["message"]) for r in rows]
        return list(reversed(events)) if last else events
