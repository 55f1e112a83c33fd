"""``python -m core classify``: few-shot classification (SetFit or a baseline) over several seeds.

Runs in the foreground as a ``setfit_run`` job (recorded in the workspace's run history, same code as the
Classify page) and prints the mean over seeds; ``--json`` prints exactly::

    {"dataset", "method", "n_per_class", "seeds", "accuracy_mean", "accuracy_std", "macro_f1_mean",
     "mcc_mean", "train_s_mean"}
"""

from __future__ import annotations

import argparse
import sys

from core.classify import RUN_KIND, ClassifyConfig
from core.cli import line_printer, print_json
from core.data import LabeledDataset, resolve_dataset
from core.models import resolve_model
from core.runtime import InvalidInput, jobs, open_workspace
from core.training import PAIR_LOSSES, SetFitConfig

JSON_KEYS = (
    "dataset",
    "method",
    "n_per_class",
    "seeds",
    "accuracy_mean",
    "accuracy_std",
    "macro_f1_mean",
    "mcc_mean",
    "train_s_mean",
)


def register(sub: argparse._SubParsersAction) -> None:
    d = SetFitConfig()
    p = sub.add_parser(
        "classify",
        help="few-shot classification: SetFit or a baseline, N examples per class, several seeds",
        description="Sample N labelled examples per class (seeded), train, score on the full test split.",
    )
    p.add_argument(
        "--dataset", required=True, help="stored dataset name, or a path to a classification dataset"
    )
    p.add_argument("--method", choices=["setfit", "logreg", "zeroshot"], default="setfit")
    p.add_argument("--n-per-class", type=int, default=8, help="labelled examples per class (default 8)")
    p.add_argument("--seeds", type=int, default=5, help="number of seeds: 0..SEEDS-1 (default 5)")
    p.add_argument("--body", default=d.body, help=f"sentence-transformer body (default {d.body})")
    p.add_argument("--head", choices=["logistic", "differentiable"], default=d.head)
    p.add_argument(
        "--loss", choices=list(PAIR_LOSSES), default=d.loss, help="SetFit's pair loss for the body"
    )
    p.add_argument("--num-iterations", type=int, default=d.num_iterations)
    p.add_argument("--max-pairs", type=int, default=d.max_pairs, help="cap on pairs per epoch (0: no cap)")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--body-learning-rate", type=float, default=d.body_learning_rate)
    p.add_argument(
        "--test-limit", type=int, default=None, help="score on a stratified slice (default: full test)"
    )
    p.add_argument(
        "--save-model", action="store_true", help="setfit: keep the seed-0 model in the run folder"
    )
    p.add_argument("--register", metavar="NAME", help="setfit: save the seed-0 model and register it as NAME")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(handler=_classify)


def build_config(args: argparse.Namespace) -> dict:
    """The job config for these arguments (the Classify page builds the same one)."""
    if args.seeds < 1:
        raise InvalidInput("--seeds must be at least 1")
    setfit = SetFitConfig(
        head=args.head,
        loss=args.loss,
        num_iterations=args.num_iterations,
        max_pairs=args.max_pairs or None,
        epochs=args.epochs,
        batch_size=args.batch_size,
        body_learning_rate=args.body_learning_rate,
        body=args.body,
    )
    config = ClassifyConfig(
        dataset=args.dataset,
        body=args.body,
        methods=(args.method,),
        n_values=(args.n_per_class,),
        seeds=tuple(range(args.seeds)),
        setfit=setfit,
        test_limit=args.test_limit,
    ).to_dict()
    config["save_model"] = bool(args.save_model or args.register)
    if args.register:
        if args.method != "setfit":
            raise InvalidInput("--register needs --method setfit")
        config["register_as"] = args.register
    return config


def _classify(args: argparse.Namespace) -> int:
    ws = open_workspace()
    config = build_config(args)
    ds = resolve_dataset(ws, args.dataset)  # user errors (unknown dataset / model) exit 2 before any work
    if not isinstance(ds, LabeledDataset):
        raise InvalidInput(f"{args.dataset!r} is a {ds.kind} dataset; classify needs labelled texts.")
    resolve_model(args.body, ws)
    if args.register and ws.get_model(args.register) is not None:
        raise InvalidInput(f"A model named {args.register!r} is already registered.")

    def echo(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    title = f"{args.method} · {ds.name} · N={args.n_per_class} × {args.seeds} seeds"
    run = jobs.run_inline(ws, RUN_KIND, config, title=title, watch=line_printer(prefix="classify"))
    if run.status != "done" or not run.result:
        print(f"error: run {run.id} {run.status}: {run.error or 'no result'}", file=sys.stderr)
        return 1
    summary = next(s for s in run.result["summary"] if s["method"] == args.method)
    out = {
        "dataset": run.result["dataset"],
        "method": args.method,
        "n_per_class": args.n_per_class,
        "seeds": summary["seeds"],
        "accuracy_mean": summary["accuracy_mean"],
        "accuracy_std": summary["accuracy_std"],
        "macro_f1_mean": summary["macro_f1_mean"],
        "mcc_mean": summary["mcc_mean"],
        "train_s_mean": summary["train_s_mean"],
    }
    for note in run.result.get("notes", []):
        echo(f"note: {note}")
    if args.json:
        print_json(out)
    else:
        print(
            f"{args.method} on {out['dataset']} (N={args.n_per_class}, {out['seeds']} seeds, "
            f"{run.result['n_test']} test texts): accuracy {out['accuracy_mean']:.4f} ± {out['accuracy_std']:.4f}, "
            f"macro-F1 {out['macro_f1_mean']:.4f}, MCC {out['mcc_mean']:.4f}, "
            f"train {out['train_s_mean']:.1f} s/run · run {run.id}"
        )
        if run.result.get("model_path"):
            print(f"model: {run.result['model_path']}")
        for model in run.result.get("models", []):
            print(f"registered {model['name']!r} ({model['kind']}) at {model['path']}")
    return 0
