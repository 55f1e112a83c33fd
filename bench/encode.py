"""Encoding speed and quality per backend on the SciFact corpus, against torch fp32 in the same run.

For every backend (torch fp32 = the baseline, onnx, onnx-int8, bf16) the whole corpus is encoded with
length-sorted batches; torch fp32 is also run with unsorted batches (fixed batches in corpus order) to
measure what sorting alone buys. The machine is shared, so the corpus is split into rounds (every R-th
document) and each round is encoded by every variant in turn: a busy spell slows all variants alike.
Printed per variant: passages/s (wall clock), the ratio to torch fp32, the same ratio in CPU seconds
(less sensitive to other jobs), cosine of the vectors to torch fp32, and test nDCG@10 of the dense
strategy (``core.evaluate.run_comparison`` with ``DenseSpec(backend=...)``, corpus vectors from this
run). Optionally, multi-process encoding against one process on a slice.

Run (heavy: encodes SciFact five times):
    flock /tmp/esl-heavy.lock nice -n 5 python bench/encode.py [--limit 1000] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="all-MiniLM-L6-v2")
    p.add_argument("--backends", default="torch,onnx,onnx-int8,bf16", help="torch first: it is the baseline")
    p.add_argument("--limit", type=int, default=0, help="quick mode: this many documents (judged ones first)")
    p.add_argument("--rounds", type=int, default=4, help="interleaved rounds (see the module docstring)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=0, help="threads per encoder (0: all cores)")
    p.add_argument("--no-unsorted", action="store_true", help="skip the unsorted torch fp32 run")
    p.add_argument("--no-ndcg", action="store_true", help="skip the nDCG@10 evaluation")
    p.add_argument("--processes", type=int, default=2, help="multi-process check: worker processes (0: skip)")
    p.add_argument("--processes-docs", type=int, default=600, help="documents in the multi-process check")
    p.add_argument(
        "--home", default="/tmp/esl-bench-encode", help="workspace for the bench (ONNX files, cache)"
    )
    p.add_argument("--out", default=None, help="write the results as JSON here")
    return p.parse_args()


def load_scifact(limit: int):  # type: ignore[no-untyped-def]
    """SciFact from the shared data folder; with ``limit``, the judged test documents plus others up
    to ``limit`` (so nDCG stays meaningful on the smaller corpus)."""
    from core.data import RetrievalDataset, load_path
    from core.runtime import get_settings

    ds = load_path(get_settings().data_dir / "scifact")
    if not limit or limit >= len(ds.corpus):
        return ds
    judged = set(ds.qrels.loc[ds.qrels["split"] == "test", "doc_id"])
    keep = ds.corpus["doc_id"].isin(judged)
    others = ds.corpus.index[~keep][: max(0, limit - int(keep.sum()))]
    corpus = ds.corpus[keep | ds.corpus.index.isin(others)].reset_index(drop=True)
    qrels = ds.qrels[ds.qrels["doc_id"].isin(set(corpus["doc_id"]))].reset_index(drop=True)
    return RetrievalDataset(f"scifact-{len(corpus)}", corpus, ds.queries, qrels)


def padded_tokens(lengths: np.ndarray, order: np.ndarray, batch_size: int) -> tuple[int, int]:
    """Tokens a forward pass computes when batches are padded to their longest text: the sum of
    ``batch × longest`` (linear layers) and of ``batch × longest²`` (attention)."""
    linear = quadratic = 0
    for start in range(0, len(order), batch_size):
        batch = lengths[order[start : start + batch_size]]
        longest = int(batch.max())
        linear += len(batch) * longest
        quadratic += len(batch) * longest * longest
    return linear, quadratic


def main() -> int:
    args = parse_args()
    import torch

    from core.encoding import EmbeddingCache, cpu_threads, encode_parallel, make_encoder
    from core.evaluate import run_comparison
    from core.retrieval import DenseSpec
    from core.runtime import Workspace

    threads = args.threads or cpu_threads()
    torch.set_num_threads(threads)
    ws = Workspace(args.home)
    ds = load_scifact(args.limit)
    texts = ds.doc_texts()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if backends[0] != "torch":
        backends.insert(0, "torch")
    print(
        f"corpus {ds.name}: {len(texts):,} documents; model {args.model}; {cpu_threads()} cores, "
        f"{threads} threads per encoder; "
        f"batch {args.batch_size}; {args.rounds} interleaved rounds",
        flush=True,
    )

    encoders, load_s = {}, {}
    for b in backends:  # first use exports / quantises ONNX files into the workspace (timed apart)
        t0 = time.perf_counter()
        encoders[b] = make_encoder(args.model, ws, backend=b, threads=threads)
        load_s[b] = time.perf_counter() - t0
        plan = encoders[b].plan
        print(
            f"  loaded {b:<10} in {load_s[b]:6.1f} s  ({plan.label}{'; ' + plan.reason if plan.reason else ''})"
        )
    variants = dict(encoders)
    if not args.no_unsorted:
        variants["torch-unsorted"] = make_encoder(args.model, ws, backend="torch", sort_by_length=False)
    for enc in variants.values():  # warm-up: first calls allocate and JIT; not what we measure
        enc.encode(texts[:8], batch_size=args.batch_size)

    wall = dict.fromkeys(variants, 0.0)
    cpu = dict.fromkeys(variants, 0.0)
    vectors = {v: np.zeros((len(texts), enc.dim), dtype=np.float32) for v, enc in variants.items()}
    rounds = max(1, args.rounds)
    for r in range(rounds):
        idx = np.arange(r, len(texts), rounds)
        part = [texts[i] for i in idx]
        order = list(variants) if r % 2 == 0 else list(reversed(variants))
        for v in order:
            w0, c0 = time.perf_counter(), time.process_time()
            vectors[v][idx] = variants[v].encode(part, batch_size=args.batch_size)
            wall[v] += time.perf_counter() - w0
            cpu[v] += time.process_time() - c0
        done = sum(len(range(q, len(texts), rounds)) for q in range(r + 1))
        print(
            f"  round {r + 1}/{rounds} ({done:,} docs so far): "
            + ", ".join(f"{v} {done / wall[v]:.1f}/s" for v in variants),
            flush=True,
        )

    cache = EmbeddingCache(ws)
    for b in backends:  # the comparison below reads these vectors instead of encoding again
        cache.put(encoders[b].fingerprint, ds.fingerprint, vectors[b])
    ndcg: dict[str, float] = {}
    if not args.no_ndcg:
        specs = {b: DenseSpec(model=args.model, backend=b, batch_size=args.batch_size) for b in backends}
        rep = run_comparison(ds, "test", specs, ws=ws, k=100, latency_sample=5)
        ndcg = {b: rep.strategies[b].metrics["ndcg@10"] for b in backends}

    ref = vectors["torch"]
    rows = []
    for v in variants:
        cos = (vectors[v] * ref).sum(1)
        rows.append(
            {
                "variant": v,
                "passages_per_s": len(texts) / wall[v],
                "speedup": wall["torch"] / wall[v],
                "cpu_speedup": cpu["torch"] / cpu[v] if cpu[v] else None,
                "wall_s": wall[v],
                "cpu_s": cpu[v],
                "cos_min": float(cos.min()),
                "cos_mean": float(cos.mean()),
                "ndcg@10": ndcg.get(v),
                "load_s": load_s.get(v),
            }
        )
    print()
    print(
        f"{'variant':<16}{'passages/s':>11}{'x fp32':>8}{'x (cpu)':>9}{'cos min':>9}{'cos mean':>10}"
        f"{'nDCG@10':>9}{'Δ nDCG':>9}{'load s':>8}"
    )
    for row in rows:
        nd, load = row["ndcg@10"], row["load_s"]
        delta = "" if nd is None else f"{nd - ndcg['torch']:+.4f}"
        nd_text = "" if nd is None else f"{nd:.4f}"
        load_text = "" if load is None else f"{load:.1f}"
        print(
            f"{row['variant']:<16}{row['passages_per_s']:>11.1f}{row['speedup']:>8.2f}"
            f"{row['cpu_speedup'] or 0:>9.2f}{row['cos_min']:>9.4f}{row['cos_mean']:>10.5f}"
            f"{nd_text:>9}{delta:>9}{load_text:>8}"
        )
    result: dict = {"corpus": ds.name, "documents": len(texts), "model": args.model, "rows": rows}
    if not args.no_unsorted:
        from core.encoding import token_lengths

        lengths = token_lengths(encoders["torch"].tokenizer, texts, cap=encoders["torch"].max_seq_length)
        bs = args.batch_size
        by_tokens = padded_tokens(lengths, np.argsort(-lengths, kind="stable"), bs)
        by_chars = padded_tokens(lengths, np.argsort([-len(t) for t in texts], kind="stable"), bs)
        unsorted = padded_tokens(lengths, np.arange(len(texts)), bs)
        print(
            f"\npadding: {int(lengths.sum()):,} real tokens (max {encoders['torch'].max_seq_length}, "
            f"{(lengths >= encoders['torch'].max_seq_length).mean():.0%} of documents at the cap); computed "
            f"tokens unsorted/sorted = {unsorted[0] / by_tokens[0]:.3f} (attention {unsorted[1] / by_tokens[1]:.3f}); "
            f"sorting by characters instead of tokens: {unsorted[0] / by_chars[0]:.3f}"
        )
        result["padding"] = {
            "real_tokens": int(lengths.sum()),
            "unsorted_over_sorted": unsorted[0] / by_tokens[0],
            "unsorted_over_sorted_attention": unsorted[1] / by_tokens[1],
            "unsorted_over_char_sorted": unsorted[0] / by_chars[0],
        }
        ratio = wall["torch-unsorted"] / wall["torch"]
        cpu_ratio = cpu["torch-unsorted"] / cpu["torch"]
        print(
            f"length-sorted batching: unsorted/sorted time = {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU "
            f"(torch fp32, batch {args.batch_size})"
        )
        result["sorted_speedup"] = ratio
        result["sorted_speedup_cpu"] = cpu_ratio

    if args.processes > 1:
        best = max((r for r in rows if r["variant"] in backends), key=lambda r: r["passages_per_s"])[
            "variant"
        ]
        sub = texts[: args.processes_docs]
        timings = {}
        for label, procs in (("1 process", 1), (f"{args.processes} processes", args.processes)):
            t0 = time.perf_counter()
            if procs == 1:
                make_encoder(args.model, ws, backend=best).encode(sub, batch_size=args.batch_size)
            else:
                encode_parallel(
                    args.model, sub, processes=procs, ws=ws, backend=best, batch_size=args.batch_size
                )
            timings[label] = time.perf_counter() - t0
        one, many = timings.values()
        print(
            f"multi-process ({best}, {len(sub)} docs, model loading included): 1 process {one:.1f} s, "
            f"{args.processes} processes {many:.1f} s → {one / many:.2f}x"
        )
        result["multi_process"] = {
            "backend": best,
            "docs": len(sub),
            "seconds": timings,
            "speedup": one / many,
        }

    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
