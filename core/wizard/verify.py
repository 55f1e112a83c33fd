""" "Verify on my data": run the measurements of a :class:`~core.wizard.plan.VerifyPlan` as jobs, and say
whether the evidence agrees.

- :func:`verify_job` (job kind ``wizard_verify``, config :class:`VerifyJob`) — runs (or reuses) the
  comparison and stores it as an ``evaluate`` run that the Compare page can open;
- :func:`start_verification` / :func:`run_verification_inline` — submit (or run in this process) the extra
  runs of the plan and the verify job;
- :func:`collect_evidence` — the evidence so far of a verify run and its extra runs, assessed by
  :func:`core.wizard.assess` (one claim per decision: agrees / contradicts / not measured);
- :func:`chunking_verdict` — on long documents, whether passages beat truncated documents for each retriever
  the plan paired, with the paired test's p-value, and which case the corpus is in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.data import resolve_dataset
from core.evaluate import load_comparison, paired_significance, run_comparison, save_comparison
from core.retrieval import spec_from_dict
from core.runtime import InvalidInput, NotFound, Reporter, Workspace, jobs
from core.wizard.evidence import MIN_DELTA, SIGNIFICANT, assess, format_p
from core.wizard.plan import VerifyPlan, find_matching_comparison

__all__ = [
    "VERIFY_KIND",
    "VerifyJob",
    "chunking_verdict",
    "collect_evidence",
    "run_verification_inline",
    "start_verification",
    "verify_job",
]

VERIFY_KIND = "wizard_verify"
VERIFY_QUEUE = "eval"  # the Compare page's queue: comparisons run one at a time
VERIFY_LATENCY_SAMPLE = 20  # queries timed per strategy


@dataclass(frozen=True)
class VerifyJob:
    """The config of a ``wizard_verify`` job, parsed once at the job boundary (:meth:`from_dict`): the plan,
    the recommendation (JSON) it tests, and the extra runs started for it ({run_id, purpose, kind, reused})."""

    plan: VerifyPlan
    recommendation: Mapping[str, Any] = field(default_factory=dict)
    extra_runs: tuple[Mapping[str, Any], ...] = ()
    latency_sample: int = VERIFY_LATENCY_SAMPLE

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VerifyJob:
        """Missing (or None) settings take their defaults; unknown ones are an error."""
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise InvalidInput(f"Unknown wizard_verify job settings: {sorted(unknown)}")
        if not data.get("plan"):
            raise InvalidInput("A wizard_verify job needs a plan.")
        values = {k: v for k, v in data.items() if v is not None}
        values["plan"] = VerifyPlan.from_json(values["plan"])
        if "extra_runs" in values:
            values["extra_runs"] = tuple(values["extra_runs"])
        if "latency_sample" in values:
            values["latency_sample"] = int(values["latency_sample"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan.to_json(),
            "recommendation": dict(self.recommendation),
            "extra_runs": [dict(r) for r in self.extra_runs],
            "latency_sample": self.latency_sample,
        }


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
    """Job handler (kind ``wizard_verify``): config = :class:`VerifyJob`. Runs or reuses the comparison of
    the plan; the extra runs are separate jobs (their ids are in the config)."""
    job = VerifyJob.from_dict(config)
    plan = job.plan
    result: dict[str, Any] = {"plan": plan.to_json()}
    if plan.specs:
        rep, run_id, reused = _comparison(ctx.ws, plan, ctx.reporter(), job.latency_sample)
        ctx.log(("reused" if reused else "saved") + f" comparison run {run_id}")
        ds = resolve_dataset(ctx.ws, plan.dataset)
        result["comparison"] = _report_summary(rep, ds.qrels_dict(rep.split))
        result["comparison_run"] = run_id
        result["comparison_reused"] = reused
        if plan.chunk_pairs:
            result["chunking"] = chunking_verdict(result["comparison"], plan.chunk_pairs)
        ctx.progress(1, 1, message="comparison done", force=True)
    return result


def _pair_verdict(summary: Mapping[str, Any], truncated: str, chunked: str) -> dict[str, Any] | None:
    strategies = summary.get("strategies") or {}
    if truncated not in strategies or chunked not in strategies:
        return None
    a = strategies[truncated].get("ndcg@10") or 0.0
    b = strategies[chunked].get("ndcg@10") or 0.0
    p = (summary.get("p_values") or {}).get(truncated, {}).get(chunked)
    significant = p is not None and p < SIGNIFICANT
    if significant and b - a >= MIN_DELTA:
        winner = "chunked"
    elif significant and a - b >= MIN_DELTA:
        winner = "truncated"
    else:
        winner = "neither"
    family = truncated.split("@")[0]
    return {
        "family": family,
        "truncated": truncated,
        "chunked": chunked,
        "ndcg@10": {"truncated": a, "chunked": b},
        "recall@100": {
            "truncated": strategies[truncated].get("recall@100"),
            "chunked": strategies[chunked].get("recall@100"),
        },
        "delta": b - a,
        "p": p,
        "winner": winner,
        "text": (
            f"{_FAMILY.get(family, family)}: "
            + {
                "chunked": "passages win",
                "truncated": "truncated documents win",
                "neither": "no significant difference",
            }[winner]
            + f" ({chunked} {b:.4f} vs {truncated} {a:.4f} nDCG@10, Δ {b - a:+.4f}, {format_p(p)})"
        ),
    }


_FAMILY = {"bm25": "BM25", "dense": "dense", "hybrid": "hybrid"}


def chunking_verdict(summary: Mapping[str, Any], pairs: Any) -> dict[str, Any]:
    """Truncated against chunked for each (truncated, chunked) pair of a comparison summary (nDCG@10 and the
    paired test between the two): per retriever who wins, and one sentence saying which case the corpus is
    in — passages help (the queries are about anything in a document), truncation helps (they are about its
    beginning), or mixed."""
    verdicts = [v for v in (_pair_verdict(summary, t, c) for t, c in pairs) if v is not None]
    winners = {v["winner"] for v in verdicts}
    if winners == {"chunked"}:
        case = "long documents searched in passages: chunking wins on these queries — use passages"
    elif winners == {"truncated"}:
        case = (
            "the queries are about the beginning of the documents: truncation wins — keep the first window "
            "of each document, do not chunk"
        )
    elif "chunked" in winners and "truncated" in winners:
        case = "mixed: passages help one retriever and hurt another — choose per retriever (below)"
    elif winners == {"neither"} or not winners:
        case = "chunking makes no significant difference here — keep the simpler truncated index"
    else:
        won = "chunked" if "chunked" in winners else "truncated"
        case = (
            f"{'passages win' if won == 'chunked' else 'truncation wins'} for some retrievers, no significant "
            "difference for the others"
        )
    strategies = summary.get("strategies") or {}
    names = [n for v in verdicts for n in (v["truncated"], v["chunked"])]
    best = max(names, key=lambda n: strategies[n].get("ndcg@10") or 0.0) if names else None
    return {
        "pairs": verdicts,
        "case": case,
        "best": best,
        "summary": "; ".join(v["text"] for v in verdicts),
    }


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
    config = VerifyJob(plan, dict(recommendation), tuple(extra_runs)).to_dict()
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
    config = VerifyJob(plan, dict(recommendation), tuple(extra_runs)).to_dict()
    run = jobs.run_inline(ws, VERIFY_KIND, config, title=f"Wizard: verify on {plan.dataset}", watch=watch)
    if run.status != "done":
        raise RuntimeError(f"verification {run.status}: {run.error}")
    return collect_evidence(ws, run.id)


def collect_evidence(ws: Workspace, verify_run: str) -> dict[str, Any]:
    """Evidence so far for a verify run: its comparison plus the extra runs that have finished."""
    run = ws.get_run(verify_run)
    if run is None:
        raise NotFound(f"No run {verify_run!r}.")
    job = VerifyJob.from_dict(run.config or {})
    extras = {}
    status = {"verify": run.status}
    for item in job.extra_runs:
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
    evidence = assess(job.recommendation, result.get("comparison"), extras, plan=job.plan)
    if result.get("chunking"):
        evidence["chunking"] = result["chunking"]
    evidence["verify_run"] = verify_run
    evidence["comparison_run"] = result.get("comparison_run")
    evidence["comparison_reused"] = result.get("comparison_reused", False)
    evidence["runs"] = status
    evidence["complete"] = all(s not in ("queued", "running") for s in status.values())
    return evidence
