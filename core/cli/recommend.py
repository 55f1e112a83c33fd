"""``python -m core recommend``: the decision wizard headless — answers in, strategy (and evidence) out."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.cli import line_printer, print_json
from core.data import RetrievalDataset, resolve_dataset
from core.models import DEFAULT_BI_ENCODER
from core.retrieval import DEFAULT_RERANK_DEPTH
from core.runtime import InvalidInput, NotFound, jobs, open_workspace
from core.wizard import (
    SHORT_ADAPT_STEPS,
    SHORT_SETFIT_SEEDS,
    SPECTRUM_KIND,
    complete_answers,
    decision_words,
    latest_spectrum,
    make_card,
    measure_answers,
    plan_verification,
    recommend,
    reranker_available,
    run_gotchas,
    run_verification_inline,
    spectrum_rows,
    validate_answers,
    write_bundle,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "recommend",
        help="recommend an embedding strategy from answers (measured from a dataset, verified on request)",
    )
    p.add_argument(
        "--answers",
        required=True,
        help="JSON file of answers: task, corpus_size, latency_budget_ms, throughput_qps, labelled_pairs, "
        "labels_per_class, unlabeled_text, gpu, domain (missing ones are measured from --dataset or defaulted)",
    )
    p.add_argument(
        "--dataset", default=None, help="workspace dataset name or path, to measure missing answers"
    )
    p.add_argument("--model", default=DEFAULT_BI_ENCODER, help="bi-encoder the measurements and checks use")
    p.add_argument("--reranker", default=None, help="a pretrained cross-encoder to verify a rerank with")
    p.add_argument(
        "--spectrum",
        action="store_true",
        help="also measure the first-stage families (BM25, SPLADE, dense, hybrid, int8 / binary indexes, a "
        "registered static model) on --dataset: nDCG@10, encode rates, index bytes per vector",
    )
    p.add_argument(
        "--distill-static",
        action="store_true",
        help="with --spectrum: distil the static model from --model first when none is registered (offline)",
    )
    p.add_argument("--verify", action="store_true", help="run the comparison (and short runs) that test it")
    p.add_argument(
        "--no-short-runs", action="store_true", help="verify with the comparison only (no training)"
    )
    p.add_argument(
        "--short-steps",
        type=int,
        default=SHORT_ADAPT_STEPS,
        help="max steps of the short adaptation run (--verify)",
    )
    p.add_argument(
        "--short-seeds", type=int, default=SHORT_SETFIT_SEEDS, help="seeds of the short SetFit run (--verify)"
    )
    p.add_argument("--gotchas", action="store_true", help="also measure PCA, cosine-vs-dot, reranker latency")
    p.add_argument(
        "--bundle", default=None, help="write the strategy bundle (card, JSON, script) to this folder"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_recommend)


def read_answers(path: str) -> dict[str, Any]:
    """The answers file as a dict (``-`` reads stdin); bad JSON is a user error."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"answers file {path} not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidInput(f"answers file {path} cannot be read: {err}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidInput(f"answers file {path} is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"answers file {path} must hold a JSON object of name: value.")
    return data


def _recommend(args: argparse.Namespace) -> int:
    given = validate_answers(read_answers(args.answers))  # fail fast, before loading anything
    if (args.verify or args.gotchas or args.spectrum) and not args.dataset:
        raise InvalidInput("--verify, --gotchas and --spectrum need --dataset (the data to measure on).")
    ws, ds, measured_values, measured_notes = _measured(args)
    answers, sources = complete_answers(given, measured_values)
    rec = recommend(answers, sources)
    out = rec.to_json()
    out["measured"] = {k: v for k, v in measured_notes.items() if sources.get(k) == "measured"}
    out["not_measured"] = {
        k: v
        for k, v in measured_notes.items()
        if sources.get(k) != "measured" and v.startswith("not measured")
    }
    reranker = args.reranker
    if ws is not None and reranker is None and answers.reranker_available:
        reranker = reranker_available(ws)[1][0]
    if args.verify:
        if args.short_steps < 1 or args.short_seeds < 1:
            raise InvalidInput("--short-steps and --short-seeds must be at least 1.")
        plan = plan_verification(
            out,
            ds,
            ws,
            model=args.model,
            reranker=reranker,
            include_extras=not args.no_short_runs,
            short_steps=args.short_steps,
            short_seeds=args.short_seeds,
        )
        watch = line_printer() if not args.json else None
        out["evidence"] = run_verification_inline(ws, plan, out, watch=watch)
    gotchas = None
    if args.gotchas:
        if not isinstance(ds, RetrievalDataset):
            raise InvalidInput("--gotchas needs a retrieval dataset (corpus, queries, qrels).")
        rerank_k = (out.get("reranker") or {}).get("top_k") or DEFAULT_RERANK_DEPTH
        gotchas = run_gotchas(ds, ws, model=args.model, rerank_k=int(rerank_k), reranker=reranker)
        out["gotchas"] = gotchas
    if args.bundle:
        card = make_card(
            out,
            dataset=ds.name if ds is not None else "your-dataset",
            model=args.model,
            gotchas=gotchas,
            measured=measured_notes,
            reranker=reranker,
        )
        paths = write_bundle(args.bundle, card)
        out["bundle"] = {role: str(path) for role, path in paths.items()}
    if args.json:
        print_json(out)
    else:
        _print_text(out)
    return 0


