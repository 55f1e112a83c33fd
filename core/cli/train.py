"""``python -m core train {mlm,tsdae,contrastive,cross-encoder,splade}``: an adaptation run in the foreground
(same job handler and records as the Adapt page), with a progress bar on stderr and a JSON result."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from core.adapt import METHODS, MINING_METHODS, AdaptJob, MiningConfig, summarize
from core.cli import print_json
from core.data import RetrievalDataset, resolve_dataset
from core.evaluate import FIRST_STAGES
from core.runtime import InvalidInput, Progress, Reporter, jobs, open_workspace
from core.training import DEFAULT_SPLADE_BASE, PRECISIONS, train_config


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="adapt a model: MLM, TSDAE, contrastive, cross-encoder or SPLADE fine-tuning"
    )
    p.add_argument("method", choices=METHODS)
    p.add_argument("--dataset", required=True, help="workspace dataset name, or a BEIR folder / zip path")
    p.add_argument(
        "--base",
        default=None,
        help=f"base model (name, trained model or folder); default {AdaptJob.base}, splade: {DEFAULT_SPLADE_BASE}",
    )
    p.add_argument("--name", default=None, help="name to register the trained model under")
    p.add_argument(
        "--negatives", choices=MINING_METHODS, default=MiningConfig.method, help="hard-negative miner"
    )
    p.add_argument("--num-negatives", type=int, default=None, help="hard negatives per (query, positive)")
    p.add_argument("--skip-top", type=int, default=None, help="ranks skipped at the top when mining")
    p.add_argument("--depth", type=int, default=None, help="candidates looked at per query when mining")
    p.add_argument("--margin", type=float, default=None, help="relative margin (-1 switches it off)")
    p.add_argument("--epochs", type=float, default=None)
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None, help="learning rate")
    p.add_argument("--max-seq-length", type=int, default=None, help="truncation while training")
    p.add_argument(
        "--loss", default=None, help="contrastive: mnrl|cached-mnrl; cross-encoder: mnrl|lambda|listnet|bce"
    )
    p.add_argument(
        "--query-reg", type=float, default=None, help="splade: FLOPS weight on query vectors (default 5e-5)"
    )
    p.add_argument(
        "--doc-reg", type=float, default=None, help="splade: FLOPS weight on document vectors (default 3e-5)"
    )
    p.add_argument(
        "--precision", choices=PRECISIONS, default=None, help="auto (bf16 where native), fp32 or bf16"
    )
    p.add_argument("--mlm-probability", type=float, default=None, help="MLM masking rate (default 0.15)")
    p.add_argument("--corpus-limit", type=int, default=None, help="MLM/TSDAE: use at most N corpus texts")
    p.add_argument("--train-split", default=AdaptJob.train_split)
    p.add_argument("--eval-split", default=None, help="default: test")
    p.add_argument("--eval-queries", type=int, default=None, help="evaluate on a sample of N queries")
    p.add_argument("--no-eval", action="store_true", help="skip the before/after evaluation")
    p.add_argument(
        "--first-stage",
        choices=FIRST_STAGES,
        default=AdaptJob.first_stage,
        help="cross-encoder: first stage",
    )
    p.add_argument("--first-stage-model", default=None, help="cross-encoder: bi-encoder of the first stage")
    p.add_argument("--rerank-top-k", type=int, default=AdaptJob.rerank_top_k)
    p.add_argument("--json", action="store_true", help="print only the JSON result")
    p.set_defaults(handler=_train)


def _train_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The hyper-parameters given on the command line (those the method takes)."""
    train = {
        "epochs": args.epochs,
        "max_steps": args.max_steps,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "max_seq_length": args.max_seq_length,
        "loss": args.loss,
        "mlm_probability": args.mlm_probability,
        "precision": args.precision,
        "query_regularizer_weight": args.query_reg,
        "document_regularizer_weight": args.doc_reg,
    }
    if args.method != "mlm":
        train.pop("mlm_probability")
    if args.method not in ("contrastive", "cross-encoder"):
        train.pop("loss")
    if args.method != "splade":
        train.pop("query_regularizer_weight")
        train.pop("document_regularizer_weight")
    return {k: v for k, v in train.items() if v is not None}


