"""Retrieval benchmark on SciFact: the product's comparison against the plain pipeline a user would write.

    python bench/retrieval.py [--reranker FOLDER] [--docs N] [--skip-full]

Measured in one process, each against a baseline measured in the same run (ratios, never absolute claims):

1. The full evaluation of SciFact's test split — BM25, dense (all-MiniLM-L6-v2), hybrid with alpha tuned
   on train, and rerank when ``--reranker`` names a cross-encoder — as ``run_comparison`` does it, cold
   (empty embedding cache) and re-run (cache), against the plain way: sentence-transformers ``encode`` +
   numpy dot product + rank-bm25, an alpha sweep in numpy, ranx for the metrics.
2. BM25 (bm25s) against rank-bm25: index build and all test queries.
3. Dense query latency at 5,000 documents: ours (encode + FAISS exact / HNSW) against encode + numpy dot.

Run it under the shared lock: ``flock /tmp/esl-heavy.lock nice -n 5 python bench/retrieval.py``.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.data import RetrievalDataset, load_retrieval_beir
from core.encoding import EmbeddingCache, make_encoder
from core.evaluate import evaluate_run, run_comparison
from core.models import resolve_model
from core.retrieval import (
    BM25Retriever,
    BM25Spec,
    Corpus,
    DenseRetriever,
    DenseSpec,
    RetrieverBuilder,
    default_specs,
)
from core.runtime import Workspace, configure_environment, get_settings

MODEL = "all-MiniLM-L6-v2"
K = 100


# --------------------------------------------------------------------------------------------------
# the baseline: what a user would write by hand
# --------------------------------------------------------------------------------------------------
def _tok(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _top(scores: np.ndarray, ids: list[str], k: int = K) -> dict[str, float]:
    idx = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    idx = idx[np.argsort(-scores[idx])]
    return {ids[i]: float(scores[i]) for i in idx}


def _minmax(x: np.ndarray) -> np.ndarray:
    lo, hi = x.min(axis=1, keepdims=True), x.max(axis=1, keepdims=True)
    return (x - lo) / np.where(hi > lo, hi - lo, 1.0)


def baseline_pipeline(ds: RetrievalDataset, reranker: str | None) -> dict[str, dict[str, float]]:
    """sentence-transformers encode + numpy dot + rank-bm25; alpha swept on train; ranx metrics."""
    from rank_bm25 import BM25Okapi
    from sentence_transformers import CrossEncoder, SentenceTransformer

    ids, texts = ds.doc_ids, ds.doc_texts()
    model = SentenceTransformer(resolve_model(MODEL).location, device="cpu")
    doc_emb = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    bm25 = BM25Okapi([_tok(t) for t in texts])

    def scores(split: str) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
        q = ds.split_queries(split)
        qids, qtexts = q["query_id"].tolist(), q["text"].tolist()
        q_emb = model.encode(qtexts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        dense = q_emb @ doc_emb.T
        sparse = np.vstack([bm25.get_scores(_tok(t)) for t in qtexts])
        return qids, qtexts, dense, sparse

    def hybrid(dense: np.ndarray, sparse: np.ndarray, alpha: float) -> np.ndarray:
        return alpha * _minmax(dense) + (1 - alpha) * _minmax(sparse)

    tq, _, t_dense, t_sparse = scores("train")
    train_qrels = ds.qrels_dict("train")
    sweep = []
    for alpha in np.linspace(0, 1, 21):
        fused = hybrid(t_dense, t_sparse, alpha)
        run = {q: _top(fused[i], ids) for i, q in enumerate(tq)}
        sweep.append((evaluate_run(train_qrels, run, {"ndcg@10": "ndcg@10"})[0]["ndcg@10"], alpha))
    best_alpha = max(sweep)[1]

    qids, qtexts, dense, sparse = scores("test")
    fused = hybrid(dense, sparse, best_alpha)
    runs = {
        "bm25": {q: _top(sparse[i], ids) for i, q in enumerate(qids)},
        "dense": {q: _top(dense[i], ids) for i, q in enumerate(qids)},
        "hybrid": {q: _top(fused[i], ids) for i, q in enumerate(qids)},
    }
    if reranker:
        ce = CrossEncoder(reranker, num_labels=1, device="cpu")
        text_of = dict(zip(ids, texts, strict=True))
        rerank = {}
        for i, q in enumerate(qids):
            head = list(runs["hybrid"][q])[:50]
            s = ce.predict([(qtexts[i], text_of[d]) for d in head], batch_size=32, show_progress_bar=False)
            rerank[q] = {d: float(v) for d, v in zip(head, s, strict=True)}
        runs["rerank"] = rerank
    qrels = ds.qrels_dict("test")
    return {name: evaluate_run(qrels, run)[0] for name, run in runs.items()}


# --------------------------------------------------------------------------------------------------
def _timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def _ratio(ours: float, base: float) -> str:
    r = ours / base if base else float("nan")
    return f"{r:6.3f}x of baseline" + (f"  ({1 / r:.1f}x faster)" if r < 1 else f"  ({r:.1f}x slower)")


def _subsample(ds: RetrievalDataset, n: int) -> RetrievalDataset:
    """The first ``n`` documents and the judgements on them (for quick trial runs of this script)."""
    keep = ds.corpus.head(n).reset_index(drop=True)
    qrels = ds.qrels[ds.qrels["doc_id"].isin(set(keep["doc_id"]))].reset_index(drop=True)
    return RetrievalDataset(ds.name, keep, ds.queries, qrels)


def _warm_up() -> None:
    """Imports, model files and ranx's numba compilation, paid once before anything is timed."""
    from sentence_transformers import SentenceTransformer

    SentenceTransformer(resolve_model(MODEL).location, device="cpu").encode(["warm up"])
    evaluate_run({"q": {"d": 1}}, {"q": {"d": 1.0, "e": 0.5}})


