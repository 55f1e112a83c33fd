"""Adapt page: train MLM / TSDAE / contrastive / cross-encoder / SPLADE models on a retrieval dataset as a
background job; for supervised methods, mine hard negatives first and review them."""

from __future__ import annotations

import streamlit as st

from components import services
from components.adapt_views import (
    dropped_pairs,
    methods_help,
    render_mining_counts,
    review_frame,
)
from components.job_panel import render_job_panel
from components.shell import ensure_navigation
from components.text import escape_md
from core.adapt import (
    DEFAULT_METHOD,
    MiningConfig,
    describe_methods,
    estimate_adapt,
    load_mined,
    method_defaults,
)
from core.encoding import format_duration
from core.models import DEFAULT_BI_ENCODER, SPARSE_KIND, list_models
from core.runtime import LabError, jobs
from core.training import train_config

ensure_navigation()

ws = services.workspace()
jobs.reconcile(ws)

st.title("Adapt a model")
st.caption(
    "Adapt a bi-encoder to your domain, or train a cross-encoder reranker, and see whether it helped on the "
    "test split. Training runs as a background job: its progress shows here and on the Runs page, and you can "
    "leave this page."
)
with st.expander("Which method?"):
    for line in methods_help():
        st.markdown(f"- {line}")

datasets = [r for r in ws.list_datasets() if r.kind == "retrieval"]
if not datasets:
    st.info("No retrieval dataset yet: import one on the **Datasets** page (e.g. SciFact).")
    st.stop()

names = [r.name for r in datasets]
dataset = st.selectbox("Dataset", names, key="adapt_dataset")
ds = services.dataset(dataset)
if "train" not in ds.splits:
    st.warning(
        f"{escape_md(dataset)} has no train split ({escape_md(', '.join(ds.splits))}): contrastive and "
        "cross-encoder training need "
        "judged pairs outside the test split. MLM and TSDAE only need the corpus."
    )
methods = describe_methods()
# each method starts from its own defaults (contrastive: batch 32, 256 tokens; MLM: 16, 128 ...): switching
# method puts them in the form, the user's edits stay until the next switch
_SETTING_KEYS = {
    "epochs": "adapt_epochs",
    "batch_size": "adapt_batch",
    "max_seq_length": "adapt_seq",
    "num_negatives": "adapt_num_neg",
}


def _apply_defaults() -> None:
    for name, value in method_defaults(st.session_state.get("adapt_method", DEFAULT_METHOD)).items():
        if name in _SETTING_KEYS:
            st.session_state[_SETTING_KEYS[name]] = float(value) if name == "epochs" else int(value)


if "adapt_method" not in st.session_state:
    st.session_state["adapt_method"] = DEFAULT_METHOD
if "adapt_batch" not in st.session_state:
    _apply_defaults()
method = st.radio(
    "Method",
    list(methods),
    key="adapt_method",
    horizontal=True,
    format_func=lambda m: m,
    captions=list(methods.values()),
    on_change=_apply_defaults,
)
st.session_state.setdefault("adapt_num_neg", method_defaults(method).get("num_negatives", 1))
bi_encoders = [m.name for m in list_models(ws, kind="bi-encoder")]
if method == "splade":  # a SPLADE model: the packaged SPLADE-tiny or one trained here
    bi_encoders = [m.name for m in list_models(ws, kind=SPARSE_KIND)]
base = st.selectbox(
    "Base model" + (" (its encoder starts the cross-encoder)" if method == "cross-encoder" else ""),
    bi_encoders,
    key="adapt_base",
    help="Models trained here (e.g. an MLM or TSDAE run) can be the base of a contrastive run.",
)
supervised = method in ("contrastive", "cross-encoder", "splade")

