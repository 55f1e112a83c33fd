"""The spectrum of first stages on three data sets, through the product (``run_comparison``, what
``python -m core evaluate`` runs), in the table of ``core.evaluate.spectrum_rows``:

    ESL_HOME=/work/esl-bench flock /tmp/esl-heavy.lock nice -n 5 .venv/bin/python bench/spectrum.py \
        [--datasets scifact,cranfield,qmsum_longdoc] [--out bench/results/spectrum.txt] [--sample 400]

Per data set one comparison of every family — lexical (bm25), learned sparse (splade, splade-tiny), dense
(all-MiniLM-L6-v2 on torch fp32, float32 exact index: the baseline of every ratio), compressed (dense:int8, dense:binary rescored
×4), static (minilm-static, model2vec distilled from MiniLM; static_rescore: its top k × 4 rescored by MiniLM)
and hybrids (hybrid = BM25 + dense, hybrid_splade = SPLADE + dense, hybrid3 = BM25 + SPLADE + dense; weights
tuned on train where there is one) — with nDCG@10, Recall@100, encode passages/s, single-query p50 (query
encoding included), index MB and bytes per vector, and the ratios against the baseline measured in the same run.

Encode passages/s is real: a model that encoded the corpus in the run reports that rate; a model whose vectors
came from the workspace cache is timed here on a seeded sample of ``--sample`` of the texts it encodes
(documents, or passages on a long-document set; the static model on all of them), and the table says
``sample``. The long-document set (qmsum_longdoc: 232 transcripts of ~12k tokens) runs on passages where
chunking wins (bm25@128/32, dense@256/64, hybrid@256/64) with MiniLM on onnx-int8 (its ~16,000 passage
vectors are cached for that backend; torch fp32 would spend ~10 min encoding them again), so its baseline is
dense@256/64 on onnx-int8 with a float32 exact index; what is too slow for it on a 2-core CPU is left out and
said.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.insert(0, str(REPO))

from core.data import resolve_dataset
from core.encoding import DEFAULT_STATIC_MODEL, StaticEncoder, distill_static, make_encoder
from core.evaluate import CompareOptions, ComparisonReport, run_comparison, spectrum_rows
from core.models import DEFAULT_BI_ENCODER
from core.retrieval import (
    Corpus,
    DenseSpec,
    FusionSpec,
    HybridSpec,
    RerankSpec,
    RetrieverBuilder,
    SparseSpec,
    make_sparse_encoder,
    resolve_chunking,
    spec_from_dict,
)
from core.runtime import Workspace, configure_environment

SHORT = "bm25,splade,dense,dense:int8,dense:binary,static,static_rescore,hybrid,hybrid_splade,hybrid3"
LONG = "bm25@128/32,splade,dense@256/64,dense:int8@256/64,dense:binary@256/64,static@256/64,hybrid@256/64"
LEFT_OUT_LONG = (
    "left out on qmsum_longdoc (too slow on this 2-core CPU): splade on passages, hybrid_splade and hybrid3 "
    "(SPLADE-tiny over ~16,000 passages: ~10 min of encoding), static_rescore@256/64 (the static model cuts "
    "passages with its own 29,525-token vocabulary, so MiniLM would encode ~16,000 new passages: ~10 min); "
    "splade runs on each document's first 256 tokens (its window)"
)
SETTINGS = {  # data set -> (strategies, backend of MiniLM: torch fp32, the baseline the issue names)
    "scifact": (SHORT, "torch"),
    "cranfield": (SHORT, "torch"),
    "qmsum_longdoc": (LONG, "onnx-int8"),
}


def _parts(spec):  # type: ignore[no-untyped-def]
    """The dense and SPLADE specs that encode the corpus for ``spec`` (a rescoring model as a dense spec)."""
    if isinstance(spec, HybridSpec):
        return _parts(spec.dense)
    if isinstance(spec, FusionSpec):
        return [p for part in spec.parts for p in _parts(part)]
    if isinstance(spec, RerankSpec):
        return _parts(spec.first_stage)
    if isinstance(spec, SparseSpec):
        return [spec]
    if isinstance(spec, DenseSpec):
        rescore = spec.rescore_spec
        extra = (
            [DenseSpec(model=rescore.model, backend=spec.backend, chunking=spec.chunking)] if rescore else []
        )
        return [spec, *extra]
    return []


def _texts(builder: RetrieverBuilder, spec) -> list[str]:  # type: ignore[no-untyped-def]
    """What ``spec`` encodes: the documents, or the passages it cuts with its own model's tokenizer."""
    if spec.chunking is None:
        return list(builder.corpus.texts)
    chunking = spec.chunking
    if isinstance(spec, SparseSpec):
        chunking = dataclasses.replace(chunking, tokenizer=spec.model)
    else:
        chunking = resolve_chunking(spec).chunking
    return list(builder.passages(chunking).corpus.texts)