def full_evaluation(ds: RetrievalDataset, reranker: str | None, home: Path) -> None:
    names = ["bm25", "dense", "hybrid"] + (["rerank"] if reranker else [])
    print(
        f"\n== 1. Full SciFact evaluation: {', '.join(names)} — {len(ds.corpus):,} documents, "
        f"{len(ds.split_queries('test'))} test queries, alpha tuned on {len(ds.split_queries('train'))} train queries"
    )
    if not reranker:
        print("   (no cross-encoder given with --reranker: none is packaged, so three strategies run)")
    base_metrics, base_s = _timed(baseline_pipeline, ds, reranker)
    print(f"baseline (sentence-transformers encode + numpy dot + rank-bm25): {base_s:8.1f} s")
    specs = {n: s for n, s in default_specs(MODEL, reranker, tune_split="train").items() if n in names}
    # the embedding cache of ``home`` starts empty: the first run is cold
    ws = Workspace(home)
    corpus = Corpus.from_dataset(ds)

    def ours() -> tuple:
        builder = RetrieverBuilder(corpus, ws)
        rep = run_comparison(ds, "test", specs, ws=ws, builder=builder)
        return rep, builder

    (cold, _), cold_s = _timed(ours)
    (warm, b2), warm_s = _timed(ours)
    print(
        f"ours, cold (empty embedding cache):                             {cold_s:8.1f} s   {_ratio(cold_s, base_s)}"
    )
    print(
        f"ours, re-run (embedding cache):                                 {warm_s:8.1f} s   {_ratio(warm_s, base_s)}"
    )
    print(
        f"   cache on re-run: {b2.cache.hits} hit(s), {b2.cache.misses} miss(es) — the corpus was not encoded again"
    )
    print("   ours also measures per-query latency (50 queries per strategy), rank curves and significance")
    print(f"{'nDCG@10':<10}{'baseline':>10}{'ours':>10}")
    for name in names:
        print(
            f"{name:<10}{base_metrics[name]['ndcg@10']:>10.4f}{cold.strategies[name].metrics['ndcg@10']:>10.4f}"
        )
    alpha = cold.strategies["hybrid"].extra.get("tuned_alpha")
    print(f"   hybrid alpha tuned on train: {alpha}")
    for name, res in cold.strategies.items():
        for w in res.warnings:
            print(f"   WARNING {name}: {w}")
    assert all(cold.strategies[n].metrics == warm.strategies[n].metrics for n in names)


def bm25_speed(ds: RetrievalDataset) -> None:
    from rank_bm25 import BM25Okapi

    texts = ds.doc_texts()
    queries = ds.split_queries("test")["text"].tolist()
    print(
        f"\n== 2. BM25: bm25s against rank-bm25 — {len(texts):,} documents, {len(queries)} queries, top {K}"
    )
    ref, ref_index_s = _timed(lambda: BM25Okapi([_tok(t) for t in texts]))
    ids = ds.doc_ids
    _, ref_query_s = _timed(lambda: [_top(np.asarray(ref.get_scores(_tok(q))), ids) for q in queries])
    corpus = Corpus.from_dataset(ds)
    ours, index_s = _timed(BM25Retriever, corpus, BM25Spec())
    _, query_s = _timed(ours.search, queries, K)
    print(
        f"index build   rank-bm25 {ref_index_s:7.2f} s   bm25s {index_s:7.2f} s   {_ratio(index_s, ref_index_s)}"
    )
    print(
        f"all queries   rank-bm25 {ref_query_s:7.2f} s   bm25s {query_s:7.2f} s   {_ratio(query_s, ref_query_s)}"
    )
    print(
        f"per query     rank-bm25 {1000 * ref_query_s / len(queries):7.2f} ms  bm25s {1000 * query_s / len(queries):7.2f} ms"
    )