def _measured(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any], dict[str, str]]:
    """The workspace, the dataset and what was measured on it (the spectrum too with ``--spectrum``)."""
    if not args.dataset:
        return None, None, {}, {}
    ws = open_workspace()
    ds = resolve_dataset(ws, args.dataset)
    m = measure_answers(ds, ws, model=args.model, progress=_progress(args))
    values, notes = dict(m.values), dict(m.notes)
    if args.spectrum:
        if not isinstance(ds, RetrievalDataset):
            raise InvalidInput("--spectrum needs a retrieval dataset (corpus, queries, qrels).")
        spec = latest_spectrum(ws, ds.name, args.model)
        if spec is None:  # measured as a wizard_spectrum run, which the page and later calls reuse
            config = {"dataset": ds.name, "model": args.model, "distill": bool(args.distill_static)}
            run = jobs.run_inline(ws, SPECTRUM_KIND, config, title=f"Wizard: first stages on {ds.name}")
            if run.status != "done":
                raise InvalidInput(f"measuring the first stages failed: {run.error}")
            spec = latest_spectrum(ws, ds.name, args.model)
        values.update(spec.values)
        notes.update({k: f"{v} (run {spec.details['spectrum_run']})" for k, v in spec.notes.items()})
    return ws, ds, values, notes


def _progress(args: argparse.Namespace) -> Any:
    if args.json and not sys.stderr.isatty():
        return None

    def show(p: Any) -> None:
        print(f"\r{p.stage}: {p.done}/{p.total} {p.message:<80}"[:120], end="", file=sys.stderr, flush=True)
        if p.stage == "measure" and p.done == p.total:
            print(file=sys.stderr)

    return show


def _print_text(out: dict[str, Any]) -> None:
    """The page's words: one headline (what can be built here), the decisions, the spectrum measured, the
    rules and the evidence."""
    print(f"Recommended: {out['headline']}")
    if out["strategy"].lower() != out["headline"].lower():
        print(f"  (the rule table's full strategy: {out['strategy']})")
    for line in out.get("unavailable") or []:
        print(f"  Not available here: {line}")
    if out.get("strategy_spec"):
        print(f"  Compare it yourself: python -m core evaluate --strategies {out['strategy_spec']}")
    print("Decisions:")
    for key in ("first_stage", "reranker", "adaptation", "classifier", "index"):
        print(f"  {key.replace('_', ' '):<12} {decision_words(key, out.get(key))}")
    _print_spectrum(out.get("answers") or {}, out.get("not_measured") or {})
    for w in out["warnings"]:
        print(f"WARNING: {w}")
    print("Why:")
    for r in out["rationale"]:
        mark = "*" if r["decides"] else "-"
        print(f"  {mark} [{r['id']}] {r['rationale']}")
        if r["advice"]:
            print(f"      what to do: {r['advice']}")
    if out["defaulted"]:
        print(f"Defaulted (not answered, not measured): {', '.join(out['defaulted'])}")
    ev = out.get("evidence") or {}
    if ev:
        print(f"Evidence: {ev.get('summary')}")
        if ev.get("headline"):
            print(f"  What the evidence supports: {ev['headline']}")
        for c in ev.get("claims", []):
            print(f"  [{c['verdict']}] {c['claim']}: {c['detail']}")
            if c.get("next_step") and c["verdict"] != "agrees":
                print(f"      next: {c['next_step']}")
    if out.get("bundle"):
        print(f"Bundle: {out['bundle']['card']}")


def _print_spectrum(answers: dict[str, Any], not_measured: dict[str, str]) -> None:
    rows = spectrum_rows(answers)
    if not rows:
        return
    print("First stages measured on your data:")
    for r in rows:
        parts = [f"nDCG@10 {r['ndcg@10']:.4f}"]
        if r["kept"] is not None:
            parts.append(f"{r['kept']:.1%} of dense")
        if r["passages/s"] is not None:
            speed = f" ({r['speed']:.3g}x the transformer)" if r["speed"] is not None else ""
            parts.append(f"{r['passages/s']:,.0f} passages/s{speed}")
        if r["bytes/vector"] is not None:
            parts.append(f"{r['bytes/vector']:,.0f} bytes/vector")
        print(f"  {r['family']:<34} {' · '.join(parts)}")
    if "ndcg10_static" in not_measured:
        print(f"  {'static model':<34} {not_measured['ndcg10_static']}")
