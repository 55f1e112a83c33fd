"""Embedding explorer: UMAP / PCA maps of a dataset's embeddings, coloured by label, cluster, split or a
query's relevance; two models side by side (before / after) with the numbers that say what changed."""

from __future__ import annotations

import streamlit as st

from components import services
from components.explore_views import (
    figure_html,
    make_cluster_scores_figure,
    make_compare_figure,
    make_neighbourhood_figure,
    make_projection_figure,
    make_query_figure,
    metrics_table,
    neighbourhood_caption,
    neighbourhood_table,
    points_csv,
    render_metrics,
    truncate,
)
from components.job_panel import render_job_panel
from components.shell import ensure_navigation
from components.text import escape_md
from core.explore import (
    DEFAULT_MAX_POINTS,
    STRATEGIES,
    ExploreRequest,
    ProjectionSettings,
    cluster_agreement,
    default_splits,
    warm_up_in_background,
    warm_up_status,
    with_kept,
)
from core.models import list_models
from core.runtime import LabError, jobs

ensure_navigation()

NONE = "— none —"
COLOR_NAMES = {"label": "Label", "cluster": "Cluster", "split": "Split", "kept": "Neighbours kept"}

ws = services.workspace()
warm_up_in_background()  # compile UMAP's numba code while the user picks settings

st.title("Embedding explorer")
st.caption(
    "See the embedding space: do classes separate, do relevant documents sit near their queries, what did "
    "adaptation change. Maps are seeded (cosine UMAP or PCA); numbers are measured in the original space."
)

records = ws.list_datasets()
if not records:
    st.info("No datasets yet: import one on the **Datasets** page, then come back here.")
    st.stop()
by_name = {r.name: r for r in records}

# -- what to map ------------------------------------------------------------------------------------
c_data, c_model, c_cmp = st.columns(3)
name = c_data.selectbox(
    "Dataset", list(by_name), key="explore_dataset", format_func=lambda n: f"{n}  ·  {by_name[n].kind}"
)
ds = services.dataset(name)
models = [m.name for m in list_models(ws) if m.kind not in ("cross-encoder",)]
model = c_model.selectbox("Model", models, key="explore_model")
others = [m for m in models if m != model]
if st.session_state.get("explore_compare") == model:  # cannot compare a model with itself
    st.session_state["explore_compare"] = NONE
compare = c_cmp.selectbox(
    "Compare with (before / after)",
    [NONE, *others],
    key="explore_compare",
    help="A second model (e.g. an adapted one or a SetFit body) shown side by side on an aligned map",
)
compare_model = None if compare == NONE else compare

c_split, c_method, c_dims, c_max = st.columns([3, 2, 2, 2])
if ds.kind == "classification":
    splits = c_split.multiselect(
        "Splits", ds.splits, default=list(default_splits(ds)), key=f"explore_splits_{name}"
    )
else:
    split = c_split.selectbox(
        "Judgements of split",
        ds.splits,
        index=ds.splits.index(ds.default_split),
        key=f"explore_qsplit_{name}",
        help="documents judged relevant in this split are always on the map",
    )
    splits = [split]
method = c_method.radio(
    "Method", ["umap", "pca"], horizontal=True, key="explore_method", format_func=str.upper
)
dims = c_dims.radio("Dimensions", [2, 3], horizontal=True, key="explore_dims", format_func=lambda d: f"{d}-D")
max_points = int(
    c_max.number_input(
        "Max points", 10, 100_000, DEFAULT_MAX_POINTS, 500, key="explore_max", help="stratified sample"
    )
)
with st.expander("Projection settings"):
    s1, s2, s3, s4, s5 = st.columns(5)
    n_neighbors = s1.slider("UMAP neighbours", 2, 100, 15, key="explore_nn", disabled=method != "umap")
    min_dist = s2.slider(
        "UMAP min distance", 0.0, 0.99, 0.1, 0.01, key="explore_md", disabled=method != "umap"
    )
    seed = int(s3.number_input("Seed", 0, 2**31 - 1, 42, key="explore_seed"))
    knn_k = int(s4.number_input("k of k-NN numbers", 1, 100, 10, key="explore_knn"))
    align = s5.radio(
        "Before / after alignment",
        ["procrustes", "joint"],
        key="explore_align",
        help="procrustes: one map per model, the second rotated onto the first; joint: one map fitted on both "
        "(models with vectors of the same size)",
    )

if not splits:
    st.warning("Choose at least one split.")
    st.stop()
request = ExploreRequest(
    dataset=name,
    model=model,
    compare_model=compare_model,
    splits=tuple(splits),
    settings=ProjectionSettings(method, int(dims), int(n_neighbors), float(min_dist), seed),
    max_points=max_points,
    align=align,
    knn_k=knn_k,
)