def sample_rates(ws: Workspace, builder: RetrieverBuilder, report: ComparisonReport, n: int) -> dict:
    """Passages/s of every model of the report, timed here on a seeded sample of the texts it encodes."""
    rates: dict[str, dict] = {}
    for res in report.strategies.values():
        for spec in _parts(spec_from_dict(dict(res.spec))):
            if spec.model in rates:
                continue
            texts = _texts(builder, spec)
            if isinstance(spec, SparseSpec):
                enc = make_sparse_encoder(spec.model, ws, spec.max_seq_length)
            else:
                enc = make_encoder(spec.model, ws, backend=spec.backend, sample=texts[:256])
            size = len(texts) if isinstance(enc, StaticEncoder) else min(n, len(texts))
            picks = np.sort(np.random.default_rng(0).choice(len(texts), size=size, replace=False))
            part = [texts[i] for i in picks]
            enc.encode(part[:16])  # warm-up
            t0 = time.perf_counter()
            enc.encode(part, batch_size=32)
            seconds = time.perf_counter() - t0
            plan = getattr(enc, "plan", None)
            rates[spec.model] = {
                "pps": len(part) / seconds,
                "texts": len(part),
                "of": len(texts),
                "backend": plan.label if plan is not None else "torch · fp32 · cpu",
            }
    return rates


def _cell(value: float | None, fmt: str, none: str = "-") -> str:
    return none if value is None else format(value, fmt)


def table(report: ComparisonReport, rates: dict) -> list[str]:
    rows = spectrum_rows(report, sample_rates={m: r["pps"] for m, r in rates.items()})
    out = [
        f"{'strategy':<22}{'family':<16}{'nDCG@10':>8}{'R@100':>8}{'enc p/s':>10}{'':<11}{'p50 ms':>8}"
        f"{'index MB':>10}{'B/vec':>8}{'kept':>8}{'smaller':>9}{'enc ×':>8}",
    ]
    for row in rows:
        encode = {"none": "-", "cached": "cached"}.get(row.encode, _cell(row.encode_pps, ",.1f"))
        out.append(
            f"{row.strategy:<22}{row.family:<16}{row.ndcg_10:>8.4f}{row.recall_100:>8.4f}{encode:>10}"
            f"{' (' + row.encode + ')' if row.encode in ('measured', 'sample') else '':<11}"
            f"{row.latency_ms_p50:>8.2f}{_cell(row.index_mb, '.2f'):>10}{_cell(row.bytes_per_vector, ',.0f'):>8}"
            f"{_cell(row.quality_kept and 100 * row.quality_kept, '.1f'):>7}%"
            f"{_cell(row.times_smaller, '.2f', '-'):>8}{'x' if row.times_smaller else ' '}"
            f"{_cell(row.times_faster_encode, ',.1f'):>7}{'x' if row.times_faster_encode else ' '}"
            + ("  <- baseline" if row.baseline else "")
        )
    return out


def bench(ws: Workspace, name: str, n_sample: int, out: list[str]) -> None:
    strategies, backend = SETTINGS.get(name, (SHORT, "auto"))
    ds = resolve_dataset(ws, name, kind="retrieval")
    split = "test" if "test" in ds.splits else ds.default_split
    options = CompareOptions(strategies=strategies, backend=backend, split=split)
    builder = RetrieverBuilder(Corpus.from_dataset(ds), ws)
    t0 = time.perf_counter()
    rep = run_comparison(ds, split, options.specs(ds.splits), ws=ws, builder=builder)
    wall = time.perf_counter() - t0
    rates = sample_rates(ws, builder, rep, n_sample)
    tuned = (
        "train"
        if "train" in ds.splits and split != "train"
        else "nothing (no train split: α 0.5, equal weights)"
    )
    out.append(
        f"== {name} / {split}: {rep.queries} queries, {len(builder.corpus):,} documents; fusion tuned on {tuned}; "
        f"comparison wall {wall:.0f} s"
    )
    out.extend(table(rep, rates))
    for model, r in rates.items():
        out.append(
            f"   sample encode {model} ({r['backend']}): {r['pps']:,.1f} passages/s on {r['texts']:,} of "
            f"{r['of']:,} texts (seeded), used where the run's vectors came from the cache"
        )
    for key, res in rep.strategies.items():
        out.append(f"   {key}: {res.label}" + (f" — {'; '.join(res.notes)}" if res.notes else ""))
    if name == "qmsum_longdoc":
        out.append(f"   {LEFT_OUT_LONG}")
    out.append(f"   {rep.latency_caption()}")
    out.append("")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="scifact,cranfield,qmsum_longdoc")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "spectrum.txt"))
    parser.add_argument(
        "--sample", type=int, default=400, help="texts timed per model whose vectors were cached"
    )
    parser.add_argument("--append", action="store_true", help="add to --out instead of rewriting it")
    args = parser.parse_args()
    configure_environment()
    import torch

    ws = Workspace()
    if ws.get_model(DEFAULT_STATIC_MODEL) is None:
        distill_static(DEFAULT_BI_ENCODER, DEFAULT_STATIC_MODEL, ws)
    path = Path(args.out)
    out = path.read_text(encoding="utf-8").splitlines() if args.append and path.exists() else []
    if not out:
        out = [
            f"bench/spectrum.py · ESL_HOME={os.environ.get('ESL_HOME', '')} · torch {torch.__version__} · "
            f"{torch.get_num_threads()} threads · 2-core shared CPU",
            "columns: nDCG@10, Recall@100, encode passages/s (measured in the run, or on a timed sample when the "
            "run's vectors came from the cache), single-query p50 ms (query encoding included), index MB and "
            "bytes per indexed text, nDCG@10 kept / × smaller index / × faster corpus encode against dense "
            "(all-MiniLM-L6-v2, float32 exact) of the same run",
            "",
        ]
    for name in [n.strip() for n in args.datasets.split(",") if n.strip()]:
        out.append(f"[{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}]")
        bench(ws, name, args.sample, out)
        path.write_text("\n".join(out) + "\n", encoding="utf-8")
        print("\n".join(out), flush=True)


if __name__ == "__main__":
    main()
