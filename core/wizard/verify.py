""" "Verify on my data": turn a recommendation into the measurements that test it, run them as jobs, and
say whether the evidence agrees.

- :func:`plan_verification` — which strategies to compare (the recommended one against the alternatives
  a user would otherwise pick) and, where recommended, a short adaptation run (job kind ``adapt``) or a
  SetFit run (job kind ``setfit_curve``); runs that already answer the question are reused.
- :func:`verify_job` (job kind ``wizard_verify``) — runs (or reuses) the comparison and stores it as an
  ``evaluate`` run that the Compare page can open.
- :func:`collect_evidence` — the evidence so far of a verify run and its extra runs, assessed by
  :func:`core.wizard.assess` (one claim per decision: agrees / contradicts / not measured).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from core.classify import has_label_names
from core.data import LabeledDataset, RetrievalDataset, resolve_dataset
from core.evaluate import load_comparison, paired_significance, run_comparison, save_comparison
from core.models import DEFAULT_BI_ENCODER
from core.retrieval import (
    DEFAULT_RERANK_DEPTH,
    BM25Spec,
    DenseSpec,
    HybridSpec,
    RerankSpec,
    spec_from_dict,
    spec_to_dict,
)
from core.runtime import InvalidInput, NotFound, Reporter, RunRecord, Workspace, jobs
from core.wizard.evidence import assess
from core.wizard.plan import ExtraCheck, VerifyPlan

__all__ = [
    "collect_evidence",
    "find_matching_comparison",
    "plan_verification",
    "run_verification_inline",
    "start_verification",
    "verify_job",
]

VERIFY_KIND = "wizard_verify"
VERIFY_QUEUE = "eval"  # the Compare page's queue: comparisons run one at a time
SHORT_ADAPT_STEPS = 60
SHORT_SETFIT_SEEDS = 3


# --------------------------------------------------------------------------------------------------
# planning
# --------------------------------------------------------------------------------------------------
def _registered_kinds() -> set[str]:
    return jobs.known_kinds()


def _spec_key(spec: Mapping[str, Any]) -> Any:
    """A comparable form of a spec dict; a tuned hybrid's alpha is whatever tuning found, so it is left out."""
    data = dict(spec)
    if data.get("kind") == "hybrid" and data.get("tune_split"):
        data.pop("alpha", None)
    for key in ("sparse", "dense", "first_stage"):
        if isinstance(data.get(key), Mapping):
            data[key] = _spec_key(data[key])
    return tuple(sorted((k, v if not isinstance(v, list) else tuple(v)) for k, v in data.items()))


def find_matching_comparison(
    ws: Workspace, dataset: str, split: str, specs: Mapping[str, Mapping[str, Any]]
) -> tuple[str, dict[str, str]] | None:
    """The newest finished ``evaluate`` run on the same dataset and split that holds every spec; returns
    its id and a map from our strategy names to its names."""
    wanted = {name: _spec_key(spec) for name, spec in specs.items()}
    for run in ws.list_runs(kind="evaluate", status=("done",), limit=200):
        cfg = run.config or {}
        if cfg.get("dataset") != dataset or (cfg.get("split") or split) != split:
            continue
        if not (ws.run_dir(run.id) / "report.json").exists():
            continue
        theirs = {_spec_key(spec): name for name, spec in (cfg.get("strategies") or {}).items()}
        if all(key in theirs for key in wanted.values()):
            return run.id, {name: theirs[key] for name, key in wanted.items()}
    return None


def _retrieval_specs(
    rec: Mapping[str, Any], ds: RetrievalDataset, model: str, reranker: str | None
) -> tuple[dict[str, Any], str, str | None, list[str]]:
    notes: list[str] = []
    tune = "train" if "train" in ds.splits and ds.default_split != "train" else None
    dense = DenseSpec(model=model)
    specs: dict[str, Any] = {
        "bm25": BM25Spec(),
        "dense": dense,
        "hybrid": HybridSpec(dense=dense, tune_split=tune),
    }
    first = rec.get("first_stage") or "dense"
    recommended = first if first in specs else "dense"
    first_stage = None
    if first == "cross-encoder":
        notes.append(
            "A cross-encoder over every document is not run (queries × documents pairs); it is approximated by "
            "reranking the dense top 100."
            if reranker
            else "The cross-encoder-alone strategy is not measured: no pretrained cross-encoder is available here."
        )
    wants_rerank = bool(rec.get("reranker"))
    if wants_rerank and reranker:
        top_k = int((rec.get("reranker") or {}).get("top_k") or DEFAULT_RERANK_DEPTH)
        base_name = recommended
        if first == "cross-encoder":
            top_k = min(100, len(ds.corpus))
        specs["rerank"] = RerankSpec(first_stage=specs[base_name], reranker=reranker, top_k=top_k)
        first_stage, recommended = base_name, "rerank"
    elif wants_rerank:
        notes.append(
            "The reranker is not measured: no cross-encoder with a trained head is registered here "
            "(see the warning above); the first stage is verified alone."
        )
    if rec.get("index", {}).get("dimension") not in (None, (rec.get("answers") or {}).get("embedding_dim")):
        notes.append("The dimension reduction is measured in the Gotchas step (PCA on the corpus vectors).")
    return {n: spec_to_dict(s) for n, s in specs.items()}, recommended, first_stage, notes


