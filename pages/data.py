"""Data page: import datasets (data folder, uploads, a path), preview them, chart their statistics,
rename and delete them."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from components import services
from components.data_encode import render_encode_panel
from components.data_views import render_preview, render_statistics, render_summary
from components.paths import hide_paths, short_path
from components.shell import ensure_navigation
from components.text import code_md, escape_md
from core.data import (
    TableInfo,
    detect_kind,
    import_dataset,
    load_classification,
    load_path,
    load_retrieval_files,
    save_dataset,
    scan_data_dir,
    split_of_file,
    staged_files,
)
from core.runtime import InvalidInput, LabError, get_settings

ensure_navigation()

TABLE_TYPES = ["csv", "tsv", "jsonl", "json", "parquet"]
MAX_MB = max(1, math.ceil(get_settings().max_file_bytes / 2**20))  # ESL_MAX_FILE_MB for uploads too
SPLITS = ["train", "validation", "test"]

ws = services.workspace()

# state changes asked for by the previous run's actions (widgets cannot change once drawn)
if "data_select_next" in st.session_state:
    st.session_state["data_selected"] = st.session_state.pop("data_select_next")
    st.session_state["data_delete_confirm"] = False
    st.session_state["data_rename_to"] = ""


def _flash(message: str, warnings: list[str] | tuple[str, ...] = (), select: str | None = None) -> None:
    """Show ``message`` (and warnings) after the rerun that follows an action."""
    st.session_state["data_flash"] = {"success": message, "warnings": list(warnings)}
    st.session_state["data_select_next"] = select
    st.rerun()


def _run_import(action: Callable[[], tuple[Any, Any]]) -> None:
    """Run an import; bad input shows one error line, success reruns with the new dataset selected."""
    try:
        with st.spinner("Importing…"):
            record, ds = action()
    except (LabError, OSError) as err:  # files read here
        st.error(f"Import failed — {escape_md(hide_paths(err, workspace=ws.home))}")
        return
    summary = record.summary
    if record.kind == "retrieval":
        counts = (
            f"{summary['documents']:,} documents, {summary['queries']:,} queries, {summary['qrels']:,} qrels"
        )
    else:
        counts = f"{summary['rows']:,} rows, {summary['labels']:,} labels"
    _flash(
        f"Imported **{escape_md(record.name)}** ({record.kind}: {counts}).", ds.warnings, select=record.name
    )


def _name_input(key: str, default: str) -> str:
    value = st.text_input(
        "Name in the workspace",
        key=key,
        placeholder=default or "e.g. my-dataset",
        help="Leave empty for the default",
    )
    return (value or default).strip()


# --------------------------------------------------------------------------------------------------
st.title("Datasets")
st.caption(
    "Bring a **retrieval** dataset (corpus, queries, graded relevance judgements) or a **classification** "
    "dataset (texts with labels). Everything is stored in the workspace and survives restarts."
)

flash = st.session_state.pop("data_flash", None)
if flash:
    st.success(flash["success"])  # composed with the names escaped
    for warning in flash["warnings"]:
        st.warning(escape_md(warning))

records = ws.list_datasets()
by_name = {r.name: r for r in records}

if records:
    if st.session_state.get("data_selected") not in by_name:
        st.session_state["data_selected"] = records[0].name
    name = st.selectbox(
        "Dataset",
        list(by_name),
        key="data_selected",
        format_func=lambda n: f"{n}  ·  {by_name[n].kind}",
    )
    record = by_name[name]
    render_summary(record.summary)
    try:
        ds = services.dataset(name)
    except (LabError, OSError) as err:  # files gone or damaged outside the app
        st.error(
            f"Could not read the files of {escape_md(repr(name))} ({escape_md(err)}); delete it below and "
            "import it again."
        )
        ds = None
    if ds is not None and ds.warnings:
        with st.expander(f"Import warnings ({len(ds.warnings)})"):
            for warning in ds.warnings:
                st.warning(escape_md(warning))
    preview_tab, stats_tab, encode_tab, manage_tab = st.tabs(
        ["Preview", "Statistics", "Encode corpus", "Rename / delete"], key="data_view_tab", on_change="rerun"
    )
    if ds is not None:
        with preview_tab:
            render_preview(ds, key="data_preview")
        with stats_tab:
            render_statistics(services.dataset_stats(name), kind=record.kind, key="data_stats")
        with encode_tab:
            if record.kind == "retrieval":
                render_encode_panel(ws, name, key="data_encode")
            else:
                st.caption("Encoding into the shard store is for retrieval corpora.")
    with manage_tab:
        source = record.source or "upload"
        shown = source if source.startswith("upload") else short_path(source, workspace=ws.home)
        st.caption(f"Imported from {code_md(shown)}", help=None if shown == source else code_md(source))
        left, right = st.columns(2)
        with left:
            new_name = st.text_input("New name", key="data_rename_to", placeholder=name)
            if st.button("Rename", key="data_rename", disabled=not new_name.strip()):
                try:
                    ws.rename_dataset(name, new_name)
                except LabError as err:
                    st.error(escape_md(err))
                else:
                    _flash(
                        f"Renamed **{escape_md(name)}** to **{escape_md(new_name.strip())}**.",
                        select=new_name.strip(),
                    )
        with right:
            confirm = st.checkbox(
                f"Yes, delete **{escape_md(name)}** and its files", key="data_delete_confirm"
            )
            if st.button("Delete", key="data_delete", type="primary", disabled=not confirm):
                ws.delete_dataset(name)
                _flash(f"Deleted **{escape_md(name)}**.")
else:
    st.info("No datasets yet: import one below — the data folder offers ready-made ones in one click.")


# --------------------------------------------------------------------------------------------------
def _classification_options(info: TableInfo, key: str, *, from_files: bool) -> dict[str, Any] | None:
    """Column pickers and split options for a classification table; None until the user has chosen."""
    with st.expander(f"Preview of {escape_md(info.path.name)} ({info.rows:,} rows)"):
        st.dataframe(info.preview, hide_index=True, key=f"{key}_preview")
    columns = list(info.columns)
    left, right = st.columns(2)
    text_col = left.selectbox(
        "Text column",
        columns,
        index=columns.index(info.text_col) if info.text_col else None,
        placeholder="choose the column holding the text",
        key=f"{key}_text",
    )
    label_col = right.selectbox(
        "Label column (one label, or a list of labels per row)",
        columns,
        index=columns.index(info.label_col) if info.label_col else None,
        placeholder="choose the column holding the label",
        key=f"{key}_label",
    )
    split_modes = ["Make a stratified train/test split"]
    if from_files:
        split_modes.insert(0, "Use the files' splits")
    else:
        split_modes.append("Use a split column")
    default_mode = 0 if (from_files or info.split_col is None) else len(split_modes) - 1
    mode = st.radio("Splits", split_modes, index=default_mode, horizontal=True, key=f"{key}_splitmode")
    options: dict[str, Any] = {"text_col": text_col, "label_col": label_col, "make_split": False}
    if mode == "Use a split column":
        options["split_col"] = st.selectbox(
            "Split column (train / validation / test)",
            columns,
            index=columns.index(info.split_col) if info.split_col else None,
            key=f"{key}_splitcol",
        )
        if options["split_col"] is None:
            return None
    elif mode.startswith("Make"):
        options["make_split"] = True
        left, right = st.columns(2)
        options["test_size"] = left.slider(
            "Test share", 0.05, 0.5, 0.2, 0.05, key=f"{key}_testsize", help="stratified by label"
        )
        options["seed"] = int(right.number_input("Seed", 0, 2**31 - 1, 42, key=f"{key}_seed"))
    if text_col is None or label_col is None:
        st.info("Choose the text and the label columns.")
        return None
    if text_col == label_col:
        st.warning("The text and the label must be different columns.")
        return None
    return options


st.subheader("Add a dataset")
t_folder, t_zip, t_files, t_table, t_path = st.tabs(
    [
        "Data folder",
        "BEIR zip",
        "Corpus, queries, qrels files",
        "Classification table",
        "Folder or file path",
    ],
    key="data_add_tab",
    on_change="rerun",  # keeps the open tab across reruns (uploads, imports)
)

with t_folder:
    data_dir = get_settings().data_dir
    sources = scan_data_dir()
    st.caption(
        f"Ready-made datasets in {code_md(short_path(data_dir))} (set `ESL_DATA_DIR` to use another folder).",
        help=f"Full path: {code_md(data_dir)}",
    )
    if not sources:
        st.info("No datasets found there.")
    for src in sources:
        c_name, c_desc, c_btn = st.columns([2, 6, 2], vertical_alignment="center")
        c_name.markdown(f"**{escape_md(src.name)}**  \n{escape_md(src.kind)}")
        c_desc.caption(
            escape_md(" — ".join(x for x in (src.description, src.license) if x) or short_path(src.path))
        )
        imported = src.name in by_name
        if c_btn.button(
            "Imported ✓" if imported else "Import", key=f"data_src_{src.name}", disabled=imported
        ):
            _run_import(lambda src=src: import_dataset(ws, src.path, name=src.name, kind=src.kind))

with t_zip:
    st.caption("A zip holding `corpus.jsonl`, `queries.jsonl` and `qrels/<split>.tsv` (BEIR layout).")
    upload = st.file_uploader("BEIR zip", type=["zip"], key="data_zip", max_upload_size=MAX_MB)
    zip_name = _name_input("data_zip_name", Path(upload.name).stem if upload else "")
    if st.button("Import zip", key="data_zip_import", disabled=upload is None):

        def _import_zip() -> tuple[Any, Any]:
            with staged_files(ws, {upload.name: upload.getvalue()}) as paths:
                ds = load_path(paths[upload.name], kind="retrieval", name=zip_name)
            return save_dataset(ws, ds, zip_name, source=f"upload {upload.name}"), ds

        _run_import(_import_zip)

with t_files:
    st.caption(
        "Separate files in CSV, TSV, JSONL or Parquet: a corpus (`_id`/`doc_id`, optional `title`, `text`), "
        "queries (`_id`/`query_id`, `text`) and one qrels file per split (`query-id`, `corpus-id`, `score`, "
        "or TREC `qid 0 docid rel`). Graded relevance is kept."
    )
    c1, c2 = st.columns(2)
    corpus_up = c1.file_uploader("Corpus", type=TABLE_TYPES, key="data_corpus", max_upload_size=MAX_MB)
    queries_up = c2.file_uploader("Queries", type=TABLE_TYPES, key="data_queries", max_upload_size=MAX_MB)
    qrels_ups = st.file_uploader(
        "Qrels (one file per split)",
        type=[*TABLE_TYPES, "trec", "txt", "qrels"],
        accept_multiple_files=True,
        key="data_qrels",
        max_upload_size=MAX_MB,
    )
    qrels_splits = []
    for up in qrels_ups or []:
        guess = split_of_file(up.name) or "test"
        qrels_splits.append(
            st.selectbox(
                f"Split of {escape_md(up.name)}",
                SPLITS,
                index=SPLITS.index(guess),
                key=f"data_qsplit_{up.file_id}",
            )
        )
    files_name = _name_input("data_files_name", "")
    ready = bool(corpus_up and queries_up and qrels_ups and files_name)
    if st.button("Import files", key="data_files_import", disabled=not ready):

        def _import_files() -> tuple[Any, Any]:
            uploads = {f"corpus/{corpus_up.name}": corpus_up, f"queries/{queries_up.name}": queries_up}
            uploads |= {f"qrels{i}/{up.name}": up for i, up in enumerate(qrels_ups)}
            with staged_files(ws, {k: v.getvalue() for k, v in uploads.items()}) as paths:
                qrels: dict[str, Path] = {}
                for i, (up, split) in enumerate(zip(qrels_ups, qrels_splits, strict=True)):
                    if split in qrels:
                        raise InvalidInput(
                            f"two qrels files for split {split!r}; give each file its own split"
                        )
                    qrels[split] = paths[f"qrels{i}/{up.name}"]
                ds = load_retrieval_files(
                    paths[f"corpus/{corpus_up.name}"],
                    paths[f"queries/{queries_up.name}"],
                    qrels,
                    name=files_name,
                )
            source = "upload " + ", ".join(up.name for up in [corpus_up, queries_up, *qrels_ups])
            return save_dataset(ws, ds, files_name, source=source), ds

        _run_import(_import_files)

with t_table:
    st.caption(
        "A table with a text column and a label column (a list of labels makes it multi-label). Several "
        "files named train / validation / test keep their splits; otherwise a split column or a stratified, "
        "seeded split is used."
    )
    table_ups = st.file_uploader(
        "Table(s)", type=TABLE_TYPES, accept_multiple_files=True, key="data_table", max_upload_size=MAX_MB
    )
    if table_ups:
        file_splits = [split_of_file(up.name) for up in table_ups]
        if len(table_ups) > 1 and None in file_splits:
            st.error("With several files, name each after its split: train, validation (or dev) and test.")
        elif len(table_ups) > 1 and len(set(file_splits)) < len(file_splits):
            st.error("Two files name the same split.")
        else:
            first = next(
                (u for u, s in zip(table_ups, file_splits, strict=True) if s == "train"), table_ups[0]
            )
            try:
                info = services.inspect_upload(first.file_id, first.name, first.getvalue())
            except (LabError, OSError) as err:  # files read here
                st.error(escape_md(err))
                info = None
            if info is not None:
                key = "data_table_" + first.file_id
                options = _classification_options(info, key, from_files=len(table_ups) > 1)
                table_name = _name_input("data_table_name", Path(first.name).stem)
                if st.button("Import table", key="data_table_import", disabled=options is None):

                    def _import_table() -> tuple[Any, Any]:
                        uploads = {f"{i}/{up.name}": up.getvalue() for i, up in enumerate(table_ups)}
                        with staged_files(ws, uploads) as paths:
                            if len(table_ups) > 1:
                                source: Any = {
                                    split: paths[f"{i}/{up.name}"]
                                    for i, (up, split) in enumerate(zip(table_ups, file_splits, strict=True))
                                }
                            else:
                                source = paths[f"0/{table_ups[0].name}"]
                            ds = load_classification(source, name=table_name, **(options or {}))
                        names = ", ".join(up.name for up in table_ups)
                        return save_dataset(ws, ds, table_name, source=f"upload {names}"), ds

                    _run_import(_import_table)

with t_path:
    st.caption(
        "A path on this machine: a BEIR folder or zip, a classification table, or a folder of "
        "train / validation / test tables."
    )
    raw_path = st.text_input("Path", key="data_path", placeholder="/data/my-corpus")
    path = Path(raw_path.strip()).expanduser() if raw_path.strip() else None
    kind_choice = st.radio(
        "Kind", ["detect", "retrieval", "classification"], horizontal=True, key="data_path_kind"
    )
    path_options: dict[str, Any] | None = {}
    if path is not None and not path.exists():
        st.warning(f"{code_md(path)} does not exist.")
        path_options = None
    elif path is not None:
        kind = detect_kind(path) if kind_choice == "detect" else kind_choice
        if kind == "classification":
            try:
                info = services.inspect_path(str(path), path.stat().st_mtime)
            except (LabError, OSError) as err:  # files read here
                st.error(escape_md(err))
                path_options = None
            else:
                path_options = _classification_options(
                    info, "data_path_cls", from_files=bool(info.split_files)
                )
        else:
            st.caption(f"Will be read as a **{kind}** dataset.")
    path_name = _name_input("data_path_name", (path.stem if path.is_file() else path.name) if path else "")
    if st.button("Import path", key="data_path_import", disabled=path is None or path_options is None):
        kind_arg = None if kind_choice == "detect" else kind_choice
        _run_import(lambda: import_dataset(ws, path, name=path_name, kind=kind_arg, **(path_options or {})))
