"""Chunking as a strategy on long documents: whole documents vs the first 256 tokens vs passages.

    python bench/chunking.py [--datasets qmsum_longdoc,qasper_longdoc] [--dense] [--backend onnx-int8]

For each long-document set (test split; ESL_DATA_DIR), one ``run_comparison`` of BM25 on whole documents,
on each document's first 256 all-MiniLM-L6-v2 tokens (``bm25@256``) and on passages 128/32, 256/64 and
512/128 (MaxP), all measured in the same run: nDCG@10 and Recall@100, the ratio and difference against the
whole-document and the truncated baselines, with paired t-test p-values (ranx, via ``core.evaluate``).
``--dense`` adds the bi-encoder truncated at its 256 tokens (``dense``), on passages 256/64 and a hybrid on
passages (minutes per set on a 2-core CPU). First, the set's length distribution (``core.data.length_stats``).

Run it under the shared lock: ``flock /tmp/esl-heavy.lock nice -n 5 python bench/chunking.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.data import ChunkSpec, length_stats, load_retrieval_beir
from core.evaluate import CompareOptions, paired_significance, run_comparison
from core.retrieval import Corpus, RetrieverBuilder, load_tokenizer
from core.runtime import configure_environment, get_settings, open_workspace

MODEL = "all-MiniLM-L6-v2"
BM25 = ["bm25", "bm25@256", "bm25@128/32", "bm25@256/64", "bm25@512/128"]
DENSE = ["dense", "dense@256/64", "hybrid@256/64"]
METRICS = ("ndcg@10", "recall@100")


def _lengths(ds, window: int = 256) -> str:
    stats = length_stats(ds.doc_texts(), load_tokenizer(MODEL), window=window, spec=ChunkSpec(256, 64))
    return (
        f"{len(ds.corpus):,} documents, tokens per document p10 {stats.p10:,.0f} / median {stats.p50:,.0f} / "
        f"p90 {stats.p90:,.0f}; {stats.share_docs_beyond:.0%} longer than {window}, "
        f"{stats.share_text_beyond:.1%} of the text beyond it; passages 256/64 per document "
        f"{stats.passages_mean:.1f} ({stats.passages_total:,} in all)"
    )


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1e}" if value < 1e-3 else f"{value:.3f}"


def _table(rep, qrels: dict, baselines: dict[str, str]) -> None:
    runs = {n: r.run for n, r in rep.strategies.items()}
    p_values = {b: paired_significance(qrels, runs, b) for b in baselines.values() if b in runs}
    head = f"{'strategy':<15}{'label':<58}" + "".join(f"{m:>12}" for m in METRICS)
    for title in baselines:
        head += f"{'Δ ' + title:>14}{'ratio':>8}{'p':>9}"
    print(head + f"{'passages':>10}{'index s':>9}")
    for name, res in rep.strategies.items():
        m = res.metrics
        row = f"{name:<15}{res.label[:56]:<58}" + "".join(f"{m[k]:>12.4f}" for k in METRICS)
        for base in baselines.values():
            if base not in rep.strategies or base == name:
                row += f"{'':>14}{'':>8}{'':>9}"
                continue
            b = rep.strategies[base].metrics["ndcg@10"]
            p = p_values[base].get(name, {}).get("ndcg@10")
            row += f"{m['ndcg@10'] - b:>+14.4f}{m['ndcg@10'] / b if b else float('nan'):>7.2f}x{_p(p):>9}"
        count = sum(part["passages"] for part in res.extra.get("passages", [])[:1])
        row += f"{count or '':>10}{res.index_s:>9.1f}"
        print(row)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="qmsum_longdoc,qasper_longdoc")
    parser.add_argument("--dense", action="store_true", help="also the bi-encoder (minutes per set)")
    parser.add_argument("--backend", default="torch", help="encoding backend of the bi-encoder")
    parser.add_argument("--split", default="test")
    args = parser.parse_args(argv)
    configure_environment()
    ws = open_workspace()
    strategies = BM25 + (DENSE if args.dense else [])
    options = CompareOptions(strategies=strategies, model=MODEL, backend=args.backend, tune_split="none")
    for name in args.datasets.split(","):
        ds = load_retrieval_beir(get_settings().data_dir / name)
        print(f"\n== {name} / {args.split}: {len(ds.split_queries(args.split))} queries")
        print(_lengths(ds))
        start = time.perf_counter()
        builder = RetrieverBuilder(Corpus.from_dataset(ds), ws)
        rep = run_comparison(
            ds, args.split, options.specs(ds.splits), ws=ws, builder=builder, baseline="bm25"
        )
        qrels = ds.qrels_dict(args.split)
        print(f"evaluated in {time.perf_counter() - start:.0f} s (BM25 p-values: paired t-test on nDCG@10)")
        baselines = {"full": "bm25", "first256": "bm25@256"}
        _table(rep, qrels, baselines)
        if args.dense:
            print("dense rows against the dense model truncated at 256 tokens:")
            _table(rep, qrels, {"dense": "dense"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