# -- compute (as a job) or show -----------------------------------------------------------------------
warm = warm_up_status()
result = services.explore_result(request)
if method == "umap" and result is None:  # only while a map still has to be computed
    if warm["state"] == "ready":
        st.caption(f":material/check_circle: UMAP compiled ({warm['seconds']:.1f} s, once per process)")
    elif warm["state"] == "failed":
        st.caption(f":material/error: UMAP warm-up failed: {escape_md(warm['error'])}")
    else:
        st.caption(
            ":material/hourglass_top: Compiling UMAP in the background (once per server; from seconds with a warm "
            "compile cache to minutes on a busy machine)…"
        )

active = st.session_state.get("explore_run")
if active and active["request"] != request.to_dict():
    active = None  # settings changed: the job keeps running, its map is shown when asked for again


def _map_finished(run) -> None:  # type: ignore[no-untyped-def]
    """The projection job ended: forget it, and remember its error for these settings if it failed."""
    finished = st.session_state.pop("explore_run", None) or {}
    if run is not None and run.status == "done":
        st.session_state["explore_fresh"] = finished.get("request")
    if run is not None and run.status != "done":
        error = run.error if run.status == "failed" else f"the projection was {run.status}"
        st.session_state["explore_error"] = {"request": finished.get("request"), "error": error}


failure = st.session_state.get("explore_error")
if failure and failure["request"] == request.to_dict() and result is None:
    st.error(f"Projection failed — {escape_md(failure['error'])}")

if result is None and active is None:
    st.info(
        f"No map yet for these settings. Computing it encodes up to {max_points:,} texts (cached for next time) "
        "and projects them; it runs in the background."
    )
    if st.button("Compute map", type="primary", key="explore_compute"):
        st.session_state.pop("explore_error", None)
        run_id = jobs.submit(
            ws, "project", request.to_dict(), title=f"map of {name} ({model})", queue="project"
        )
        st.session_state["explore_run"] = {"run_id": run_id, "request": request.to_dict()}
        st.rerun()
    st.stop()
if result is None:
    render_job_panel(ws, active["run_id"], key="explore", on_done=_map_finished)
    st.stop()

# -- the map ----------------------------------------------------------------------------------------
summary = result.to_json()
names = (model, compare_model or "")
render_metrics(summary, names, key="explore_metrics")
for note in result.notes:
    st.caption(f"Note: {escape_md(note)}")

points = with_kept(ws, result).copy()  # maps stored before "kept" existed get it from the cached vectors
options = [c for c in ("label", "cluster", "split") if c == "cluster" or c in points.columns]
if result.has_compare and "kept" in points.columns:
    options.append("kept")
color = st.radio(
    "Colour by", options, horizontal=True, key="explore_color", format_func=lambda c: COLOR_NAMES.get(c, c)
)
if color == "cluster":
    k1, k2, k3 = st.columns([2, 2, 3])
    cl_method = k1.radio(
        "Clustering",
        ["kmeans", "hdbscan"],
        horizontal=True,
        key="explore_cl_method",
        format_func=lambda m: {"kmeans": "k-means (embeddings)", "hdbscan": "HDBSCAN (map)"}[m],
    )
    if cl_method == "kmeans":
        suggested = st.session_state.get(f"explore_suggested_{result.key}")
        size = int(k2.number_input("Clusters (k)", 2, 500, suggested or 10, key=f"explore_k_{result.key}"))
        if k3.button("Suggest k (silhouette)", key="explore_suggest"):
            try:
                scores = services.explore_cluster_scores(result, seed)
            except LabError as err:
                st.warning(escape_md(err))
            else:
                if len(scores):
                    st.session_state[f"explore_suggested_{result.key}"] = int(
                        scores.loc[scores["silhouette"].idxmax(), "k"]
                    )
                    st.session_state["explore_scores_for"] = result.key
                    st.session_state.pop(f"explore_k_{result.key}", None)
                    st.rerun()
        if st.session_state.get("explore_scores_for") == result.key:
            scores = services.explore_cluster_scores(result, seed)
            st.plotly_chart(make_cluster_scores_figure(scores, chosen=size), key="explore_scores_chart")
    else:
        size = int(k2.number_input("Minimum cluster size", 2, 1000, 15, key="explore_min_cluster"))
    try:
        points["cluster"] = services.explore_clusters(result, cl_method, size, seed)
    except LabError as err:
        st.warning(escape_md(err))
        color = "split"
    else:
        if "label" in points.columns:
            ids = [-1 if c == "noise" else int(c.split()[-1]) for c in points["cluster"]]
            ari = cluster_agreement(ids, points["label"].tolist())
            n_clusters = points.loc[points["cluster"] != "noise", "cluster"].nunique()
            st.caption(f"{n_clusters} clusters · agreement with the labels (adjusted Rand index): {ari:.3f}")

