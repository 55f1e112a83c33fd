"""Comparisons stored as workspace runs: :func:`save_comparison` writes the report (metrics in SQL, the
record as ``report.json``, one TREC run file per strategy beside it), :func:`load_comparison` reopens it."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from core.evaluate.metrics import read_trec_run, safe_name, write_trec_run
from core.evaluate.report import ComparisonReport, StrategyResult
from core.runtime import NotFound, StoreError, Workspace

__all__ = ["REPORT_FILE", "load_comparison", "save_comparison", "trec_path"]

REPORT_FILE = "report.json"


def save_comparison(
    ws: Workspace, rep: ComparisonReport, run_id: str | None = None, title: str | None = None
) -> str:
    """Store a report as a finished ``evaluate`` run (TREC files in its folder). Returns the run id."""
    if run_id is None:
        config = {
            "dataset": rep.dataset,
            "split": rep.split,
            "k": rep.k,
            "baseline": rep.baseline,
            "strategies": {n: r.spec for n, r in rep.strategies.items()},
        }
        run_id = ws.create_run(
            "evaluate", config, title=title or f"Compare on {rep.dataset}/{rep.split}", status="running"
        )
    folder = ws.run_dir(run_id)
    for name, res in rep.strategies.items():
        write_trec_run(res.run, folder / f"{safe_name(name)}.trec", tag=safe_name(name))
    record = dataclasses.replace(rep, run_id=run_id).to_record()
    (folder / REPORT_FILE).write_text(json.dumps(record, default=float), encoding="utf-8")
    ws.update_run(run_id, status="done", result=rep.to_json(), finished=time.time(), message="done")
    return run_id


def load_comparison(ws: Workspace, run_id: str) -> ComparisonReport:
    """Reopen a stored comparison."""
    path = ws.home / "runs" / run_id / REPORT_FILE
    if not path.exists():
        raise NotFound(f"Run {run_id!r} has no comparison report.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        strategies = {}
        for name, res in data.pop("strategies").items():
            trec = trec_path(ws, run_id, name)
            strategies[name] = StrategyResult(**res, run=read_trec_run(trec) if trec.exists() else {})
        return ComparisonReport(strategies=strategies, **data)
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as err:
        raise StoreError(
            f"Run {run_id!r} has no readable comparison report ({type(err).__name__}: {err})."
        ) from err


def trec_path(ws: Workspace, run_id: str, strategy: str) -> Path:
    """The TREC run file of one strategy of a stored comparison."""
    return ws.home / "runs" / run_id / f"{safe_name(strategy)}.trec"
