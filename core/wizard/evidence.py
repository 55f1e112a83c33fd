"""Assessing verification evidence: from a comparison summary and the results of the extra runs, one claim
per decision with a verdict (``agrees`` / ``contradicts`` / ``not measured``), the numbers behind it, and what
to do next; plus an overall verdict and a one-line summary ("hybrid beats dense by +0.04 nDCG@10, p < 0.01").
Pure functions over JSON-like data: no store, no models.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.wizard.plan import VerifyPlan

__all__ = ["MIN_DELTA", "SIGNIFICANT", "Claim", "assess", "format_p"]

SIGNIFICANT = 0.05
MIN_DELTA = 0.005  # nDCG@10 differences smaller than this are "no difference"
LARGE_GAP = 0.02  # a gap this large that is not significant is "inconclusive", not "within noise"


def format_p(p: float | None) -> str:
    """``p < 0.001`` / ``p < 0.01`` / ``p = 0.03`` / ``p = 0.40 (not significant)``."""
    if p is None:
        return "p not computed"
    if p < 0.001:
        return "p < 0.001"
    if p < 0.01:
        return "p < 0.01"
    return f"p = {p:.2f}" + ("" if p < SIGNIFICANT else " (not significant)")


@dataclass(frozen=True)
class Claim:
    claim: str
    verdict: str  # agrees | contradicts | inconclusive | not measured
    detail: str
    next_step: str = ""
    numbers: dict[str, Any] = field(default_factory=dict)


_LABEL = {"bm25": "BM25", "dense": "dense", "hybrid": "hybrid", "rerank": "reranked"}


def _label(name: str) -> str:
    return _LABEL.get(name, name)


def _first_stage_numbers(comp: Mapping[str, Any], target: str, others: Mapping[str, Any]) -> dict[str, Any]:
    """The recommended first stage against the best other one (the runner-up) and against each other one."""
    mine = comp["strategies"][target]["ndcg@10"]
    p_values = (comp.get("p_values") or {}).get(target, {})
    best_name = max(others, key=lambda n: others[n]["ndcg@10"])
    best = others[best_name]["ndcg@10"]
    return {
        "recommended": target,
        "ndcg@10": mine,
        "runner_up": best_name,
        "runner_up_ndcg@10": best,
        "delta": mine - best,
        "p": p_values.get(best_name),
        "versus": {
            n: {"ndcg@10": o["ndcg@10"], "delta": mine - o["ndcg@10"], "p": p_values.get(n)}
            for n, o in others.items()
        },
    }


def _first_stage_claim(comp: Mapping[str, Any], recommended: str, first_stage: str | None) -> Claim:
    target = first_stage or recommended
    others = {n: s for n, s in comp["strategies"].items() if n not in (target, "rerank")}
    if not others:
        return Claim("first stage", "not measured", "nothing to compare with")
    numbers = _first_stage_numbers(comp, target, others)
    if numbers["delta"] < 0:
        return _first_stage_behind(comp, numbers)
    best_name = numbers["runner_up"]
    rest = [
        f"{_label(n)} by {v['delta']:+.3f} ({format_p(v['p'])})"
        for n, v in numbers["versus"].items()
        if n != best_name
    ]
    detail = (
        f"{_label(target)} beats {_label(best_name)} by {numbers['delta']:+.3f} nDCG@10 "
        f"({numbers['ndcg@10']:.3f} vs {numbers['runner_up_ndcg@10']:.3f}, {format_p(numbers['p'])})"
        + (f" and {', '.join(rest)}" if rest else "")
        + f" on {comp['queries']} {comp['split']} queries"
    )
    return Claim("first stage", "agrees", detail, numbers=numbers)


def _first_stage_behind(comp: Mapping[str, Any], numbers: dict[str, Any]) -> Claim:
    """The recommended first stage measured below the runner-up: within noise, inconclusive or contradicted."""
    target, best_name, p, gap = numbers["recommended"], numbers["runner_up"], numbers["p"], -numbers["delta"]
    significant = p is not None and p < SIGNIFICANT and gap >= MIN_DELTA
    detail = (
        f"{_label(best_name)} beats {_label(target)} by {gap:+.3f} nDCG@10 "
        f"({numbers['runner_up_ndcg@10']:.3f} vs {numbers['ndcg@10']:.3f}, {format_p(p)}) on {comp['queries']} "
        f"{comp['split']} queries"
    )
    if not significant and gap < LARGE_GAP:
        return Claim(
            "first stage",
            "agrees",
            detail + ": within noise, the recommendation stands",
            next_step=f"Either is fine; {_label(target)} as recommended.",
            numbers=numbers,
        )
    if not significant:  # a large gap that this many queries cannot confirm
        return Claim(
            "first stage",
            "inconclusive",
            detail + ": a large gap, but not significant on this many queries",
            next_step=f"Judge more queries to decide; until then {_label(best_name)} measured better here.",
            numbers=numbers,
        )
    return Claim(
        "first stage",
        "contradicts",
        detail,
        next_step=f"Use {_label(best_name)} as the first stage: it is measurably better here "
        "(the rule's assumptions — domain signals, corpus size — do not hold on this data).",
        numbers=numbers,
    )


def _rerank_claim(comp: Mapping[str, Any], first_stage: str) -> Claim:
    s = comp["strategies"]
    after, before = s["rerank"]["ndcg@10"], s[first_stage]["ndcg@10"]
    p = (comp.get("p_values") or {}).get("rerank", {}).get(first_stage)
    delta = after - before
    numbers = {
        "before": before,
        "after": after,
        "delta": delta,
        "p": p,
        "latency_ms_p95": s["rerank"]["latency_ms_p95"],
    }
    detail = (
        f"reranking changes nDCG@10 by {delta:+.3f} ({before:.3f} → {after:.3f}, {format_p(p)}) at "
        f"{s['rerank']['latency_ms_p95']:,.0f} ms p95"
    )
    if delta > 0:
        return Claim("reranker", "agrees", detail, numbers=numbers)
    return Claim(
        "reranker",
        "contradicts",
        detail + ": the reranker makes the ranking worse",
        next_step="Drop the reranker (a cross-encoder trained on few queries hurts, see MODELS.md); "
        "bring a pretrained one or keep the first stage alone.",
        numbers=numbers,
    )


def _latency_claim(comp: Mapping[str, Any], recommended: str, budget: float | None) -> Claim:
    s = comp["strategies"][recommended]
    p95 = s["latency_ms_p95"]
    numbers = {"p50_ms": s["latency_ms_p50"], "p95_ms": p95, "budget_ms": budget}
    if budget is None:
        return Claim("latency", "not measured", "no budget given", numbers=numbers)
    detail = (
        f"{recommended} answers one query in {s['latency_ms_p50']:,.0f} ms (p50), {p95:,.0f} ms (p95) on this "
        f"machine, budget {budget:,.0f} ms"
    )
    if p95 <= budget:
        return Claim("latency", "agrees", detail, numbers=numbers)
    return Claim(
        "latency",
        "contradicts",
        detail,
        next_step="Over budget: rerank fewer candidates, reduce the dimension (see Gotchas), use an HNSW "
        "index, or serve on a GPU; this machine is shared, so re-measure on the serving hardware.",
        numbers=numbers,
    )


def _adaptation_claim(extra: Mapping[str, Any] | None) -> Claim:
    if not extra:
        return Claim("adaptation", "not measured", "no adaptation run")
    if "result" not in extra:
        return Claim(
            "adaptation",
            "not measured",
            f"run {extra['run_id']} is {extra.get('status')}"
            + (f": {extra['error']}" if extra.get("error") else ""),
            numbers={"run_id": extra["run_id"]},
        )
    result = extra["result"]
    before = (result.get("before") or {}).get("ndcg@10")
    after = (result.get("after") or {}).get("ndcg@10")
    if before is None or after is None:
        return Claim(
            "adaptation",
            "not measured",
            "the run has no before/after evaluation",
            numbers={"run_id": extra["run_id"]},
        )
    delta = after - before
    steps = result.get("steps")
    detail = (
        f"a short {result.get('method', 'adaptation')} run ({steps} steps) moved nDCG@10 {before:.3f} → "
        f"{after:.3f} ({delta:+.3f})"
    )
    numbers = {"run_id": extra["run_id"], "before": before, "after": after, "delta": delta, "steps": steps}
    if delta > MIN_DELTA:
        return Claim(
            "adaptation",
            "agrees",
            detail,
            next_step="Train longer (more epochs) on the Adapt page.",
            numbers=numbers,
        )
    if delta > -MIN_DELTA:
        return Claim(
            "adaptation",
            "not measured",
            detail + ": no change yet at this length",
            next_step="Run a longer adaptation (e.g. 1–3 epochs) before deciding.",
            numbers=numbers,
        )
    return Claim(
        "adaptation",
        "contradicts",
        detail + ": it made retrieval worse",
        next_step="Check the hard negatives (false negatives?) and the learning rate on the Adapt page; "
        "keep the zero-shot model until a run helps.",
        numbers=numbers,
    )


def _classifier_claim(recommended: str | None, extra: Mapping[str, Any] | None) -> Claim:
    if not extra:
        return Claim("classifier", "not measured", "no classification run")
    if "result" not in extra:
        return Claim(
            "classifier",
            "not measured",
            f"run {extra['run_id']} is {extra.get('status')}"
            + (f": {extra['error']}" if extra.get("error") else ""),
            numbers={"run_id": extra["run_id"]},
        )
    summary = {s["method"]: s for s in extra["result"].get("summary") or []}
    if "setfit" not in summary or "logreg" not in summary:
        return Claim("classifier", "not measured", "the run lacks SetFit or the baseline")
    sf, lr = summary["setfit"], summary["logreg"]
    n = sf.get("n_per_class")
    numbers = {
        "run_id": extra["run_id"],
        "n_per_class": n,
        "setfit": sf["accuracy_mean"],
        "logreg": lr["accuracy_mean"],
        "zeroshot": (summary.get("zeroshot") or {}).get("accuracy_mean"),
    }
    delta = sf["accuracy_mean"] - lr["accuracy_mean"]
    detail = (
        f"at N={n} per class, SetFit {sf['accuracy_mean']:.3f} ± {sf.get('accuracy_std', 0):.3f} vs frozen "
        f"embeddings + logistic regression {lr['accuracy_mean']:.3f} ± {lr.get('accuracy_std', 0):.3f} "
        f"accuracy ({delta:+.3f}, {sf.get('seeds', '?')} seeds)"
    )
    if recommended == "setfit":
        ok = delta > 0
        step = "" if ok else "Use logistic regression on frozen embeddings: it is as good and far cheaper."
    elif recommended == "zero-shot":
        zs = numbers["zeroshot"]
        ok = zs is not None and zs >= sf["accuracy_mean"] - 0.02
        detail += f"; zero-shot {zs:.3f}" if zs is not None else "; zero-shot not measured"
        step = "" if ok else f"Label {n} examples per class and use SetFit."
    else:  # logreg or fine-tune: the cheap baseline should hold its own
        ok = delta <= 0.01
        step = (
            "" if ok else "SetFit is clearly better at this N: use it (or fine-tune fully with more labels)."
        )
    return Claim("classifier", "agrees" if ok else "contradicts", detail, next_step=step, numbers=numbers)


def assess(
    rec: Mapping[str, Any],
    comparison: Mapping[str, Any] | None,
    extras: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    plan: VerifyPlan | None = None,
) -> dict[str, Any]:
    """Claims with verdicts, an overall verdict and a one-line summary (see the module docstring)."""
    extras = extras or {}
    claims: list[Claim] = []
    if comparison and plan and plan.recommended:
        claims += _comparison_claims(rec, comparison, plan)
    if rec.get("reranker") and not (plan and plan.first_stage):
        claims.append(
            Claim(
                "reranker",
                "not measured",
                "no pretrained cross-encoder available here",
                next_step="Bring a pretrained cross-encoder (folder or hub id) and verify again; until "
                "then keep the first stage alone.",
            )
        )
    if rec.get("adaptation"):
        claims.append(_adaptation_claim(extras.get("adaptation")))
    if rec.get("classifier"):
        claims.append(_classifier_claim(rec.get("classifier"), extras.get("classifier")))
    overall = _overall([c.verdict for c in claims if c.verdict != "not measured"])
    lead = next(
        (c for v in ("contradicts", "inconclusive", "agrees") for c in claims if c.verdict == v), None
    )
    summary = (
        f"The evidence {overall.replace('not measured', 'is missing').replace('inconclusive', 'is inconclusive')}"
        + (f": {lead.detail}." if lead else ".")
    )
    return {
        "verdict": overall,
        "summary": summary,
        "claims": [dataclasses.asdict(c) for c in claims],
        "comparison": dict(comparison) if comparison else None,
        "recommended": plan.recommended if plan else None,
        "notes": list(plan.notes) if plan else [],
        "next_steps": [c.next_step for c in claims if c.next_step and c.verdict != "agrees"],
    }


def _comparison_claims(
    rec: Mapping[str, Any], comparison: Mapping[str, Any], plan: VerifyPlan
) -> list[Claim]:
    """The claims a comparison tests: first stage, reranker, latency and the zero-shot baseline."""
    answers = rec.get("answers") or {}
    claims = [_first_stage_claim(comparison, plan.recommended, plan.first_stage)]
    if plan.first_stage and "rerank" in comparison["strategies"]:
        claims.append(_rerank_claim(comparison, plan.first_stage))
    claims.append(_latency_claim(comparison, plan.recommended, answers.get("latency_budget_ms")))
    if answers.get("task") == "retrieval" and "dense" in comparison["strategies"]:
        base = comparison["strategies"]["dense"]["ndcg@10"]
        claims.append(
            Claim(
                "baseline quality",
                "agrees" if base >= 0.5 or rec.get("adaptation") else "contradicts",
                f"the zero-shot bi-encoder reaches nDCG@10 {base:.3f}"
                + (" (mediocre: improving hard negatives comes first)" if base < 0.5 else ""),
                numbers={"dense_ndcg@10": base},
            )
        )
    return claims


def _overall(verdicts: list[str]) -> str:
    """The overall verdict over the measured claims."""
    if not verdicts:
        return "not measured"
    if all(v == "agrees" for v in verdicts):
        return "agrees"
    if all(v == "contradicts" for v in verdicts):
        return "contradicts"
    if "contradicts" in verdicts:
        return "partly contradicts"
    return "inconclusive"  # agrees where measured clearly, undecided elsewhere