def _mining_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The mining settings given on the command line (the others keep MiningConfig's defaults)."""
    mining: dict[str, Any] = {"method": args.negatives}
    for key, value in (
        ("num_negatives", args.num_negatives),
        ("skip_top", args.skip_top),
        ("depth", args.depth),
    ):
        if value is not None:
            mining[key] = value
    if args.margin is not None:
        mining["relative_margin"] = None if args.margin < 0 else args.margin
    return mining


def job_config(args: argparse.Namespace, dataset: str) -> dict[str, Any]:
    """The ``adapt`` job config for these options (parsed by :class:`AdaptJob`, as the job parses it)."""
    job = AdaptJob.from_dict(
        {
            "method": args.method,
            "dataset": dataset,
            "base": args.base,
            "name": args.name,
            "train_split": args.train_split,
            "eval_split": args.eval_split,
            "evaluate": not args.no_eval,
            "eval_queries": args.eval_queries,
            "corpus_limit": args.corpus_limit,
            "train": _train_settings(args),
            "mining": _mining_settings(args),
            "first_stage": args.first_stage,
            "first_stage_model": args.first_stage_model,
            "rerank_top_k": args.rerank_top_k,
        }
    )
    return job.to_dict()


def _bar(echo: Any) -> Reporter:
    """A one-line progress bar on stderr; log lines go to ``echo``."""
    state = {"t0": time.time(), "last": 0.0}

    def show(p: Progress) -> None:
        if p.is_log:
            echo(p.message)
            return
        step, total, loss, message = p.done, p.total, p.loss, p.message
        now = time.time()
        if now - state["last"] < 0.2 and loss is None:
            return
        state["last"] = now
        if total:
            frac = min(1.0, step / total)
            bar = "#" * int(30 * frac)
            eta = (now - state["t0"]) / max(frac, 1e-9) * (1 - frac) if frac else 0
            text = f"[{bar:<30}] {step}/{total}"
        else:
            text, eta = f"{step}", 0
        extra = f" loss {loss:.4f}" if loss is not None else ""
        tail = (message or "")[:50]
        print(f"\r{text}{extra} {tail:<50} eta {eta:>5.0f}s", end="", file=sys.stderr, flush=True)

    return show


def _train(args: argparse.Namespace) -> int:
    ws = open_workspace()
    ds = resolve_dataset(ws, args.dataset, kind="retrieval")
    if not isinstance(ds, RetrievalDataset):
        raise InvalidInput(
            f"{args.dataset!r} is a classification dataset; train needs corpus, queries and qrels."
        )
    dataset = ds.name if ws.get_dataset(ds.name) is not None else args.dataset
    config = job_config(args, dataset)

    train_config(args.method, config["base"], "/tmp/unused", config["train"])  # bad settings: exit 2 first
    quiet = args.json and not sys.stderr.isatty()

    def echo(message: str) -> None:
        if not quiet:
            print(f"\r{message:<100}", file=sys.stderr, flush=True)

    run = jobs.run_inline(
        ws,
        "adapt",
        config,
        title=f"{args.method} · {ds.name} · {config['base']}",
        watch=None if quiet else _bar(echo),
    )
    if not quiet:
        print(file=sys.stderr)
    if run.status == "cancelled":
        print("cancelled: nothing was registered", file=sys.stderr)
        return 130
    if run.status != "done":
        print(f"error: training failed: {run.error} (run {run.id})", file=sys.stderr)
        return 1
    out = summarize(run.result)
    out["run_id"] = run.id
    if args.json:
        print_json(out)
    else:
        print_json(out)
        ev = (run.result or {}).get("evaluation") or {}
        if ev:
            print(
                f"nDCG@10 {ev['before']['ndcg@10']:.4f} -> {ev['after']['ndcg@10']:.4f} "
                f"({ev['delta']['ndcg@10']:+.4f}): {ev['verdict'].upper()}",
                file=sys.stderr,
            )
    return 0
