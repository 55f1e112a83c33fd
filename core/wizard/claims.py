"""The claim record of the wizard's evidence and the claims read from extra runs (adaptation, classifier):
verdicts ``agrees`` / ``contradicts`` / ``inconclusive`` / ``not measured``, with the numbers behind them.
Trivially short adaptation runs (under :data:`MIN_EVIDENCE_STEPS` steps) are refused as evidence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MIN_DELTA",
    "MIN_EVIDENCE_STEPS",
    "SIGNIFICANT",
    "Claim",
    "adaptation_claim",
    "classifier_claim",
    "format_p",
    "label",
    "pick_claim",
]

SIGNIFICANT = 0.05
MIN_DELTA = 0.005  # nDCG@10 differences smaller than this are "no difference"
MIN_EVIDENCE_STEPS = 5  # an adaptation run shorter than this (a smoke test, e.g. 1 step) is no evidence


def format_p(p: float | None) -> str:
    """``p < 0.001`` / ``p < 0.01`` / ``p = 0.03`` / ``p = 0.40 (not significant)``; ``no query differs`` for
    the NaN of two runs that score every query alike."""
    if p is None:
        return "p not computed"
    if math.isnan(p):  # every query scored the same by both: nothing to test
        return "no query differs"
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


_LABEL = {
    "bm25": "BM25",
    "dense": "dense",
    "hybrid": "hybrid",
    "rerank": "reranked",
    "splade": "SPLADE",
    "static": "static",
    "static_rescore": "static + rescoring",
}


def label(name: str) -> str:
    """``hybrid`` -> ``hybrid``; an index variant ``dense:binary`` -> ``dense (binary index)``."""
    base, _, variant = name.partition(":")
    return f"{_LABEL.get(base, base)} ({variant} index)" if variant else _LABEL.get(name, name)


def pick_claim(comp: Mapping[str, Any], pick: Mapping[str, Any]) -> Claim:
    """Whether a pick of the spectrum rules holds on the comparison: the picked family keeps ``bar`` of the
    best of the strategies it replaced (``claim`` first stage), or the compressed index loses at most
    ``max_loss`` of its float32 first stage's nDCG@10 (``claim`` index); with the paired test's p-value."""
    strategies = comp.get("strategies") or {}
    target, kind = pick["strategy"], pick["claim"]
    refs = [n for n in pick.get("reference") or () if n in strategies and n != target]
    if target not in strategies or not refs:
        return Claim(kind, "not measured", f"{label(target)} or what it replaces was not compared")
    ref = max(refs, key=lambda n: strategies[n]["ndcg@10"] or 0.0)
    mine, theirs = strategies[target]["ndcg@10"], strategies[ref]["ndcg@10"]
    p_values = (comp.get("p_values") or {}).get(target, {})
    p = p_values.get(ref)
    kept = mine / theirs if theirs else 1.0
    bar = float(pick["bar"]) if "bar" in pick else 1.0 - float(pick.get("max_loss", 0.0))
    numbers = {
        "strategy": target,
        "reference": ref,
        "ndcg@10": mine,
        "reference_ndcg@10": theirs,
        "kept": kept,
        "bar": bar,
        "p": p,
        "versus": {
            n: {"ndcg@10": strategies[n]["ndcg@10"], "p": p_values.get(n)} for n in strategies if n != target
        },
    }
    significant = p is not None and p < SIGNIFICANT and abs(mine - theirs) >= MIN_DELTA
    detail = (
        f"{label(target)} {mine:.4f} vs {label(ref)} {theirs:.4f} nDCG@10 ({kept:.1%} kept, {format_p(p)})"
    )
    if kept >= bar:
        quality = (
            "better quality"
            if significant and mine > theirs
            else (f"within the {bar:.0%} bar" if significant else "same quality")
        )
        return Claim(
            kind,
            "agrees",
            f"{detail}: {quality} at {pick.get('cost', 'a lower cost')} — holds",
            numbers=numbers,
        )
    numbers["runner_up"] = ref  # the verified headline falls back to it
    return Claim(
        kind,
        "contradicts",
        f"{detail}: below the {bar:.0%} bar on {comp.get('queries', '?')} {comp.get('split', '')} queries — does "
        "not hold",
        next_step=f"Keep {label(ref)}: the cheaper {label(target)} loses more than you accept here.",
        numbers=numbers,
    )


def adaptation_claim(extra: Mapping[str, Any] | None) -> Claim:
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
    return _adaptation_verdict(extra["run_id"], result, before, after)


def _adaptation_verdict(run_id: str, result: Mapping[str, Any], before: float, after: float) -> Claim:
    """What a finished adaptation run with before/after numbers says (refused when too short)."""
    delta = after - before
    steps = result.get("steps")
    if steps is not None and int(steps) < MIN_EVIDENCE_STEPS:
        return Claim(
            "adaptation",
            "not measured",
            f"run {run_id} trained only {steps} step(s): too short to say anything about adaptation",
            next_step=f"Run an adaptation of at least {MIN_EVIDENCE_STEPS} steps (the wizard's short run or "
            "the Adapt page).",
            numbers={"run_id": run_id, "steps": steps, "refused": True},
        )
    detail = (
        f"a short {result.get('method', 'adaptation')} run ({steps} steps) moved nDCG@10 {before:.3f} → "
        f"{after:.3f} ({delta:+.3f})"
    )
    numbers = {"run_id": run_id, "before": before, "after": after, "delta": delta, "steps": steps}
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


def classifier_claim(recommended: str | None, extra: Mapping[str, Any] | None) -> Claim:
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
