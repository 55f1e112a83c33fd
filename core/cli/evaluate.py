"""``python -m core evaluate``: compare retrieval strategies on a dataset split.

Progress: a bar rewritten in place on a terminal, plain lines otherwise (``--json`` too: stdout keeps the
JSON). The output — table and ``--json`` alike — states how every strategy ran: hybrid alpha and whether it
was tuned or fell back (with a note), the backend and the index type chosen, latency measured alone with
the machine's load, and a composite not significantly better than its best component. Below the quality table,
the spectrum (core.evaluate.spectrum_rows; ``"spectrum"`` in ``--json``): each strategy's family, encode
passages/s, query latency and index size, and the ratios against dense float32 exact of the same run."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence

from core.cli import line_printer, print_json
from core.data import AGGREGATES, RetrievalDataset, resolve_dataset
from core.encoding import BACKEND_CHOICES
from core.evaluate import (
    FIRST_STAGES,
    METRICS,
    STAT_TESTS,
    STATIC_STRATEGIES,
    STRATEGIES,
    CompareOptions,
    ComparisonReport,
    SpectrumRow,
    run_comparison,
    save_comparison,
    spectrum_rows,
)
from core.retrieval import AUTO_ANN, AUTO_EXACT_LIMIT, INDEX_KINDS
from core.runtime import InvalidInput, NotFound, Progress, Reporter, format_eta, open_workspace

PROGRESS_EVERY_S = 5.0  # seconds between plain progress lines within a stage


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate", help="compare BM25, SPLADE, dense, hybrid and reranked retrieval on a dataset"
    )
    _add_arguments(p)
    p.set_defaults(handler=_evaluate)


def _add_arguments(p: argparse.ArgumentParser) -> None:
    """Dataset, model, backend and reranker options (defaults: :class:`CompareOptions`)."""
    p.add_argument("--dataset", required=True, help="workspace dataset name, or a BEIR folder / zip path")
    p.add_argument("--split", default=None, help="split to evaluate (default: test)")
    p.add_argument(
        "--strategies",
        default=",".join(CompareOptions.strategies),
        help=f"comma list of {','.join(STRATEGIES + STATIC_STRATEGIES)} (hybrid = BM25+dense, hybrid_splade = "
        "SPLADE+dense, hybrid_bm25_splade, hybrid3 = BM25+SPLADE+dense; fusion weights tuned on train); a name "
        "may carry a chunking: dense@256/64 = passages of 256 tokens overlapping by 64, documents scored from "
        "their passages; bm25@256 = first 256 tokens only",
    )
    p.add_argument("--model", default=CompareOptions.model, help="bi-encoder for dense / hybrid")
    p.add_argument(
        "--static-model",
        default=CompareOptions.static_model,
        help="static model of the static / static_rescore strategies (python -m core models distill); any "
        "dense strategy may carry an index variant: dense:int8, dense:binary+rescore8, dense:pca128, "
        "dense:dim128, dense:int8@256/64 (README: static models and compressed indexes)",
    )
    p.add_argument(
        "--sparse-model",
        default=CompareOptions.sparse_model,
        help="SPLADE model for splade and its hybrids (registered name, SparseEncoder / masked-LM folder, hub id)",
    )
    p.add_argument(
        "--backend",
        default=CompareOptions.backend,
        choices=BACKEND_CHOICES,
        help="encoding backend of the bi-encoder and the reranker; auto (default): the fastest backend "
        "that passes a parity check on the corpus, remembered per model and machine (rerankers: torch); the "
        "others fall back to torch, with a note, where they cannot run",
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
    p.add_argument(
        "--rerank-top-k",
        type=int,
        default=CompareOptions.rerank_top_k,
        help="how many first-stage results to rescore",
    )
    p.add_argument(
        "--rerank-first-stage",
        choices=FIRST_STAGES,
        default=CompareOptions.rerank_first_stage,
        help="the ranking the reranker rescores",
    )
    _add_scoring_arguments(p)
    _add_chunking_arguments(p)


def _add_chunking_arguments(p: argparse.ArgumentParser) -> None:
    """How strategies named ``…@window/overlap`` cut and score passages (defaults: :class:`CompareOptions`)."""
    p.add_argument(
        "--chunk-sentences",
        action="store_true",
        help="cut passages at the last sentence end inside the window (overlap by whole sentences)",
    )
    p.add_argument("--chunk-title", action="store_true", help="prepend the document's title to every passage")
    p.add_argument(
        "--chunk-aggregate",
        choices=AGGREGATES,
        default=CompareOptions.chunk_aggregate,
        help="document score from its passages: maxp (best passage), sum_top (sum of the --chunk-top best), "
        "first (first passage)",
    )
    p.add_argument(
        "--chunk-top", type=int, default=CompareOptions.chunk_top, help="passages summed by sum_top"
    )


def _add_scoring_arguments(p: argparse.ArgumentParser) -> None:
    """BM25, fusion, index and statistics options (defaults: :class:`CompareOptions`)."""
    p.add_argument("--no-stemming", dest="stemming", action="store_false", help="BM25 without stemming")
    p.add_argument(
        "--no-stopwords", dest="stopwords", action="store_false", help="BM25 keeps English stop-words"
    )
    p.add_argument("--k", type=int, default=CompareOptions.k, help="results per query")
    p.add_argument("--fusion", choices=["convex", "rrf"], default=CompareOptions.fusion, help="hybrid fusion")
    p.add_argument(
        "--norm",
        choices=["minmax", "zscore"],
        default=CompareOptions.norm,
        help="score normalisation (convex)",
    )
    p.add_argument(
        "--alpha",
        type=float,
        default=CompareOptions.alpha,
        help="dense weight in convex fusion (when not tuned)",
    )
    p.add_argument("--rrf-k", type=int, default=CompareOptions.rrf_k, help="RRF constant")
    p.add_argument(
        "--tune-split",
        default=CompareOptions.tune_split,
        help="split to tune alpha on: auto (train if present), none, or a name",
    )
    p.add_argument(
        "--index",
        choices=INDEX_KINDS,
        default=CompareOptions.index,
        help=f"FAISS index: auto (exact up to {AUTO_EXACT_LIMIT:,} vectors, {AUTO_ANN} above), exact, hnsw or ivf",
    )
    p.add_argument(
        "--baseline", default=None, help="strategy the others are tested against (default: the first)"
    )
    p.add_argument("--stat-test", choices=STAT_TESTS, default=CompareOptions.stat_test)
    p.add_argument("--json", action="store_true", help="print JSON")


def _evaluate(args: argparse.Namespace) -> int:
    ws = open_workspace()
    ds = resolve_dataset(ws, args.dataset, kind="retrieval")
    if not isinstance(ds, RetrievalDataset):
        raise InvalidInput(
            f"{args.dataset!r} is a classification dataset; evaluate needs corpus, queries and qrels."
        )
    split = args.split or ds.default_split
    if split not in ds.splits:
        raise NotFound(f"Dataset {ds.name!r} has no split {split!r}; it has {ds.splits}.")
    options = CompareOptions.from_args(args)
    specs = options.specs(ds.splits)
    progress = (
        _progress_printer() if sys.stderr.isatty() else line_printer(PROGRESS_EVERY_S, prefix="evaluate")
    )
    rep = run_comparison(
        ds,
        split,
        specs,
        ws=ws,
        k=options.k,
        baseline=options.baseline,
        stat_test=options.stat_test,
        progress=progress,
    )
    rep = _alpha_fallback(rep, options, ds.splits, split)
    run_id = save_comparison(ws, rep)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if args.json:
        spectrum = [dataclasses.asdict(row) for row in spectrum_rows(rep)]
        print_json({**rep.to_json(), "spectrum": spectrum, "run_id": run_id})
    else:
        _print_table(rep, run_id)
    return 0


def _alpha_fallback(
    rep: ComparisonReport, options: CompareOptions, splits: list[str], split: str
) -> ComparisonReport:
    """A note on every hybrid whose alpha was meant to be tuned (``--tune-split auto``) but kept its
    default because there is nothing to tune on (no train split, or train is the evaluated split)."""
    if options.tune_split != "auto" or options.fusion != "convex":
        return rep
    why = "the evaluated split is train" if split == "train" else "there is no train split"
    note = (
        f"hybrid alpha fell back to {options.alpha:.2f} (not tuned: {why}); tune it on another split with "
        "--tune-split NAME or set it with --alpha"
    )
    changed = {}
    for name, res in rep.strategies.items():
        if res.extra.get("alpha_tuned") is False:
            extra = {**res.extra, "alpha_source": f"fallback: {why}"}
            changed[name] = dataclasses.replace(res, notes=[*res.notes, note], extra=extra)
    return dataclasses.replace(rep, strategies={**rep.strategies, **changed}) if changed else rep


def _progress_printer() -> Reporter:
    """One line on stderr, rewritten in place: the overall bar and what is being done."""

    def show(p: Progress) -> None:
        if p.is_log:
            print(f"\r{p.message:<110}", file=sys.stderr, flush=True)
            return
        bar = "#" * int(30 * p.fraction)
        eta = f" ETA {format_eta(p.eta_s)}" if p.eta_s is not None and p.done < p.total else ""
        print(f"\r[{bar:<30}]{eta:>11} {p.message[:68]:<68}", end="", file=sys.stderr, flush=True)

    return show


def _print_table(rep, run_id: str) -> None:  # type: ignore[no-untyped-def]
    cols = list(METRICS)
    width = max(10, *(len(name) + 2 for name in rep.strategies))
    print(
        f"{rep.dataset} / {rep.split}: {rep.queries} queries (baseline {rep.baseline}, {rep.stat_test} test; * p<0.05)"
    )
    print(f"{'strategy':<{width}}" + "".join(f"{c:>12}" for c in cols))
    for name, res in rep.strategies.items():
        cells = []
        for c in cols:
            p = rep.p_values.get(name, {}).get(c)
            cells.append(f"{res.metrics[c]:.4f}{'*' if p is not None and p < 0.05 else ' '}")
        print(f"{name:<{width}}" + "".join(f"{c:>12}" for c in cells))
        print(f"    ran with: {_settings_line(res)}")
        for note in res.notes:
            print(f"    note: {note}")
        for warning in res.warnings:
            print(f"    WARNING: {warning}")
    print()
    _print_spectrum(spectrum_rows(rep), width)
    print(rep.latency_caption() + "; each strategy timed alone, single queries after a warm-up")
    for name, simpler in rep.simpler_alternatives().items():
        print(f"WARNING: {name} is not significantly better than {simpler}: prefer the simpler strategy")
    print(f"saved as run {run_id}")


def _settings_line(res) -> str:  # type: ignore[no-untyped-def]
    """``backend torch-fp32 · index exact · alpha 0.35 (tuned on train (100 queries)) · 812 queries/s``."""
    s = res.settings()
    parts = []
    if "backend" in s:
        parts.append(f"backend {s['backend']}")
    if "index" in s:
        parts.append(f"index {s['index']}")
    if "alpha" in s:
        parts.append(f"alpha {s['alpha']:.2f} ({s.get('alpha_source', '')})")
    elif "alpha_source" in s:
        parts.append(s["alpha_source"])
    qps = res.extra.get("throughput_qps")
    if qps:
        parts.append(f"{qps:,.1f} queries/s batched")
    return " · ".join(parts) or "defaults"


SPECTRUM_HEADER = (
    ("family", 16),
    ("nDCG@10", 9),
    ("R@100", 8),
    ("encode p/s", 12),
    ("p50 ms", 9),
    ("p95 ms", 9),
    ("index s", 9),
    ("index MB", 10),
    ("B/vector", 10),
    ("kept", 8),
    ("smaller", 9),
    ("encode x", 10),
)


def _num(value: float | None, fmt: str, suffix: str = "") -> str:
    return "-" if value is None else format(value, fmt) + suffix


def _print_spectrum(rows: Sequence[SpectrumRow], width: int) -> None:
    """The spectrum table: family, quality, encode rate ("cached": vectors from the cache, "-": no model),
    latency, index size, and the ratios against the dense float32 exact baseline (marked ``=``)."""
    base = next((r.strategy for r in rows if r.baseline), None)
    print(f"spectrum (ratios against {base or 'no dense float32 exact strategy'})")
    print(
        f"{'strategy':<{width}}"
        + "".join(f"{h:<{w}}" if h == "family" else f"{h:>{w}}" for h, w in SPECTRUM_HEADER)
    )
    for r in rows:
        encode = {"none": "-", "cached": "cached"}.get(r.encode) or _num(r.encode_pps, ",.1f")
        cells = [
            r.family,
            f"{r.ndcg_10:.4f}",
            f"{r.recall_100:.4f}",
            encode,
            f"{r.latency_ms_p50:.1f}",
            f"{r.latency_ms_p95:.1f}",
            f"{r.index_s:.1f}",
            _num(r.index_mb, ",.2f"),
            _num(r.bytes_per_vector, ",.0f"),
            _num(None if r.quality_kept is None else 100 * r.quality_kept, ".1f", "%"),
            _num(r.times_smaller, ",.2f", "x"),
            _num(r.times_faster_encode, ",.1f", "x"),
        ]
        line = "".join(
            f"{c:<{w}}" if h == "family" else f"{c:>{w}}"
            for c, (h, w) in zip(cells, SPECTRUM_HEADER, strict=True)
        )
        print(f"{r.strategy:<{width}}{line}" + ("  =" if r.baseline else ""))
