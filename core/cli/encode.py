"""``python -m core encode``: encode a retrieval corpus into the embedding cache (its shard store) on a
chosen backend and engine, with the truncation share and a timed estimate first; the ``encode`` job runs in
the foreground, resuming from the last finished shard; ``--list-backends`` lists what runs here."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from core.cli import line_printer, print_json
from core.data import RetrievalDataset, resolve_dataset
from core.encoding import (
    AUTO,
    BACKEND_CHOICES,
    DEFAULT_SHARD_SIZE,
    ENGINES,
    EmbeddingCache,
    EncodeJob,
    backend_statuses,
    encode_parallel,
    estimate_encode_time,
    format_duration,
    make_encoder,
    truncation_stats,
)
from core.models import DEFAULT_BI_ENCODER, DEFAULT_MAX_LENGTH
from core.runtime import InvalidInput, Progress, Reporter, detect_device, jobs, open_workspace


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("encode", help="encode a corpus into the embedding cache (backends, ETA, truncation)")
    p.add_argument("--dataset", help="workspace dataset name, or a BEIR folder / zip path")
    p.add_argument("--model", default=DEFAULT_BI_ENCODER, help="bi-encoder")
    p.add_argument(
        "--backend",
        default=AUTO,
        choices=BACKEND_CHOICES,
        help="auto (default): the fastest backend that passes a parity check on this corpus, remembered per "
        "model and machine; the others fall back to torch, with a reason, where they cannot run",
    )
    p.add_argument("--max-seq-length", type=int, default=None, help="cap on tokens per passage")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--processes", type=int, default=1, help="worker processes (CPU; see bench/encode.py)")
    p.add_argument("--engine", default="local", choices=ENGINES, help="this process, or Ray Data actors")
    p.add_argument(
        "--ray-address",
        default=None,
        help="Ray cluster to attach to, e.g. ray://head:10001 (default: $RAY_ADDRESS, else a local Ray "
        "started for the run)",
    )
    p.add_argument("--ray-cpus", type=int, default=None, help="CPUs of a local Ray started on demand")
    p.add_argument(
        "--workers", type=int, default=None, help="Ray actors (default: one per GPU, else per CPU)"
    )
    p.add_argument(
        "--shard-size",
        type=int,
        default=None,
        help=f"passages per shard (default: the unfinished store's, else {DEFAULT_SHARD_SIZE}); another "
        "size starts over",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        default=True,
        help="resume from the last finished shard (always on; --restart drops the finished shards)",
    )
    p.add_argument("--restart", action="store_true", help="encode every shard again")
    p.add_argument("--estimate", action="store_true", help="only estimate the time and the truncation share")
    p.add_argument("--list-backends", action="store_true", help="print which backends run here and exit")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_encode)


def _list_backends(as_json: bool) -> int:
    device = detect_device()
    rows = [s.__dict__ | {"device": device} for s in backend_statuses(device)]
    if as_json:
        print_json(rows)
    else:
        for r in rows:
            state = "yes" if r["available"] else f"no: {r['reason']}"
            print(f"{r['backend']:<10} {state}{'  (' + r['note'] + ')' if r['note'] else ''}")
    return 0


def _describe(
    encoder: Any, ds: RetrievalDataset, texts: list[str], args: argparse.Namespace, say: Any
) -> dict:
    """What will be encoded, how, how much of it is truncated, and whether it is cached already."""
    plan = encoder.plan
    if plan.reason:
        say(f"note: {plan.reason}")
    if plan.auto:
        say(f"backend: {plan.auto}")
    msl = int(getattr(encoder, "max_seq_length", 0) or args.max_seq_length or DEFAULT_MAX_LENGTH)
    trunc = truncation_stats(encoder.tokenizer, texts, msl)
    say(f"{trunc.share:.1%} of {trunc.checked:,} documents are longer than {msl} tokens (cut when encoded)")
    return {
        "dataset": ds.name,
        "model": encoder.name,
        "backend": plan.backend,
        "requested_backend": plan.requested,
        "device": plan.device,
        "precision": plan.precision,
        "fallback_reason": plan.reason or None,
        "auto": plan.auto or None,
        "documents": len(texts),
        "max_seq_length": msl,
        "truncated_share": round(trunc.share, 4),
    }


def _job(args: argparse.Namespace, dataset: str) -> EncodeJob:
    return EncodeJob.from_dict(
        {
            "dataset": dataset,
            "model": args.model,
            "backend": args.backend,
            "max_seq_length": args.max_seq_length,
            "batch_size": args.batch_size,
            "shard_size": args.shard_size,
            "engine": args.engine,
            "ray_address": args.ray_address,
            "ray_cpus": args.ray_cpus,
            "workers": args.workers,
            "restart": bool(args.restart),
        }
    )


def _encode_parallel(ds: RetrievalDataset, texts: list[str], ws: Any, args: Any) -> dict:
    """``--processes N``: encode in worker processes, then store the vectors as shards (not resumable)."""
    encoder = make_encoder(args.model, ws, backend=args.backend, max_seq_length=args.max_seq_length)
    progress = _progress_printer() if sys.stderr.isatty() else None
    start = time.perf_counter()
    vectors = encode_parallel(
        args.model,
        texts,
        processes=args.processes,
        ws=ws,
        backend=encoder.plan.backend,
        max_seq_length=args.max_seq_length,
        batch_size=args.batch_size,
        progress=progress,
    )
    EmbeddingCache(ws).put(encoder.fingerprint, ds.fingerprint, vectors, shard_size=args.shard_size)
    if progress is not None:
        print(file=sys.stderr)
    return {"seconds": time.perf_counter() - start, "rows_encoded": len(texts)}


def _encode_job(job: EncodeJob, ds: RetrievalDataset, ws: Any, quiet: bool) -> dict:
    """The ``encode`` job in the foreground; its result, or a clean exit when it did not finish."""
    tty = sys.stderr.isatty()
    watch: Reporter | None = None if quiet else (_progress_printer() if tty else line_printer())
    run = jobs.run_inline(ws, "encode", job.to_dict(), title=f"encode · {ds.name} · {job.model}", watch=watch)
    if watch is not None and tty:
        print(file=sys.stderr)
    if run.status == "cancelled":
        print("cancelled: the finished shards are kept; run the same command to resume", file=sys.stderr)
        raise SystemExit(130)
    if run.status != "done":
        print(f"error: encoding failed: {run.error} (run {run.id})", file=sys.stderr)
        raise SystemExit(1)
    return dict(run.result or {}) | {"run_id": run.id}


def _encode(args: argparse.Namespace) -> int:
    if args.list_backends:
        return _list_backends(args.json)
    if not args.dataset:
        raise InvalidInput("encode needs --dataset (or --list-backends).")
    ws = open_workspace()
    ds = resolve_dataset(ws, args.dataset, kind="retrieval")
    if not isinstance(ds, RetrievalDataset):
        raise InvalidInput(f"{args.dataset!r} is a classification dataset; encode needs a retrieval corpus.")
    job = _job(args, ds.name if ws.get_dataset(ds.name) is not None else args.dataset)  # bad values: exit 2
    texts = list(ds.doc_texts())
    encoder = make_encoder(
        args.model, ws, backend=args.backend, max_seq_length=args.max_seq_length, sample=texts
    )
    quiet = args.json and not sys.stderr.isatty()
    say = (lambda m: None) if quiet else (lambda m: print(m, file=sys.stderr))
    result = _describe(encoder, ds, texts, args, say)
    cache = EmbeddingCache(ws)
    cached = cache.has(encoder.fingerprint, ds.fingerprint, len(texts)) and not args.restart
    result["cached"] = cached
    finished = cache.store(encoder.fingerprint, ds.fingerprint).finished()
    if not cached and finished and not args.restart:
        say(f"resuming: {len(finished)} shard(s) already finished")
    if not cached and args.engine == "local":
        est = estimate_encode_time(encoder, texts, batch_size=args.batch_size)
        say(f"estimate: {est.text} on {encoder.plan.label}")
        result |= {"estimate_s": round(est.seconds, 1), "estimate_rate": round(est.rate, 2)}
    if not args.estimate and not cached:
        label = f"{encoder.name} on {encoder.plan.label}"
        del encoder  # the job loads its own
        out = _encode_parallel(ds, texts, ws, args) if args.processes > 1 else _encode_job(job, ds, ws, quiet)
        elapsed, rows = max(float(out.pop("seconds")), 1e-9), int(out["rows_encoded"])
        say(f"encoded {rows:,} passages in {format_duration(elapsed)} ({rows / elapsed:,.1f}/s) with {label}")
        result |= out | {
            "seconds": round(elapsed, 2),
            "rate": round(rows / elapsed, 2),
            "engine": args.engine,
        }
    if args.json or not cached:
        print_json(result)
    else:
        print(f"{ds.name}: already in the embedding cache for {result['model']} on {result['backend']}")
    return 0


def _progress_printer() -> Reporter:
    def show(p: Progress) -> None:
        if p.is_log:
            print(f"\r{p.message:<100}", file=sys.stderr, flush=True)
        elif p.total:
            bar = "#" * int(30 * p.fraction)
            eta = f" ETA {p.eta_s:,.0f}s" if p.eta_s else ""
            print(
                f"\r  encode [{bar:<30}] {p.done:>7}/{p.total:<7} {p.message}{eta}   ",
                end="",
                file=sys.stderr,
            )

    return show