title = f"{result.dataset} · {result.method.upper()} · {len(points):,} of {result.total:,} points"
tab_names = ["Map"]
if result.has_compare:
    tab_names.append("Before / after")
if result.kind == "retrieval":
    tab_names.append("Query")
tabs = dict(zip(tab_names, st.tabs(tab_names), strict=True))

with tabs["Map"]:
    fig = make_projection_figure(points, color=color, title=f"{title} · {model}")
    st.plotly_chart(fig, key="explore_map")
    d1, d2, _ = st.columns([1, 1, 3])
    d1.download_button(
        "Figure (HTML)",
        lambda: figure_html(fig),
        file_name=f"{result.dataset}-{result.method}-map.html",
        mime="text/html",
        on_click="ignore",
        key="explore_dl_html",
    )
    d2.download_button(
        "Coordinates (CSV)",
        lambda: points_csv(points),
        file_name=f"{result.dataset}-{result.method}-points.csv",
        mime="text/csv",
        on_click="ignore",
        key="explore_dl_csv",
    )

if "Before / after" in tabs:
    with tabs["Before / after"]:
        st.dataframe(metrics_table(summary, names), hide_index=True, key="explore_metrics_table")
        cmp_fig = make_compare_figure(
            points,
            color=color,
            titles=(model, compare_model or ""),
            title=f"{title} · aligned by {result.request.align}",
        )
        st.plotly_chart(cmp_fig, key="explore_compare_chart")
        st.caption(
            "The maps are turned to face the same way for reading ("
            + (
                "one projection of both models' vectors"
                if result.request.align == "joint"
                else "two projections fitted separately, the second rotated onto the first by Procrustes: "
                "positions are not comparable point by point"
            )
            + "). What changed is measured on the embeddings below."
        )
        if "kept" in points.columns and st.toggle(
            "Show which neighbourhoods changed", key="explore_moves", value=False
        ):
            st.plotly_chart(make_neighbourhood_figure(points, k=request.knn_k), key="explore_move_chart")
            st.caption(neighbourhood_caption(points, k=request.knn_k))
            st.dataframe(  # whole per cents: 80 %, 82 %, never 82.25 %
                neighbourhood_table(points, k=request.knn_k).round(
                    {f"neighbours kept (of {request.knn_k})": 2}
                ),
                hide_index=True,
                key="explore_kept_table",
                column_config={
                    f"neighbours kept (of {request.knn_k})": st.column_config.ProgressColumn(
                        min_value=0.0, max_value=1.0, format="percent"
                    )
                },
            )
        st.download_button(
            "Before / after figure (HTML)",
            lambda: figure_html(cmp_fig),
            file_name=f"{result.dataset}-before-after.html",
            mime="text/html",
            on_click="ignore",
            key="explore_dl_cmp",
        )

if "Query" in tabs:
    with tabs["Query"]:
        queries = ds.split_queries(request.splits[0])
        if queries.empty:
            st.info("No judged queries in this split.")
        else:
            q_texts = dict(zip(queries["query_id"], queries["text"], strict=True))
            q1, q2, q3 = st.columns([4, 3, 1])
            qid = q1.selectbox(
                "Query",
                list(q_texts),
                key="explore_query",
                format_func=lambda q: f"{q}: {truncate(q_texts[q], 90)}",
            )
            chosen = q2.multiselect(
                "Strategies", list(STRATEGIES), default=list(STRATEGIES), key="explore_strategies"
            )
            k = int(q3.number_input("Top k", 1, 100, 10, key="explore_topk"))
            with st.spinner("Retrieving and placing the query…"):
                overlay = services.explore_overlay(result, name, qid, tuple(chosen), k)
            qfig = make_query_figure(points, overlay, color=None if color in ("label", "split") else color)
            st.plotly_chart(qfig, key="explore_query_chart")
            outside = int((~overlay.loc[overlay["role"] != "query", "in_sample"]).sum())
            if outside:
                st.caption(
                    f"{outside} marked document(s) were not in the sample and were placed like the query."
                )
            table = overlay[overlay["role"] != "query"][
                ["role", "strategy", "rank", "grade", "id", "text"]
            ].copy()
            table["text"] = table["text"].map(lambda t: truncate(t, 120))
            st.dataframe(table, hide_index=True, key="explore_overlay_table")
            st.download_button(
                "Query figure (HTML)",
                lambda: figure_html(qfig),
                file_name=f"{result.dataset}-query-{qid}.html",
                mime="text/html",
                on_click="ignore",
                key="explore_dl_query",
            )

fresh = st.session_state.get("explore_fresh") == request.to_dict()
st.caption(
    f"Computed in {result.compute_seconds:.1f} s"
    + (" just now" if fresh else " earlier · loaded from the projection cache")
)
