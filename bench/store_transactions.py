"""Cost of one workspace transaction, before and after the connection rework (one run, same disk):

    flock /tmp/esl-heavy.lock nice -n 5 .venv/bin/python bench/store_transactions.py [--n 300] [--dir DIR]

*Before* is the old pattern, rebuilt here: a new connection per call that switches ``journal_mode=WAL``
and, being the process's only connection, checkpoints the WAL and deletes it when it closes (two fsyncs
and two unlinks per transaction, and the WAL and its shared-memory file made again by the next call).
*After* is :class:`core.runtime.Workspace` as it is: read-only connections for reads, no pragma switch, and
one idle anchor connection per process that keeps the WAL open between transactions. Printed: ms per call
for a progress event (a write), a run lookup (a read) and opening a handle, the ratio before/after, and how
many calls ended in a WAL checkpoint (the fsyncs). ``--dir`` puts the workspace on another disk (fsync is
what differs most between disks: a few µs on tmpfs, ~5-15 ms on a laptop SSD with barriers).
"""

from __future__ import annotations

import argparse
import gc
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.runtime import Workspace
from core.runtime.database import SCHEMA  # the schema script every open used to run


class OldStyle:
    """The connection pattern before: new connection per call, pragmas on each, closed after."""

    def __init__(self, db: Path):
        self.db = db

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db, timeout=30.0, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def add_event(self, run_id: str) -> None:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            now = time.time()
            conn.execute(
                "INSERT INTO run_events(run_id, ts, kind, step, total) VALUES (?,?,?,?,?)",
                (run_id, now, "progress", 1, 2),
            )
            conn.execute("UPDATE runs SET updated=?, step=?, total=? WHERE id=?", (now, 1, 2, run_id))
            conn.execute("COMMIT")
        finally:
            conn.close()

    def get_run(self, run_id: str) -> None:
        conn = self._connect()
        try:
            conn.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        finally:
            conn.close()

    def open(self) -> None:
        conn = self._connect()
        try:
            conn.executescript(SCHEMA)
        finally:
            conn.close()


def measure(call: Callable[[], None], n: int, wal: Path) -> tuple[float, int]:
    """ms per call, and how many calls left no WAL file behind (a checkpoint and delete at close)."""
    checkpoints = 0
    start = time.perf_counter()
    for _ in range(n):
        call()
        checkpoints += not wal.exists()
    return (time.perf_counter() - start) / n * 1000, checkpoints


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="calls per measurement")
    parser.add_argument("--dir", default=None, help="folder for the test workspace (default: a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="esl-bench-store-") as tmp:
        home = Path(tmp) / "ws"
        with Workspace(home) as setup:
            run_id = setup.create_run("sleep", {}, status="running")
        gc.collect()
        wal = home / "workspace.sqlite-wal"
        old = OldStyle(home / "workspace.sqlite")
        before = {
            "write (progress event)": measure(lambda: old.add_event(run_id), args.n, wal),
            "read (run lookup)": measure(lambda: old.get_run(run_id), args.n, wal),
            "open a handle": measure(old.open, max(args.n // 5, 10), wal),
        }
        with Workspace(home) as ws:
            after = {
                "write (progress event)": measure(
                    lambda: ws.add_event(run_id, "progress", step=1, total=2), args.n, wal
                ),
                "read (run lookup)": measure(lambda: ws.get_run(run_id), args.n, wal),
                "open a handle": measure(lambda: Workspace(home), max(args.n // 5, 10), wal),
            }
    rows = {}
    print(f"{'':<24}{'before ms':>10}{'after ms':>10}{'ratio':>8}{'ckpt before':>13}{'ckpt after':>12}")
    for what, (b_ms, b_ck) in before.items():
        a_ms, a_ck = after[what]
        rows[what] = {"before_ms": b_ms, "after_ms": a_ms, "ratio": b_ms / a_ms, "checkpoints": [b_ck, a_ck]}
        print(f"{what:<24}{b_ms:>10.3f}{a_ms:>10.3f}{b_ms / a_ms:>7.1f}x{b_ck:>13}{a_ck:>12}")
    print(json.dumps({"n": args.n, "results": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
