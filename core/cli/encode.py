"""``python -m core encode``: encode a retrieval corpus into the embedding cache on a chosen backend,
with the truncation share and a timed estimate first; ``backends`` lists what runs here."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from core.cli import print_json
from core.data import RetrievalDataset, resolve_dataset
from core.encoding import (
    BACKENDS,
    EmbeddingCache,
    backend_statuses,
    encode_corpus,
    encode_parallel,
    estimate_encode_time,
    format_duration,
    make_encoder,
    truncation_stats,
)
from core.models import DEFAULT_BI_ENCODER, DEFAULT_MAX_LENGTH
from core.runtime import InvalidInput, detect_device, open_workspace

BACKEND_CHOICES = list(BACKENDS)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("encode", help="encode a corpus into the embedding cache (backends, ETA, truncation)")
    p.add_argument("--dataset", help="workspace dataset name, or a BEIR folder / zip path")
    p.add_argument("--model", default=DEFAULT_BI_ENCODER, help="bi-encoder")
    p.add_argument(
        "--backend",
        default="torch",
        choices=BACKEND_CHOICES,
        help="falls back to torch, with a reason, where it cannot run",
    )
    p.add_argument("--max-seq-length", type=int, default=None, help="cap on tokens per passage")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--processes", type=int, default=1, help="worker processes (CPU; see bench/encode.py)")
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
        "documents": len(texts),
        "max_seq_length": msl,
        "truncated_share": round(trunc.share, 4),
    }


def _encode_now(
    encoder: Any, ds: RetrievalDataset, texts: list[str], cache: EmbeddingCache, ws: Any, args: Any
) -> float:
    """Encode the corpus into the cache (in worker processes with ``--processes``); returns the seconds."""
    progress = _progress_printer() if sys.stderr.isatty() else None
    start = time.perf_counter()
    if args.processes > 1:
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
        cache.put(encoder.fingerprint, ds.fingerprint, vectors)
    else:
        encode_corpus(encoder, texts, ds.fingerprint, cache, batch_size=args.batch_size, progress=progress)
    elapsed = time.perf_counter() - start
    if progress is not None:
        print(file=sys.stderr)
    return elapsed


def _encode(args: argparse.Namespace) -> int:
    if args.list_backends:
        return _list_backends(args.json)
    if not args.dataset:
        raise InvalidInput("encode needs --dataset (or --list-backends).")
    ws = open_workspace()
    ds = resolve_dataset(ws, args.dataset, kind="retrieval")
    if not isinstance(ds, RetrievalDataset):
        raise InvalidInput(f"{args.dataset!r} is a classification dataset; encode needs a retrieval corpus.")
    texts = list(ds.doc_texts())
    encoder = make_encoder(args.model, ws, backend=args.backend, max_seq_length=args.max_seq_length)
    say = (lambda m: print(m, file=sys.stderr)) if not args.json or sys.stderr.isatty() else (lambda m: None)
    result = _describe(encoder, ds, texts, args, say)
    cache = EmbeddingCache(ws)
    cached = cache.get(encoder.fingerprint, ds.fingerprint, len(texts)) is not None
    result["cached"] = cached
    if not cached:
        est = estimate_encode_time(encoder, texts, batch_size=args.batch_size)
        say(f"estimate: {est.text} on {encoder.plan.label}")
        result |= {"estimate_s": round(est.seconds, 1), "estimate_rate": round(est.rate, 2)}
    if not args.estimate and not cached:
        elapsed = _encode_now(encoder, ds, texts, cache, ws, args)
        say(f"encoded {len(texts):,} documents in {format_duration(elapsed)} ({len(texts) / elapsed:,.1f}/s)")
        result |= {"seconds": round(elapsed, 2), "rate": round(len(texts) / elapsed, 2)}
    if args.json:
        print_json(result)
    elif cached:
        print(f"{ds.name}: already in the embedding cache for {encoder.name} on {encoder.plan.label}")
    return 0


def _progress_printer():  # type: ignore[no-untyped-def]
    def show(p) -> None:  # type: ignore[no-untyped-def]
        if p.total:
            bar = "#" * int(30 * p.fraction)
            eta = f" ETA {p.eta_s:,.0f}s" if p.eta_s else ""
            print(
                f"\r  encode [{bar:<30}] {p.done:>7}/{p.total:<7} {p.message}{eta}   ",
                end="",
                file=sys.stderr,
            )

    return show
