"""Strategy bundle: a Markdown strategy card (decisions, reasons, measured numbers, charts as PNG images),
the same content as JSON, and a runnable script that rebuilds the chosen pipeline with ``core``.

Charts are drawn with matplotlib (Agg backend): no browser or kaleido is needed, so export works offline
and in CI. :func:`make_card` assembles the card data, :func:`write_bundle` writes the folder and
:func:`bundle_zip` returns it as a zip archive (for a download button).
"""

from __future__ import annotations

import io
import json
import tempfile
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.retrieval import DEFAULT_RERANK_DEPTH
from core.runtime import REPO_ROOT

__all__ = [
    "bundle_zip",
    "make_card",
    "pipeline_spec",
    "render_charts",
    "render_markdown",
    "render_script",
    "write_bundle",
]

CARD_FILE = "strategy_card.md"
JSON_FILE = "strategy.json"
SCRIPT_FILE = "rebuild_pipeline.py"
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
    comp = (rec.get("evidence") or {}).get("comparison") or {}
    measured = (comp.get("strategies") or {}).get(spec["first_stage"]) or {}
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
# charts (matplotlib, PNG)
# --------------------------------------------------------------------------------------------------
def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    _plt().close(fig)


def render_charts(card: Mapping[str, Any], folder: Path) -> dict[str, str]:
    """PNG charts of the measured numbers in ``folder/charts``; returns {name: path relative to folder}."""
    plt = _plt()
    out: dict[str, str] = {}
    rec = card["recommendation"]
    evidence = rec.get("evidence") or {}
    comp = evidence.get("comparison")
    if comp and comp.get("strategies"):
        names = list(comp["strategies"])
        ndcg = [comp["strategies"][n]["ndcg@10"] for n in names]
        p95 = [comp["strategies"][n]["latency_ms_p95"] for n in names]
        target = evidence.get("recommended")
        colors = ["#d62728" if n == target else "#7f7f7f" for n in names]
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.2))
        ax1.barh(names, ndcg, color=colors)
        ax1.set_xlabel(f"nDCG@10 ({comp['queries']} {comp['split']} queries)")
        for i, v in enumerate(ndcg):
            ax1.text(v, i, f" {v:.3f}", va="center", fontsize=8)
        ax1.set_xlim(0, max([*ndcg, 0.01]) * 1.2)
        ax2.barh(names, p95, color=colors)
        ax2.set_xlabel("latency p95 (ms, this machine)")
        budget = (rec.get("answers") or {}).get("latency_budget_ms")
        if budget:
            ax2.axvline(budget, color="#1f77b4", linestyle="--", label=f"budget {budget:,.0f} ms")
            ax2.legend(fontsize=8, loc="lower right")
        fig.suptitle(f"Strategies on {comp['dataset']} (recommended in red)", fontsize=10)
        _save(fig, folder / "charts" / "quality.png")
        out["quality"] = "charts/quality.png"
    pca = (card.get("gotchas") or {}).get("pca")
    if pca:
        fig, ax = plt.subplots(figsize=(5.5, 3.2))
        xs = [r["index_mb"] for r in pca]
        ys = [r["ndcg@10"] for r in pca]
        ax.plot(xs, ys, marker="o", color="#2ca02c")
        for r in pca:
            ax.annotate(
                f"{r['dim']}-d",
                (r["index_mb"], r["ndcg@10"]),
                textcoords="offset points",
                xytext=(4, 4),
                fontsize=8,
            )
        ax.set_xlabel("index size (MB, float32)")
        ax.set_ylabel("nDCG@10")
        ax.set_title("Dimension reduction (PCA on corpus vectors)", fontsize=10)
        _save(fig, folder / "charts" / "pca.png")
        out["pca"] = "charts/pca.png"
    cvd = (card.get("gotchas") or {}).get("cosine_vs_dot")
    if cvd:
        fig, ax = plt.subplots(figsize=(4.5, 2.6))
        ax.bar(
            ["cosine", "dot (unnormalised)"],
            [cvd["cosine_ndcg@10"], cvd["dot_ndcg@10"]],
            color=["#2ca02c", "#ff7f0e"],
        )
        ax.set_ylabel("nDCG@10")
        ax.set_title(f"Cosine vs dot product ({cvd.get('documents', '?')} docs)", fontsize=10)
        _save(fig, folder / "charts" / "cosine_vs_dot.png")
        out["cosine_vs_dot"] = "charts/cosine_vs_dot.png"
    cls = next(
        (
            c
            for c in evidence.get("claims", [])
            if c["claim"] == "classifier" and "setfit" in c.get("numbers", {})
        ),
        None,
    )
    if cls:
        nums = cls["numbers"]
        labels = [m for m in ("setfit", "logreg", "zeroshot") if nums.get(m) is not None]
        fig, ax = plt.subplots(figsize=(4.5, 2.8))
        ax.bar(labels, [nums[m] for m in labels], color="#9467bd")
        ax.set_ylabel("accuracy (mean over seeds)")
        ax.set_title(f"Classifiers at N={nums.get('n_per_class')} per class", fontsize=10)
        _save(fig, folder / "charts" / "classifier.png")
        out["classifier"] = "charts/classifier.png"
    return out


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
    evidence = rec.get("evidence") or {}
    lines = [
        f"# {card['title']}",
        "",
        f"Created {card['created']} by Embedding Strategy Lab · dataset **{card['dataset']}** · "
        f"model `{card['model']}`",
        "",
        f"## Strategy: {rec['strategy']}",
        "",
        "| decision | choice |",
        "|---|---|",
    ]
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
    lines += ["", "## Answers", "", "| question | answer | source |", "|---|---|---|"]
    sources = rec.get("answer_sources") or {}
    how = card.get("measured_how") or {}
    for name, value in (rec.get("answers") or {}).items():
        src = sources.get(name, "")
        if src == "measured" and how.get(name):
            src += f" ({how[name]})"
        lines.append(f"| {name} | {_fmt(value)} | {src} |")
    lines += ["", f"## Evidence on {card['dataset']}: {evidence.get('verdict', 'not verified')}", ""]
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
    if "quality" in charts:
        lines += ["", f"![quality and latency]({charts['quality']})"]
    if "classifier" in charts:
        lines += ["", f"![classifiers]({charts['classifier']})"]
    lines += _gotcha_markdown(card.get("gotchas") or {}, charts)
    lines += [
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
    return "\n".join(lines)


def _gotcha_markdown(g: Mapping[str, Any], charts: Mapping[str, str]) -> list[str]:
    if not g:
        return ["", "## Gotchas", "", "Not checked (run the Gotchas step)."]
    lines = ["", f"## Gotchas (measured on {g.get('dataset')} / {g.get('split')})", ""]
    pca = g.get("pca") or []
    if pca:
        lines += [
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
    cvd = g.get("cosine_vs_dot")
    if cvd:
        lines += [
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


# --------------------------------------------------------------------------------------------------
# the runnable script
# --------------------------------------------------------------------------------------------------
_SCRIPT = '''#!/usr/bin/env python
"""Rebuild the retrieval pipeline chosen by the Embedding Strategy Lab wizard, on your data, with `core`.

Strategy: {strategy}
Created:  {created} for dataset {dataset!r}

    python {script} [--dataset NAME_OR_PATH] [--query TEXT ...] [--k 10] [--evaluate] [--reranker NAME]

--dataset takes a workspace dataset name or a dataset folder / file (BEIR folder, ...); ESL_HOME chooses the
workspace. Prints JSON: the pipeline, the top-k of each query and, with --evaluate, nDCG@10 on the test split.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.environ.get("ESL_REPO", {repo!r}))

PIPELINE = {pipeline}


def first_stage_spec(pipeline):
    """The verified first-stage spec when the card has one, else the default spec of that kind."""
    from core.retrieval import BM25Spec, DenseSpec, HybridSpec, spec_from_dict

    if pipeline.get("first_stage_spec"):
        return spec_from_dict(pipeline["first_stage_spec"])
    dense = DenseSpec(model=pipeline["model"], index=pipeline.get("index") or "exact")
    return {{"bm25": BM25Spec(), "dense": dense, "hybrid": HybridSpec(dense=dense)}}[pipeline["first_stage"]]


def build(ds, ws, pipeline):
    """Index the corpus and return the retriever: first stage, optional PCA, optional rerank."""
    from core.retrieval import (
        Corpus, HybridRetriever, PCADenseRetriever, RerankRetriever, RerankSpec, RetrieverBuilder,
    )

    corpus = Corpus.from_dataset(ds)
    builder = RetrieverBuilder(corpus, ws)
    spec = first_stage_spec(pipeline)
    if pipeline.get("dimension") and spec.kind in ("dense", "hybrid"):
        dense_spec = spec if spec.kind == "dense" else spec.dense
        dense = PCADenseRetriever(builder.build(dense_spec), int(pipeline["dimension"]))  # PCA on corpus vectors
        retriever = dense if spec.kind == "dense" else HybridRetriever(builder.build(spec.sparse), dense, spec)
    else:
        retriever = builder.build(spec)
    if pipeline.get("reranker"):
        rerank = RerankSpec(first_stage=spec, reranker=pipeline["reranker"], top_k=int(pipeline["rerank_top_k"] or 50))
        retriever = RerankRetriever(retriever, builder.reranker(rerank), corpus, rerank)
    return retriever


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--dataset", default={dataset!r})
    parser.add_argument("--query", action="append", default=[])
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--evaluate", action="store_true")
    parser.add_argument("--reranker", default=None, help="a pretrained cross-encoder (folder, registered name)")
    args = parser.parse_args(argv)

    from core.data import resolve_dataset
    from core.evaluate import evaluate_run
    from core.retrieval import results_to_run
    from core.runtime import open_workspace

    pipeline = dict(PIPELINE)
    if args.reranker:
        pipeline["reranker"] = args.reranker
        pipeline["rerank_top_k"] = pipeline.get("rerank_top_k") or 50
    elif pipeline.get("rerank_top_k") and not pipeline.get("reranker"):
        print("note: the strategy reranks with a cross-encoder, but none was given: pass --reranker "
              "(a pretrained one; see the card's warning). Running the first stage alone.", file=sys.stderr)
    ws = open_workspace()
    ds = resolve_dataset(ws, args.dataset)
    retriever = build(ds, ws, pipeline)
    texts = dict(zip(ds.doc_ids, ds.doc_texts()))
    out = {{"pipeline": pipeline, "retriever": retriever.name, "documents": len(ds.corpus), "results": []}}
    for query, hits in zip(args.query, retriever.search(args.query, args.k)):
        out["results"].append({{
            "query": query,
            "hits": [{{"doc_id": d, "score": round(s, 4), "text": texts[d][:120]}}
                     for d, s in zip(hits.doc_ids, hits.scores)],
        }})
    if args.evaluate:
        split = ds.default_split
        queries = ds.split_queries(split)
        run = results_to_run(queries["query_id"].tolist(), retriever.search(queries["text"].tolist(), 100))
        means, _ = evaluate_run(ds.qrels_dict(split), run, {{"ndcg@10": "ndcg@10", "recall@100": "recall@100"}})
        out["evaluation"] = {{"split": split, "queries": len(queries), **{{k: round(v, 4) for k, v in means.items()}}}}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
'''

_CLS_SCRIPT = '''#!/usr/bin/env python
"""Rebuild the classifier chosen by the Embedding Strategy Lab wizard, on your data, with `core`.

Strategy: {strategy}
Created:  {created} for dataset {dataset!r}

    python {script} [--dataset NAME_OR_PATH] [--n-per-class N] [--seeds 1]

Trains {method} on N labelled examples per class of the train split (and the frozen-embedding baseline on the
same sample) and prints JSON scores on the test split.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.environ.get("ESL_REPO", {repo!r}))

PIPELINE = {pipeline}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--dataset", default={dataset!r})
    parser.add_argument("--n-per-class", type=int, default={n})
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args(argv)

    from core.classify import ClassifyConfig, run_classification
    from core.data import resolve_dataset
    from core.runtime import open_workspace

    ws = open_workspace()
    ds = resolve_dataset(ws, args.dataset)
    config = ClassifyConfig(
        dataset=ds.name, body=PIPELINE["model"], methods={methods!r}, n_values=(args.n_per_class,),
        seeds=tuple(range(args.seeds)),
    )
    result = run_classification(config, ds, ws=ws)
    print(json.dumps({{"pipeline": PIPELINE, "summary": result.summary()}}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
'''


def render_script(card: Mapping[str, Any]) -> str:
    """The rebuild script for the card's pipeline."""
    rec = card["recommendation"]
    fields = {
        "strategy": rec["strategy"],
        "created": card["created"],
        "dataset": card["dataset"],
        "script": SCRIPT_FILE,
        "repo": str(REPO_ROOT),
        "pipeline": json.dumps(card["pipeline"], indent=4)
        .replace("null", "None")
        .replace("true", "True")
        .replace("false", "False"),
    }
    if card["pipeline"].get("task") == "classification":
        method = {"setfit": "setfit", "zero-shot": "zeroshot"}.get(rec.get("classifier") or "", "logreg")
        methods = tuple(dict.fromkeys([method, "logreg"]))
        lpc = int((rec.get("answers") or {}).get("labels_per_class") or 8)
        return _CLS_SCRIPT.format(**fields, method=method, methods=methods, n=max(2, min(lpc, 64)))
    return _SCRIPT.format(**fields)


# --------------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------------
def write_bundle(folder: Path | str, card: Mapping[str, Any]) -> dict[str, Path]:
    """Write card (Markdown), JSON, script and charts into ``folder``; returns the paths by role."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    charts = render_charts(card, folder)
    data = dict(card, charts=charts)
    paths = {
        "card": folder / CARD_FILE,
        "json": folder / JSON_FILE,
        "script": folder / SCRIPT_FILE,
    }
    paths["card"].write_text(render_markdown(card, charts), encoding="utf-8")
    paths["json"].write_text(json.dumps(data, indent=2, default=float), encoding="utf-8")
    paths["script"].write_text(render_script(card), encoding="utf-8")
    paths["script"].chmod(0o755)
    for name, rel in charts.items():
        paths[f"chart:{name}"] = folder / rel
    return paths


def bundle_zip(card: Mapping[str, Any]) -> bytes:
    """The bundle as a zip archive (in memory)."""
    with tempfile.TemporaryDirectory(prefix="esl-bundle-") as tmp:
        paths = write_bundle(Path(tmp) / "strategy", card)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in paths.values():
                zf.write(path, path.relative_to(Path(tmp)).as_posix())
        return buf.getvalue()
