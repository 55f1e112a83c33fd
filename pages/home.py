"""Home: what the app does, in one screen, and a guided tour on real data (Cranfield): import → compare
(BM25, dense, hybrid) → map → the wizard's verdict, each step one click with its time measured now."""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from components import services
from components.explore_views import make_projection_figure
from components.job_panel import render_job_panel
from components.shell import ensure_navigation
from components.text import escape_md
from components.tour import (
    TOUR_MAP_POINTS,
    import_tour_dataset,
    measure_tour_rates,
    ranx_compiled,
    start_verdict,
    submit_compare,
    submit_map,
    tour_backend,
    tour_etas,
)
from core.encoding import format_duration
from core.explore import ExploreRequest
from core.models import DEFAULT_BI_ENCODER
from core.runtime import LabError, jobs
from core.wizard import collect_evidence, format_p

ensure_navigation()

ws = services.workspace()
jobs.reconcile(ws)
tour: dict[str, Any] = st.session_state.setdefault("tour", {})

st.title("Embedding Strategy Lab")
st.markdown(
    "Measure which text-embedding strategy fits **your** corpus before it goes to production: BM25, learned "
    "sparse (SPLADE), a bi-encoder or a static model, tuned hybrids of two or three of them, a reranked "
    "pipeline, long documents cut into passages, compressed indexes — compared on your own judged queries "
    "with paired significance tests, latency measured on this machine and index size; adapt a model to your "
    "domain, train a few-shot classifier, see the embedding space, and leave with a verified, exportable "
    "strategy."
)
c1, c2, c3 = st.columns(3)
with c1:
    st.markdown("**1 · Bring data**  \nA BEIR folder, CSV, JSONL or Parquet; errors name the file and line.")
    st.page_link("pages/data.py", label="Go to Datasets", icon=":material/dataset:")
    st.page_link("pages/compare.py", label="Go to Compare", icon=":material/compare_arrows:")
with c2:
    st.markdown("**2 · Improve**  \nContrastive adaptation with reviewed hard negatives; SetFit for labels.")
    st.page_link("pages/adapt.py", label="Go to Adapt", icon=":material/build:")
    st.page_link("pages/classify.py", label="Go to Few-shot", icon=":material/label:")
with c3:
    st.markdown("**3 · Decide**  \nSee the space, then get a recommendation checked against your data.")
    st.page_link("pages/explore.py", label="Go to Explorer", icon=":material/scatter_plot:")
    st.page_link("pages/wizard.py", label="Go to Wizard", icon=":material/auto_fix_high:")

st.divider()
st.subheader("Guided tour: three minutes on real data")
backend = tour_backend({b: services.backend_plan(b) for b in ("onnx-int8", "bf16", "torch")})
st.caption(
    f"Cranfield (1,398 aerodynamics abstracts, 225 judged queries) with {DEFAULT_BI_ENCODER} on the "
    f"`{backend}` backend, the fastest that runs here. Each step is one click; times are measured on this "
    "machine when you start (other jobs slow them down)."
)


def _done(step: str, seconds: float) -> None:
    tour.setdefault("took", {})[step] = seconds


def _took(step: str) -> str:
    took = tour.get("took", {}).get(step)
    if took is None:
        return ""
    eta = tour.get("etas")
    expected = f" (expected {eta.text(step)})" if eta is not None and step in eta.seconds else ""
    return f"Done in {format_duration(took)}{expected}."


def _step_import() -> None:
    st.markdown("**Step 1 · Import Cranfield** — from the data folder, then time the encoder; a few seconds.")
    if "dataset" in tour:
        ds = services.dataset(tour["dataset"])
        st.success(
            f"{len(ds.corpus):,} documents and {ds.queries.shape[0]:,} queries imported. {_took('import')}"
        )
        return
    if st.button("Import Cranfield", key="tour_import", type="primary"):
        t0 = time.perf_counter()
        try:
            with st.spinner("Importing, then timing the encoder on samples of the corpus and queries…"):
                name = import_tour_dataset(ws)
                ds = services.dataset(name)
                fast = services.encode_estimate(name, DEFAULT_BI_ENCODER, backend).rate
                queries = ds.split_queries(ds.default_split)["text"].tolist()
                rates = measure_tour_rates(
                    services.encoder(DEFAULT_BI_ENCODER, backend, None), queries, doc_rate=fast
                )
        except LabError as err:
            st.error(escape_md(err))
            return
        tour["dataset"] = name
        tour["rates"] = rates
        tour["etas"] = tour_etas(
            documents=len(ds.corpus),
            queries=len(queries),
            rates=rates,
            backend=backend,
            map_points=TOUR_MAP_POINTS,
            metrics_compiled=ranx_compiled(),
        )
        _done("import", time.perf_counter() - t0)
        st.rerun()


def _job_step(step: str, title: str, what: str, start: Any, show: Any) -> None:
    """A step that runs as a background job: the button, then the live panel, then ``show(run)``."""
    eta = tour.get("etas")
    st.markdown(f"**{title}** — {what}" + (f"; {eta.text(step)} on this machine now." if eta else "."))
    if eta is not None and step not in tour.get("took", {}):
        st.caption(f"Estimate: {escape_md(eta.breakdown(step))}; other jobs running slow it down.")
    state = tour.get(step)
    if state is None:
        ready = "dataset" in tour and all(s in tour.get("took", {}) for s in _before(step))
        if st.button(title.split("·", 1)[1].strip(), key=f"tour_{step}", type="primary", disabled=not ready):
            try:
                tour[step] = start()
            except LabError as err:
                st.error(escape_md(err))
                return
            st.rerun()
        return
    run = ws.get_run(state["run"])
    if run is None:
        tour.pop(step, None)
        return
    if run.is_active:
        render_job_panel(ws, run.id, key=f"tour_{step}_job")
        return
    if run.status != "done":
        st.error(f"This step {run.status}: {escape_md(run.error or 'no details')}")
        if st.button("Try again", key=f"tour_{step}_retry"):
            tour.pop(step, None)
            st.rerun()
        return
    if step not in tour.get("took", {}):
        _done(step, time.time() - state["started"])
    show(run)


