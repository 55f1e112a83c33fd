"""Adaptation runs: the job handlers behind the Adapt page and ``python -m core train``.

``adapt`` (job kind, :class:`~core.adapt.config.AdaptJob`) trains one model — MLM, TSDAE, contrastive or
cross-encoder — on a retrieval dataset, then measures it on the evaluation split against what it replaces
(:func:`~core.adapt.evaluation.evaluate_change`). The model is written to a staging folder and registered
only when the whole job (training and evaluation) succeeded. ``mine`` (job kind,
:class:`~core.adapt.config.MineJob`) mines hard negatives and stores them for review.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

from core.adapt.config import MODEL_KINDS, AdaptJob, MineJob, default_model_name
from core.adapt.evaluation import NOT_EVALUATED, evaluate_change, subset_queries
from core.adapt.mining import MiningConfig, MiningResult, mine_dataset
from core.data import RetrievalDataset, resolve_dataset
from core.evaluate import PRIMARY_METRIC
from core.models import ModelInfo, resolve_model
from core.retrieval import DEFAULT_RERANK_MAX_LENGTH
from core.runtime import InvalidInput, NotFound, Progress, Reporter, Workspace, atomic_write_json
from core.training import (
    TRAIN_STAGE,
    TrainConfig,
    Triples,
    get_trainer,
    quiet_libraries,
    train_config,
    training_device,
    training_precision,
)

__all__ = ["MINED_FILE", "adapt_job", "build_triples", "load_mined", "mine_job", "summarize"]

MINED_FILE = "negatives.json"
COMPARISON_FILE = "comparison.json"
SAMPLE_SEED = 42  # corpus sample of MLM / TSDAE


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


def _resolve_dataset(ws: Workspace, name: str) -> RetrievalDataset:
    ds = resolve_dataset(ws, name, kind="retrieval")
    if not isinstance(ds, RetrievalDataset):
        raise InvalidInput(
            f"{name!r} is a classification dataset; adaptation needs corpus, queries and qrels."
        )
    return ds


def _corpus_texts(ctx: Any, job: AdaptJob, ds: RetrievalDataset, info: dict[str, Any]) -> list[str]:
    """The corpus texts MLM / TSDAE train on (a seeded sample of ``corpus_limit``)."""
    texts = ds.doc_texts()
    if job.corpus_limit and job.corpus_limit < len(texts):
        texts = random.Random(SAMPLE_SEED).sample(texts, job.corpus_limit)
    ctx.log(f"{job.method}: {len(texts):,} corpus texts from {ds.name}")
    info["texts"] = len(texts)
    return texts


def _negatives(ctx: Any, job: AdaptJob, mining: MiningConfig, ds: RetrievalDataset) -> MiningResult:
    """The negatives of a ``mine`` run (``negatives_from``), or mined now and stored with the run."""
    if job.negatives_from:
        mined = load_mined(ctx.ws, job.negatives_from)
        ctx.log(f"using negatives mined in run {job.negatives_from}")
        return mined
    ctx.log(f"mining {mining.method} negatives on {ds.name}/{job.train_split}")

    mined = mine_dataset(ds, mining, split=job.train_split, ws=ctx.ws, progress=ctx.reporter("mining"))

    atomic_write_json(ctx.run_dir / MINED_FILE, mined.to_json())
    return mined


def _training_triples(
    ctx: Any, job: AdaptJob, mining: MiningConfig, ds: RetrievalDataset, info: dict[str, Any]
) -> Triples:
    """(query, positive, hard negatives) rows of the train split, minus the pairs dropped in review."""
    mined = _negatives(ctx, job, mining, ds).drop(job.drop)
    triples, padded = build_triples(ds, mined, job.train_split, mined.config.num_negatives)
    info["mining"] = mined.summary()
    info["pairs"] = len(triples)
    info["pairs_padded_with_random_negatives"] = padded
    if padded:
        ctx.log(
            f"{padded} (query, positive) pairs had too few mined negatives left after the false-negative "
            "rules; padded with random documents not judged relevant"
        )
    ctx.log(f"{len(triples):,} training rows; filtered by rule: {mined.filtered}")
    return triples


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
    job = MineJob.from_dict(config)
    ds = _resolve_dataset(ctx.ws, job.dataset)

    mined = mine_dataset(ds, job.mining, split=job.split, ws=ctx.ws, progress=ctx.reporter())

    atomic_write_json(ctx.run_dir / MINED_FILE, mined.to_json())
    summary = mined.summary()
    ctx.log(f"mined {summary['negatives']:,} negatives; filtered {summary['filtered']}")
    return {"dataset": ds.name, **summary}


def _train(ctx: Any, job: AdaptJob, cfg: TrainConfig, data: Any, info: dict[str, Any]) -> Path:
    """Train, recording time, steps, the last loss and the device in ``info``."""
    counter = _StepCounter()
    t0, c0 = time.perf_counter(), time.process_time()
    path = get_trainer(job.method).train(cfg, data, _counting(ctx.reporter(), counter))
    info["train_s"] = round(time.perf_counter() - t0, 1)
    info["train_cpu_s"] = round(time.process_time() - c0, 1)
    info["steps"] = counter.steps
    info["final_loss"] = counter.last_loss
    info["device"] = training_device()
    info["precision"], _ = training_precision(cfg.precision, info["device"])
    ctx.log(f"trained in {info['train_s']:.0f} s ({counter.steps} steps)")
    return path


def _evaluate(
    ctx: Any, job: AdaptJob, ds: RetrievalDataset, cfg: TrainConfig, path: Path, info: dict[str, Any]
) -> None:
    """Before / after on the evaluation split (when asked and the split exists), into ``info``."""
    split = job.eval_split or ds.default_split
    if not job.evaluate or split not in ds.splits:
        return
    ctx.check_cancel()
    t1 = time.perf_counter()
    change, rep = evaluate_change(
        ctx.ws,
        subset_queries(ds, split, job.eval_queries),
        split,
        job.method,
        job.base,
        str(path),
        first_stage=job.first_stage,
        first_stage_model=job.first_stage_model,
        top_k=job.rerank_top_k,
        rerank_max_length=int(cfg.max_seq_length or DEFAULT_RERANK_MAX_LENGTH),  # as trained
        progress=ctx.reporter(f"evaluating {job.method}"),
    )
    change["eval_s"] = round(time.perf_counter() - t1, 1)
    info.update(evaluation=change, before=change["before"], after=change["after"])

    atomic_write_json(ctx.run_dir / COMPARISON_FILE, rep.to_record())
    before, after = change["before"][PRIMARY_METRIC], change["after"][PRIMARY_METRIC]
    ctx.log(
        f"nDCG@10 on {split}: before {before:.4f}, after {after:.4f} "
        f"({change['delta'][PRIMARY_METRIC]:+.4f}, {change['verdict']})"
    )


def _install(
    job: AdaptJob, name: str, base: ModelInfo, ds: RetrievalDataset, path: Path, info: dict[str, Any]
) -> dict[str, Any]:
    """What the job runner registers once the job succeeded: the staged model and its card."""
    meta = {
        "description": f"{job.method} of {base.name} on {ds.name}/{job.train_split}",
        "method": job.method,
        "dataset": ds.name,
        "steps": info["steps"],
        "train_s": info["train_s"],
        "verdict": info["evaluation"]["verdict"] if "evaluation" in info else NOT_EVALUATED,
        "before": info.get("before"),
        "after": info.get("after"),
    }
    kind = MODEL_KINDS[job.method]
    return {"name": name, "kind": kind, "staged": str(path), "base": base.name, "meta": meta}


def adapt_job(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    """Job kind ``adapt``; ``config``: see :class:`~core.adapt.config.AdaptJob`."""
    quiet_libraries()
    job = AdaptJob.from_dict(config)
    ws: Workspace = ctx.ws
    ds = _resolve_dataset(ws, job.dataset)
    base = resolve_model(job.base, ws)
    name = job.name or default_model_name(job.method, base.name, ds.name)
    ws.check_name(name, "model name")
    if ws.get_model(name) is not None:
        raise InvalidInput(f"A model named {name!r} is already registered; choose another name.")
    out_dir = ctx.staging_dir() / "model"
    cfg = train_config(job.method, base.location, out_dir, job.train)  # validates before any heavy work
    info: dict[str, Any] = {"method": job.method, "dataset": ds.name, "base": base.name, "name": name}
    if job.mining is None:  # the method trains on corpus texts
        data: Any = _corpus_texts(ctx, job, ds, info)
    else:
        data = _training_triples(ctx, job, job.mining, ds, info)
    path = _train(ctx, job, cfg, data, info)
    _evaluate(ctx, job, ds, cfg, path, info)
    info["install"] = [_install(job, name, base, ds, path, info)]
    return info


def summarize(result: dict[str, Any] | None) -> dict[str, Any]:
    """The CLI's JSON: ``model_path, steps, train_s, before, after`` (+ model, verdict)."""
    result = result or {}
    models = result.get("models") or [{}]
    evaluation = result.get("evaluation") or {}
    return {
        "model_path": models[0].get("path"),
        "model": models[0].get("name"),
        "steps": result.get("steps"),
        "train_s": result.get("train_s"),
        "before": result.get("before") or {},
        "after": result.get("after") or {},
        "verdict": evaluation.get("verdict", NOT_EVALUATED),
    }
