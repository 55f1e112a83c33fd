"""Scale benchmark: long documents chunked vs truncated, and a million passages on one machine.

    flock /tmp/esl-heavy.lock nice -n 5 python bench/scale.py [--parts longdoc,import,index,engines,project]
        [--sizes 100000,1000000] [--backend onnx-int8] [--rerun-index] [--rerun-engines] [--json FILE]

Every ratio is measured in the same run as its baseline:

- ``longdoc`` (a): on ``qmsum_longdoc`` and ``qasper_longdoc`` (test split; ESL_DATA_DIR), one
  ``run_comparison`` of BM25 and the bi-encoder truncated (``bm25@256``, ``dense``: the model reads its first
  256 tokens) and on passages 256/64 (MaxP): nDCG@10, Recall@100, chunked ÷ truncated with the paired
  t-test's p, and each dense strategy's encode time (its corpus or its passages; 0 when the vectors came
  from the embedding cache — run with a fresh ``ESL_HOME`` to time it). Reuses ``bench/chunking.py``.
- ``import`` (b): a synthetic BEIR corpus of N passages (text assembled from SciFact and Cranfield sentences
  exactly as ``bench/ann.py`` makes it) written as JSONL, then imported by ``core.data.import_path`` in a
  child process: wall time, passages/s and the child's peak RSS against the file's size.
- ``index`` (b): BM25 and FAISS exact / HNSW / IVF at each size — ``bench/ann.py``'s sections (its own
  child processes; the 10^6 vectors are real MiniLM vectors of the source abstracts mixed and noised, see
  its docstring). Without ``--rerun-index`` the last measured ``bench/results/ann.json`` is read (the 10^6
  HNSW build alone takes ~5 minutes here).
- ``engines`` (b): local vs Ray-local encoding of the same slice and the time a SIGKILL costs
  (``bench/shards.py``; ``--rerun-engines`` runs it, ~5 min, else ``bench/results/shards.json``).
- ``project``: from the measured 10^5 and 10^6 points, memory, disk and time per component at 10^7 passages
  on this machine and on a Ray cluster of N GPU workers (encode rate per GPU from
  ``bench/results/gpu_h100_encode_threads.json``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import ann
import chunking

from core.data import import_path, load_retrieval_beir
from core.evaluate import CompareOptions, paired_significance, run_comparison
from core.retrieval import Corpus, RetrieverBuilder
from core.runtime import Workspace, configure_environment, get_settings, open_workspace

RESULTS = REPO / "bench" / "results"
LONGDOC = ("qmsum_longdoc", "qasper_longdoc")
PAIRS = (("bm25@256", "bm25@256/64"), ("dense", "dense@256/64"))
RAM_GB = 24.0  # this machine
GPU_PASSAGES_S = None  # filled from the H100 run


def _p(value: float | None) -> str:
    return "-" if value is None else (f"{value:.1e}" if value < 1e-3 else f"{value:.3f}")


# --------------------------------------------------------------------------------------------------
# (a) long documents
# --------------------------------------------------------------------------------------------------
def longdoc(args: argparse.Namespace) -> dict[str, Any]:
    ws = open_workspace()
    strategies = [n for pair in PAIRS for n in pair]
    options = CompareOptions(strategies=strategies, model=ann.MODEL, backend=args.backend, tune_split="none")
    out: dict[str, Any] = {}
    for name in args.datasets.split(","):
        ds = load_retrieval_beir(get_settings().data_dir / name)
        print(f"\n== {name} / test: {len(ds.split_queries('test'))} queries", flush=True)
        print(chunking._lengths(ds))
        start = time.perf_counter()
        builder = RetrieverBuilder(Corpus.from_dataset(ds), ws)
        rep = run_comparison(
            ds, "test", options.specs(ds.splits), ws=ws, builder=builder, baseline="bm25@256"
        )
        runs = {n: r.run for n, r in rep.strategies.items()}
        qrels = ds.qrels_dict("test")
        print(f"evaluated in {time.perf_counter() - start:.0f} s ({args.backend})")
        print(
            f"{'truncated':<12}{'chunked':<14}{'nDCG@10':>17}{'ratio':>8}{'p':>9}{'R@100':>17}{'ratio':>8}{'encode s':>18}"
        )
        rows = []
        for trunc, chunked in PAIRS:
            a, b = rep.strategies[trunc], rep.strategies[chunked]
            p = (
                paired_significance(qrels, runs, trunc, {"ndcg@10": "ndcg@10"})
                .get(chunked, {})
                .get("ndcg@10")
            )
            enc = [float((r.extra or {}).get("encode_s", 0.0) or 0.0) for r in (a, b)]
            cached = [bool((r.extra or {}).get("from_cache")) for r in (a, b)]
            row = {
                "truncated": trunc,
                "chunked": chunked,
                "ndcg@10": [a.metrics["ndcg@10"], b.metrics["ndcg@10"]],
                "recall@100": [a.metrics["recall@100"], b.metrics["recall@100"]],
                "p": p,
                "encode_s": enc,
                "from_cache": cached,
                "index_s": [a.index_s, b.index_s],
            }
            rows.append(row)
            n0, n1 = row["ndcg@10"]
            r0, r1 = row["recall@100"]
            enc_text = (
                "-"
                if trunc.startswith("bm25")
                else (f"{enc[0]:.0f} → {enc[1]:.0f}" + (" (cache)" if any(cached) else ""))
            )
            print(
                f"{trunc:<12}{chunked:<14}{n0:>8.4f} → {n1:.4f}{n1 / n0 if n0 else float('nan'):>7.2f}x{_p(p):>9}"
                f"{r0:>8.4f} → {r1:.4f}{r1 / r0 if r0 else float('nan'):>7.2f}x{enc_text:>18}"
            )
        out[name] = {"pairs": rows, "seconds": time.perf_counter() - start}
    return out


# --------------------------------------------------------------------------------------------------
# (b) streaming import of a synthetic corpus
# --------------------------------------------------------------------------------------------------
def _text_sources(data_dir: Path) -> ann.Sources:
    """The source sentences only (``ann.make_corpus(with_vectors=False)`` needs no vectors)."""
    datasets = ann.source_docs(data_dir)
    sentences = []
    for ds in datasets:
        for text in Corpus.from_dataset(ds).texts:
            sentences.append([s for s in ann._SENT.split(text) if len(s) >= 20] or [text])
    return ann.Sources(datasets, sentences, np.zeros((1, 384), np.float32), [], np.zeros((0, 384)), "")


def write_corpus(n: int, folder: Path) -> dict[str, Any]:
    """A BEIR folder of ``n`` synthetic passages, 100 queries and their qrels; returns sizes and time."""
    start = time.perf_counter()
    syn = ann.make_corpus(_text_sources(get_settings().data_dir), n, with_vectors=False)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for pid, text in zip(syn.ids, syn.texts, strict=True):
            fh.write(json.dumps({"_id": pid, "title": "", "text": text}) + "\n")
    with open(folder / "queries.jsonl", "w", encoding="utf-8") as fh:
        for i in range(100):
            fh.write(json.dumps({"_id": f"q{i}", "text": " ".join(syn.texts[i].split()[:8])}) + "\n")
    (folder / "qrels").mkdir(exist_ok=True)
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"q{i}\tp{i}\t1\n" for i in range(100)), encoding="utf-8"
    )
    return {
        "rows": n,
        "file_mb": (folder / "corpus.jsonl").stat().st_size / 2**20,
        "write_s": time.perf_counter() - start,
    }


def import_child(folder: Path, home: Path) -> None:
    """In a child process: import ``folder`` into a fresh workspace; print wall time and peak RSS."""
    ws = Workspace(home)
    start = time.perf_counter()
    import_path(ws, folder, name=f"syn-{folder.name}")
    wall = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"import_s": wall, "peak_rss_mb": rss}))


def import_part(sizes: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    baseline = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {str(REPO)!r}); import core.data, resource; "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    base_rss = float(baseline.stdout.strip().splitlines()[-1])
    print(
        f"\n== streaming import (JSONL; a child process per size; its interpreter + imports alone: {base_rss:,.0f} MB)"
    )
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="esl-scale-") as tmp:
            made = write_corpus(n, Path(tmp) / str(n))
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--import-child",
                    str(Path(tmp) / str(n)),
                    "--home",
                    str(Path(tmp) / "home"),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            got = json.loads(proc.stdout.strip().splitlines()[-1])
        got |= made | {"base_rss_mb": base_rss}
        out[str(n)] = got
        over = got["peak_rss_mb"] - base_rss
        print(
            f"{n:>10,} passages  file {got['file_mb']:7.0f} MB  import {got['import_s']:6.1f} s "
            f"({n / got['import_s']:,.0f} passages/s)  peak RSS {got['peak_rss_mb']:7,.0f} MB "
            f"(+{over:,.0f} MB over the bare interpreter = {over / got['file_mb']:.2f}x the file)"
        )
    if len(sizes) > 1:
        a, b = out[str(sizes[0])], out[str(sizes[-1])]
        print(
            f"{sizes[-1]:,} vs {sizes[0]:,}: import time {b['import_s'] / a['import_s']:.1f}x, peak RSS "
            f"{b['peak_rss_mb'] / a['peak_rss_mb']:.2f}x for {sizes[-1] / sizes[0]:.1f}x the rows"
        )
    return out


# --------------------------------------------------------------------------------------------------
# (b) indexes and engines: bench/ann.py and bench/shards.py
# --------------------------------------------------------------------------------------------------
def index_part(sizes: list[int], rerun: bool) -> dict[str, Any]:
    path = RESULTS / "ann.json"
    if rerun:
        subprocess.run(
            [
                sys.executable,
                str(REPO / "bench" / "ann.py"),
                "--sizes",
                ",".join(map(str, sizes)),
                "--sections",
                "bm25,faiss",
                "--json",
                str(path),
            ],
            check=True,
        )
    results = json.loads(path.read_text())
    print(
        f"\n== indexes ({'measured now' if rerun else 'from ' + str(path.relative_to(REPO))}; bench/ann.py)"
    )
    ann.summarise(results)
    return results


def engines_part(rerun: bool) -> dict[str, Any]:
    path = RESULTS / "shards.json"
    if rerun:
        subprocess.run([sys.executable, str(REPO / "bench" / "shards.py"), "--out", str(path)], check=True)
    r = json.loads(path.read_text())
    e, k = r["engines"], r["kill_resume"]
    print(
        f"\n== engines ({'measured now' if rerun else 'from ' + str(path.relative_to(REPO))}; bench/shards.py)"
    )
    print(
        f"local {e['local']['passages_per_s']:.1f} passages/s vs Ray-local ({e['ray_cpus']} CPUs) "
        f"{e['ray']['passages_per_s']:.1f}: {e['ray_over_local']:.2f}x, min cosine {e['min_cosine']:.6f}"
    )
    print(
        f"SIGKILL after {k['finished_at_kill']} of {k['shards']} shards: {k['lost_s']:.1f} s lost "
        f"({k['lost_over_uninterrupted']:.2f}x of the {k['uninterrupted_s']:.1f} s run), identical vectors "
        f"{k['identical_vectors']}"
    )
    return r


# --------------------------------------------------------------------------------------------------
# projection to 10^7
# --------------------------------------------------------------------------------------------------
def _fit(x0: float, y0: float, x1: float, y1: float, x: float) -> float:
    """Power law through two points (exponent from the measured growth), evaluated at ``x``."""
    if y0 <= 0 or y1 <= 0:
        return y1 * x / x1
    k = math.log(y1 / y0) / math.log(x1 / x0)
    return y1 * (x / x1) ** k


def project(results: dict[str, Any], target: int = 10_000_000, workers: tuple[int, ...] = (1, 4, 16)) -> dict:
    s = results["index"]["sizes"]
    a, b = s["100000"], s["1000000"]
    rows = {}
    for label, key, part in (
        ("BM25 build s", "build_s", "bm25"),
        ("BM25 index MB", "bytes", "bm25"),
        ("BM25 build peak RSS MB", "peak_rss_mb", "bm25"),
        ("BM25 query p50 ms", "p50_ms", "bm25"),
    ):
        y0, y1 = a[part][key], b[part][key]
        scale = 2**20 if key == "bytes" else 1
        rows[label] = (y1 / scale, _fit(1e5, y0, 1e6, y1, target) / scale)
    for kind in ("exact", "hnsw", "ivf"):
        for label, key in (("build s", "build_s"), ("MB", "bytes"), ("query p50 ms", "p50_ms")):
            y0, y1 = a["faiss"][kind][key], b["faiss"][kind][key]
            scale = 2**20 if key == "bytes" else 1
            rows[f"FAISS {kind} {label}"] = (y1 / scale, _fit(1e5, y0, 1e6, y1, target) / scale)
    shards_mb = 384 * 2 / 2**20  # float16 on disk per passage
    rows["shard store MB (float16)"] = (1e6 * shards_mb, target * shards_mb)
    cpu = results["engines"]["engines"]["local"]["passages_per_s"]
    rows["encode h, this CPU"] = (1e6 / cpu / 3600, target / cpu / 3600)
    gpu = _gpu_rate()
    out = {"rows": rows, "gpu_passages_s": gpu, "cpu_passages_s": cpu}
    print(f"\n== projection to {target:,} passages (power law through the 10^5 and 10^6 points)")
    print(f"{'component':<30}{'at 10^6':>14}{'at 10^7':>14}")
    for label, (now, then) in rows.items():
        print(f"{label:<30}{now:>14,.1f}{then:>14,.1f}")
    if gpu:
        for n in workers:
            print(
                f"encode 10^7 on a Ray cluster of {n:>2} H100 workers: {target / (gpu * n) / 3600:6.2f} h "
                f"({gpu:,.0f} passages/s each, measured on one H100)"
            )
    gb = {k: v[1] / 1024 for k, v in rows.items() if "MB" in k}
    serve = gb["BM25 index MB"] + gb["FAISS hnsw MB"]
    build = gb["FAISS exact MB"] + gb["FAISS hnsw MB"]  # the float32 matrix and the graph being built
    print(
        f"on this machine ({RAM_GB:.0f} GB RAM, 2 cores) at 10^7: serving hybrid holds BM25 + HNSW = {serve:.0f} GB; "
        f"building HNSW holds the float32 vectors and the graph = {build:.0f} GB (over the RAM: use IVF, "
        f"{gb['FAISS ivf MB']:.0f} GB, or a bigger machine); BM25's build peaks at {gb['BM25 build peak RSS MB']:.0f} GB; "
        f"encoding takes {rows['encode h, this CPU'][1]:.0f} h on this CPU"
    )
    out["serve_gb"], out["build_gb"] = serve, build
    return out


def _gpu_rate() -> float | None:
    path = RESULTS / "gpu_h100_encode_threads.json"
    if not path.exists():
        return None
    rows = json.loads(path.read_text())["encode"]["rows"]
    best = [
        r
        for r in rows
        if r.get("device") == "cuda"
        and r.get("mode") == "ahead"
        and r.get("batch") == 32
        and r.get("precision") == "fp16"
    ]
    return float(best[0]["passages_per_s"]) if best else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--parts", default="longdoc,import,index,engines,project")
    p.add_argument("--datasets", default=",".join(LONGDOC))
    p.add_argument("--sizes", default="100000,1000000")
    p.add_argument("--backend", default="onnx-int8", help="encoding backend of the long-document dense runs")
    p.add_argument(
        "--rerun-index", action="store_true", help="run bench/ann.py's bm25 and faiss sections now"
    )
    p.add_argument("--rerun-engines", action="store_true", help="run bench/shards.py now")
    p.add_argument("--json", default=None, help="write the results here")
    p.add_argument("--import-child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--home", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    configure_environment()
    if args.import_child:
        import_child(Path(args.import_child), Path(args.home))
        return 0
    parts = [x for x in args.parts.split(",") if x]
    sizes = [int(x) for x in args.sizes.split(",") if x]
    results: dict[str, Any] = {}
    if args.json and Path(args.json).exists():
        results = json.loads(Path(args.json).read_text())
    steps = {
        "longdoc": lambda: longdoc(args),
        "import": lambda: import_part(sizes),
        "index": lambda: index_part(sizes, args.rerun_index),
        "engines": lambda: engines_part(args.rerun_engines),
    }
    for part in parts:
        if part in steps:
            results[part] = steps[part]()
            if args.json:
                Path(args.json).write_text(json.dumps(results, indent=1, default=float))
    if "project" in parts:
        results.setdefault("index", json.loads((RESULTS / "ann.json").read_text()))
        results.setdefault("engines", json.loads((RESULTS / "shards.json").read_text()))
        results["project"] = project(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=float))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    raise SystemExit(main())
