"""The strategy card: the pipeline the rebuild script builds (:func:`pipeline_spec`), the card's data
(:func:`make_card`) and the card as Markdown (:func:`render_markdown`: decisions, reasons, answers, measured
evidence, gotchas, how to rebuild).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from core.retrieval import DEFAULT_RERANK_DEPTH
from core.wizard.script import SCRIPT_FILE

__all__ = ["make_card", "pipeline_spec", "render_markdown"]

VERDICT_MARK = {
    "agrees": "✅ agrees",
    "contradicts": "❌ contradicts",
    "inconclusive": "❔ inconclusive",
    "not measured": "➖ not measured",
}


def pipeline_spec(rec: Mapping[str, Any], model: str, reranker: str | None = None) -> dict[str, Any]:
    """The pipeline the script rebuilds: first stage, model, optional PCA dimension, optional reranker.
    A "cross-encoder alone" first stage becomes a dense first stage whose top-k the cross-encoder rescores."""
    answers = rec.get("answers") or {}
    if rec.get("task") == "classification":
        return {"task": "classification", "model": model, "classifier": rec.get("classifier")}
    first = rec.get("first_stage") or "dense"
    index = rec.get("index") or {}
    dim = index.get("dimension")
    spec: dict[str, Any] = {
        "task": rec.get("task") or "retrieval",
        "first_stage": "dense" if first == "cross-encoder" else first,
        "model": model,
        "dimension": dim if dim and dim != answers.get("embedding_dim") else None,
        "index": index.get("type", "exact"),
        "reranker": None,
        "rerank_top_k": None,
    }
    # the comparison strategy name of the pick (``splade``, ``hybrid:binary``): what the script builds when
    # the comparison did not store the verified spec
    spec["strategy"] = rec.get("strategy_spec") or spec["first_stage"]
    comp = (rec.get("evidence") or {}).get("comparison") or {}
    found = comp.get("strategies") or {}
    # the verified spec of exactly that strategy; the plain first stage's only when nothing was added to it
    plain = spec["strategy"] == spec["first_stage"]
    measured = found.get(spec["strategy"]) or (found.get(spec["first_stage"]) if plain else None) or {}
    if measured.get("spec"):  # exactly what was verified (e.g. the tuned hybrid alpha)
        spec["first_stage_spec"] = measured["spec"]
    if rec.get("reranker"):
        spec["rerank_top_k"] = int(rec["reranker"].get("top_k") or DEFAULT_RERANK_DEPTH)
        spec["reranker"] = reranker  # None: the script says how to add one
    return spec


def make_card(
    rec: Mapping[str, Any],
    *,
    dataset: str,
    model: str,
    gotchas: Mapping[str, Any] | None = None,
    measured: Mapping[str, str] | None = None,
    reranker: str | None = None,
) -> dict[str, Any]:
    """Everything the card shows, as JSON-ready data."""
    return {
        "title": f"Embedding strategy for {dataset}",
        "created": time.strftime("%Y-%m-%d %H:%M"),
        "dataset": dataset,
        "model": model,
        "recommendation": dict(rec),
        "gotchas": dict(gotchas or {}),
        "measured_how": dict(measured or {}),
        "pipeline": pipeline_spec(rec, model, reranker),
    }


# --------------------------------------------------------------------------------------------------
# markdown
# --------------------------------------------------------------------------------------------------
def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, list | tuple):
        return " → ".join(map(str, value))
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items() if k not in ("warning",))
    return "—" if value is None else str(value)


def render_markdown(card: Mapping[str, Any], charts: Mapping[str, str] | None = None) -> str:
    """The strategy card as Markdown (charts referenced by relative path)."""
    charts = charts or {}
    rec = card["recommendation"]
    lines = [
        f"# {card['title']}",
        "",
        f"Created {card['created']} by Embedding Strategy Lab · dataset **{card['dataset']}** · "
        f"model `{card['model']}`",
        "",
    ]
    lines += _decision_lines(rec)
    lines += _answer_lines(rec, card.get("measured_how") or {})
    lines += _evidence_lines(rec.get("evidence") or {}, card["dataset"])
    if "quality" in charts:
        lines += ["", f"![quality and latency]({charts['quality']})"]
    if "classifier" in charts:
        lines += ["", f"![classifiers]({charts['classifier']})"]
    lines += _gotcha_lines(card.get("gotchas") or {}, charts)
    lines += _rebuild_lines(card)
    return "\n".join(lines)


def _decision_lines(rec: Mapping[str, Any]) -> list[str]:
    """The strategy, its decisions, the warnings and the rules that fired."""
    lines = [f"## Strategy: {rec['strategy']}", ""]
    if rec.get("strategy_spec"):
        lines += [f"Compare or rebuild it as strategy `{rec['strategy_spec']}`.", ""]
    lines += ["| decision | choice |", "|---|---|"]
    for key in ("first_stage", "reranker", "adaptation", "classifier", "index"):
        if rec.get(key) is not None or key in ("first_stage", "classifier"):
            lines.append(f"| {key.replace('_', ' ')} | {_fmt(rec.get(key))} |")
    if rec.get("warnings"):
        lines += ["", "### Warnings", ""] + [f"> ⚠️ {w}" for w in rec["warnings"]]
    lines += ["", "## Why (rules that fired)", ""]
    for r in rec.get("rationale", []):
        decided = f" — decides {', '.join(r['decides'])}" if r.get("decides") else ""
        lines.append(f"- **{r['title']}** (`{r['id']}`){decided}: {r['rationale']}")
        if r.get("overridden"):
            lines.append(f"  - overridden: {', '.join(r['overridden'])}")
        if r.get("advice"):
            lines.append(f"  - what to do: {r['advice']}")
    return lines


def _answer_lines(rec: Mapping[str, Any], how: Mapping[str, str]) -> list[str]:
    """The answers with their source (and how each measured one was measured)."""
    lines = ["", "## Answers", "", "| question | answer | source |", "|---|---|---|"]
    sources = rec.get("answer_sources") or {}
    for name, value in (rec.get("answers") or {}).items():
        src = sources.get(name, "")
        if src == "measured" and how.get(name):
            src += f" ({how[name]})"
        lines.append(f"| {name} | {_fmt(value)} | {src} |")
    return lines


def _evidence_lines(evidence: Mapping[str, Any], dataset: str) -> list[str]:
    """The verdict, each claim, the notes and the comparison table."""
    lines = ["", f"## Evidence on {dataset}: {evidence.get('verdict', 'not verified')}", ""]
    if evidence.get("summary"):
        lines += [evidence["summary"], ""]
    for c in evidence.get("claims", []):
        lines.append(f"- **{c['claim']}** — {VERDICT_MARK.get(c['verdict'], c['verdict'])}: {c['detail']}")
        if c.get("next_step") and c["verdict"] != "agrees":
            lines.append(f"  - next: {c['next_step']}")
    for note in evidence.get("notes", []):
        lines.append(f"- note: {note}")
    comp = evidence.get("comparison")
    if comp:
        lines += [
            "",
            f"### Measured on {comp['dataset']} / {comp['split']} ({comp['queries']} queries)",
            "",
            "| strategy | nDCG@10 | recall@100 | p50 ms | p95 ms |",
            "|---|---|---|---|---|",
        ]
        for name, s in comp["strategies"].items():
            lines.append(
                f"| {s.get('label', name)} | {s['ndcg@10']:.4f} | {(s.get('recall@100') or 0):.4f} | "
                f"{s['latency_ms_p50']:,.1f} | {s['latency_ms_p95']:,.1f} |"
            )
        if evidence.get("comparison_run"):
            lines += ["", f"Comparison run `{evidence['comparison_run']}` (open it on the Compare page)."]
    return lines


def _gotcha_lines(g: Mapping[str, Any], charts: Mapping[str, str]) -> list[str]:
    """The gotcha checks: PCA table, cosine vs dot, reranker latency."""
    if not g:
        return ["", "## Gotchas", "", "Not checked (run the Gotchas step)."]
    lines = ["", f"## Gotchas (measured on {g.get('dataset')} / {g.get('split')})", ""]
    lines += _pca_lines(g.get("pca") or [], charts)
    lines += _cosine_lines(g.get("cosine_vs_dot"), charts)
    lat = g.get("reranker_latency")
    if lat:
        lines += ["", f"### Reranker latency at k={lat['k']}", ""]
        if lat.get("measured"):
            lines.append(
                f"p50 {lat['p50_ms']:,.0f} ms, p95 {lat['p95_ms']:,.0f} ms per query "
                f"(~{lat['ms_per_pair']:,.1f} ms a pair) — {lat['note']}."
            )
        else:
            lines.append(f"{lat['note'][0].upper()}{lat['note'][1:]}.")
    return lines


def _pca_lines(pca: list[Mapping[str, Any]], charts: Mapping[str, str]) -> list[str]:
    if not pca:
        return []
    lines = [
        "### Dimension reduction (PCA fitted on the corpus vectors)",
        "",
        "| dim | nDCG@10 | recall@10 | index MB | size | quality kept |",
        "|---|---|---|---|---|---|",
    ]
    for r in pca:
        lines.append(
            f"| {r['dim']} | {r['ndcg@10']:.4f} | {r['recall@10']:.4f} | {r['index_mb']:,.1f} | "
            f"{r['size_ratio']:.0%} | {r['quality_ratio']:.1%} |"
        )
    if "pca" in charts:
        lines += ["", f"![PCA trade-off]({charts['pca']})"]
    return lines


def _cosine_lines(cvd: Mapping[str, Any] | None, charts: Mapping[str, str]) -> list[str]:
    if not cvd:
        return []
    lines = [
        "",
        "### Cosine vs dot product on unnormalised vectors",
        "",
        f"On {cvd.get('corpus')}: cosine nDCG@10 {cvd['cosine_ndcg@10']:.4f}, raw dot product "
        f"{cvd['dot_ndcg@10']:.4f} ({cvd['delta']:+.4f}); the two agree on {cvd['top10_agreement']:.0%} of the "
        f"top 10. Document vector norms vary by {cvd['norm_cv']:.1%} (coefficient of variation, "
        f"{cvd['norm_min']:.2f}–{cvd['norm_max']:.2f}). "
        + (
            "The model normalises its output, so dot = cosine as long as that layer is kept."
            if cvd.get("model_normalises")
            else "The model does NOT normalise its output: normalise vectors before an inner-product index."
        ),
    ]
    if "cosine_vs_dot" in charts:
        lines += ["", f"![cosine vs dot]({charts['cosine_vs_dot']})"]
    return lines


def _rebuild_lines(card: Mapping[str, Any]) -> list[str]:
    """How to run the rebuild script, and the pipeline it builds."""
    return [
        "",
        "## Rebuild the pipeline",
        "",
        f'`python {SCRIPT_FILE} --dataset {card["dataset"]} --query "your question"` rebuilds it with `core` '
        "(index, search" + (", rerank" if card["pipeline"].get("rerank_top_k") else "") + ") and prints the "
        "results; `--evaluate` scores it on the dataset's test split.",
        "",
        "```json",
        json.dumps(card["pipeline"], indent=2),
        "```",
        "",
    ]
