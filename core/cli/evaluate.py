"""``python -m core evaluate``: compare retrieval strategies on a dataset split."""

from __future__ import annotations

import argparse
import sys

from core.cli import print_json

STRATEGIES = ("bm25", "dense", "hybrid", "rerank")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="compare BM25, dense, hybrid and reranked retrieval on a dataset")
    _add_arguments(p)
    p.set_defaults(handler=_evaluate)


def default_options(**overrides: object) -> argparse.Namespace:
    """The CLI's options with their defaults, updated with ``overrides`` (the page builds its specs
    from these, so the same choices give the same specs — and the same numbers — as the CLI)."""
    parser = argparse.ArgumentParser(add_help=False)
    _add_arguments(parser)
    args = parser.parse_args(["--dataset", str(overrides.get("dataset", "-"))])
    unknown = set(overrides) - set(vars(args))
    if unknown:
        raise ValueError(f"Unknown evaluate options: {sorted(unknown)}")
    for key, value in overrides.items():
        setattr(args, key, value)
    return args


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", required=True, help="workspace dataset name, or a BEIR folder / zip path")
    p.add_argument("--split", default=None, help="split to evaluate (default: test)")
    p.add_argument("--strategies", default="bm25,dense,hybrid", help="comma list of bm25,dense,hybrid,rerank")
    p.add_argument("--model", default="all-MiniLM-L6-v2", help="bi-encoder for dense / hybrid")
    p.add_argument(
        "--backend",
        default="torch",
        choices=["torch", "onnx", "onnx-int8", "bf16"],
        help="encoding backend of the bi-encoder and the reranker (falls back to torch, with a note, where it "
        "cannot run)",
    )
    p.add_argument("--rerank-backend", default=None, help="backend of the reranker (default: --backend)")
    p.add_argument("--max-seq-length", type=int, default=None, help="cap on tokens per passage (bi-encoder)")
    p.add_argument(
        "--check-backends",
        default="",
        help="comma list of extra backends to evaluate the dense strategy with, next to --backend "
        "(quality guard, e.g. onnx-int8,bf16)",
    )
    p.add_argument(
        "--reranker", default=None, help="cross-encoder for rerank (folder, trained model or hub id)"
    )
    p.add_argument("--rerank-top-k", type=int, default=50, help="how many first-stage results to rescore")
    p.add_argument(
        "--rerank-first-stage",
        choices=["bm25", "dense", "hybrid"],
        default="hybrid",
        help="the ranking the reranker rescores",
    )
    p.add_argument("--no-stemming", dest="stemming", action="store_false", help="BM25 without stemming")
    p.add_argument(
        "--no-stopwords", dest="stopwords", action="store_false", help="BM25 keeps English stop-words"
    )
    p.add_argument("--k", type=int, default=100, help="results per query")
    p.add_argument("--fusion", choices=["convex", "rrf"], default="convex", help="hybrid fusion")
    p.add_argument(
        "--norm", choices=["minmax", "zscore"], default="minmax", help="score normalisation (convex)"
    )
    p.add_argument("--alpha", type=float, default=0.5, help="dense weight in convex fusion (when not tuned)")
    p.add_argument("--rrf-k", type=int, default=60, help="RRF constant")
    p.add_argument(
        "--tune-split",
        default="auto",
        help="split to tune alpha on: auto (train if present), none, or a name",
    )
    p.add_argument("--index", choices=["exact", "hnsw"], default="exact", help="FAISS index type")
    p.add_argument(
        "--baseline", default=None, help="strategy the others are tested against (default: the first)"
    )
    p.add_argument("--stat-test", choices=["student", "fisher", "wilcoxon"], default="student")
    p.add_argument("--json", action="store_true", help="print JSON")


