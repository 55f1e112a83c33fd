"""Adaptation benchmark on SciFact (run it under the shared lock; it takes hours on 2 CPU cores):

    flock /tmp/esl-heavy.lock nice -n 5 .venv/bin/python bench/adaptation.py [--stages a,b,...]

Stages (each one ``adapt`` job run in the foreground, exactly as ``python -m core train`` runs it):

- ``contrastive1``: all-MiniLM-L6-v2, MNRL, one BM25 hard negative per (query, positive) from ranks 4–13,
  1 epoch on the 809 train queries; test nDCG@10 before (zero-shot, measured in the same run) and after;
- ``contrastive2`` / ``contrastive3``: the same for 2 / 3 epochs;
- ``mlm`` / ``tsdae``: continued pretraining of all-MiniLM-L6-v2 on SciFact corpus texts;
- ``cross-encoder``: a cross-encoder started from the ``contrastive1`` model, reranking the top 50 of the
  hybrid first stage (BM25 + that model), against the first stage alone.

Every number is printed against the baseline of the same run (delta and ratio), and all results are kept
in ``--out`` (JSON), stage by stage, so an interrupted benchmark keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

STAGES = ("contrastive1", "contrastive3", "mlm", "tsdae", "cross-encoder")
BASE = "all-MiniLM-L6-v2"
MINING = {"method": "bm25", "num_negatives": 1, "skip_top": 3, "depth": 13, "sampling": "random"}


def stage_config(stage: str, args: argparse.Namespace, results: dict) -> dict:
    base = getattr(args, "base", None) or BASE
    common = {"dataset": args.dataset, "base": base, "eval_split": "test", "evaluate": True}
    mining = dict(MINING)
    margin = getattr(args, "margin", None)
    if margin is not None:
        mining["relative_margin"] = None if margin < 0 else margin
    if args.smoke:
        common["base"] = "bert-tiny"
    seq = args.max_seq_length if not args.smoke else 64
    if stage.startswith("contrastive"):
        epochs = float(stage.removeprefix("contrastive"))
        train = {"epochs": epochs, "batch_size": 32, "learning_rate": 2e-5, "max_seq_length": seq}
        name = f"bench-{stage}" + (f"-seq{seq}" if seq != 128 else "")
        return {**common, "method": "contrastive", "mining": mining, "train": train, "name": name}
    if stage == "mlm":
        train = {"epochs": 1.0, "batch_size": 16, "max_seq_length": seq, "learning_rate": 5e-5}
        return {
            **common,
            "method": "mlm",
            "train": train,
            "corpus_limit": args.corpus_limit,
            "name": "bench-mlm",
        }
    if stage == "tsdae":
        train = {"epochs": 1.0, "batch_size": 16, "max_seq_length": seq, "learning_rate": 3e-5}
        return {
            **common,
            "method": "tsdae",
            "train": train,
            "corpus_limit": args.corpus_limit,
            "name": "bench-tsdae",
        }
    if stage == "cross-encoder":
        chained = getattr(args, "ce_base", None) or (results.get("contrastive1") or {}).get("model")
        train = {
            "epochs": args.ce_epochs,
            "batch_size": 16,
            "in_batch_negatives": 2,
            "loss": "mnrl",
            "max_seq_length": 128 if not args.smoke else 64,
            "learning_rate": getattr(args, "ce_lr", None) or 2e-5,
        }
        return {
            **common,
            "method": "cross-encoder",
            "base": chained or common["base"],
            "mining": {**mining, "num_negatives": 2, "depth": 30, "sampling": "top"},
            "train": train,
            "first_stage": "hybrid",
            "first_stage_model": chained or common["base"],
            "rerank_top_k": 50,
            "eval_queries": args.ce_eval_queries,
            "name": "bench-cross-encoder" + ce_variant(args),
        }
    raise ValueError(stage)


def ce_variant(args: argparse.Namespace) -> str:
    """Suffix naming a cross-encoder recipe other than the default (base, learning rate, epochs)."""
    parts = []
    if getattr(args, "ce_base", None):
        parts.append(f"from-{args.ce_base}")
    if getattr(args, "ce_lr", None):
        parts.append(f"lr{args.ce_lr:g}")
    if args.ce_epochs != 1.0:
        parts.append(f"{args.ce_epochs:g}ep")
    return ("-" + "-".join(parts)) if parts else ""


def run_stage(ws, stage: str, config: dict) -> dict:  # type: ignore[no-untyped-def]
    from core.adapt import summarize
    from core.runtime import jobs

    if ws.get_model(config["name"]) is not None:
        ws.delete_model(config["name"])
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    last = {"t": 0.0}

    def watch(p):  # type: ignore[no-untyped-def]
        if p.is_log:
            print(f"  [{stage}] {p.message}", flush=True)
        elif time.time() - last["t"] > 30 or (p.loss is not None and time.time() - last["t"] > 10):
            last["t"] = time.time()
            print(f"  [{stage}] {p.done}/{p.total} loss={p.loss} {p.message or ''}", flush=True)

    run = jobs.run_inline(
        ws,
        "adapt",
        config,
        title=f"bench {stage}",
        watch=watch,
    )
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    out = {
        "status": run.status,
        "error": run.error,
        "run_id": run.id,
        "wall_s": round(time.perf_counter() - t0, 1),
        "cpu_s": round(cpu, 1),
        "config": config,
    }
    if run.status == "done":
        res = run.result or {}
        out.update(summarize(res))
        out.update(
            {k: res.get(k) for k in ("train_cpu_s", "device", "mining", "pairs", "final_loss", "texts")}
        )
        out["evaluation"] = res.get("evaluation")
    return out


def report(results: dict) -> None:
    print("\n== Adaptation on SciFact (test split; baseline = 'before' of the same run)")
    print(
        f"{'stage':<14}{'before':>9}{'after':>9}{'delta':>9}{'ratio':>8}{'verdict':>10}{'steps':>7}{'train s':>9}{'train cpu s':>12}{'total cpu s':>12}"
    )
    for stage, r in results.items():
        if r.get("status") != "done" or not r.get("before"):
            print(f"{stage:<14} {r.get('status')}: {r.get('error')}")
            continue
        b, a = r["before"]["ndcg@10"], r["after"]["ndcg@10"]
        print(
            f"{stage:<14}{b:>9.4f}{a:>9.4f}{a - b:>+9.4f}{a / b:>8.3f}{r['verdict']:>10}{r['steps']:>7}"
            f"{r['train_s']:>9.0f}{(r.get('train_cpu_s') or 0):>12.0f}{r['cpu_s']:>12.0f}"
        )


def markdown(results: dict) -> str:
    """The README table."""
    lines = [
        "| Run | Rows / texts | Steps | Train wall s | Train CPU s | nDCG@10 before | after | Δ | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for stage, r in results.items():
        if r.get("status") != "done" or not r.get("before"):
            lines.append(f"| {stage} | {r.get('status')}: {r.get('error')} | | | | | | | |")
            continue
        b, a = r["before"]["ndcg@10"], r["after"]["ndcg@10"]
        rows = r.get("pairs") or r.get("texts") or ""
        lines.append(
            f"| {stage} | {rows} | {r['steps']} | {r['train_s']:.0f} | {r.get('train_cpu_s') or 0:.0f} | "
            f"{b:.4f} | {a:.4f} | {a - b:+.4f} | {r['verdict']} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--dataset", default=None, help="default: ESL_DATA_DIR/scifact")
    parser.add_argument("--home", default=os.environ.get("ESL_HOME") or "/tmp/esl-bench-adaptation")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "adaptation.json"))
    parser.add_argument("--corpus-limit", type=int, default=1000, help="MLM/TSDAE corpus texts")
    parser.add_argument(
        "--max-seq-length",
        type=int,
        default=128,
        help="training truncation of the contrastive stages (128: fast on CPU; 256: the model's own length); "
        "results of another length are stored as STAGE@LENGTH",
    )
    parser.add_argument("--base", default=BASE, help="base bi-encoder: a registered name or a local folder")
    parser.add_argument(
        "--margin",
        type=float,
        default=None,
        help="relative margin of the false-negative rule (default: MiningConfig's 0.05; negative: off); "
        "results with the rule off are stored as STAGE-nomargin",
    )
    parser.add_argument("--ce-epochs", type=float, default=1.0)
    parser.add_argument("--ce-lr", type=float, default=None, help="cross-encoder learning rate (2e-5)")
    parser.add_argument(
        "--ce-base", default=None, help="cross-encoder base and first-stage model (default: contrastive1's)"
    )
    parser.add_argument("--ce-eval-queries", type=int, default=100, help="test queries for the reranker")
    parser.add_argument(
        "--smoke", action="store_true", help="bert-tiny, tiny settings: checks the script runs"
    )
    parser.add_argument("--report-only", action="store_true", help="print the stored results as Markdown")
    args = parser.parse_args()
    if args.report_only:
        print(markdown(json.loads(Path(args.out).read_text())))
        return 0
    os.environ["ESL_HOME"] = args.home
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from core.data import import_dataset
    from core.runtime import Workspace, get_settings

    ws = Workspace(args.home)
    if args.dataset is None:
        args.dataset = "scifact"
        if ws.get_dataset("scifact") is None:
            import_dataset(ws, get_settings().data_dir / "scifact", name="scifact")
    out_path = Path(args.out)
    results = json.loads(out_path.read_text()) if out_path.exists() else {}
    for stage in [s.strip() for s in args.stages.split(",") if s.strip()]:
        print(f"== {stage} ({time.strftime('%H:%M:%S')})", flush=True)
        key = stage
        if stage.startswith("contrastive") and args.max_seq_length != 128 and not args.smoke:
            key = f"{stage}@{args.max_seq_length}"
        if args.margin is not None and args.margin < 0:
            key += "-nomargin"
        if stage == "cross-encoder":
            key += ce_variant(args)
        results[key] = run_stage(ws, stage, stage_config(stage, args, results))
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(results, indent=2, default=str))
        report({key: results[key]})
    report(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
