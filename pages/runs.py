"""Runs page: every job (training, mining, evaluation) with live progress, loss curve, log tail,
cancel, delete and artifacts. Jobs whose process vanished are marked on load."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import services
from components.adapt_views import render_evaluation, render_mining_counts
from components.job_panel import render_job_panel
from components.paths import short_path
from components.runs_views import (
    STATUS_ICONS,
    fmt_seconds,
    loss_frame,
    make_loss_figure,
    render_artifacts,
    render_log,
    runs_frame,
)
from components.shell import ensure_navigation
from components.text import code_md, escape_md
from core.runtime import jobs

ensure_navigation()

ws = services.workspace()
jobs.reconcile(ws)  # after a restart: workers that are gone are marked lost, queued jobs start

if "runs_select_next" in st.session_state:
    st.session_state["runs_selected"] = st.session_state.pop("runs_select_next")

st.title("Runs")
st.caption(
    "Training, mining and evaluation jobs run in worker processes: this page can be closed and reopened "
    "while they run. One training job runs at a time; the others wait in the queue."
)
flash = st.session_state.pop("runs_flash", None)
if flash:
    st.success(flash)

runs = ws.list_runs(limit=300)
if not runs:
    st.info("No runs yet. Start one on the **Adapt a model** or **Compare strategies** page.")
    st.stop()

kinds = sorted({r.kind for r in runs})
statuses = [s for s in STATUS_ICONS if any(r.status == s for r in runs)]
left, right = st.columns(2)
pick_kinds = left.multiselect("Kinds", kinds, key="runs_kinds", placeholder="all kinds")
pick_status = right.multiselect("Status", statuses, key="runs_status", placeholder="all statuses")
shown = [
    r
    for r in runs
    if (not pick_kinds or r.kind in pick_kinds) and (not pick_status or r.status in pick_status)
]
st.dataframe(runs_frame(shown), hide_index=True, key="runs_table", column_config={"id": None})
if not shown:
    st.stop()

by_id = {r.id: r for r in shown}
wanted = st.query_params.get("run")  # deep link: /runs?run=<id>
if wanted in by_id and st.session_state.get("runs_linked") != wanted:
    st.session_state["runs_selected"] = st.session_state["runs_linked"] = wanted
if st.session_state.get("runs_selected") not in by_id:
    st.session_state["runs_selected"] = shown[0].id
run_id = st.selectbox(
    "Run",
    list(by_id),
    key="runs_selected",
    format_func=lambda i: f"{STATUS_ICONS.get(by_id[i].status, '')} {by_id[i].title} · {by_id[i].kind} · {i}",
)


def run_detail(run_id: str) -> None:
    """The selected run: header, live progress while it is active (with its loss curve and log), else its
    outcome, results, log, configuration, artifacts and the delete control."""
    run = ws.get_run(run_id)
    if run is None:
        st.warning("This run was deleted.")
        return
    st.subheader(f"{STATUS_ICONS.get(run.status, '')} {escape_md(run.title)}")
    st.caption(
        f"{code_md(run.id)} · {escape_md(run.kind)} · {run.status} · queue {escape_md(run.queue or 'foreground (CLI)')} · "
        f"elapsed {fmt_seconds(run.elapsed_s)}"
    )
    if run.is_active:  # polled; when it finishes the whole page (table, sidebar) is redrawn
        render_job_panel(ws, run.id, key="runs", every=2.0, details=_run_body)
        return
    _outcome(run)
    _run_body(run)
    _delete_control(run)


def _outcome(run: Any) -> None:
    """Why a run that did not finish well stopped."""
    if run.status == "failed":
        st.error(f"Failed: {escape_md(run.error)}")
        err = ws.run_dir(run.id) / "error.txt"
        if err.exists():
            with st.expander("Traceback"):
                st.code(err.read_text(encoding="utf-8"), language=None)
    elif run.status == "lost":
        st.warning(f"Lost: {escape_md(run.error)}. Nothing it was writing was registered.")
    elif run.status == "cancelled":
        st.info("Cancelled. Nothing it was writing was registered.")


def _run_body(run: Any) -> None:
    """Loss curve, results (before / after, mined negatives, registered models), log, configuration and
    artifacts of a run."""
    losses = loss_frame(ws.events(run.id, kind="progress"))
    if not losses.empty:
        st.plotly_chart(
            make_loss_figure(losses, smooth=10 if len(losses) > 30 else 0), key="runs_loss", width="stretch"
        )
    _results(run)
    with st.expander("Log", expanded=run.is_active or run.status in ("failed", "lost")):
        render_log(ws.events(run.id, kind="log", last=200), key="runs_log")
    with st.expander("Configuration"):
        st.json(run.config)
    with st.expander("Artifacts"):
        render_artifacts(ws.home / "runs" / run.id, key="runs_art")


def _results(run: Any) -> None:
    result = run.result or {}
    if run.kind == "adapt" and result.get("evaluation"):
        st.markdown("#### Before / after")
        render_evaluation(result["evaluation"], run.config.get("method", ""), key="runs_eval")
    if run.kind in ("adapt", "mine") and result.get("mining"):
        with st.expander("Hard negatives used"):
            render_mining_counts(result["mining"], key="runs_mining")
    elif run.kind == "mine" and result:
        render_mining_counts(result, key="runs_mining")
    for model in result.get("models") or []:
        st.success(
            f"Registered **{escape_md(model['name'])}** ({escape_md(model['kind'])}) — selectable on the "
            "Compare page."
        )
        st.caption(code_md(short_path(model["path"], workspace=ws.home)), help=code_md(model["path"]))
    if run.status == "done" and result and run.kind != "adapt":
        with st.expander("Result"):
            st.json(result)


def _delete_control(run: Any) -> None:
    confirm = st.checkbox("Yes, delete this run and its artifacts", key="runs_delete_confirm")
    if st.button("Delete run", key="runs_delete", disabled=not confirm, icon=":material/delete:"):
        jobs.delete(ws, run.id)
        st.session_state["runs_flash"] = f"Deleted run {escape_md(run.id)} (models it registered stay)."
        st.session_state.pop("runs_selected", None)
        st.session_state.pop("runs_delete_confirm", None)
        st.rerun()


run_detail(run_id)