def build_specs(args: argparse.Namespace, splits: list[str]) -> dict:
    """Strategy specs from CLI-style options (shared with the page and the wizard)."""
    from core.retrieval import BM25Spec, DenseSpec, HybridSpec, RerankSpec

    names = [s.strip() for s in args.strategies.split(",") if s.strip()]
    unknown = [n for n in names if n not in STRATEGIES]
    if unknown or not names:
        raise ValueError(f"Unknown strategies {unknown}; choose from {', '.join(STRATEGIES)}.")
    tune = args.tune_split
    if tune == "auto":  # train, unless that is the split being evaluated (no tuning on the test data)
        evaluated = getattr(args, "split", None) or ("test" if "test" in splits else splits[-1])
        tune = "train" if "train" in splits and evaluated != "train" else None
    elif tune in ("none", ""):
        tune = None
    bm25 = BM25Spec(
        stemmer="english" if getattr(args, "stemming", True) else None,
        stopwords="en" if getattr(args, "stopwords", True) else None,
    )
    dense = DenseSpec(
        model=args.model,
        backend=args.backend,
        index=args.index,
        max_seq_length=getattr(args, "max_seq_length", None),
    )
    hybrid = HybridSpec(
        sparse=bm25,
        dense=dense,
        fusion=args.fusion,
        alpha=args.alpha,
        norm=args.norm,
        rrf_k=args.rrf_k,
        tune_split=tune if args.fusion == "convex" else None,
    )
    specs: dict = {}
    for name in names:
        if name == "bm25":
            specs[name] = bm25
        elif name == "dense":
            specs[name] = dense
        elif name == "hybrid":
            specs[name] = hybrid
        elif name == "rerank":
            if not args.reranker:
                raise ValueError(
                    "rerank needs --reranker: a cross-encoder folder, a model trained on the Adapt page, or a hub id "
                    "when online (no pretrained cross-encoder can be installed offline; see MODELS.md)."
                )
            first = {"bm25": bm25, "dense": dense, "hybrid": hybrid}[
                getattr(args, "rerank_first_stage", "hybrid")
            ]
            specs[name] = RerankSpec(
                first_stage=first,
                reranker=args.reranker,
                top_k=args.rerank_top_k,
                backend=getattr(args, "rerank_backend", None) or args.backend,
            )
    extra = [b.strip() for b in (getattr(args, "check_backends", "") or "").split(",") if b.strip()]
    if extra:
        from core.backends import backend_variants

        specs = backend_variants(specs, extra)
    return specs


def _evaluate(args: argparse.Namespace) -> int:
    from core.comparison import run_comparison, save_comparison
    from core.datasets import RetrievalDataset, resolve_dataset
    from core.store import open_workspace

    ws = open_workspace()
    ds = resolve_dataset(ws, args.dataset, kind="retrieval")
    if not isinstance(ds, RetrievalDataset):
        raise ValueError(
            f"{args.dataset!r} is a classification dataset; evaluate needs corpus, queries and qrels."
        )
    split = args.split or ds.default_split
    if split not in ds.splits:
        raise ValueError(f"Dataset {ds.name!r} has no split {split!r}; it has {ds.splits}.")
    specs = build_specs(args, ds.splits)
    progress = _progress_printer() if sys.stderr.isatty() or not args.json else None
    rep = run_comparison(
        ds, split, specs, ws=ws, k=args.k, baseline=args.baseline, stat_test=args.stat_test, progress=progress
    )
    run_id = save_comparison(ws, rep)
    if progress is not None:
        print(file=sys.stderr)
    if args.json:
        print_json(rep.to_json())
    else:
        _print_table(rep, run_id)
    return 0


def _progress_printer():  # type: ignore[no-untyped-def]
    def show(p) -> None:  # type: ignore[no-untyped-def]
        if p.stage == "strategy":
            print(f"\r{p.message:<90}", end="", file=sys.stderr, flush=True)
        elif p.total:
            bar = "#" * int(30 * p.fraction)
            print(
                f"\r  {p.stage:<7} [{bar:<30}] {p.done:>6}/{p.total:<6} {p.message:<30}",
                end="",
                file=sys.stderr,
                flush=True,
            )

    return show


def _print_table(rep, run_id: str) -> None:  # type: ignore[no-untyped-def]
    cols = ["ndcg@10", "recall@10", "recall@100", "p@10", "mrr@10", "map@100"]
    print(
        f"{rep.dataset} / {rep.split}: {rep.queries} queries (baseline {rep.baseline}, {rep.stat_test} test; * p<0.05)"
    )
    print(
        f"{'strategy':<10}"
        + "".join(f"{c:>12}" for c in cols)
        + f"{'p50 ms':>10}{'p95 ms':>10}{'index s':>10}"
    )
    for name, res in rep.strategies.items():
        cells = []
        for c in cols:
            p = rep.p_values.get(name, {}).get(c)
            cells.append(f"{res.metrics[c]:.4f}{'*' if p is not None and p < 0.05 else ' '}")
        print(
            f"{name:<10}"
            + "".join(f"{c:>12}" for c in cells)
            + f"{res.latency_ms_p50:>10.1f}{res.latency_ms_p95:>10.1f}{res.index_s:>10.1f}"
        )
        for note in res.notes:
            print(f"    note: {note}")
        for warning in res.warnings:
            print(f"    WARNING: {warning}")
    print(f"saved as run {run_id}")
