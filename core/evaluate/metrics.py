"""IR evaluation with ranx: metrics, per-query scores, paired significance, rank curves, latency.

No metric is computed by hand: everything goes through ``ranx.evaluate`` / ``ranx.compare`` with graded
qrels (nDCG uses the graded relevance as gain, like trec_eval's ``ndcg_cut``; the other metrics count
relevance > 0 as relevant).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.retrieval import Retriever
from core.runtime import InvalidInput, NotFound

__all__ = [
    "CURVE_DEPTH",
    "DEFAULT_LATENCY_SAMPLE",
    "DEFAULT_STAT_TEST",
    "METRICS",
    "PRIMARY_METRIC",
    "LatencyStats",
    "evaluate_run",
    "format_trec_run",
    "measure_latency",
    "paired_significance",
    "rank_curves",
    "read_trec_run",
    "safe_name",
    "trec_id",
    "write_trec_run",
]

# report key -> ranx metric name
METRICS: dict[str, str] = {
    "ndcg@10": "ndcg@10",
    "recall@10": "recall@10",
    "recall@100": "recall@100",
    "p@10": "precision@10",
    "mrr@10": "mrr@10",
    "map@100": "map@100",
}
PRIMARY_METRIC = "ndcg@10"  # the metric verdicts and warnings are judged on
CURVE_DEPTH = 100  # rank curves go to k = 1 … 100 at most
DEFAULT_LATENCY_SAMPLE = 50  # queries timed one at a time
DEFAULT_STAT_TEST = "student"  # paired t-test
Run = Mapping[str, Mapping[str, float]]
Qrels = Mapping[str, Mapping[str, int]]


def _ranx_qrels(qrels: Qrels):  # type: ignore[no-untyped-def]
    from ranx import Qrels as RQ

    return RQ.from_dict({q: {d: int(s) for d, s in docs.items()} for q, docs in qrels.items()})


def _ranx_run(run: Run, name: str = "run"):  # type: ignore[no-untyped-def]
    from ranx import Run as RR

    return RR.from_dict(
        {q: {d: float(s) for d, s in docs.items()} for q, docs in run.items() if docs}, name=name
    )


def evaluate_run(
    qrels: Qrels, run: Run, metrics: Mapping[str, str] = METRICS
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Mean and per-query scores for ``metrics`` (report key -> ranx name). Queries of ``qrels`` missing
    from ``run`` count as zero."""
    from ranx import evaluate

    rq, rr = _ranx_qrels(qrels), _ranx_run(run)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evaluate(rq, rr, list(metrics.values()), make_comparable=True, save_results_in_run=True)
    means = {key: float(rr.mean_scores[name]) for key, name in metrics.items()}
    per_query = {key: {q: float(v) for q, v in rr.scores[name].items()} for key, name in metrics.items()}
    for key in per_query:  # ranx drops queries missing from the run: they scored 0
        for q in qrels:
            per_query[key].setdefault(q, 0.0)
    return means, per_query


def paired_significance(
    qrels: Qrels,
    runs: Mapping[str, Run],
    baseline: str,
    metrics: Mapping[str, str] = METRICS,
    *,
    stat_test: str = DEFAULT_STAT_TEST,
) -> dict[str, dict[str, float]]:
    """p-values of each run against ``baseline`` per metric (paired test over queries; ranx.compare).
    ``stat_test``: ``student`` (paired t-test), ``fisher`` (randomisation) or ``wilcoxon``."""
    from ranx import compare

    if baseline not in runs:
        raise NotFound(f"Baseline {baseline!r} is not among the strategies {list(runs)}.")
    if len(runs) < 2:
        return {}
    rq = _ranx_qrels(qrels)
    names = list(runs)
    ranx_runs = [_ranx_run(runs[n], name=n) for n in names]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = compare(
            rq, ranx_runs, list(metrics.values()), stat_test=stat_test, make_comparable=True, max_p=0.05
        )
    data = report.to_dict()
    out: dict[str, dict[str, float]] = {}
    for name in names:
        if name == baseline:
            continue
        comps = data[name]["comparisons"].get(baseline, {})
        out[name] = {key: float(comps[ranx_name]) for key, ranx_name in metrics.items() if ranx_name in comps}
    return out


