"""Index side of the scale benchmark: BM25 and FAISS (exact / HNSW / IVF) on synthetic corpora of 10^5 and
10^6 passages, every number next to exact search measured in the same run.

    flock /tmp/esl-heavy.lock nice -n 5 python bench/ann.py [--sizes 100000,1000000] \
        [--sections bm25,faiss,curve,eval] [--home DIR] [--json bench/results/ann.json]

How the corpora are made (seeded, so every run and every child process builds the same ones):

- **Texts**: the SciFact and Cranfield abstracts are split into sentences. A passage takes a run of 2-4
  consecutive sentences of one source abstract (its *primary*) and 1-2 of another one (its *secondary*).
- **Vectors** (384-d): encoding 10^6 passages with all-MiniLM-L6-v2 on 2 cores takes hours, so each
  passage's vector is derived from the real vectors of its two source abstracts (encoded once through the
  embedding cache): the mix of the two weighted by their number of sentences, plus isotropic Gaussian noise of
  half the mix's norm (cosine ~0.89 to the mix), re-normalised. Queries are the real SciFact and Cranfield
  queries, encoded by the same model.
- **Judgements** (for the ``eval`` section): a passage is relevant to a SciFact test query when its primary
  abstract is relevant to it.

Sections, each in its own child process so that each peak RSS is its own:

- ``bm25``: ``BM25Retriever`` build, save to and load from the workspace's index store, single-query p50.
- ``faiss``: exact, HNSW and IVF at their defaults: build time, file bytes, load time, single-query search
  p50 (after a warm-up), recall@10 against exact on 1,000 real queries; efSearch / nprobe sweeps.
- ``curve``: exact single-query p50 at growing corpus sizes: where ``auto`` stops using exact search.
- ``eval``: ``run_comparison`` (BM25, dense with ``index="auto"``, hybrid) on the largest corpus, its
  latency and peak RSS; FAISS comes from the index store the ``faiss`` section filled, BM25 is built cold.

Importable: ``source_docs``, ``real_vectors``, ``make_corpus``, ``bench_bm25``, ``bench_faiss``,
``exact_curve``, ``bench_eval`` (``bench/scale.py`` can call them).
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.data import RetrievalDataset, load_retrieval_beir
from core.encoding import EmbeddingCache, encode_corpus, make_encoder, normalize_rows
from core.retrieval import (
    BM25Retriever,
    BM25Spec,
    Corpus,
    DenseSpec,
    IndexStore,
    exact_top_k,
    load_or_build_index,
    plan_index,
)
from core.runtime import Workspace, configure_environment, get_settings

MODEL = "all-MiniLM-L6-v2"
SEED = 0
NOISE = 0.5  # noise norm / mix norm
RECALL_QUERIES = 1000
LATENCY_QUERIES = 200
_SENT = re.compile(r"(?<=[.!?])\s+")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} rss {peak_rss_mb():,.0f} MB] {msg}", flush=True)


# --------------------------------------------------------------------------------------------------
# corpora
# --------------------------------------------------------------------------------------------------
@dataclass
class Sources:
    """The real abstracts (their sentences and vectors) and the real queries (texts and vectors)."""

    datasets: list[RetrievalDataset]
    sentences: list[list[str]]
    doc_vectors: np.ndarray
    query_texts: list[str]
    query_vectors: np.ndarray
    encoder_fingerprint: str


def source_docs(data_dir: Path) -> list[RetrievalDataset]:
    return [load_retrieval_beir(data_dir / name) for name in ("scifact", "cranfield")]


def real_vectors(ws: Workspace, data_dir: Path) -> Sources:
    """Encode (once, through the embedding cache) every source abstract and query with ``MODEL``."""
    datasets = source_docs(data_dir)
    encoder = make_encoder(MODEL, ws)
    cache = EmbeddingCache(ws)
    docs, sentences, queries, qvecs = [], [], [], []
    for ds in datasets:
        corpus = Corpus.from_dataset(ds)
        vectors, _ = encode_corpus(encoder, corpus.texts, corpus.fingerprint, cache)
        docs.append(vectors)
        for text in corpus.texts:
            sents = [s for s in _SENT.split(text) if len(s) >= 20] or [text]
            sentences.append(sents)
        q = ds.queries["text"].tolist()
        qc = Corpus.from_texts([f"q{i}" for i in range(len(q))], q)  # queries cached like a corpus
        qvecs.append(encode_corpus(encoder, qc.texts, qc.fingerprint, cache)[0])
        queries.extend(q)
    return Sources(
        datasets,
        sentences,
        np.concatenate(docs).astype(np.float32),
        queries,
        np.concatenate(qvecs).astype(np.float32),
        encoder.fingerprint,
    )


@dataclass
class Synthetic:
    ids: list[str]
    texts: list[str]
    vectors: np.ndarray  # (n, 384) float32, rows L2-normalised
    primary: np.ndarray  # source abstract of each passage (index into Sources.sentences)

    @property
    def corpus(self) -> Corpus:
        return Corpus.from_texts(self.ids, self.texts)


def make_corpus(
    src: Sources, n: int, *, seed: int = SEED, noise: float = NOISE, with_vectors: bool = True
) -> Synthetic:
    """``n`` passages assembled from sentences of two source abstracts, vectors derived from theirs (an
    empty array unless ``with_vectors``; the texts do not depend on it)."""
    rng = np.random.default_rng(seed)
    m = len(src.sentences)
    primary = rng.integers(0, m, n)
    secondary = (primary + rng.integers(1, m, n)) % m
    n_p, n_s = rng.integers(2, 5, n), rng.integers(1, 3, n)
    starts = rng.random((n, 2))
    texts: list[str] = []
    counts = np.zeros((n, 2), dtype=np.float32)
    for i in range(n):
        parts = []
        for col, (doc, want) in enumerate(((primary[i], n_p[i]), (secondary[i], n_s[i]))):
            sents = src.sentences[doc]
            take = min(int(want), len(sents))
            first = int(starts[i, col] * (len(sents) - take + 1))
            parts.extend(sents[first : first + take])
            counts[i, col] = take
        texts.append(" ".join(parts))
    vectors = np.empty((n if with_vectors else 0, src.doc_vectors.shape[1]), dtype=np.float32)
    for lo in range(0, len(vectors), 65_536):
        hi = min(n, lo + 65_536)
        w = counts[lo:hi] / counts[lo:hi].sum(axis=1, keepdims=True)
        mix = w[:, :1] * src.doc_vectors[primary[lo:hi]] + w[:, 1:] * src.doc_vectors[secondary[lo:hi]]
        g = rng.standard_normal(mix.shape).astype(np.float32)
        g *= noise * np.linalg.norm(mix, axis=1, keepdims=True) / np.linalg.norm(g, axis=1, keepdims=True)
        vectors[lo:hi] = normalize_rows(mix + g)
    return Synthetic([f"p{i}" for i in range(n)], texts, vectors, primary)


# --------------------------------------------------------------------------------------------------
# measurements
# --------------------------------------------------------------------------------------------------
def latency_ms(fn: Callable[[int], Any], count: int) -> dict[str, float]:
    """p50 / p95 of ``fn(i)`` for i < count, after one warm-up pass over the same calls."""
    for i in range(count):
        fn(i)
    times = []
    for i in range(count):
        t0 = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95))}


def bench_bm25(syn: Synthetic, queries: Sequence[str], store: IndexStore) -> dict[str, Any]:
    """BM25 build (and save), load, single-query p50 of ``search([q], 10)``."""
    corpus = syn.corpus
    t0 = time.perf_counter()
    built = BM25Retriever(corpus, BM25Spec(), store=store)
    total = time.perf_counter() - t0
    say(f"BM25 built in {built.built_s:.1f}s (+ save: {total - built.built_s:.1f}s)")
    lat = latency_ms(lambda i, r=built: r.search([queries[i]], 10), min(LATENCY_QUERIES, len(queries)))
    built = None
    gc.collect()
    loaded = BM25Retriever(corpus, BM25Spec(), store=store)
    same = [loaded.search([q], 10) for q in queries[:20]]
    assert loaded.index_loaded, "the saved BM25 index was not reused"
    bytes_ = sum(p.stat().st_size for p in store.folder.glob("*.bm25/*"))
    return {
        "build_s": loaded.built_s,
        "save_s": total - loaded.built_s,
        "load_s": loaded.index_s,
        "bytes": bytes_,
        **lat,
        "hits_per_query": float(np.mean([len(h[0]) for h in same])),
    }


def _faiss_plans(n: int) -> dict[str, Any]:
    return {
        "exact": plan_index(DenseSpec(index="exact"), n),
        "hnsw": plan_index(DenseSpec(index="hnsw"), n),
        "ivf": plan_index(DenseSpec(index="ivf"), n),
    }


def _sweep(index: Any, plan: Any, q: np.ndarray, truth: np.ndarray, values: Sequence[int]) -> list[dict]:
    out = []
    for v in values:
        if plan.kind == "hnsw":
            index.hnsw.efSearch = v
        else:
            index.nprobe = min(v, plan.ivf_nlist)
        _, got = index.search(q, 10)
        recall = float(np.mean([len(set(t) & set(g)) / 10 for t, g in zip(truth, got, strict=True)]))
        lat = latency_ms(lambda i: index.search(q[i : i + 1], 10), min(LATENCY_QUERIES, len(q)))
        out.append({"param": v, "recall@10": recall, **lat})
    return out


def bench_faiss(syn: Synthetic, qv: np.ndarray, store: IndexStore, source: str) -> dict[str, Any]:
    """Exact / HNSW / IVF over ``syn.vectors``: build, file, load, p50, recall@10 against exact."""
    rng = np.random.default_rng(SEED)
    q = np.ascontiguousarray(qv[np.sort(rng.choice(len(qv), min(RECALL_QUERIES, len(qv)), replace=False))])
    t0 = time.perf_counter()
    truth = exact_top_k(syn.vectors, q, 10)
    say(f"exact top-10 of {len(q)} queries (brute force) in {time.perf_counter() - t0:.1f}s")
    out: dict[str, Any] = {}
    for name, plan in _faiss_plans(len(syn.vectors)).items():
        say(f"building {plan.label}")
        index, info = load_or_build_index(syn.vectors, plan, store, source)
        _, got = index.search(q, 10)
        recall = float(np.mean([len(set(t) & set(g)) / 10 for t, g in zip(truth, got, strict=True)]))
        size = info["bytes"] or index.ntotal * index.d * 4  # an exact index is not saved: its float32 rows
        size = info["bytes"] or index.ntotal * index.d * 4  # an exact index is not saved: its float32 rows
        lat = latency_ms(lambda i, index=index: index.search(q[i : i + 1], 10), min(LATENCY_QUERIES, len(q)))
        sweep_values = {"hnsw": (16, 32, 64, 128, 256, 512), "ivf": (8, 16, 32, 64, 128, 256, 512)}.get(
            name, ()
        )
        sweep = _sweep(index, plan, q, truth, sweep_values) if sweep_values else []
        del index
        gc.collect()
        t1 = time.perf_counter()
        _, again = load_or_build_index(syn.vectors, plan, store, source)
        out[name] = {
            "label": plan.label,
            "params": plan.params,
            "build_s": info["built_s"],
            "save_s": info["save_s"],
            "load_s": time.perf_counter() - t1,
            "reused": again["loaded"],
            "bytes": size,
            "saved": bool(info["bytes"]),
            "recall@10": recall,
            **lat,
            "sweep": sweep,
        }
        say(f"{name}: {json.dumps({k: v for k, v in out[name].items() if k != 'sweep'})}")
        gc.collect()
    return out


def exact_curve(vectors: np.ndarray, qv: np.ndarray, sizes: Sequence[int]) -> list[dict[str, Any]]:
    """Exact single-query search p50 over the first n vectors, for each n."""
    import faiss

    out = []
    q = np.ascontiguousarray(qv[:LATENCY_QUERIES])
    for n in sizes:
        if n > len(vectors):
            continue
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(np.ascontiguousarray(vectors[:n]))
        out.append({"n": n, **latency_ms(lambda i, index=index: index.search(q[i : i + 1], 10), len(q))})
        say(f"exact at {n:,}: p50 {out[-1]['p50_ms']:.2f} ms")
        del index
    return out


def synthetic_dataset(src: Sources, syn: Synthetic) -> RetrievalDataset:
    """The synthetic corpus with SciFact's test queries, judged by the passages' primary abstracts."""
    import pandas as pd

    scifact = src.datasets[0]
    qrels = scifact.qrels[scifact.qrels["split"] == "test"]
    position = {d: i for i, d in enumerate(scifact.doc_ids)}  # SciFact comes first in Sources
    by_doc: dict[int, list[int]] = {}
    for p, doc in enumerate(syn.primary.tolist()):
        by_doc.setdefault(doc, []).append(p)
    rows = [
        ("test", qid, syn.ids[p], 1)
        for qid, did in zip(qrels["query_id"], qrels["doc_id"], strict=True)
        for p in by_doc.get(position[did], [])
    ]
    corpus = pd.DataFrame({"doc_id": syn.ids, "title": "", "text": syn.texts})
    return RetrievalDataset(
        "synthetic",
        corpus,
        scifact.queries[scifact.queries["query_id"].isin(set(qrels["query_id"]))].reset_index(drop=True),
        pd.DataFrame(rows, columns=["split", "query_id", "doc_id", "score"]),
    )


def bench_eval(src: Sources, syn: Synthetic, ws: Workspace) -> dict[str, Any]:
    """``run_comparison`` of BM25, dense (auto index) and hybrid on the synthetic corpus (its vectors already
    in the embedding cache: :func:`fill_embedding_cache`): metrics, latency, index notes."""
    from core.evaluate import run_comparison
    from core.retrieval import HybridSpec

    ds = synthetic_dataset(src, syn)
    del syn
    gc.collect()
    say(f"dataset of {len(ds.corpus):,} passages; evaluating")
    specs = {"bm25": BM25Spec(), "dense": DenseSpec(), "hybrid": HybridSpec(dense=DenseSpec())}
    t0 = time.perf_counter()
    rep = run_comparison(ds, "test", specs, ws=ws, latency_sample=100)
    out: dict[str, Any] = {"seconds": time.perf_counter() - t0, "queries": rep.queries}
    for name, res in rep.strategies.items():
        out[name] = {
            "ndcg@10": res.metrics["ndcg@10"],
            "latency_p50_ms": res.latency_ms_p50,
            "index_s": res.index_s,
            "notes": res.notes,
            **{k: v for k, v in res.extra.items() if k.startswith(("index", "ann_", "bm25_"))},
        }
    return out


def fill_embedding_cache(ws: Workspace, src: Sources, syn: Synthetic) -> str:
    """Put the synthetic vectors where the product looks for them (no in-memory copy of 1.5 GB, unlike
    ``EmbeddingCache.put``); returns the vector source name the index store keys by."""
    cache = EmbeddingCache(ws)
    fp = syn.corpus.fingerprint
    path = cache.path(src.encoder_fingerprint, fp)
    if not path.exists():
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, syn.vectors)
        tmp.replace(path)
    return f"{src.encoder_fingerprint}-{fp}"


# --------------------------------------------------------------------------------------------------
# the run: one child process per section and size
# --------------------------------------------------------------------------------------------------
def child(section: str, n: int, home: Path, out: Path, curve_sizes: Sequence[int]) -> None:
    ws = Workspace(home)
    src = real_vectors(ws, get_settings().data_dir)
    say(f"{section} at {n:,}: {len(src.doc_vectors):,} source abstracts, {len(src.query_texts):,} queries")
    result: dict[str, Any] = {}
    if section == "prep":
        result = {"abstracts": len(src.doc_vectors), "queries": len(src.query_texts)}
    else:
        t0 = time.perf_counter()
        syn = make_corpus(src, n, with_vectors=section in ("faiss", "curve"))
        result["generate_s"] = time.perf_counter() - t0
        say(f"{n:,} passages generated in {result['generate_s']:.1f}s")
        if section == "bm25":
            result.update(bench_bm25(syn, src.query_texts, IndexStore(home / f"bm25-{n}")))
        elif section == "faiss":
            source = fill_embedding_cache(ws, src, syn)
            result.update(bench_faiss(syn, src.query_vectors, IndexStore(ws), source))
        elif section == "curve":
            result["curve"] = exact_curve(syn.vectors, src.query_vectors, curve_sizes)
        elif section == "eval":
            result.update(bench_eval(src, syn, ws))
    result["peak_rss_mb"] = peak_rss_mb()
    out.write_text(json.dumps(result, indent=1, default=float))


def _run_child(section: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    out = Path(args.home) / f"result-{section}-{n}.json"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, __file__, "--child", section, "--size", str(n), "--home", str(args.home)]
    cmd += ["--curve", args.curve]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    result = json.loads(out.read_text())
    result["wall_s"] = time.perf_counter() - t0
    return result


def _ratio(x: float, base: float) -> str:
    return f"{x / base:6.2f}x" if base else "   n/a"


def summarise(results: dict[str, Any]) -> None:
    for n, per in results.get("sizes", {}).items():
        print(f"\n== {int(n):,} passages")
        if "bm25" in per:
            b = per["bm25"]
            print(
                f"BM25   build {b['build_s']:7.1f}s  save {b['save_s']:5.1f}s  load {b['load_s']:5.1f}s "
                f"({_ratio(b['load_s'], b['build_s'])} of build)  {b['bytes'] / 2**20:7.0f} MB  "
                f"query p50 {b['p50_ms']:6.2f} ms p95 {b['p95_ms']:6.2f} ms  peak RSS {b['peak_rss_mb']:,.0f} MB"
            )
        f = per.get("faiss")
        if f:
            ex = f["exact"]
            for name, r in f.items():
                if not isinstance(r, dict) or "label" not in r:
                    continue
                print(
                    f"{name:6} build {r['build_s']:7.1f}s ({_ratio(r['build_s'], ex['build_s'])})  "
                    f"{'load' if r.get('saved', True) else 'again'} {r['load_s']:5.1f}s  {r['bytes'] / 2**20:7.0f} MB ({_ratio(r['bytes'], ex['bytes'])})  "
                    f"p50 {r['p50_ms']:6.3f} ms ({_ratio(r['p50_ms'], ex['p50_ms'])})  "
                    f"recall@10 {r['recall@10']:.3f}  {r['label']}"
                )
                for s in r["sweep"]:
                    print(
                        f"         {'efSearch' if name == 'hnsw' else 'nprobe'} {s['param']:4}: recall@10 "
                        f"{s['recall@10']:.3f}  p50 {s['p50_ms']:6.3f} ms ({_ratio(s['p50_ms'], ex['p50_ms'])})"
                    )
            print(f"       peak RSS of the FAISS section {f['peak_rss_mb']:,.0f} MB")
        if "curve" in per:
            print(
                "exact p50 by size: "
                + ", ".join(f"{c['n']:,}: {c['p50_ms']:.2f} ms" for c in per["curve"]["curve"])
            )
        if "eval" in per:
            e = per["eval"]
            print(
                f"evaluation ({e['queries']} queries, {e['seconds']:.0f}s), peak RSS {e['peak_rss_mb']:,.0f} MB"
            )
            for name in ("bm25", "dense", "hybrid"):
                r = e[name]
                print(
                    f"  {name:6} nDCG@10 {r['ndcg@10']:.4f}  p50 {r['latency_p50_ms']:7.2f} ms  "
                    f"index {r['index_s']:6.1f}s  {'; '.join(r['notes'])}"
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="corpus sizes, comma-separated")
    parser.add_argument("--sections", default="bm25,faiss,curve,eval", help="what to measure")
    parser.add_argument(
        "--curve", default="10000,30000,100000,300000,1000000", help="sizes of the exact curve"
    )
    parser.add_argument("--home", default="/tmp/esl-bench-ann", help="workspace of the run (indexes: GBs)")
    parser.add_argument("--json", default=str(REPO / "bench" / "results" / "ann.json"), help="results file")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    configure_environment()
    curve = [int(x) for x in args.curve.split(",") if x]
    if args.child:
        child(
            args.child,
            args.size,
            Path(args.home),
            Path(args.home) / f"result-{args.child}-{args.size}.json",
            curve,
        )
        return 0
    Path(args.home).mkdir(parents=True, exist_ok=True)
    sizes = [int(x) for x in args.sizes.split(",") if x]
    sections = [s for s in args.sections.split(",") if s]
    results: dict[str, Any] = {"sizes": {}}
    if Path(args.json).exists():  # sections not measured this time keep their last numbers
        results = json.loads(Path(args.json).read_text())
    results["prep"] = _run_child("prep", 0, args)
    for n in sizes:
        per = results["sizes"].setdefault(str(n), {})
        for section in sections:
            if section in ("curve", "eval") and n != max(sizes):
                continue  # on the largest corpus only
            say(f"section {section} at {n:,}")
            per[section] = _run_child(section, n, args)
            Path(args.json).write_text(json.dumps(results, indent=1, default=float))
    summarise(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
