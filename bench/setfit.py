"""SetFit on this CPU: one timed binary run (SST-2, N=8) and learning curves against the baselines.

    python bench/setfit.py                         # timed run + full curves (SST-2, Banking77; N 8..64 × 5 seeds)
    python bench/setfit.py --only-timed            # just the timed run
    python bench/setfit.py --datasets sst2 --n 8 --seeds 2 --skip-timed      # a quick partial curve
    python bench/setfit.py --seeds-for-large 2     # 5 seeds up to N=16, then 2 (when time is short)
    python bench/setfit.py --quick                 # timed run + N 8,16 × 2 seeds on 500 test rows (minutes)

Run it under the shared lock: ``flock /tmp/esl-heavy.lock nice -n 5 python bench/setfit.py``.
Every score is on the full test split unless --test-limit is given. Times are ratios against the
frozen-embedding logistic regression measured in the same run. ``--out FILE`` appends one JSON line
per finished dataset so that a long run keeps what it measured.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# this file is named like the library it benchmarks: drop its own folder from the path so that
# `import setfit` finds the package, not this script
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))
os.environ.setdefault("ESL_HOME", "/tmp/esl-bench-setfit")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def _fmt(mean: float, std: float) -> str:
    return f"{100 * mean:5.1f} ± {100 * std:4.1f}"


def timed_run(args: argparse.Namespace, setfit_cfg) -> dict:
    """One SetFit training on SST-2 N=8 (seed 0), timed, against the frozen logreg in the same process."""
    from core.classify import frozen_vectors, logreg_predict
    from core.data import resolve_dataset, sample_per_class
    from core.encoding import make_encoder
    from core.runtime import Workspace
    from core.training import fit_setfit

    ws = Workspace()
    ds = resolve_dataset(ws, str(Path(args.data_dir) / "sst2"))
    sample = sample_per_class(ds, 8, 0)
    encoder = make_encoder(args.body, ws)
    encoder.encode(["warm up"])
    t0 = time.perf_counter()
    x = frozen_vectors(encoder, sample.texts, None)
    logreg_predict(x, sample, x)
    logreg_s = time.perf_counter() - t0
    cfg = replace(setfit_cfg, n_per_class=8, seed=0, body=args.body)
    _model, info = fit_setfit(cfg, sample, ws=ws)
    print(
        f"[timed] SST-2 N=8 (16 texts, {info['pairs']} pairs, {info['steps']} steps): "
        f"SetFit training {info['train_s']:.1f} s (goal < 60 s) vs frozen logreg (encode + fit) "
        f"{logreg_s:.2f} s → {info['train_s'] / max(logreg_s, 1e-9):.0f}x",
        flush=True,
    )
    return {
        "setfit_train_s": info["train_s"],
        "logreg_s": logreg_s,
        **{k: info[k] for k in ("pairs", "steps")},
    }


def curve(args: argparse.Namespace, name: str, setfit_cfg) -> dict:
    from core.classify import ClassifyConfig, run_classification, summarize
    from core.data import resolve_dataset
    from core.encoding import make_encoder
    from core.runtime import Workspace

    ws = Workspace()
    ds = resolve_dataset(ws, str(Path(args.data_dir) / name))
    encoder = make_encoder(args.body, ws)
    rows, notes, started = [], [], time.perf_counter()
    for n in args.n:
        seeds = args.seeds if n <= args.large_from else min(args.seeds, args.seeds_for_large)
        config = ClassifyConfig(
            dataset=name,
            body=args.body,
            methods=tuple(args.methods),
            n_values=(n,),
            seeds=tuple(range(seeds)),
            setfit=setfit_cfg,
            test_limit=args.test_limit,
        )
        t0 = time.perf_counter()
        result = run_classification(config, ds, ws=ws, encoder=encoder)
        rows.extend(result.rows)
        notes.extend(result.notes)
        by = {s["method"]: s for s in summarize(result.rows)}
        parts = [
            f"{m} {_fmt(by[m]['accuracy_mean'], by[m]['accuracy_std'])}" for m in args.methods if m in by
        ]
        extra = ""
        if "setfit" in by:
            capped = [r for r in result.setfit_info if r["capped"]]
            extra = (
                f" · SetFit {by['setfit']['train_s_mean']:.0f} s/run, {result.setfit_info[0]['pairs']} pairs"
            )
            extra += " (capped)" if capped else ""
        print(
            f"[{name}] N={n:<3} seeds={seeds} test={result.n_test}: "
            + " | ".join(parts)
            + extra
            + f" · {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    summary = summarize(rows)
    print(f"\n{name}: accuracy % (mean ± std over seeds), full test split = {not args.test_limit}")
    print(f"{'N':>4} " + " ".join(f"{m:>16}" for m in args.methods) + "   SetFit − logreg")
    for n in args.n:
        by = {s["method"]: s for s in summary if s["n_per_class"] == n}
        line = f"{n:>4} " + " ".join(
            f"{_fmt(by[m]['accuracy_mean'], by[m]['accuracy_std']):>16}" if m in by else f"{'-':>16}"
            for m in args.methods
        )
        if "setfit" in by and "logreg" in by:
            delta = by["setfit"]["accuracy_mean"] - by["logreg"]["accuracy_mean"]
            line += f"   {100 * delta:+5.1f} pts"
        print(line)
    setfit_means = [s["accuracy_mean"] for s in summary if s["method"] == "setfit"]
    if len(setfit_means) > 1:
        grows = all(b > a for a, b in itertools.pairwise(setfit_means))
        print(f"SetFit accuracy grows with N: {grows}")
    for note in dict.fromkeys(notes):
        print(f"  note: {note}")
    return {
        "dataset": name,
        "rows": [r.__dict__ for r in rows],
        "summary": summary,
        "elapsed_s": time.perf_counter() - started,
    }


def main(argv: list[str] | None = None) -> int:
    from core.training import SetFitConfig

    defaults = SetFitConfig()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", default="sst2,banking77")
    parser.add_argument("--data-dir", default=None, help="default: ESL_DATA_DIR (../shared/data)")
    parser.add_argument("--n", default="8,16,32,64", help="N per class values")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--seeds-for-large", type=int, default=None, help="fewer seeds for N above --large-from"
    )
    parser.add_argument("--large-from", type=int, default=16)
    parser.add_argument("--methods", default="setfit,logreg,zeroshot")
    parser.add_argument("--body", default=defaults.body)
    parser.add_argument("--max-pairs", type=int, default=defaults.max_pairs, help="0: no cap")
    parser.add_argument("--num-iterations", type=int, default=defaults.num_iterations)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--body-learning-rate", type=float, default=defaults.body_learning_rate)
    parser.add_argument("--head", choices=["logistic", "differentiable"], default=defaults.head)
    parser.add_argument("--loss", choices=["cosent", "cosine"], default=defaults.loss)
    parser.add_argument(
        "--test-limit", type=int, default=None, help="score on a stratified slice (quick looks)"
    )
    parser.add_argument("--skip-timed", action="store_true")
    parser.add_argument("--only-timed", action="store_true")
    parser.add_argument("--out", help="append one JSON line per finished part to this file")
    parser.add_argument("--quick", action="store_true", help="N 8,16 × 2 seeds on a 500-row test slice")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.seeds, args.test_limit = "8,16", 2, args.test_limit or 500
    if args.data_dir is None:
        from core.runtime import get_settings

        args.data_dir = str(get_settings().data_dir)
    args.n = [int(v) for v in args.n.split(",") if v]
    args.methods = [m for m in args.methods.split(",") if m]
    args.seeds_for_large = args.seeds_for_large or args.seeds
    setfit_cfg = replace(
        defaults,
        body=args.body,
        max_pairs=args.max_pairs or None,
        num_iterations=args.num_iterations,
        epochs=args.epochs,
        batch_size=args.batch_size,
        body_learning_rate=args.body_learning_rate,
        head=args.head,
        loss=args.loss,
    )
    print(
        f"body {args.body} · SetFit: num_iterations {setfit_cfg.num_iterations}, max_pairs {setfit_cfg.max_pairs}, "
        f"epochs {setfit_cfg.epochs}, batch {setfit_cfg.batch_size}, lr {setfit_cfg.body_learning_rate:g}, "
        f"head {setfit_cfg.head}, loss {setfit_cfg.loss}"
        f" · torch threads: {__import__('torch').get_num_threads()}",
        flush=True,
    )

    def emit(part: dict) -> None:
        if args.out:
            with open(args.out, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(part, default=str) + "\n")

    if not args.skip_timed:
        emit({"part": "timed", **timed_run(args, setfit_cfg)})
    if args.only_timed:
        return 0
    for name in [d for d in args.datasets.split(",") if d]:
        emit({"part": "curve", "setfit": setfit_cfg.to_dict(), **curve(args, name, setfit_cfg)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