def rank_curves(qrels: Qrels, run: Run, max_k: int = CURVE_DEPTH) -> dict[str, list[float]]:
    """Mean recall@k and precision@k for k = 1 … max_k."""
    from ranx import evaluate

    ks = range(1, max_k + 1)
    names = [f"recall@{k}" for k in ks] + [f"precision@{k}" for k in ks]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = evaluate(_ranx_qrels(qrels), _ranx_run(run), names, make_comparable=True)
    return {
        "k": list(ks),
        "recall": [float(scores[f"recall@{k}"]) for k in ks],
        "precision": [float(scores[f"precision@{k}"]) for k in ks],
    }


@dataclass(frozen=True)
class LatencyStats:
    """Per-query latency of single-query searches, in milliseconds."""

    p50_ms: float
    p95_ms: float
    mean_ms: float
    n: int


def measure_latency(
    retriever: Retriever,
    queries: Sequence[str],
    k: int,
    *,
    sample: int = DEFAULT_LATENCY_SAMPLE,
    seed: int = 0,
) -> LatencyStats:
    """Time ``search([q], k)`` one query at a time on a seeded sample, after a warm-up pass over the same
    sample (torch builds kernels per input length on first use; steady-state latency is what users see)."""
    if not queries:
        return LatencyStats(0.0, 0.0, 0.0, 0)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(queries), size=min(sample, len(queries)), replace=False)
    for i in idx:  # warm-up (lazy allocations, per-shape kernels, JIT)
        retriever.search([queries[int(i)]], k)
    times = []
    for i in idx:
        t0 = time.perf_counter()
        retriever.search([queries[int(i)]], k)
        times.append((time.perf_counter() - t0) * 1000.0)
    arr = np.asarray(times)
    return LatencyStats(
        float(np.percentile(arr, 50)), float(np.percentile(arr, 95)), float(arr.mean()), len(arr)
    )


def trec_id(value: str) -> str:
    """An id as one TREC column: each whitespace character (anything ``str.split`` splits on) written as
    ``%XX``, the percent-encoding of its UTF-8 bytes (space ``%20``, tab ``%09``, newline ``%0A``); every
    other character, ``%`` included, is kept, so ids without whitespace are written as they are."""
    if not any(c.isspace() for c in value):
        return value
    return "".join("".join(f"%{b:02X}" for b in c.encode("utf-8")) if c.isspace() else c for c in value)


def _trec_ids(ids: Iterable[str], what: str) -> dict[str, str]:
    """id -> :func:`trec_id`; refuses an empty id and two ids that would be written alike."""
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    for value in ids:
        if value in out:
            continue
        if value == "":
            raise InvalidInput(f"An empty {what} id cannot be written to a TREC run file.")
        token = out[value] = trec_id(value)
        if seen.setdefault(token, value) != value:
            raise InvalidInput(
                f"The {what} ids {seen[token]!r} and {value!r} would both be written as {token!r} in a TREC "
                "run file (whitespace is written as %XX); the stored comparison keeps them apart."
            )
    return out


def format_trec_run(run: Run, tag: str) -> str:
    """A run as TREC run-file text: one ``qid Q0 docid rank score tag`` line per result. Ids holding
    whitespace are written with :func:`trec_id`; an empty id, or two ids written alike, is refused
    (:class:`InvalidInput`)."""
    tag = safe_name(tag) or "run"
    qids = _trec_ids((q for q, docs in run.items() if docs), "query")
    dids = _trec_ids((d for docs in run.values() for d in docs), "document")
    lines = []
    for qid, docs in run.items():
        ranked = sorted(docs.items(), key=lambda kv: (-kv[1], kv[0]))
        for rank, (did, score) in enumerate(ranked, start=1):
            lines.append(f"{qids[qid]} Q0 {dids[did]} {rank} {score:.6f} {tag}")
    return "\n".join(lines) + ("\n" if lines else "")


def safe_name(name: str) -> str:
    """``name`` with every character other than letters, digits and ``-_.`` replaced by ``_`` (file names,
    TREC run tags)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def write_trec_run(run: Run, path, tag: str) -> None:  # type: ignore[no-untyped-def]
    """Write a run in TREC format: ``qid Q0 docid rank score tag``."""
    Path(path).write_text(format_trec_run(run, tag), encoding="utf-8")


def read_trec_run(path) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
    """Read a TREC run file (``qid Q0 docid rank score tag``, split on whitespace; ids are taken as written).
    Comparisons are stored as run files of their own (:func:`core.evaluate.write_run`); this reads the TREC
    files of comparisons stored before, and anyone's TREC runs."""
    run: dict[str, dict[str, float]] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 5:
            run.setdefault(parts[0], {})[parts[2]] = float(parts[4])
    return run