with st.expander("Training settings", expanded=False):
    c1, c2, c3, c4 = st.columns(4)
    epochs = c1.number_input("Epochs", 0.1, 20.0, step=0.5, key="adapt_epochs")
    max_steps = c2.number_input("Max steps (0 = all)", 0, 1_000_000, 0, key="adapt_max_steps")
    batch = c3.number_input("Batch size", 2, 1024, key="adapt_batch")
    seq = c4.number_input("Max tokens while training", 16, 1024, key="adapt_seq")
    params: dict = {
        "epochs": epochs,
        "max_steps": max_steps or None,
        "batch_size": batch,
        "max_seq_length": seq,
    }
    if method == "mlm":
        params["mlm_probability"] = st.slider("Masking rate", 0.05, 0.5, 0.15, 0.01, key="adapt_mlm_p")
    if method == "contrastive":
        params["loss"] = st.selectbox(
            "Loss",
            ["mnrl", "cached-mnrl"],
            key="adapt_loss",
            help="cached-mnrl (GradCache) allows large batches in little memory, a bit slower",
        )
    if method == "cross-encoder":
        params["loss"] = st.selectbox(
            "Loss",
            ["mnrl", "lambda", "listnet", "bce"],
            key="adapt_ce_loss",
            help="mnrl: softmax over positive, hard and in-batch negatives (listwise); lambda: LambdaLoss; bce: pointwise",
        )
    corpus_limit = None
    if method in ("mlm", "tsdae"):
        corpus_limit = (
            st.number_input("Corpus texts to use (0 = all)", 0, 10_000_000, 0, key="adapt_corpus_limit")
            or None
        )
    eval_queries = (
        st.number_input(
            "Evaluate on at most N test queries (0 = all)", 0, 1_000_000, 0, key="adapt_eval_queries"
        )
        or None
    )
    first_stage = "hybrid"
    if method == "cross-encoder":
        first_stage = st.selectbox(
            "First stage to rerank (top 50)", ["hybrid", "dense", "bm25"], key="adapt_first_stage"
        )
    name = st.text_input("Register the trained model as", key="adapt_name", placeholder="automatic name")

config_error = None
try:
    train_config(method, base or "", "/tmp/check", params)
except LabError as err:
    config_error = str(err)
    st.error(escape_md(config_error))

negatives_from = None
drop: list = []
if supervised:
    st.markdown("#### Hard negatives")
    m1, m2, m3, m4, m5 = st.columns(5)
    miner = m1.selectbox("Mined with", ["bm25", "dense", "both"], key="adapt_miner")
    num_neg = m2.number_input("Per query", 1, 50, key="adapt_num_neg")
    skip_top = m3.number_input("Skip top ranks", 0, 100, 3, key="adapt_skip_top")
    depth = m4.number_input("Look at ranks up to", 2, 1000, 30, key="adapt_depth")
    margin = m5.number_input(
        "Relative margin (0 = off)",
        0.0,
        0.9,
        0.05,
        0.01,
        key="adapt_margin",
        help="drop candidates scoring within this fraction of the positive's score",
    )
    mining: dict = {
        "method": miner,
        "num_negatives": int(num_neg),
        "skip_top": int(skip_top),
        "depth": int(depth),
        "relative_margin": float(margin) or None,
        "model": DEFAULT_BI_ENCODER if method == "splade" else base,  # the dense miner is a bi-encoder
    }
    try:
        MiningConfig(**mining)
    except LabError as err:
        config_error = str(err)
        st.error(escape_md(config_error))
    key = f"adapt_mine_{dataset}"
    mine_id = st.session_state.get(key)
    mine_run = ws.get_run(mine_id) if mine_id else None
    if st.button(
        "Mine and review negatives",
        key="adapt_mine",
        disabled=config_error is not None or "train" not in ds.splits,
    ):
        st.session_state[key] = jobs.submit(
            ws,
            "mine",
            {"dataset": dataset, "split": "train", "mining": mining},
            title=f"mine {miner} negatives · {dataset}",
            queue="prep",
        )
        st.rerun()

    if mine_run is None:
        st.caption("Optional: mine first to review the negatives; otherwise training mines them itself.")
    elif mine_run.is_active:  # polled; the page reruns to show the review once mining is done
        render_job_panel(ws, mine_run.id, key="adapt_mine", every=2.0)
    elif mine_run.status != "done":
        st.error(f"Mining {mine_run.status}: {escape_md(mine_run.error or '')}")
    if mine_run is not None and mine_run.status == "done":
        mined = load_mined(ws, mine_run.id)
        render_mining_counts(mined.summary(), key="adapt_mining_counts")
        qtext = dict(zip(ds.queries["query_id"], ds.queries["text"], strict=True))
        dtext = dict(zip(ds.doc_ids, ds.doc_texts(), strict=True))
        st.caption("Tick **drop** for negatives that look relevant to their query (false negatives).")
        edited = st.data_editor(
            review_frame(mined.negatives.head(2000), qtext, dtext),
            key=f"adapt_review_{mine_run.id}",
            hide_index=True,
            disabled=["query", "positive", "negative", "rank", "score", "positive score", "source"],
            column_config={"query_id": None, "doc_id": None},
            height=360,
        )
        drop = dropped_pairs(edited)
        if len(mined.negatives) > 2000:
            st.caption(f"Showing the first 2,000 of {len(mined.negatives):,} negatives.")
        st.caption(f"{len(drop)} negative(s) marked to drop.")
        negatives_from = mine_run.id
        mining = mined.config.__dict__ | {}