def _latency(fn, queries: list[str]) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    for q in queries:  # warm-up pass: torch builds kernels per input length on first use
        fn(q)
    times = []
    for q in queries:
        t0 = time.perf_counter()
        fn(q)
        times.append(1000 * (time.perf_counter() - t0))
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def dense_latency(ds: RetrievalDataset, home: Path, n_docs: int = 5000, n_queries: int = 200) -> None:
    from sentence_transformers import SentenceTransformer

    n_docs = min(n_docs, len(ds.corpus))
    print(f"\n== 3. Dense query latency at {n_docs:,} documents ({n_queries} single queries, top 10)")
    ids, texts = ds.doc_ids[:n_docs], ds.doc_texts()[:n_docs]
    queries = ds.queries["text"].tolist()[:n_queries]
    model = SentenceTransformer(resolve_model(MODEL).location, device="cpu")
    ws = Workspace(home)
    encoder = make_encoder(MODEL, ws)
    cache = EmbeddingCache(ws)
    full = Corpus.from_dataset(ds)
    vectors = cache.get(encoder.fingerprint, full.fingerprint, len(full))  # from section 1
    if vectors is None:  # or from the workspace's embedding cache (ESL_HOME), when it has SciFact
        vectors = EmbeddingCache(Workspace(get_settings().home)).get(
            encoder.fingerprint, full.fingerprint, len(full)
        )
    doc_emb = vectors[:n_docs] if vectors is not None else encoder.encode(texts)
    corpus = Corpus.from_texts(ids, texts)
    cache.put(encoder.fingerprint, corpus.fingerprint, doc_emb)
    exact = DenseRetriever(corpus, encoder, DenseSpec(), cache=cache)
    hnsw = DenseRetriever(corpus, encoder, DenseSpec(index="hnsw"), cache=cache)

    def base(q: str) -> dict[str, float]:
        v = model.encode([q], normalize_embeddings=True, convert_to_numpy=True)
        return _top((v @ doc_emb.T)[0], ids, 10)

    b50, b95 = _latency(base, queries)
    e50, e95 = _latency(lambda q: exact.search([q], 10), queries)
    h50, h95 = _latency(lambda q: hnsw.search([q], 10), queries)
    qv = encoder.encode(queries)
    rows = {q: qv[i : i + 1] for i, q in enumerate(queries)}
    sb50, _ = _latency(lambda q: _top((rows[q] @ doc_emb.T)[0], ids, 10), queries)
    se50, _ = _latency(lambda q: exact.search_vectors(rows[q], 10), queries)
    sh50, _ = _latency(lambda q: hnsw.search_vectors(rows[q], 10), queries)
    recall = hnsw.recall_vs_exact(queries, 10)
    print(f"encode + search  baseline p50 {b50:6.2f} ms p95 {b95:6.2f} ms (encode + numpy dot)")
    print(f"                 exact    p50 {e50:6.2f} ms p95 {e95:6.2f} ms   {_ratio(e50, b50)}")
    print(f"                 HNSW     p50 {h50:6.2f} ms p95 {h95:6.2f} ms   {_ratio(h50, b50)}")
    print(f"search only      numpy    p50 {sb50:6.3f} ms")
    print(f"                 exact    p50 {se50:6.3f} ms   {_ratio(se50, sb50)}")
    print(
        f"                 HNSW     p50 {sh50:6.3f} ms   {_ratio(sh50, sb50)}   recall@10 vs exact {recall:.1%}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reranker", default=None, help="cross-encoder folder for the rerank strategy")
    parser.add_argument("--docs", type=int, default=0, help="trial run: first N documents + judged ones")
    parser.add_argument("--skip-full", action="store_true", help="skip the full evaluation (1.)")
    args = parser.parse_args(argv)
    configure_environment()
    import torch

    ds = load_retrieval_beir(get_settings().data_dir / "scifact")
    if args.docs:
        ds = _subsample(ds, args.docs)
    print(
        f"SciFact: {len(ds.corpus):,} documents · torch {torch.__version__} · {torch.get_num_threads()} threads"
    )
    _warm_up()
    with tempfile.TemporaryDirectory(prefix="esl-bench-") as tmp:
        home = Path(tmp)
        if not args.skip_full:
            full_evaluation(ds, args.reranker, home)
        bm25_speed(ds)
        dense_latency(ds, home)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