def _before(step: str) -> list[str]:
    order = ["import", "compare", "map", "verdict"]
    return order[: order.index(step)]


def _start_compare() -> dict[str, Any]:
    run_id, config = submit_compare(ws, services.dataset(tour["dataset"]), backend)
    return {"run": run_id, "config": config, "started": time.time()}


def _show_compare(run: Any) -> None:
    report = services.comparison(run.id)
    base = report.strategies[report.baseline]
    lines = []
    for name, res in report.strategies.items():
        p = report.p_values.get(name, {}).get("ndcg@10")
        sig = "" if p is None else (f", {format_p(p)} against {base.label}" if p == p else ", not testable")
        lines.append(f"- **{escape_md(res.label)}**: nDCG@10 {res.metrics['ndcg@10']:.3f}{sig}")
    st.success(f"Compared on {report.queries} queries. {_took('compare')}")
    st.markdown("\n".join(lines))
    st.page_link("pages/compare.py", label="Open the full comparison", icon=":material/compare_arrows:")


def _start_map() -> dict[str, Any]:
    run_id, request = submit_map(ws, tour["dataset"], backend)
    return {"run": run_id, "request": request, "started": time.time()}


def _map_color(points: Any) -> str | None:
    return next((c for c in ("kind", "split", "label") if c in points.columns), None)


def _map_title(result: Any) -> str:
    return f"Cranfield · PCA · {len(result.points):,} of {result.total:,} points · {DEFAULT_BI_ENCODER}"


def _show_map(run: Any) -> None:
    st.success(f"Map of {TOUR_MAP_POINTS} documents and queries ready. {_took('map')}")
    result = services.explore_result(ExploreRequest.from_dict(tour["map"]["request"]))
    if result is not None:
        fig = make_projection_figure(
            result.points, color=_map_color(result.points), title=_map_title(result), height=420
        )
        st.plotly_chart(fig, key="tour_map_chart")
    st.page_link(
        "pages/explore.py",
        label="Go to Explorer for UMAP and before/after maps",
        icon=":material/scatter_plot:",
    )


def _start_verdict() -> dict[str, Any]:
    started = time.time()
    ds = services.dataset(tour["dataset"])
    compare = tour["compare"]
    with st.spinner("Measuring the corpus (vocabulary, BM25-vs-dense overlap) for the wizard…"):
        rec, run_id = start_verdict(
            ws, ds, compare["config"], compare["run"], services.encoder(DEFAULT_BI_ENCODER, backend, None)
        )
    return {"run": run_id, "rec": rec, "started": started}


def _show_verdict(run: Any) -> None:
    rec = tour["verdict"]["rec"]
    evidence = collect_evidence(ws, run.id)
    st.success(f"**Recommended: {escape_md(rec.get('headline') or rec['strategy'])}**. {_took('verdict')}")
    for line in rec.get("unavailable", []):
        st.info(escape_md(line), icon=":material/info:")
    st.markdown(f"**Evidence ({escape_md(evidence['verdict'])}).** {escape_md(evidence['summary'])}")
    if evidence.get("headline"):
        st.markdown(f"What the evidence supports: **{escape_md(evidence['headline'])}**")
    st.caption(escape_md(evidence.get("measured_in", "")))
    for claim in evidence["claims"]:
        st.markdown(
            f"- *{escape_md(claim['claim'])}* — **{escape_md(claim['verdict'])}**: {escape_md(claim['detail'])}"
        )
    total = sum(tour.get("took", {}).values())
    st.info(f"Tour finished in {format_duration(total)}. The Decision wizard page explains every rule.")
    st.page_link("pages/wizard.py", label="Open the Decision wizard", icon=":material/auto_fix_high:")


_step_import()
_job_step(
    "compare",
    "Step 2 · Compare strategies",
    "BM25, dense and a hybrid of both on the 225 test queries, with paired t-tests and latency",
    _start_compare,
    _show_compare,
)
_job_step(
    "map",
    "Step 3 · Draw a map",
    f"a PCA map of {TOUR_MAP_POINTS} documents and queries",
    _start_map,
    _show_map,
)
_job_step(
    "verdict",
    "Step 4 · Ask the wizard",
    "measures the corpus, recommends a strategy and checks it against the comparison of step 2",
    _start_verdict,
    _show_verdict,
)
if tour.get("etas") is not None:
    rates = tour.get("rates")
    measured = (
        f"{rates.doc_rate:,.0f} corpus texts/s and {rates.query_rate:,.0f} queries/s in batches, "
        f"{rates.single_query_s * 1000:,.0f} ms per single query"
        if rates is not None
        else f"{tour['etas'].fast_rate:,.0f} texts/s"
    )
    st.caption(
        f"Encoding rates measured now on `{backend}`: {measured} — expected total "
        f"{format_duration(tour['etas'].total)}."
    )