st.markdown("#### Train")


def _training_rows() -> int:
    """Rows the job trains on: corpus texts (MLM, TSDAE) or judged train pairs (contrastive, cross-encoder)."""
    if not supervised:
        return min(len(ds.corpus), corpus_limit or len(ds.corpus))
    return sum(1 for docs in ds.qrels_dict("train").values() for score in docs.values() if score > 0)


def _show_estimate() -> None:
    """The expected length, from an encoding rate measured now on this machine (a timed sample)."""
    rate = services.encode_estimate(dataset, base, "torch").rate
    split = ds.default_split
    queries = min(len(ds.qrels_dict(split)), eval_queries or len(ds.qrels_dict(split)))
    est = estimate_adapt(
        method,
        rows=_training_rows(),
        settings=params,
        rate=rate,
        corpus=len(ds.corpus),
        queries=queries,
        base_cached=services.corpus_cached(dataset, base, "torch"),
        negatives=int(num_neg) if supervised else 0,
    )
    st.info(
        f"Estimate: about **{format_duration(est.seconds)}** — {est.steps:,} training steps "
        f"(~{format_duration(est.train_s)}) and a before/after evaluation encoding {est.eval_texts:,} texts "
        f"(~{format_duration(est.eval_s)}). Measured now: {est.rate:,.0f} texts/s for {escape_md(base)} on "
        "this machine; a training step is counted as three forward passes over its texts."
    )


if base and st.button("Estimate time", key="adapt_estimate", disabled=config_error is not None):
    with st.spinner("Timing a sample of the corpus…"):
        _show_estimate()
active = ws.list_runs(kind="adapt", status=("running", "queued"))
if active:
    st.info(f"{len(active)} training job(s) running or queued; a new one waits for them.")
if st.button("Start training", key="adapt_start", type="primary", disabled=config_error is not None):
    config = {
        "method": method,
        "dataset": dataset,
        "base": base,
        "name": name.strip() or None,
        "train": params,
        "corpus_limit": corpus_limit,
        "eval_queries": eval_queries,
        "first_stage": first_stage,
        "first_stage_model": base if method == "cross-encoder" else None,
    }
    if supervised:
        config.update(mining=mining, negatives_from=negatives_from, drop=drop)
    run_id = jobs.submit(ws, "adapt", config, title=f"{method} · {dataset} · {base}")
    st.session_state["runs_select_next"] = run_id
    st.session_state["adapt_last_run"] = run_id
    st.rerun()

last = st.session_state.get("adapt_last_run")
run = ws.get_run(last) if last else None
if run is not None and run.is_active:
    render_job_panel(ws, run.id, key="adapt_job", title=run.title)
elif run is not None:
    verdict = ((run.result or {}).get("evaluation") or {}).get("verdict")
    text = f"Training job `{last}` {run.status}" + (
        f": the trained model is **{verdict}**." if verdict else "."
    )
    (st.success if run.status == "done" else st.error)(text + " Its loss curve and metrics: the Runs page.")
if run is not None:
    st.page_link("pages/runs.py", label="Open the Runs page", icon=":material/schedule:")