def _find_run(ws: Workspace, kinds: Sequence[str], match: Any) -> RunRecord | None:
    for run in ws.list_runs(kind=tuple(kinds), status=("done",), limit=200):
        if match(run.config or {}, run.result or {}):
            return run
    return None


def _adaptation_extra(
    rec: Mapping[str, Any], ds: RetrievalDataset, ws: Workspace, model: str, kinds: set[str], steps_max: int
) -> tuple[ExtraCheck | None, str | None]:
    adaptation = rec.get("adaptation")
    if not adaptation:
        return None, None
    steps = list(adaptation.get("steps") or [])
    # the step a short run can test: contrastive when there are pairs, else the unsupervised step
    method = "contrastive" if "contrastive" in steps else steps[-1]
    if "adapt" not in kinds:
        return (
            None,
            f"The {' → '.join(steps)} adaptation is not measured: adaptation jobs are not available here.",
        )
    previous = _find_run(
        ws,
        ["adapt"],
        lambda c, r: c.get("dataset") == ds.name and c.get("method") == method and r.get("after"),
    )
    skipped = [s for s in steps if s != method]
    note = (
        f"The short check trains only the {method} step; {', '.join(skipped)} is not run here (start it from the "
        "Adapt page)."
        if skipped
        else None
    )
    config = {
        "method": method,
        "dataset": ds.name,
        "base": model,
        "name": f"wizard-{method}-{ds.name}-{time.strftime('%Y%m%d%H%M%S')}",
        "train": {"max_steps": steps_max},
        "evaluate": True,
    }
    title = f"Wizard check: short {method} run on {ds.name}"
    return ExtraCheck("adaptation", "adapt", config, title, previous.id if previous else None), note


def _classifier_extra(
    rec: Mapping[str, Any], ds: LabeledDataset, ws: Workspace, model: str, kinds: set[str], seeds: int
) -> tuple[ExtraCheck | None, str | None]:
    classifier = rec.get("classifier")
    if not classifier:
        return None, None
    if "setfit_curve" not in kinds:
        return None, "The classifier choice is not measured: SetFit jobs are not available here."
    lpc = int((rec.get("answers") or {}).get("labels_per_class") or 0)
    n = min(max(lpc, 8), 64) if classifier != "setfit" else max(2, min(lpc or 8, 64))
    methods = ["setfit", "logreg"]

    if has_label_names(list(ds.label_names)):
        methods.append("zeroshot")
    previous = _find_run(
        ws,
        ["setfit_curve", "setfit_run"],
        lambda c, r: (
            c.get("dataset") == ds.name
            and n in (c.get("n_values") or [])
            and {"setfit", "logreg"} <= set(c.get("methods") or [])
        ),
    )
    config = {
        "dataset": ds.name,
        "body": model,
        "methods": methods,
        "n_values": [n],
        "seeds": list(range(seeds)),
        "test_limit": 1000,
    }
    note = None
    if classifier == "fine-tune":
        note = (
            "Full fine-tuning is not a job here; the check compares what is cheaper (logistic regression on frozen "
            f"embeddings, SetFit) at N={n} per class — if they fall short, fine-tune."
        )
    title = f"Wizard check: SetFit vs baselines on {ds.name} (N={n})"
    return ExtraCheck("classifier", "setfit_curve", config, title, previous.id if previous else None), note


