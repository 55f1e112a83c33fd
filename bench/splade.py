"""SPLADE-tiny through the product, on SciFact and Cranfield (run it under the shared lock):

    ESL_HOME=/work/esl-bench flock /tmp/esl-heavy.lock nice -n 5 .venv/bin/python bench/splade.py \
        [--datasets scifact,cranfield] [--out bench/results/splade.txt]

For each dataset, one ``run_comparison`` (what ``python -m core evaluate`` runs) of bm25, splade, dense
(all-MiniLM-L6-v2), hybrid (BM25 + dense, alpha tuned on train), hybrid_splade (SPLADE + dense),
hybrid_bm25_splade and hybrid3 (BM25 + SPLADE + dense), fusion weights tuned on train where there is one:
nDCG@10, Recall@100, query p50 (single queries, encoding included), index MB, and the product's paired test
(ranx) of every strategy against ``hybrid``. Encode speed: SPLADE-tiny and all-MiniLM-L6-v2 (torch fp32) on
the same slice of corpus texts in the same run, as passages/s and their ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.data import resolve_dataset
from core.encoding import make_encoder
from core.evaluate import CompareOptions, run_comparison
from core.retrieval import Corpus, make_sparse_encoder
from core.runtime import open_workspace

STRATEGIES = "bm25,splade,dense,hybrid,hybrid_splade,hybrid_bm25_splade,hybrid3"
BASELINE = "hybrid"
SLICE = 512  # corpus texts encoded by both models for the speed ratio


def encode_speed(ws, corpus: Corpus, n: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Passages per second of SPLADE-tiny and of all-MiniLM-L6-v2 on the same ``n`` texts (after a warm-up)."""
    texts = list(corpus.texts[:n])
    splade = make_sparse_encoder("splade-tiny", ws)
    dense = make_encoder("all-MiniLM-L6-v2", ws)
    splade.encode(texts[:16])
    dense.encode(texts[:16])
    t0 = time.perf_counter()
    splade.encode(texts, batch_size=32)
    t_sp = time.perf_counter() - t0
    t0 = time.perf_counter()
    dense.encode(texts, batch_size=32)
    t_de = time.perf_counter() - t0
    return len(texts) / t_sp, len(texts) / t_de


def index_mb(res) -> float | None:  # type: ignore[no-untyped-def]
    extra = res.extra
    total = 0
    for key in ("splade_index_bytes", "index_bytes"):
        if extra.get(key):
            total += int(extra[key])
    return total / 1e6 if total else None


def bench(ws, name: str, out: list[str]) -> None:  # type: ignore[no-untyped-def]
    ds = resolve_dataset(ws, name)
    split = "test" if "test" in ds.splits else ds.default_split
    specs = CompareOptions(strategies=STRATEGIES, baseline=BASELINE).specs(ds.splits)
    t0 = time.perf_counter()
    rep = run_comparison(ds, split, specs, ws=ws, baseline=BASELINE)
    wall = time.perf_counter() - t0
    corpus = Corpus.from_dataset(ds)
    sp_rate, de_rate = encode_speed(ws, corpus, min(SLICE, len(corpus)))
    n_q = rep.queries
    out.append(
        f"== {name}: {len(corpus):,} documents, {n_q} {split} queries; tuning on "
        f"{'train' if 'train' in ds.splits and split != 'train' else 'nothing (no train split)'}; "
        f"comparison wall {wall:.0f} s"
    )
    out.append(
        f"{'strategy':<20}{'nDCG@10':>9}{'R@100':>8}{'p50 ms':>9}{'index MB':>10}{'p vs hybrid':>13}  label"
    )
    base = rep.strategies[BASELINE].metrics["ndcg@10"]
    for key, res in rep.strategies.items():
        p = rep.p_values.get(key, {}).get("ndcg@10") if key != BASELINE else None
        mb = index_mb(res)
        out.append(
            f"{key:<20}{res.metrics['ndcg@10']:>9.4f}{res.metrics.get('recall@100', float('nan')):>8.4f}"
            f"{res.latency_ms_p50:>9.2f}{(f'{mb:.1f}' if mb else '-'):>10}"
            f"{(f'{p:.3g}' if p is not None else '(base)'):>13}  {res.label}"
        )
    for key, res in rep.strategies.items():
        if res.notes:
            out.append(f"   {key}: " + "; ".join(res.notes))
    sp = rep.strategies["splade"]
    out.append(
        f"   splade-tiny: {sp.extra.get('splade_terms_per_doc', 0):.0f} active terms per document, "
        f"{sp.extra.get('splade_postings', 0):,} postings; nDCG@10 ratio to hybrid "
        f"{sp.metrics['ndcg@10'] / base:.3f}, to dense {sp.metrics['ndcg@10'] / rep.strategies['dense'].metrics['ndcg@10']:.3f}"
    )
    out.append(
        f"   encode ({min(SLICE, len(corpus))} corpus texts, same run, torch fp32 CPU): splade-tiny "
        f"{sp_rate:.1f} passages/s, all-MiniLM-L6-v2 {de_rate:.1f} passages/s ({sp_rate / de_rate:.2f}x)"
    )
    out.append("")
    print("\n".join(out[-(len(rep.strategies) + 7) :]), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="scifact,cranfield")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "splade.txt"))
    args = parser.parse_args()
    import torch

    ws = open_workspace()
    out = [
        f"SPLADE-tiny benchmark · ESL_HOME={os.environ.get('ESL_HOME', '')} · torch {torch.__version__} · "
        f"{torch.get_num_threads()} threads · {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
    ]
    for name in [n.strip() for n in args.datasets.split(",") if n.strip()]:
        bench(ws, name, out)
        Path(args.out).write_text("\n".join(out) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
