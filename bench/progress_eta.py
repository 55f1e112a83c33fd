"""ETA honesty: the ETA a user sees at 50 % of a job against the real time that was left.

Runs a few jobs in this process with a reporter that records every progress record and when it came — a
comparison (BM25, dense, hybrid) on a SciFact slice, an ``encode`` job on the same slice and a short
contrastive training — in a fresh workspace (nothing cached, so the work is real). For each, the ETA is
the one ``python -m core`` prints (:func:`core.cli.line_printer`: the record's own ETA from its rate, else
extrapolated from the share done), taken at the first record at or past 50 %, and compared with the real
remaining time of that bar (for a training job: its training steps, whose bar is the longest; mining and
the before/after evaluation have bars and ETAs of their own); the ratio must lie within [0.5, 2]. Writes
``bench/results/progress_eta.txt``.

    flock /tmp/esl-heavy.lock nice -n 5 .venv/bin/python bench/progress_eta.py [--docs 600] [--jobs compare,encode,train]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.cli import build_parser
from core.cli.train import job_config
from core.data import resolve_dataset
from core.encoding import EncodeJob
from core.evaluate import CompareOptions, run_comparison
from core.runtime import Progress, RateTracker, Workspace, jobs
from tests.slices import write_scifact_slice

OUT = REPO / "bench" / "results" / "progress_eta.txt"


class Recorder:
    """Every progress record with its time; the ETA shown for it, as the CLI computes it."""

    def __init__(self) -> None:
        self.records: list[tuple[float, Progress, float | None]] = []
        self.trackers: dict[str, RateTracker] = {}
        self.start = time.perf_counter()

    def __call__(self, p: Progress) -> None:
        if p.is_log or not p.total:
            return
        tracker = self.trackers.setdefault(p.stage, RateTracker())
        eta = p.eta_s
        if eta is None and 0 < p.fraction < 1 and tracker.elapsed() > 0:
            eta = tracker.elapsed() * (1 - p.fraction) / p.fraction
        self.records.append((time.perf_counter(), p, eta))

    def at_half(
        self, watched: Callable[[Progress], bool], end: float
    ) -> tuple[float, float | None, float, float, str]:
        """(fraction, ETA shown, real remaining s of the watched bar, of the job, message) at the first
        watched record at or past 50 %; the watched bar ends at its last record."""
        mine = [(t, p, eta) for t, p, eta in self.records if watched(p)]
        if not mine:
            return 1.0, None, 0.0, 0.0, "no watched record"
        stage_end = mine[-1][0]
        for t, p, eta in mine:
            if p.fraction >= 0.5:
                return p.fraction, eta, stage_end - t, end - t, p.message
        return 1.0, None, 0.0, 0.0, "no record at 50 %"


def _compare(ws: Workspace, data: str, rec: Recorder) -> None:
    ds = resolve_dataset(ws, data, kind="retrieval")
    options = CompareOptions(strategies=("bm25", "dense", "hybrid"))
    run_comparison(ds, "test", options.specs(ds.splits), ws=ws, progress=rec)


def _encode(ws: Workspace, data: str, rec: Recorder) -> None:
    job = EncodeJob(dataset=data)
    run = jobs.run_inline(ws, "encode", job.to_dict(), title="bench encode", watch=rec)
    assert run.status == "done", run.error


def _train(ws: Workspace, data: str, rec: Recorder) -> None:
    args = build_parser().parse_args(["train", "contrastive", "--dataset", data, "--max-steps", "12"])
    run = jobs.run_inline(ws, "adapt", job_config(args, data), title="bench train", watch=rec)
    assert run.status == "done", run.error


JOBS = {"compare": _compare, "encode": _encode, "train": _train}
# the bar and ETA a user watches: the comparison's one bar; the encode job's; a training job's training
# steps (its mining and before/after evaluation are stages of their own, each with its own ETA)
WATCHED = {
    "compare": ("the comparison", lambda p: p.stage == "compare"),
    "encode": ("the encode job", lambda p: p.stage == "job"),
    "train": ("training steps", lambda p: p.stage == "job" and p.message.startswith("step ")),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=600, help="extra SciFact documents in the slice")
    parser.add_argument("--test", type=int, default=40, help="test queries in the slice")
    parser.add_argument("--jobs", default="compare,encode,train")
    args = parser.parse_args()
    data_dir = Path(os.environ.get("ESL_DATA_DIR", "/work/shared/data"))
    lines = []
    with tempfile.TemporaryDirectory(prefix="esl-eta-") as tmp:
        os.environ["ESL_HOME"] = str(Path(tmp) / "home")  # fresh workspace: no cached vectors
        folder = write_scifact_slice(
            data_dir, Path(tmp) / "slice", train=20, test=args.test, extra_docs=args.docs
        )
        for name in args.jobs.split(","):
            ws = Workspace(Path(os.environ["ESL_HOME"]))
            rec = Recorder()
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            JOBS[name](ws, str(folder), rec)
            end = time.perf_counter()
            what, watched = WATCHED[name]
            frac, eta, real, job_left, message = rec.at_half(watched, end)
            ratio = (eta / real) if eta is not None and real > 0 else float("nan")
            ok = 0.5 <= ratio <= 2.0
            shown = eta if eta is not None else float("nan")
            line = (
                f"{name:<8} total {end - t0:7.1f}s  {what} at {frac:5.1%}: ETA shown {shown:7.1f}s"
                f"  real remaining {real:7.1f}s  ratio {ratio:5.2f}  {'OK' if ok else 'OUT OF [0.5, 2]'}"
                f"  (job left {job_left:.1f}s; load {load:.2f}; at: {message[:60]})"
            )
            print(line, flush=True)
            lines.append(line)
    header = (
        f"# bench/progress_eta.py: ETA shown at 50 % vs real remaining time (SciFact slice: {args.test} test "
        f"queries, {args.docs} extra docs; {os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})"
    )
    OUT.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