def plan_verification(
    rec: Mapping[str, Any],
    ds: RetrievalDataset | LabeledDataset,
    ws: Workspace,
    *,
    model: str = DEFAULT_BI_ENCODER,
    reranker: str | None = None,
    include_extras: bool = True,
    short_steps: int = SHORT_ADAPT_STEPS,
    short_seeds: int = SHORT_SETFIT_SEEDS,
) -> VerifyPlan:
    """The measurements that test ``rec`` (the JSON of a recommendation) on ``ds``; ``short_steps`` /
    ``short_seeds`` size the short adaptation / SetFit run."""
    kinds = _registered_kinds()
    task = rec.get("task") or (rec.get("answers") or {}).get("task")
    notes: list[str] = []
    extras: list[ExtraCheck] = []
    if isinstance(ds, RetrievalDataset):
        if task == "classification":
            raise InvalidInput(
                f"{ds.name!r} is a retrieval dataset but the task is classification; pick a "
                "classification dataset to verify a classifier."
            )
        split = ds.default_split
        specs, recommended, first_stage, spec_notes = _retrieval_specs(rec, ds, model, reranker)
        notes += spec_notes
        match = find_matching_comparison(ws, ds.name, split, specs)
        if include_extras:
            extra, note = _adaptation_extra(rec, ds, ws, model, kinds, short_steps)
            extras += [extra] if extra else []
            notes += [note] if note else []
        return VerifyPlan(
            ds.name,
            split,
            specs,
            recommended,
            first_stage,
            tuple(extras),
            tuple(notes),
            match[0] if match else None,
            model,
        )
    if task != "classification":
        raise InvalidInput(
            f"{ds.name!r} is a classification dataset but the task is {task}; pick a retrieval "
            "dataset (corpus, queries, qrels) to verify a retrieval strategy."
        )
    if include_extras:
        extra, note = _classifier_extra(rec, ds, ws, model, kinds, short_seeds)
        extras += [extra] if extra else []
        notes += [note] if note else []
    return VerifyPlan(ds.name, None, {}, None, None, tuple(extras), tuple(notes), None, model)


# --------------------------------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------------------------------
def _comparison(
    ctx_ws: Workspace, plan: VerifyPlan, progress: Any, latency_sample: int
) -> tuple[Any, str, bool]:
    """The comparison report (reused or run and saved); returns (report, run id, reused)."""
    match = find_matching_comparison(ctx_ws, plan.dataset, plan.split or "test", plan.specs)
    if match is not None:
        run_id, names = match
        rep = load_comparison(ctx_ws, run_id)
        strategies = {
            ours: rep.strategies[theirs] for ours, theirs in names.items() if theirs in rep.strategies
        }
        if len(strategies) == len(plan.specs):
            return dataclasses.replace(rep, strategies=strategies, baseline=plan.recommended), run_id, True
    ds = resolve_dataset(ctx_ws, plan.dataset)
    specs = {n: spec_from_dict(s) for n, s in plan.specs.items()}
    rep = run_comparison(
        ds,
        plan.split or ds.default_split,
        specs,
        ws=ctx_ws,
        k=100,
        baseline=plan.recommended,
        latency_sample=latency_sample,
        progress=progress,
    )
    run_id = save_comparison(ctx_ws, rep, title=f"Wizard check on {ds.name}/{rep.split}")
    return rep, run_id, False


