"""A second job's start-up, warm worker vs cold worker, measured in the same run (issue 17 item 4).

Start-up is the time from ``jobs.submit`` to the job's first progress event in the store (the event's own
timestamp, written by the worker, so the polling of this script does not count). Two job kinds:

- ``encode``: an ``encode`` job of a slice of the SciFact corpus with the default bi-encoder and
  ``restart`` (so it really encodes every time): a cold worker imports torch and loads the model before
  its first batch; the warm one has both from the job before (``core.models.memoized``).
- ``sleep``: the runner's own test job (no model): what the process start and imports alone cost.

For each kind and mode: one job first (the "first job" of the app: it warms the OS file cache, and in warm
mode it loads the model), then ``--repeat`` second jobs, each timed; the medians are compared. The cold and
warm rounds alternate so a busy spell of the shared machine slows both alike.

Run (a minute or two on 2 cores; under the shared lock):
    flock /tmp/esl-heavy.lock nice -n 5 .venv/bin/python bench/warm_worker.py [--docs 300] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from core.data import import_path
from core.models import DEFAULT_BI_ENCODER
from core.runtime import Workspace, jobs
from core.runtime.warm import WARM_ENV

DATA = Path(os.environ.get("ESL_DATA_DIR") or REPO.parent / "shared" / "data")


def write_slice(target: Path, docs: int) -> Path:
    """The first ``docs`` SciFact documents with the test queries that point at them (a BEIR folder)."""
    src = DATA / "scifact"
    (target / "qrels").mkdir(parents=True)
    ids = set()
    with open(src / "corpus.jsonl", encoding="utf-8") as fin, open(target / "corpus.jsonl", "w") as out:
        for line in fin:
            if len(ids) >= docs:
                break
            ids.add(str(json.loads(line)["_id"]))
            out.write(line)
    qrels = [row.split("\t") for row in (src / "qrels" / "test.tsv").read_text().splitlines()[1:]]
    kept = [r for r in qrels if r[1] in ids] or qrels[:1]
    (target / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join("\t".join(r) + "\n" for r in kept)
    )
    wanted = {r[0] for r in kept}
    with open(src / "queries.jsonl", encoding="utf-8") as fin, open(target / "queries.jsonl", "w") as out:
        out.writelines(line for line in fin if str(json.loads(line)["_id"]) in wanted)
    return target


def startup_s(ws: Workspace, kind: str, config: dict) -> float:
    """Seconds from submit to the first progress event of one job (which must end done)."""
    t0 = time.time()
    run_id = jobs.submit(ws, kind, config)
    run = jobs.wait(ws, run_id, timeout=600, poll=0.05)
    if run.status != "done":
        raise SystemExit(f"{kind} job {run_id} ended {run.status}: {run.error}")
    first = ws.events(run_id, kind="progress")[0]
    return first.ts - t0


def measure(ws: Workspace, kind: str, config: dict, repeat: int) -> dict[str, list[float]]:
    """First jobs, then ``repeat`` second jobs per mode, cold and warm rounds alternating. In a cold
    round ``ESL_WARM_WORKER=0`` makes the scheduler start a worker for the job (the warm one waits)."""
    times: dict[str, list[float]] = {"cold": [], "warm": []}
    jobs.keep_warm(ws.home)
    jobs.start_warm_worker(ws)
    for mode in ("warm", "cold", *(["cold", "warm"] * repeat)):
        if mode == "cold":
            os.environ[WARM_ENV] = "0"
        else:
            os.environ.pop(WARM_ENV, None)
        times[mode].append(startup_s(ws, kind, config))
    os.environ.pop(WARM_ENV, None)
    jobs.keep_warm(ws.home, enabled=False)
    return {mode: values[1:] for mode, values in times.items()}  # the first job of each mode is not timed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=300, help="SciFact documents in the encode job")
    parser.add_argument("--repeat", type=int, default=5, help="timed second jobs per mode and kind")
    parser.add_argument("--kinds", default="sleep,encode")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "warm_worker.txt")
    args = parser.parse_args()
    lines = [
        f"warm vs cold worker: a second job's start-up (submit -> first progress event), median of "
        f"{args.repeat}, same run; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    ]
    # ignore_cleanup_errors: a cold worker may still be exiting (its last SQLite handle) at the very end
    with tempfile.TemporaryDirectory(prefix="esl-bench-warm-", ignore_cleanup_errors=True) as tmp:
        os.environ["ESL_HOME"] = str(Path(tmp) / "home")
        ws = Workspace(Path(tmp) / "home")
        configs = {
            "sleep": {"steps": 3, "delay": 0.01},
            "encode": {"dataset": "slice", "model": DEFAULT_BI_ENCODER, "restart": True},
        }
        if "encode" in args.kinds:
            import_path(ws, write_slice(Path(tmp) / "slice", args.docs), name="slice")
        for kind in args.kinds.split(","):
            times = measure(ws, kind, configs[kind], args.repeat)
            cold, warm = statistics.median(times["cold"]), statistics.median(times["warm"])
            detail = f" ({args.docs} docs, {DEFAULT_BI_ENCODER})" if kind == "encode" else " (no model)"
            lines.append(
                f"{kind + detail:<40} cold {cold * 1000:8.0f} ms   warm {warm * 1000:7.0f} ms   "
                f"ratio {cold / warm:6.1f}x   (cold {', '.join(f'{t:.2f}' for t in times['cold'])} s; "
                f"warm {', '.join(f'{t:.3f}' for t in times['warm'])} s)"
            )
            print(lines[-1], flush=True)
        jobs.stop_warm_workers(timeout=30)
        time.sleep(1.0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
