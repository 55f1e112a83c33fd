"""Comparisons stored as workspace runs: :func:`save_comparison` writes the report (metrics in SQL, the
record as ``report.json``, one run file per strategy beside it), :func:`load_comparison` reopens it.

Run files are Parquet tables ``(qid, docid, score)`` (:func:`write_run` / :func:`read_run`): every id
comes back as it was — spaces, tabs, newlines, quotes, any Unicode — and every score to the last bit.
Comparisons stored before this format kept TREC files (``<strategy>.trec``); they are still read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import time
from collections.abc import Mapping
from pathlib import Path

from core.evaluate.metrics import read_trec_run, safe_name
from core.evaluate.report import ComparisonReport, StrategyResult
from core.runtime import NotFound, StoreError, Workspace, atomic_write_bytes

__all__ = [
    "REPORT_FILE",
    "RUN_SUFFIX",
    "load_comparison",
    "read_run",
    "run_path",
    "save_comparison",
    "trec_path",
    "write_run",
]

REPORT_FILE = "report.json"
RUN_SUFFIX = ".run.parquet"
Run = Mapping[str, Mapping[str, float]]


def _run_table(run: Run):  # type: ignore[no-untyped-def]
    """The run as an Arrow table, one row per (query, document) in the run's order; a query without
    results is one row with a null document (so it comes back too)."""
    import pyarrow as pa

    qids: list[str] = []
    dids: list[str | None] = []
    scores: list[float | None] = []
    for qid, docs in run.items():
        if not docs:
            qids.append(qid)
            dids.append(None)
            scores.append(None)
        for did, score in docs.items():
            qids.append(qid)
            dids.append(did)
            scores.append(float(score))
    schema = pa.schema([("qid", pa.string()), ("docid", pa.string()), ("score", pa.float64())])
    return pa.table({"qid": qids, "docid": dids, "score": scores}, schema=schema)


def write_run(run: Run, path: Path | str) -> None:
    """Write a run (query id -> {doc id: score}) as a Parquet run file, atomically."""
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(_run_table(run), buf)
    atomic_write_bytes(Path(path), buf.getvalue())


def read_run(path: Path | str) -> dict[str, dict[str, float]]:
    """Read a run file written by :func:`write_run` (ids, order and scores as written)."""
    import pyarrow.parquet as pq

    columns = pq.read_table(Path(path), columns=["qid", "docid", "score"]).to_pydict()
    run: dict[str, dict[str, float]] = {}
    for qid, did, score in zip(columns["qid"], columns["docid"], columns["score"], strict=True):
        docs = run.setdefault(qid, {})
        if did is not None:
            docs[did] = float(score)
    return run


def _file_stem(strategy: str) -> str:
    """A file name for a strategy: its name when that is a safe file name, else the safe name and a short
    hash of the name (``a b`` and ``a_b`` get different files)."""
    safe = safe_name(strategy)
    if safe == strategy and safe not in ("", ".", ".."):
        return safe
    return f"{safe}-{hashlib.blake2s(strategy.encode('utf-8', 'surrogatepass'), digest_size=4).hexdigest()}"


def run_path(ws: Workspace, run_id: str, strategy: str) -> Path:
    """The run file of one strategy of a stored comparison."""
    return ws.home / "runs" / run_id / f"{_file_stem(strategy)}{RUN_SUFFIX}"


def trec_path(ws: Workspace, run_id: str, strategy: str) -> Path:
    """The TREC run file of one strategy of a comparison stored before run files were Parquet."""
    return ws.home / "runs" / run_id / f"{safe_name(strategy)}.trec"


def save_comparison(
    ws: Workspace, rep: ComparisonReport, run_id: str | None = None, title: str | None = None
) -> str:
    """Store a report as a finished ``evaluate`` run (run files in its folder). Returns the run id. A new
    run (no ``run_id``: a foreground comparison) is dated from the report's ``started``, so its ``created``
    and ``elapsed_s`` are those of the work, not of the save."""
    if run_id is None:
        config = {
            "dataset": rep.dataset,
            "split": rep.split,
            "k": rep.k,
            "baseline": rep.baseline,
            "strategies": {n: r.spec for n, r in rep.strategies.items()},
        }
        run_id = ws.create_run(
            "evaluate",
            config,
            title=title or f"Compare on {rep.dataset}/{rep.split}",
            status="running",
            created=rep.started,  # the comparison's true start: elapsed_s is its real run time
        )
    folder = ws.run_dir(run_id)
    for name, res in rep.strategies.items():
        write_run(res.run, run_path(ws, run_id, name))
    record = dataclasses.replace(rep, run_id=run_id).to_record()
    atomic_write_bytes(folder / REPORT_FILE, json.dumps(record, default=float).encode("utf-8"))
    ws.update_run(run_id, status="done", result=rep.to_json(), finished=time.time(), message="done")
    return run_id


def _stored_run(ws: Workspace, run_id: str, strategy: str) -> dict[str, dict[str, float]]:
    path = run_path(ws, run_id, strategy)
    if path.exists():
        return read_run(path)
    legacy = trec_path(ws, run_id, strategy)
    return read_trec_run(legacy) if legacy.exists() else {}


def load_comparison(ws: Workspace, run_id: str) -> ComparisonReport:
    """Reopen a stored comparison."""
    path = ws.home / "runs" / run_id / REPORT_FILE
    if not path.exists():
        raise NotFound(f"Run {run_id!r} has no comparison report.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        strategies = {}
        for name, res in data.pop("strategies").items():
            strategies[name] = StrategyResult(**res, run=_stored_run(ws, run_id, name))
        return ComparisonReport(strategies=strategies, **data)
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as err:
        raise StoreError(
            f"Run {run_id!r} has no readable comparison report ({type(err).__name__}: {err})."
        ) from err