def _report_summary(rep: Any, qrels: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What :func:`assess` needs from a comparison: metrics, latency, and p-values against every other."""
    runs = {n: r.run for n, r in rep.strategies.items()}
    pairwise: dict[str, dict[str, float]] = {}
    if qrels is not None and all(runs.values()) and len(runs) > 1:
        for name in runs:
            p = paired_significance(qrels, runs, name, {"ndcg@10": "ndcg@10"})
            pairwise[name] = {other: v.get("ndcg@10", 1.0) for other, v in p.items()}
    return {
        "dataset": rep.dataset,
        "split": rep.split,
        "queries": rep.queries,
        "strategies": {
            n: {
                "label": r.label,
                "spec": r.spec,
                "ndcg@10": r.metrics.get("ndcg@10"),
                "recall@100": r.metrics.get("recall@100"),
                "latency_ms_p50": r.latency_ms_p50,
                "latency_ms_p95": r.latency_ms_p95,
                "notes": list(r.notes),
            }
            for n, r in rep.strategies.items()
        },
        "p_values": pairwise,
    }


def verify_job(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    """Job handler (kind ``wizard_verify``): config = {plan, recommendation, latency_sample}. Runs or reuses
    the comparison of the plan; the extra runs are separate jobs (their ids are in the plan)."""
    plan = VerifyPlan.from_json(config["plan"])
    result: dict[str, Any] = {"plan": plan.to_json()}
    if plan.specs:
        stages = len(plan.specs) + 1

        def progress(p: Any) -> None:
            ctx.check_cancel()
            if p.stage == "strategy":
                ctx.progress(p.done, stages, message=p.message, force=True)
            else:
                ctx.progress(0, stages, message=f"{p.stage}: {p.done:,}/{p.total:,} {p.message}".strip())

        rep, run_id, reused = _comparison(ctx.ws, plan, progress, int(config.get("latency_sample", 20)))
        ctx.log(("reused" if reused else "saved") + f" comparison run {run_id}")
        ds = resolve_dataset(ctx.ws, plan.dataset)
        result["comparison"] = _report_summary(rep, ds.qrels_dict(rep.split))
        result["comparison_run"] = run_id
        result["comparison_reused"] = reused
        ctx.progress(stages, stages, message="comparison done", force=True)
    return result


def _extra_runs(plan: VerifyPlan, start: Callable[[Any], str]) -> list[dict[str, Any]]:
    """Reuse or ``start`` (which returns a run id) each extra run of ``plan``; the records the verify job
    reads."""
    records = []
    for extra in plan.extras:
        run_id, reused = (extra.reuse, True) if extra.reuse else (start(extra), False)
        records.append({"run_id": run_id, "purpose": extra.purpose, "kind": extra.kind, "reused": reused})
    return records


def start_verification(ws: Workspace, plan: VerifyPlan, recommendation: Mapping[str, Any]) -> dict[str, Any]:
    """Submit the extra runs (unless reused) and the verify job. Returns ``{"verify_run", "extra_runs"}``."""
    extra_runs = _extra_runs(plan, lambda extra: jobs.submit(ws, extra.kind, extra.config, title=extra.title))
    config = {"plan": plan.to_json(), "recommendation": dict(recommendation), "extra_runs": extra_runs}
    verify_run = jobs.submit(
        ws, VERIFY_KIND, config, title=f"Wizard: verify on {plan.dataset}", queue=VERIFY_QUEUE
    )
    return {"verify_run": verify_run, "extra_runs": extra_runs}


def run_verification_inline(
    ws: Workspace, plan: VerifyPlan, recommendation: Mapping[str, Any], watch: Reporter | None = None
) -> dict[str, Any]:
    """The same runs in this process, one after the other (the CLI's ``--verify``); returns the evidence."""
    extra_runs = _extra_runs(
        plan, lambda extra: jobs.run_inline(ws, extra.kind, extra.config, title=extra.title, watch=watch).id
    )
    config = {"plan": plan.to_json(), "recommendation": dict(recommendation), "extra_runs": extra_runs}
    run = jobs.run_inline(ws, VERIFY_KIND, config, title=f"Wizard: verify on {plan.dataset}", watch=watch)
    if run.status != "done":
        raise RuntimeError(f"verification {run.status}: {run.error}")
    return collect_evidence(ws, run.id)


def collect_evidence(ws: Workspace, verify_run: str) -> dict[str, Any]:
    """Evidence so far for a verify run: its comparison plus the extra runs that have finished."""
    run = ws.get_run(verify_run)
    if run is None:
        raise NotFound(f"No run {verify_run!r}.")
    config = run.config or {}
    extras = {}
    status = {"verify": run.status}
    for item in config.get("extra_runs") or []:
        rec = ws.get_run(item["run_id"])
        status[item["run_id"]] = rec.status if rec else "deleted"
        if rec is not None and rec.status == "done":
            extras[item["purpose"]] = {"run_id": rec.id, "kind": rec.kind, "result": rec.result or {}}
        elif rec is not None:
            extras[item["purpose"]] = {
                "run_id": rec.id,
                "kind": rec.kind,
                "status": rec.status,
                "error": rec.error,
            }
    result = run.result or {}
    evidence = assess(
        config.get("recommendation") or {},
        result.get("comparison"),
        extras,
        plan=VerifyPlan.from_json(config["plan"]),
    )
    evidence["verify_run"] = verify_run
    evidence["comparison_run"] = result.get("comparison_run")
    evidence["comparison_reused"] = result.get("comparison_reused", False)
    evidence["runs"] = status
    evidence["complete"] = all(s not in ("queued", "running") for s in status.values())
    return evidence
