"""Static embeddings and compressed indexes on SciFact, against all-MiniLM-L6-v2 float32 exact (same run).

    ESL_HOME=/work/esl-bench python bench/compress.py [--dataset scifact] [--split test] [--slice 500]

1. Encoding speed: the static model (model2vec, distilled offline from all-MiniLM-L6-v2, registered as
   ``minilm-static`` on first run) encodes the whole corpus; all-MiniLM-L6-v2 torch fp32 on the CPU encodes a
   seeded sample of ``--slice`` documents, scaled to the corpus (said in the output). Ratio of passages/s.
2. Quality, latency and size through the product (``run_comparison``): dense float32 exact (the baseline),
   float16, int8, binary with rescoring ×4 / ×10 and without, PCA 128 / 192, truncation to 128 (MiniLM is not
   Matryoshka-trained), the static model, and the static model rescored by MiniLM. Every row: nDCG@10,
   Recall@100, query p50 (single queries, query encoding included), index bytes per vector, and ratios
   against float32.

Run it under the shared lock: ``flock /tmp/esl-heavy.lock nice -n 5 python bench/compress.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.data import resolve_dataset
from core.encoding import DEFAULT_STATIC_MODEL, distill_static, make_encoder
from core.evaluate import CompareOptions, run_comparison
from core.models import DEFAULT_BI_ENCODER
from core.runtime import Workspace, configure_environment

VARIANTS = (
    "dense",
    "dense:float16",
    "dense:int8",
    "dense:binary",
    "dense:binary+rescore10",
    "dense:binary+rescore0",
    "dense:pca192",
    "dense:pca128",
    "dense:dim128",
    "dense:int8+pca192",
    "static",
    "static:binary",
    "static_rescore",
)


def encode_speed(ws: Workspace, texts: list[str], slice_n: int) -> dict[str, float]:
    """Passages/s of the static model on the whole corpus and of MiniLM torch fp32 on a seeded sample."""
    static = make_encoder(DEFAULT_STATIC_MODEL, ws)
    static.encode(texts[:64])  # warm-up (tokenizer, lookup table)
    t0 = time.perf_counter()
    static.encode(texts)
    static_s = time.perf_counter() - t0
    minilm = make_encoder(DEFAULT_BI_ENCODER, ws, backend="torch", device="cpu")
    sample = np.sort(
        np.random.default_rng(0).choice(len(texts), size=min(slice_n, len(texts)), replace=False)
    )
    part = [texts[i] for i in sample]
    minilm.encode(part[:32])  # warm-up
    t0 = time.perf_counter()
    minilm.encode(part, batch_size=32)
    minilm_s = time.perf_counter() - t0
    return {
        "static_pps": len(texts) / static_s,
        "static_corpus_s": static_s,
        "minilm_pps": len(part) / minilm_s,
        "minilm_slice": len(part),
        "minilm_corpus_s_scaled": minilm_s * len(texts) / len(part),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="scifact")
    parser.add_argument("--split", default="test")
    parser.add_argument("--slice", type=int, default=500, help="documents MiniLM fp32 encodes for its speed")
    parser.add_argument("--strategies", default=",".join(VARIANTS))
    args = parser.parse_args()
    configure_environment()
    ws = Workspace()
    if ws.get_model(DEFAULT_STATIC_MODEL) is None:
        t0 = time.perf_counter()
        distill_static(DEFAULT_BI_ENCODER, DEFAULT_STATIC_MODEL, ws)
        print(
            f"distilled {DEFAULT_STATIC_MODEL} from {DEFAULT_BI_ENCODER} in {time.perf_counter() - t0:.1f}s"
        )
    ds = resolve_dataset(ws, args.dataset, kind="retrieval")
    texts = ds.doc_texts()
    speed = encode_speed(ws, texts, args.slice)
    print(
        f"encode {len(texts):,} documents ({args.dataset}), CPU: static {speed['static_pps']:,.0f} passages/s "
        f"({speed['static_corpus_s']:.2f}s for the corpus); {DEFAULT_BI_ENCODER} torch fp32 "
        f"{speed['minilm_pps']:,.1f} passages/s (timed on a seeded sample of {speed['minilm_slice']} documents, "
        f"scaled: {speed['minilm_corpus_s_scaled']:.0f}s for the corpus) -> static is "
        f"{speed['static_pps'] / speed['minilm_pps']:.0f}x faster"
    )
    options = CompareOptions(strategies=tuple(args.strategies.split(",")), split=args.split, k=100)
    specs = options.specs(ds.splits)
    report = run_comparison(ds, args.split, specs, ws=ws, k=100, baseline=next(iter(specs)))
    base = report.strategies[next(iter(specs))]
    b_ndcg, b_bytes = base.metrics["ndcg@10"], base.extra["index_bytes_per_vector"]
    print(
        f"\n{args.dataset} {args.split}: {report.queries} queries, {len(texts):,} documents; baseline {base.label}"
    )
    header = f"{'strategy':24} {'nDCG@10':>8} {'R@100':>7} {'p50 ms':>7} {'B/vec':>7} {'size÷':>6} {'nDCG %':>7} {'p':>7}"
    print(header)
    for name, r in report.strategies.items():
        nbytes = r.extra["index_bytes_per_vector"]
        p = report.p_values.get(name, {}).get("ndcg@10")
        print(
            f"{name:24} {r.metrics['ndcg@10']:8.4f} {r.metrics['recall@100']:7.4f} {r.latency_ms_p50:7.2f} "
            f"{nbytes:7.1f} {b_bytes / nbytes:6.1f} {100 * r.metrics['ndcg@10'] / b_ndcg:6.1f}% "
            f"{'' if p is None else f'{p:.3g}':>7}"
        )


if __name__ == "__main__":
    main()
