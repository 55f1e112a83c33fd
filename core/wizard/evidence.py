"""Assessing verification evidence: from a comparison summary and the results of the extra runs, one claim
per decision with a verdict (``agrees`` / ``contradicts`` / ``not measured``), the numbers behind it, and what
to do next; plus an overall verdict and a one-line summary ("hybrid beats dense by +0.04 nDCG@10, p < 0.01").
Pure functions over JSON-like data: no store, no models.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from core.wizard.claims import (
    MIN_DELTA,
    MIN_EVIDENCE_STEPS,
    SIGNIFICANT,
    Claim,
    adaptation_claim,
    classifier_claim,
    format_p,
    pick_claim,
)
from core.wizard.claims import label as _label
from core.wizard.plan import VerifyPlan

__all__ = [
    "COMPONENTS",
    "MIN_DELTA",
    "MIN_EVIDENCE_STEPS",
    "SIGNIFICANT",
    "Claim",
    "assess",
    "format_p",
    "simpler_alternative",
]

LARGE_GAP = 0.02  # a gap this large that is not significant is "inconclusive", not "within noise"
# the parts a composite strategy is built from: when it is not significantly better than the best of them,
# the simpler one is preferred
COMPONENTS = {"hybrid": ("bm25", "dense"), "rerank": ("hybrid", "dense", "bm25")}
# the parts of a headline after its first stage (core.wizard.Recommendation.headline), each starting so
_EXTRA_SPLIT = re.compile(r", (?=its top |in a |vectors reduced |adapted with )")
_HEADLINES = {
    "bm25": "BM25",
    "dense": "Bi-encoder",
    "hybrid": "Hybrid BM25 + bi-encoder",
    "splade": "SPLADE (learned sparse)",
    "static": "Static embeddings (model2vec)",
}


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


def simpler_alternative(comp: Mapping[str, Any], target: str) -> dict[str, Any] | None:
    """The best simpler strategy when the composite ``target`` (hybrid, rerank) is not significantly better
    than it: ``{"strategy", "delta", "p", "reason"}``; None when the composite earns its cost (or the
    comparison does not hold its parts). A note ``composite_not_better`` on the composite's result, when the
    comparison stores one, decides the same way."""
    strategies = comp.get("strategies") or {}
    parts = [n for n in COMPONENTS.get(target, ()) if n in strategies and n != target]
    if target not in strategies or not parts:
        return None
    best = max(parts, key=lambda n: strategies[n]["ndcg@10"])
    delta = strategies[target]["ndcg@10"] - strategies[best]["ndcg@10"]
    p = ((comp.get("p_values") or {}).get(target) or {}).get(best)
    noted = any("composite_not_better" in str(n) for n in strategies[target].get("notes") or ())
    better = delta >= MIN_DELTA and p is not None and p < SIGNIFICANT
    if better and not noted:
        return None
    reason = (
        f"{_label(target)} is not significantly better than {_label(best)} alone ({delta:+.3f} nDCG@10, "
        f"{format_p(p)}): prefer the simpler {_label(best)}, which is cheaper to run and to maintain"
    )
    return {"strategy": best, "delta": delta, "p": p, "reason": reason}


def _first_stage_claim(
    comp: Mapping[str, Any], recommended: str, first_stage: str | None, skip: tuple[str, ...] = ()
) -> Claim:
    target = first_stage or recommended
    others = {n: s for n, s in comp["strategies"].items() if n not in (target, "rerank", *skip)}
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
        claims.append(adaptation_claim(extras.get("adaptation")))
    if rec.get("classifier"):
        claims.append(classifier_claim(rec.get("classifier"), extras.get("classifier")))
    simpler = _simpler(comparison, plan, claims)
    overall = _overall([c.verdict for c in claims if c.verdict != "not measured"])
    lead = next(
        (c for v in ("contradicts", "inconclusive", "agrees") for c in claims if c.verdict == v), None
    )
    summary = (
        f"The evidence {overall.replace('not measured', 'is missing').replace('inconclusive', 'is inconclusive')}"
        + (f": {lead.detail}." if lead else ".")
        + (f" {simpler['reason'][0].upper()}{simpler['reason'][1:]}." if simpler else "")
    )
    next_steps = [c.next_step for c in claims if c.next_step and c.verdict != "agrees"]
    if simpler:
        next_steps.insert(0, f"Use {_label(simpler['strategy'])}: {simpler['reason']}.")
    headline, unverified = _verified_headline(rec, claims, simpler)
    sources = _sources(comparison, extras, plan)
    return {
        "verdict": overall,
        "summary": summary,
        "headline": headline,
        "unverified": unverified,
        "simpler": simpler,
        "claims": [dataclasses.asdict(c) for c in claims],
        "comparison": dict(comparison) if comparison else None,
        "recommended": plan.recommended if plan else None,
        "notes": list(plan.notes) if plan else [],
        "next_steps": next_steps,
        "sources": sources,
        "measured_in": _measured_in(sources),
    }


def _simpler(
    comparison: Mapping[str, Any] | None, plan: VerifyPlan | None, claims: list[Claim]
) -> dict[str, Any] | None:
    """The simpler strategy to prefer over the one the evidence points at (the recommended one, or the
    runner-up that contradicts it), when that one is a composite that is not significantly better."""
    if not (comparison and plan and plan.recommended):
        return None
    chosen = plan.recommended
    stage = next((c for c in claims if c.claim == "first stage"), None)
    if stage is not None and stage.verdict == "contradicts" and stage.numbers.get("runner_up"):
        chosen = stage.numbers["runner_up"]
    return simpler_alternative(comparison, chosen)


def _verified_headline(
    rec: Mapping[str, Any], claims: list[Claim], simpler: Mapping[str, Any] | None
) -> tuple[str, list[str]]:
    """The headline the evidence supports: the measured-better first stage where the claim contradicts or
    a simpler one is as good, and only the extras (adaptation, classifier) that were verified; the others
    are listed as not verified yet."""
    by_claim = {c.claim: c for c in claims}
    headline = str(rec.get("headline") or rec.get("strategy") or "")
    first, _, rest = headline.partition(", ")
    extras = _EXTRA_SPLIT.split(rest) if rest else []
    stage = by_claim.get("first stage")
    if simpler:
        first = _HEADLINES.get(simpler["strategy"], first)
    elif stage is not None and stage.verdict == "contradicts" and stage.numbers.get("runner_up"):
        first = _HEADLINES.get(stage.numbers["runner_up"], first)
    unverified = []
    index = by_claim.get("index")
    if index is not None and index.verdict != "agrees":
        unverified += [
            f"{e} ({'loses too much here' if index.verdict == 'contradicts' else 'not verified yet'})"
            for e in extras
            if e.startswith("in a ")
        ]
        extras = [e for e in extras if not e.startswith("in a ")]
    adaptation = by_claim.get("adaptation")
    if adaptation is not None and adaptation.verdict != "agrees":
        kept = [e for e in extras if not e.startswith("adapted with")]
        dropped = [e for e in extras if e.startswith("adapted with")]
        extras = kept
        unverified += [
            f"{d} ({'made it worse' if adaptation.verdict == 'contradicts' else 'not verified yet'})"
            for d in dropped
        ]
    return ", ".join([first, *extras]), unverified


def _sources(
    comparison: Mapping[str, Any] | None, extras: Mapping[str, Mapping[str, Any]], plan: VerifyPlan | None
) -> list[dict[str, Any]]:
    """Every run the evidence reads: the comparison (reused or run for it) and each extra run."""
    out: list[dict[str, Any]] = []
    if comparison:
        run_id = comparison.get("run_id") or (plan.reuse_comparison if plan else None)
        reused = bool(plan and plan.reuse_comparison and run_id == plan.reuse_comparison)
        what = (
            f"comparison on {comparison.get('queries', '?')} {comparison.get('split', '')} queries".replace(
                "  ", " "
            )
        )
        out.append({"run_id": run_id, "what": what, "reused": reused})
    for purpose, extra in extras.items():
        steps = (extra.get("result") or {}).get("steps")
        what = f"{purpose} run" + (f" ({steps} steps)" if steps is not None else "")
        out.append({"run_id": extra.get("run_id"), "what": what, "reused": bool(extra.get("reused"))})
    return out


def _measured_in(sources: list[dict[str, Any]]) -> str:
    """``Measured in: comparison on 225 test queries (run ab12, reused), adaptation run (60 steps, run cd34)``."""
    if not sources:
        return "Nothing measured yet."
    parts = []
    for src in sources:
        tags = [f"run {src['run_id']}"] if src.get("run_id") else []
        tags += ["reused from earlier"] if src.get("reused") else []
        parts.append(src["what"] + (f" ({', '.join(tags)})" if tags else ""))
    return "Measured in: " + "; ".join(parts) + "."


def _comparison_claims(
    rec: Mapping[str, Any], comparison: Mapping[str, Any], plan: VerifyPlan
) -> list[Claim]:
    """The claims a comparison tests: first stage, reranker, latency and the zero-shot baseline."""
    answers = rec.get("answers") or {}
    picks = {p["claim"]: p for p in plan.picks}
    variants = tuple(p["strategy"] for p in plan.picks if p["claim"] == "index")
    if "first stage" in picks:  # a family picked for its cost: does it keep the bar of what it replaced?
        claims = [pick_claim(comparison, picks["first stage"])]
    else:
        claims = [_first_stage_claim(comparison, plan.recommended, plan.first_stage, variants)]
    if "index" in picks:
        claims.append(pick_claim(comparison, picks["index"]))
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
