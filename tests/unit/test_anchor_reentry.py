"""A workspace handle collected while another one is opening its connection never deadlocks."""

from __future__ import annotations

import threading

from core.runtime import Workspace, database


def test_a_finalizer_that_runs_while_an_anchor_is_opened_does_not_deadlock(isolated_home, monkeypatch):
    kept = Workspace(isolated_home)
    doomed = [Workspace(isolated_home)]  # nobody else keeps it: its finalizer releases its share
    entry = database._ANCHORS[(database.os.getpid(), str(kept.db_path))]
    entry[0].close()
    entry[0] = None  # the next handle opens the anchor again, under the lock
    real_hold = database._hold_anchor

    def hold_while_collecting(key, open_anchor):
        def opening():
            doomed.clear()  # the last reference goes while the lock is held, as a collection inside
            return open_anchor()  # sqlite3.connect can do it

        return real_hold(key, opening)

    monkeypatch.setattr(database, "_hold_anchor", hold_while_collecting)
    done = threading.Event()

    def open_another():
        Workspace(isolated_home).list_runs()
        done.set()

    threading.Thread(target=open_another, daemon=True).start()
    assert done.wait(timeout=30), "opening a workspace deadlocked on the anchor lock"
    assert kept.list_runs() == []
