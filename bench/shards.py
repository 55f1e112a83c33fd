"""Corpus encoding in shards: the local engine against Ray on a local cluster, and what a kill costs.

1. **Local vs Ray-local**: the same slice of SciFact (the first ``--rows`` passages) encoded by the
   ``encode`` job's code (:func:`core.encoding.run_encode`) into a fresh workspace with the local engine
   (one process, torch on every core) and with the Ray engine (a local Ray of ``--ray-cpus`` CPUs started for
   the run, one actor per CPU with one thread each). Wall clock of the whole call: model load for local,
   Ray start-up and one model per actor for Ray. Printed: passages/s, the ratio, and the lowest cosine
   between the two engines' vectors.
2. **Kill and resume**: the ``encode`` job in a worker process (as the app and ``jobs.submit`` run it) on
   ``--kill-rows`` passages, uninterrupted; then again in a fresh workspace, SIGKILLed halfway through the
   shard after ``--kill-after`` finished shards, and resumed. Time lost = (killed run + resumed run) −
   uninterrupted run: the half shard encoded for nothing plus a second start (worker, model load).

Run (heavy: ~5 min on 2 cores):
    flock /tmp/esl-heavy.lock nice -n 5 python bench/shards.py [--rows 2000] [--out bench/results/shards.json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from core.data import load_path
from core.encoding import EmbeddingCache, EncodeJob, run_encode
from core.models import DEFAULT_BI_ENCODER
from core.runtime import Workspace, get_settings, jobs


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=DEFAULT_BI_ENCODER)
    p.add_argument("--rows", type=int, default=2000, help="passages of the local-vs-Ray slice")
    p.add_argument("--shard-size", type=int, default=250)
    p.add_argument("--ray-cpus", type=int, default=os.cpu_count() or 2)
    p.add_argument("--kill-rows", type=int, default=1000, help="passages of the kill-and-resume runs")
    p.add_argument("--kill-after", type=int, default=2, help="finished shards before the kill")
    p.add_argument("--kill-shard-size", type=int, default=200)
    p.add_argument("--out", default=None, help="write the results as JSON here")
    return p.parse_args()


def write_slice(rows: int, folder: Path) -> Path:
    """The first ``rows`` SciFact passages as a BEIR folder (the job reads a dataset path)."""
    src = get_settings().data_dir / "scifact"
    lines = (src / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[:rows]
    folder.mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    first = json.loads(lines[0])["_id"]
    (folder / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "a query"}) + "\n")
    (folder / "qrels").mkdir()
    (folder / "qrels" / "test.tsv").write_text(f"query-id\tcorpus-id\tscore\nq1\t{first}\t1\n")
    return folder


def engines(args: argparse.Namespace, tmp: Path) -> dict:
    folder = write_slice(args.rows, tmp / f"scifact-{args.rows}")
    ds = load_path(folder)
    texts = list(ds.doc_texts())
    out: dict = {"rows": len(texts), "shard_size": args.shard_size, "ray_cpus": args.ray_cpus}
    vectors = {}
    for engine in ("local", "ray"):
        ws = Workspace(tmp / f"home-{engine}")
        job = EncodeJob(
            str(folder), args.model, shard_size=args.shard_size, engine=engine, ray_cpus=args.ray_cpus
        )
        start = time.perf_counter()
        result = run_encode(job, ws, texts, ds.fingerprint)
        wall = time.perf_counter() - start
        out[engine] = {"wall_s": round(wall, 2), "passages_per_s": round(len(texts) / wall, 2)}
        out[engine]["workers"] = result["workers"]
        vectors[engine] = EmbeddingCache(ws).get(result["encoder_fingerprint"], ds.fingerprint, len(texts))
        print(
            f"  {engine:<5} {wall:7.1f} s  {len(texts) / wall:7.1f} passages/s  ({result['workers']} worker(s))"
        )
    a, b = vectors["local"], vectors["ray"]
    out["min_cosine"] = float(
        ((a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))).min()
    )
    out["ray_over_local"] = round(out["ray"]["passages_per_s"] / out["local"]["passages_per_s"], 3)
    return out


def _job_wall(ws: Workspace, config: dict) -> tuple[float, dict]:
    start = time.perf_counter()
    run = jobs.wait(ws, jobs.submit(ws, "encode", config), timeout=3600, poll=0.2)
    assert run.status == "done", run.error
    return time.perf_counter() - start, run.result


def _store(ws: Workspace, result: dict):  # type: ignore[no-untyped-def]
    return EmbeddingCache(ws).store(result["encoder_fingerprint"], result["corpus_fingerprint"])


def kill_and_resume(args: argparse.Namespace, tmp: Path) -> dict:
    folder = write_slice(args.kill_rows, tmp / f"scifact-{args.kill_rows}")
    config = {"dataset": str(folder), "model": args.model, "shard_size": args.kill_shard_size}
    whole_s, whole = _job_wall(Workspace(tmp / "home-whole"), config)
    shards = whole["shards"]
    per_shard = whole["seconds"] / shards
    print(f"  uninterrupted: {whole_s:.1f} s ({shards} shards, {per_shard:.1f} s of encoding per shard)")

    ws = Workspace(tmp / "home-killed")
    store = _store(ws, whole)
    start = time.perf_counter()
    run_id = jobs.submit(ws, "encode", config)
    while len(store.finished()) < args.kill_after:
        time.sleep(0.01)
    time.sleep(per_shard / 2)  # halfway through the next shard
    os.killpg(ws.get_run(run_id).pid, signal.SIGKILL)
    killed_s = time.perf_counter() - start
    finished = len(store.finished())
    jobs.wait(ws, run_id, timeout=60)
    resumed_s, resumed = _job_wall(ws, config)
    lost = killed_s + resumed_s - whole_s
    same = np.array_equal(_store(ws, whole).matrix(), _store(Workspace(tmp / "home-whole"), whole).matrix())
    print(f"  killed after {killed_s:.1f} s ({finished} shards finished), resumed in {resumed_s:.1f} s")
    print(
        f"  time lost {lost:.1f} s = {lost / whole_s:.1%} of the uninterrupted run; identical vectors: {same}"
    )
    return {
        "rows": args.kill_rows,
        "shard_size": args.kill_shard_size,
        "shards": shards,
        "uninterrupted_s": round(whole_s, 2),
        "encode_s_per_shard": round(per_shard, 2),
        "killed_after_s": round(killed_s, 2),
        "finished_at_kill": finished,
        "resumed_s": round(resumed_s, 2),
        "resumed_encoded_shards": len(resumed["encoded_shards"]),
        "lost_s": round(lost, 2),
        "lost_over_uninterrupted": round(lost / whole_s, 3),
        "identical_vectors": bool(same),
    }


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="esl-bench-shards-") as tmp:
        print(f"1. local vs Ray-local, first {args.rows} SciFact passages, {args.model}")
        eng = engines(args, Path(tmp))
        print(
            f"  Ray-local / local throughput: {eng['ray_over_local']:.2f}x; min cosine {eng['min_cosine']:.6f}"
        )
        print(f"2. kill and resume, {args.kill_rows} passages in shards of {args.kill_shard_size}")
        kill = kill_and_resume(args, Path(tmp))
    if args.out:
        Path(args.out).write_text(json.dumps({"engines": eng, "kill_resume": kill}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
