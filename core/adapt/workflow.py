"""Adaptation runs: the job handlers behind the Adapt page and ``python -m core train``.

``adapt`` (job kind) trains one model — MLM, TSDAE, contrastive or cross-encoder — on a retrieval
dataset, then measures it on the evaluation split against what it replaces:

- bi-encoders (MLM, TSDAE, contrastive): dense retrieval with the base model (*before*) vs the trained
  model (*after*);
- cross-encoders: the first stage alone (*before*, hybrid BM25 + dense by default) vs the same first stage
  reranked at top 50 by the trained cross-encoder (*after*).

The model is written to a staging folder and registered only when the whole job (training and
evaluation) succeeded. ``mine`` (job kind) mines hard negatives and stores them for review.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import time
from pathlib import Path
from typing import Any

from core.adapt.mining import MiningConfig, MiningResult, mine_dataset
from core.data import RetrievalDataset, resolve_dataset
from core.evaluate import run_comparison
from core.models import DEFAULT_BI_ENCODER, resolve_model
from core.retrieval import DEFAULT_RERANK_DEPTH, BM25Spec, DenseSpec, HybridSpec, RerankSpec
from core.runtime import InvalidInput, NotFound, Progress, Reporter, Workspace, atomic_write_json
from core.training import (
    TRAIN_STAGE,
    TRAINERS,
    Triples,
    get_trainer,
    quiet_libraries,
    train_config,
    training_device,
)

__all__ = [
    "EVAL_METRICS",
    "METHODS",
    "MODEL_KINDS",
    "adapt_job",
    "build_triples",
    "default_model_name",
    "describe_methods",
    "evaluate_change",
    "load_mined",
    "mine_job",
    "subset_queries",
    "summarize",
    "train_fields",
    "verdict",
]

EVAL_METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10", "map@100", "p@10")
MINED_FILE = "negatives.json"
HARM_THRESHOLD = 0.005  # nDCG@10 change below which a model is reported as "no change"


METHODS = tuple(TRAINERS)
MODEL_KINDS = {method: trainer.model_kind for method, trainer in TRAINERS.items()}


def train_fields(method: str) -> list[str]:
    """Hyper-parameters a method accepts (the fields of its config besides base and output_dir)."""
    return get_trainer(method).config.settings()


def default_model_name(method: str, base: str, dataset: str) -> str:
    """A readable, unique-enough registry name such as ``all-MiniLM-L6-v2-contrastive-scifact-0915``."""
    stem = Path(base.rstrip("/")).name or base
    raw = f"{stem}-{method}-{dataset}-{time.strftime('%m%d-%H%M%S')}"
    return re.sub(r"[^\w.,+@()\- ]+", "_", raw)[:100]


# --------------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------------
def build_triples(  # type: ignore[no-untyped-def]
    ds: RetrievalDataset, mined: MiningResult | None, split: str, num_negatives: int, *, seed: int = 42
):
    """(query text, positive text, negative texts) for every judged positive of ``split``. A pair left
    with fewer mined negatives than asked (the false-negative rules removed them all) is kept and padded
    with random documents not judged relevant to its query, so no training pair is lost. Returns
    ``(Triples, padded_pairs)``."""

    rng = random.Random(seed)
    doc_ids = list(ds.doc_ids)
    text = dict(zip(doc_ids, ds.doc_texts(), strict=True))
    qtext = dict(zip(ds.queries["query_id"], ds.queries["text"], strict=True))
    judged: dict[str, set[str]] = {}
    for other in ds.splits:
        for qid, docs in ds.qrels_dict(other).items():
            judged.setdefault(qid, set()).update(d for d, s in docs.items() if s > 0)
    negs: dict[tuple[str, str], list[str]] = {}
    if mined is not None:
        for qid, pid, did in zip(
            mined.negatives["query_id"],
            mined.negatives["positive_id"],
            mined.negatives["doc_id"],
            strict=True,
        ):
            negs.setdefault((qid, pid), []).append(text[did])
    rows = []
    padded = 0
    for qid, docs in ds.qrels_dict(split).items():
        for did, score in docs.items():
            if score <= 0 or did not in text or qid not in qtext:
                continue
            found = list(negs.get((qid, did), []))
            if len(found) < num_negatives and len(doc_ids) > len(judged.get(qid, ())) + num_negatives:
                padded += 1
                while len(found) < num_negatives:
                    pick = rng.choice(doc_ids)
                    if pick not in judged.get(qid, ()) and text[pick] not in found:
                        found.append(text[pick])
            rows.append((qtext[qid], text[did], found))
    triples, _ = Triples.build(rows, num_negatives)
    return triples, padded


def load_mined(ws: Workspace, run_id: str) -> MiningResult:
    """Negatives stored by a ``mine`` run."""
    path = ws.home / "runs" / run_id / MINED_FILE
    if not path.exists():
        raise NotFound(f"Run {run_id!r} has no mined negatives.")
    return MiningResult.from_json(json.loads(path.read_text(encoding="utf-8")))


def subset_queries(ds: RetrievalDataset, split: str, limit: int | None, seed: int = 42) -> RetrievalDataset:
    """The dataset with ``split`` cut to ``limit`` queries (seeded sample; other splits untouched)."""
    if not limit:
        return ds
    qids = sorted(ds.qrels_dict(split))
    if limit >= len(qids):
        return ds

    keep = set(random.Random(seed).sample(qids, limit))
    mask = (ds.qrels["split"] != split) | ds.qrels["query_id"].isin(keep)
    return dataclasses.replace(ds, qrels=ds.qrels[mask].reset_index(drop=True))


def _resolve_dataset(ws: Workspace, name: str) -> RetrievalDataset:
    ds = resolve_dataset(ws, name, kind="retrieval")
    if not isinstance(ds, RetrievalDataset):
        raise InvalidInput(
            f"{name!r} is a classification dataset; adaptation needs corpus, queries and qrels."
        )
    return ds


# --------------------------------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------------------------------
def verdict(delta: float | None) -> str:
    """``better`` / ``worse`` / ``no change`` from the nDCG@10 difference."""
    if delta is None:
        return "not evaluated"
    if delta >= HARM_THRESHOLD:
        return "better"
    if delta <= -HARM_THRESHOLD:
        return "worse"
    return "no change"


def evaluate_change(
    ws: Workspace,
    ds: RetrievalDataset,
    split: str,
    method: str,
    base: str,
    trained: str,
    *,
    first_stage: str = "hybrid",
    first_stage_model: str | None = None,
    top_k: int = DEFAULT_RERANK_DEPTH,
    rerank_max_length: int = 512,
    progress: Any = None,
) -> tuple[dict[str, Any], Any]:
    """Before/after metrics on ``split``: ``({"before", "after", "delta", "p_value", "verdict", ...},
    ComparisonReport)``."""
    if method == "cross-encoder":
        dense = DenseSpec(model=first_stage_model or DEFAULT_BI_ENCODER)
        tune = "train" if "train" in ds.splits and split != "train" else None
        fs: Any = {
            "bm25": BM25Spec(),
            "dense": dense,
            "hybrid": HybridSpec(dense=dense, tune_split=tune),
        }.get(first_stage)
        if fs is None:
            raise InvalidInput("first_stage must be bm25, dense or hybrid.")
        specs: dict[str, Any] = {
            "before": fs,
            "after": RerankSpec(
                first_stage=fs, reranker=str(trained), top_k=top_k, max_length=rerank_max_length
            ),
        }
        labels = {
            "before": f"{fs.label} (first stage alone)",
            "after": f"{fs.label} → trained reranker@{top_k}",
        }
    else:
        specs = {"before": DenseSpec(model=base), "after": DenseSpec(model=str(trained))}
        labels = {"before": f"Dense ({Path(base).name or base}, base)", "after": "Dense (trained)"}
    rep = run_comparison(
        ds, split, specs, ws=ws, k=100, baseline="before", latency_sample=5, progress=progress
    )
    if method == "cross-encoder":  # labels of the tuned first stage (alpha known only now)
        tuned = rep.strategies["before"].label
        labels = {"before": f"{tuned} (first stage alone)", "after": f"{tuned} → trained reranker@{top_k}"}
    before = {m: round(rep.strategies["before"].metrics[m], 4) for m in EVAL_METRICS}
    after = {m: round(rep.strategies["after"].metrics[m], 4) for m in EVAL_METRICS}
    per_b = rep.strategies["before"].per_query.get("ndcg@10", {})
    per_a = rep.strategies["after"].per_query.get("ndcg@10", {})
    diffs = [per_a.get(q, 0.0) - per_b.get(q, 0.0) for q in per_b]
    delta = round(after["ndcg@10"] - before["ndcg@10"], 4)
    out = {
        "split": split,
        "queries": rep.queries,
        "labels": labels,
        "before": before,
        "after": after,
        "delta": {m: round(after[m] - before[m], 4) for m in EVAL_METRICS},
        "p_value": rep.p_values.get("after", {}).get("ndcg@10"),
        "verdict": verdict(delta),
        "queries_better": sum(d > 1e-9 for d in diffs),
        "queries_worse": sum(d < -1e-9 for d in diffs),
        # both sides of a rerank share the first stage, and with it its notes: each note once
        "notes": list(dict.fromkeys(n for r in rep.strategies.values() for n in r.notes)),
    }
    if method == "cross-encoder":
        out["first_stage"] = rep.strategies["before"].spec
        out["rerank_top_k"] = top_k
    return out, rep


# --------------------------------------------------------------------------------------------------
# job handlers
# --------------------------------------------------------------------------------------------------
class _StepCounter:
    def __init__(self) -> None:
        self.steps = 0
        self.last_loss: float | None = None


def _counting(reporter: Reporter, counter: _StepCounter) -> Reporter:
    """``reporter``, also counting the optimizer steps and keeping the last loss of the training records."""

    def record(p: Progress) -> None:
        if p.stage == TRAIN_STAGE:
            counter.steps = max(counter.steps, p.done)
            if p.loss is not None:
                counter.last_loss = p.loss
        reporter(p)

    return record


def mine_job(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    """Job kind ``mine``: config = {dataset, split (train), mining: {MiningConfig fields}}."""
    ds = _resolve_dataset(ctx.ws, config["dataset"])
    cfg = MiningConfig(**(config.get("mining") or {}))
    split = config.get("split") or "train"

    mined = mine_dataset(ds, cfg, split=split, ws=ctx.ws, progress=ctx.reporter())

    atomic_write_json(ctx.run_dir / MINED_FILE, mined.to_json())
    summary = mined.summary()
    ctx.log(f"mined {summary['negatives']:,} negatives; filtered {summary['filtered']}")
    return {"dataset": ds.name, **summary}


def adapt_job(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    """Job kind ``adapt``. config = {method, dataset, base, name?, train_split, eval_split, evaluate,
    eval_queries, corpus_limit, train: {hyper-parameters}, mining: {MiningConfig fields},
    negatives_from (a ``mine`` run id), drop: [[query_id, doc_id], ...], first_stage, first_stage_model,
    rerank_top_k}."""
    quiet_libraries()
    ws: Workspace = ctx.ws
    method = config["method"]
    if method not in METHODS:
        raise InvalidInput(f"Unknown method {method!r}: use one of {', '.join(METHODS)}.")
    ds = _resolve_dataset(ws, config["dataset"])
    base_name = config.get("base") or DEFAULT_BI_ENCODER
    base = resolve_model(base_name, ws)
    name = config.get("name") or default_model_name(method, base.name, ds.name)
    ws.check_name(name, "model name")
    if ws.get_model(name) is not None:
        raise InvalidInput(f"A model named {name!r} is already registered; choose another name.")
    out_dir = ctx.staging_dir() / "model"
    params = dict(config.get("train") or {})
    cfg = train_config(method, base.location, out_dir, params)  # validates before any heavy work
    split = config.get("train_split") or "train"
    info: dict[str, Any] = {"method": method, "dataset": ds.name, "base": base.name, "name": name}

    if method in ("mlm", "tsdae"):
        texts = ds.doc_texts()
        limit = config.get("corpus_limit")
        if limit and limit < len(texts):
            texts = random.Random(42).sample(texts, int(limit))
        data: Any = texts
        ctx.log(f"{method}: {len(texts):,} corpus texts from {ds.name}")
        info["texts"] = len(texts)
    else:
        mining_cfg = MiningConfig(**{"model": base_name, **(config.get("mining") or {})})
        if config.get("negatives_from"):
            mined = load_mined(ws, config["negatives_from"])
            ctx.log(f"using negatives mined in run {config['negatives_from']}")
        else:
            ctx.log(f"mining {mining_cfg.method} negatives on {ds.name}/{split}")

            mined = mine_dataset(ds, mining_cfg, split=split, ws=ws, progress=ctx.reporter("mining"))

            atomic_write_json(ctx.run_dir / MINED_FILE, mined.to_json())
        mined = mined.drop(tuple(p) for p in config.get("drop") or [])
        data, padded = build_triples(ds, mined, split, mined.config.num_negatives)
        info["mining"] = mined.summary()
        info["pairs"] = len(data)
        info["pairs_padded_with_random_negatives"] = padded
        if padded:
            ctx.log(
                f"{padded} (query, positive) pairs had too few mined negatives left after the false-negative "
                "rules; padded with random documents not judged relevant"
            )
        ctx.log(f"{len(data):,} training rows; filtered by rule: {mined.filtered}")

    counter = _StepCounter()
    t0, c0 = time.perf_counter(), time.process_time()
    path = get_trainer(method).train(cfg, data, _counting(ctx.reporter(), counter))
    info["train_s"] = round(time.perf_counter() - t0, 1)
    info["train_cpu_s"] = round(time.process_time() - c0, 1)
    info["steps"] = counter.steps
    info["final_loss"] = counter.last_loss
    info["device"] = _device()
    ctx.log(f"trained in {info['train_s']:.0f} s ({counter.steps} steps)")

    eval_split = config.get("eval_split") or ds.default_split
    if config.get("evaluate", True) and eval_split in ds.splits:
        ctx.check_cancel()
        eds = subset_queries(ds, eval_split, config.get("eval_queries"))
        t1 = time.perf_counter()
        change, rep = evaluate_change(
            ws,
            eds,
            eval_split,
            method,
            base_name,
            str(path),
            first_stage=config.get("first_stage") or "hybrid",
            first_stage_model=config.get("first_stage_model")
            or (None if method == "cross-encoder" else base_name),
            top_k=int(config.get("rerank_top_k") or DEFAULT_RERANK_DEPTH),
            rerank_max_length=int(getattr(cfg, "max_seq_length", None) or 512),  # as trained
            progress=ctx.reporter(f"evaluating {method}"),
        )
        change["eval_s"] = round(time.perf_counter() - t1, 1)
        info.update(evaluation=change, before=change["before"], after=change["after"])

        atomic_write_json(ctx.run_dir / "comparison.json", rep.to_record())
        ctx.log(
            f"nDCG@10 on {eval_split}: before {change['before']['ndcg@10']:.4f}, after "
            f"{change['after']['ndcg@10']:.4f} ({change['delta']['ndcg@10']:+.4f}, {change['verdict']})"
        )
    meta = {
        "description": f"{method} of {base.name} on {ds.name}/{split}",
        "method": method,
        "dataset": ds.name,
        "steps": info["steps"],
        "train_s": info["train_s"],
        "verdict": (info.get("evaluation") or {}).get("verdict", "not evaluated"),
        "before": info.get("before"),
        "after": info.get("after"),
    }
    info["install"] = [
        {"name": name, "kind": MODEL_KINDS[method], "staged": str(path), "base": base.name, "meta": meta}
    ]
    return info


def _device() -> str:
    return training_device()


def summarize(result: dict[str, Any] | None) -> dict[str, Any]:
    """The CLI's JSON: ``model_path, steps, train_s, before, after`` (+ model, verdict)."""
    result = result or {}
    models = result.get("models") or [{}]
    return {
        "model_path": models[0].get("path"),
        "model": models[0].get("name"),
        "steps": result.get("steps"),
        "train_s": result.get("train_s"),
        "before": result.get("before") or {},
        "after": result.get("after") or {},
        "verdict": (result.get("evaluation") or {}).get("verdict", "not evaluated"),
    }


def describe_methods() -> dict[str, str]:
    """Method name → one line saying what it trains on."""
    return {method: trainer.description for method, trainer in TRAINERS.items()}
