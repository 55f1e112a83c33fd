"""The Data page's "Encode corpus" action: encode a retrieval corpus into the resumable shard store with the
existing ``encode`` job (:class:`core.encoding.EncodeJob`), on the local engine or on Ray (an address to
attach to a cluster, else a local Ray of N CPUs started for the run); progress, ETA and Cancel in the
shared job panel. Later comparisons read the shards and encode only the queries."""

from __future__ import annotations

import os
from typing import Any

import streamlit as st

from components.job_panel import render_job_panel
from components.text import escape_md
from core.encoding import BACKENDS, ENGINES, EncodeJob
from core.models import TINY_MODEL, list_models
from core.runtime import LabError, Workspace, jobs

__all__ = ["encode_config", "render_encode_panel"]

ENCODE_KIND = "encode"


def encode_config(
    dataset: str,
    model: str,
    backend: str,
    engine: str,
    ray_address: str = "",
    ray_cpus: int | None = None,
    restart: bool = False,
) -> dict[str, Any]:
    """The ``encode`` job config of these choices, parsed once (an :class:`InvalidInput` for bad ones); an
    empty Ray address means ``RAY_ADDRESS`` or a local Ray."""
    job = EncodeJob(
        dataset=dataset,
        model=model,
        backend=backend,
        engine=engine,
        ray_address=ray_address.strip() or None if engine == "ray" else None,
        ray_cpus=ray_cpus if engine == "ray" else None,
        restart=restart,
    )
    return job.to_dict()


def render_encode_panel(ws: Workspace, dataset: str, *, key: str) -> None:
    """Model, backend, engine (local | ray with its address) and the button that submits the job; the
    running job's panel in place of the button."""
    active = st.session_state.get(f"{key}_run")
    run = ws.get_run(active) if active else None
    if run is not None and run.is_active:
        render_job_panel(ws, active, key=key, title=f"Encoding {dataset}")
        return
    if run is not None:
        st.session_state.pop(f"{key}_run", None)
        if run.status == "done":
            st.success(f"Encoded: {escape_md(_summary(run.result or {}))}")
        else:
            st.warning(
                f"The encoding {run.status}: {escape_md(run.error or 'stopped')} (finished shards are kept)."
            )
    show_test = os.environ.get("ESL_SHOW_TEST_MODELS", "") not in ("", "0")
    models = [m.name for m in list_models(ws, kind="bi-encoder") if show_test or m.name != TINY_MODEL]
    if not models:
        st.info("No bi-encoder is installed (see MODELS.md).")
        return
    c1, c2, c3 = st.columns(3)
    model = c1.selectbox("Bi-encoder", models, key=f"{key}_model")
    backend = c2.selectbox("Backend", list(BACKENDS), key=f"{key}_backend")
    engine = c3.radio(
        "Engine",
        list(ENGINES),
        horizontal=True,
        key=f"{key}_engine",
        help="local: this machine's worker process. ray: Ray Data with one model per actor (GPUs when the "
        "cluster has them), writing the same shards.",
    )
    address, cpus = _ray_inputs(key) if engine == "ray" else ("", None)
    restart = st.checkbox("Start over (drop finished shards)", key=f"{key}_restart")
    st.caption(
        "The corpus is written in resumable shards (float16): a job that stops keeps its finished shards and "
        "the next one resumes from them."
    )
    if st.button("Encode corpus", key=f"{key}_go", type="primary"):
        try:
            config = encode_config(dataset, model, backend, engine, address, cpus, restart)
        except LabError as err:
            st.error(escape_md(err))
            return
        title = f"encode · {dataset} · {model}" + (" · ray" if engine == "ray" else "")
        st.session_state[f"{key}_run"] = jobs.submit(ws, ENCODE_KIND, config, title=title)
        st.rerun()


def _ray_inputs(key: str) -> tuple[str, int | None]:
    """The Ray address (default ``RAY_ADDRESS``) and, without one, the CPUs of the local Ray."""
    r1, r2 = st.columns([3, 1])
    address = r1.text_input(
        "Ray address",
        os.environ.get("RAY_ADDRESS", ""),
        key=f"{key}_ray_address",
        placeholder="ray://head:10001 (empty: a local Ray started for the run)",
    )
    if address.strip():
        return address, None
    cpus = os.cpu_count() or 1
    return address, int(r2.number_input("Local Ray CPUs", 1, cpus, min(2, cpus), key=f"{key}_ray_cpus"))


def _summary(result: dict[str, Any]) -> str:
    """What the finished job reports, in words (no paths)."""
    if result.get("cached"):
        return "the corpus was already in the shard store; nothing to encode"
    encoded = len(result.get("encoded_shards") or [])
    return (
        f"{result.get('rows_encoded', 0):,} passages in {encoded} of {result.get('shards', encoded)} shards "
        f"({result.get('skipped_shards', 0)} already done) at {result.get('passages_per_s', 0):,.1f} passages/s"
    )
