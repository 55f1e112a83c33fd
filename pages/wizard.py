"""Decision wizard: questions (pre-filled from a dataset) → recommendation with its rationale → verify on the
data (jobs) → gotcha checks (a job) → export the strategy bundle (card, JSON, rebuild script)."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from components import services
from components.shell import ensure_navigation
from components.text import code_md, escape_md
from components.wizard_jobs import latest_run, latest_verification, poll_job
from components.wizard_spectrum import render_spectrum_step
from components.wizard_views import (
    render_card_preview,
    render_evidence,
    render_gotchas,
    render_questions,
    render_recommendation,
)
from core.data import RetrievalDataset
from core.models import DEFAULT_BI_ENCODER, list_models
from core.retrieval import DEFAULT_RERANK_DEPTH
from core.runtime import LabError, jobs
from core.wizard import (
    DEFAULT_ANSWERS,
    QUESTIONS,
    collect_evidence,
    complete_answers,
    latest_spectrum,
    make_card,
    plan_verification,
    recommend,
    render_markdown,
    start_verification,
)

ensure_navigation()

STEPS = ["1 · Questions", "2 · Recommendation", "3 · Verify", "4 · Gotchas", "5 · Export"]
ASKED = [q.name for q in QUESTIONS if q.asked]
NO_RERANKER = "(none)"

ws = services.workspace()
state = st.session_state
if "wiz_step_next" in state:
    state["wiz_step"] = state.pop("wiz_step_next")
state.setdefault("wiz_step", STEPS[0])


def _go(step: int) -> None:
    state["wiz_step_next"] = STEPS[step]


def _next_button(step: int, label: str) -> None:
    st.button(label, key=f"wiz_next_{step}", type="primary", on_click=_go, args=(step,))


# --------------------------------------------------------------------------------------------------
st.title("Decision wizard")
st.caption(
    "Answer a few questions — pre-filled from your dataset where they can be measured — and get a concrete "
    "embedding strategy with the rule behind each decision. Then **verify it on your data**, check the "
    "gotchas, and export a strategy card with a script that rebuilds the pipeline."
)

records = ws.list_datasets()
left, right = st.columns(2)
with left:
    dataset = st.selectbox(
        "Dataset to measure and verify on",
        [r.name for r in records],
        key="wiz_dataset",
        index=None if not records else 0,
        placeholder="no dataset: answers start from defaults",
        format_func=lambda n: f"{n}  ·  {next(r.kind for r in records if r.name == n)}",
    )
with right:
    models = [m.name for m in list_models(ws, "bi-encoder")] or [DEFAULT_BI_ENCODER]
    model = st.selectbox(
        "Bi-encoder", models, key="wiz_model", help="Measurements and checks use this model."
    )

measured: dict[str, Any] = {"values": {}, "notes": {}, "details": {}}
if dataset:
    try:
        with st.spinner(f"Measuring {escape_md(dataset)} with {escape_md(model)}…"):
            measured = services.wizard_measurements(dataset, model)
    except (LabError, OSError) as err:
        st.error(f"Could not measure {escape_md(dataset)}: {escape_md(err)}")

spectrum = latest_spectrum(ws, dataset, model) if dataset else None
if spectrum is not None:  # the first-stage families measured earlier on this dataset (a wizard_spectrum job)
    measured = {
        "values": {**measured["values"], **spectrum.values},
        "notes": {**measured["notes"], **spectrum.notes},
        "details": {**measured["details"], "spectrum_run": spectrum.details["spectrum_run"]},
    }

# pre-fill when the dataset or the model changes
prefill_for = (dataset, model)
if state.get("wiz_prefill_for") != prefill_for:
    base = {**DEFAULT_ANSWERS.to_dict(), **measured["values"]}
    state["wiz_answers"] = {n: base[n] for n in ASKED}
    for name in ASKED:
        state.pop(f"wiz_q_{name}", None)
    state["wiz_prefill_for"] = prefill_for
    state.pop("wiz_verify", None)
    state.pop("wiz_gotchas", None)

step = st.radio("Step", STEPS, key="wiz_step", horizontal=True, label_visibility="collapsed")
step_i = STEPS.index(step)
answers_state: dict[str, Any] = state["wiz_answers"]


def _sources() -> dict[str, Any]:
    """Answers that differ from the measured value (or, unmeasured, from the default) count as given."""
    given = {}
    for name, value in answers_state.items():
        reference = measured["values"].get(name, getattr(DEFAULT_ANSWERS, name))
        if value != reference:
            given[name] = value
    return given


# --------------------------------------------------------------------------------------------------
if step_i == 0:
    st.subheader("Your constraints")
    for name in ASKED:
        if f"wiz_q_{name}" not in state:
            state[f"wiz_q_{name}"] = answers_state[name]
    _, pre_sources = complete_answers(_sources(), measured["values"])
    values = render_questions(answers_state["task"], pre_sources, measured["notes"], key="wiz_q")
    answers_state.update(values)
    signals = [
        ("fragmentation", "Words split into 3+ pieces", "{:.1%}"),
        ("bm25_dense_overlap", "BM25–dense overlap@10", "{:.0%}"),
        ("baseline_ndcg10", "Zero-shot nDCG@10", "{:.3f}"),
    ]
    shown = [(n, label, fmt) for n, label, fmt in signals if measured["values"].get(n) is not None]
    if shown:
        st.markdown("**Measured on the data** (they decide *domain* unless you change it):")
        cols = st.columns(len(shown))
        for col, (name, label, fmt) in zip(cols, shown, strict=True):
            col.metric(
                label,
                fmt.format(measured["values"][name]),
                help=escape_md(measured["notes"][name]) if measured["notes"].get(name) else None,
            )
        words = measured["details"].get("fragmented_words") or []
        if words:
            st.caption(
                "Most frequent fragmented words: "
                + ", ".join(f"{code_md(w)} ({n} pieces)" for w, n in words[:8])
            )
    elif not dataset:
        st.info("Pick a dataset above to measure the answers from your data (import one on the Data page).")
    if isinstance(ds0 := (services.dataset(dataset) if dataset else None), RetrievalDataset):
        render_spectrum_step(ws, state, ds0, model, measured)
    _next_button(1, "Recommend →")

try:
    answers, sources = complete_answers(_sources(), measured["values"])
except LabError as err:
    st.error(f"Invalid answer — {escape_md(err)}")
    st.stop()
rec_obj = recommend(answers, sources)
rec = rec_obj.to_json()
rec["measured"] = {k: v for k, v in measured["notes"].items() if sources.get(k) == "measured"}
ds = services.dataset(dataset) if dataset else None
rerankers = measured["details"].get("rerankers") or []

if step_i == 1:
    render_recommendation(rec, key="wiz_rec")
    links = st.columns(3)
    links[0].page_link(
        "pages/compare.py", label="Compare strategies yourself", icon=":material/compare_arrows:"
    )
    if rec.get("adaptation"):
        links[1].page_link("pages/adapt.py", label="Adapt a model", icon=":material/build:")
    if rec.get("classifier"):
        links[2].page_link("pages/classify.py", label="Few-shot (SetFit)", icon=":material/label:")
    _next_button(2, "Verify on my data →")


# --------------------------------------------------------------------------------------------------
if step_i == 2:
    st.subheader("Verify on my data")
    if ds is None:
        st.info("Pick a dataset above: verification measures the recommendation on it.")
    else:
        options = [NO_RERANKER, *rerankers]
        reranker = st.selectbox(
            "Cross-encoder to test a rerank with",
            options,
            key="wiz_reranker",
            help="Only cross-encoders with a trained head (registered here) are offered.",
        )
        reranker = None if reranker == NO_RERANKER else reranker
        extras = st.checkbox(
            "Also run a short adaptation / SetFit run where the recommendation asks for one",
            value=True,
            key="wiz_extras",
            help="A short training job (Adapt / Classify job kinds) measures before / after on the test split.",
        )
        try:
            plan = plan_verification(rec, ds, ws, model=model, reranker=reranker, include_extras=extras)
        except LabError as err:
            st.error(escape_md(err))
            plan = None
        if plan is not None:
            if plan.specs:
                st.markdown(
                    f"Compares **{escape_md(', '.join(plan.specs))}** on the {code_md(plan.split)} split of "
                    f"**{escape_md(ds.name)}** (recommended: **{escape_md(plan.recommended)}**), with paired "
                    "significance tests and latency."
                    + (
                        f" An earlier comparison ({code_md(plan.reuse_comparison)}) is reused."
                        if plan.reuse_comparison
                        else ""
                    )
                )
            for extra in plan.extras:
                st.markdown(
                    f"- {escape_md(extra.title)}"
                    + (f" — reusing run {code_md(extra.reuse)}" if extra.reuse else " (a job)")
                )
                page = "pages/adapt.py" if extra.purpose == "adaptation" else "pages/classify.py"
                st.page_link(
                    page, label=f"Longer runs: the {extra.purpose} page", icon=":material/open_in_new:"
                )
            for note in plan.notes:
                st.caption(escape_md(note))
            if "wiz_verify" not in state:
                earlier = latest_verification(ws, ds.name, rec["strategy"], model)
                if earlier:
                    cfg = ws.get_run(earlier).config
                    state["wiz_verify"] = {
                        "run": earlier,
                        "strategy": rec["strategy"],
                        "extra_runs": cfg.get("extra_runs", []),
                        "restored": True,
                    }
            if st.button(
                f"Verify on {escape_md(ds.name)}",
                key="wiz_verify_go",
                type="primary",
                icon=":material/science:",
            ):
                started = start_verification(ws, plan, rec)
                state["wiz_verify"] = {
                    "run": started["verify_run"],
                    "strategy": rec["strategy"],
                    "extra_runs": started["extra_runs"],
                }
            info = state.get("wiz_verify")
            if info and info.get("restored"):
                st.caption(f"Showing the earlier verification {code_md(info['run'])} of this recommendation.")
            if info and info.get("strategy") != rec["strategy"]:
                st.warning(
                    "The answers changed since this verification: verify again to test the new strategy."
                )

            def done(run: Any) -> None:
                evidence = collect_evidence(ws, run.id)
                state["wiz_evidence"] = {
                    "strategy": info["strategy"],
                    "dataset": ds.name,
                    "evidence": evidence,
                }
                if run.status == "done":
                    render_evidence(evidence, rec["answers"].get("latency_budget_ms"), key="wiz_ev")

            poll_job(ws, state, "wiz_verify", done)
    _next_button(3, "Gotcha checks →")

if step_i == 3:
    st.subheader("Gotcha checks")
    if not isinstance(ds, RetrievalDataset):
        st.info(
            "The gotcha checks (dimension reduction, cosine vs dot, reranker latency) need a retrieval dataset."
        )
    else:
        c1, c2, c3 = st.columns(3)
        dims = c1.multiselect("PCA dimensions", [256, 128, 64], default=[256, 128], key="wiz_g_dims")
        rerank_k = c2.number_input(
            "Reranker depth k",
            min_value=1,
            max_value=1000,
            value=int((rec.get("reranker") or {}).get("top_k") or DEFAULT_RERANK_DEPTH),
            key="wiz_g_k",
        )
        options = [NO_RERANKER, *rerankers]
        g_reranker = c3.selectbox("Cross-encoder to time", options, key="wiz_g_reranker")
        stand_in = st.checkbox(
            "No reranker? Time a same-size stand-in (the bi-encoder's weights with an untrained head: latency "
            "only, not quality)",
            key="wiz_g_stand_in",
            disabled=g_reranker != NO_RERANKER,
        )
        config = {
            "dataset": ds.name,
            "model": model,
            "dims": sorted(dims, reverse=True),
            "rerank_k": int(rerank_k),
            "reranker": None if g_reranker == NO_RERANKER else g_reranker,
            "stand_in": bool(stand_in),
        }
        if "wiz_gotchas" not in state:
            earlier = latest_run(
                ws, "wizard_gotchas", lambda c: all(c.get(k) == v for k, v in config.items())
            )
            if earlier:
                state["wiz_gotchas"] = {"run": earlier, "restored": True}
        if st.button(
            "Run gotcha checks", key="wiz_gotchas_go", type="primary", icon=":material/troubleshoot:"
        ):
            run_id = jobs.submit(
                ws, "wizard_gotchas", config, title=f"Wizard: gotchas on {ds.name}", queue="eval"
            )
            state["wiz_gotchas"] = {"run": run_id}

        def done_gotchas(run: Any) -> None:
            if run.status == "done" and run.result:
                state["wiz_gotcha_result"] = {"dataset": ds.name, "model": model, "result": run.result}
                render_gotchas(run.result, key="wiz_g")

        poll_job(ws, state, "wiz_gotchas", done_gotchas)
    _next_button(4, "Export →")

if step_i == 4:
    st.subheader("Strategy card")
    ev = state.get("wiz_evidence")
    evidence = (
        ev["evidence"] if ev and ev["strategy"] == rec["strategy"] and ev["dataset"] == dataset else None
    )
    if evidence is None and dataset:  # an earlier verification of the same recommendation
        earlier = latest_verification(ws, dataset, rec["strategy"], model)
        evidence = collect_evidence(ws, earlier) if earlier else None
    if evidence is None:
        st.warning(
            "Not verified yet: the card will hold the recommendation without measured evidence. Run step 3 first "
            "so its claims are measured on your data."
        )
    g = state.get("wiz_gotcha_result")
    gotchas = g["result"] if g and g["dataset"] == dataset and g["model"] == model else None
    if gotchas is None and dataset:
        earlier = latest_run(
            ws, "wizard_gotchas", lambda c: c.get("dataset") == dataset and c.get("model") == model
        )
        gotchas = ws.get_run(earlier).result if earlier else None
    card_rec = dict(rec, evidence=evidence or {})
    card = make_card(
        card_rec,
        dataset=dataset or "your-dataset",
        model=model,
        gotchas=gotchas,
        measured=measured["notes"],
        reranker=state.get("wiz_reranker") if state.get("wiz_reranker") not in (None, NO_RERANKER) else None,
    )
    card_json = json.dumps(card, sort_keys=True, default=float)
    with st.spinner("Drawing the charts…"):
        bundle = services.strategy_bundle(card_json)
    files = bundle["files"]
    cols = st.columns(4)
    cols[0].download_button(
        "Download bundle (.zip)",
        bundle["zip"],
        file_name=f"strategy-{dataset or 'card'}.zip",
        mime="application/zip",
        key="wiz_dl_zip",
        type="primary",
    )
    cols[1].download_button("Card (.md)", files["strategy_card.md"], "strategy_card.md", key="wiz_dl_md")
    cols[2].download_button("JSON", files["strategy.json"], "strategy.json", key="wiz_dl_json")
    cols[3].download_button(
        "Rebuild script", files["rebuild_pipeline.py"], "rebuild_pipeline.py", key="wiz_dl_py"
    )
    charts = {
        rel.split("/")[-1].removesuffix(".png"): data for rel, data in files.items() if rel.endswith(".png")
    }
    render_card_preview(render_markdown(card, {}), charts, key="wiz_card")
