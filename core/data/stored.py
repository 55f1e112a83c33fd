"""Datasets in the workspace: save (atomic), import from a path, staged uploads, load by name, resolve
a name or a path, and clean-up of what crashed imports left behind.

Importing a retrieval dataset from a path streams it: the corpus is validated and written to Parquet
batch by batch in a staging folder, then moved into place with its row (:func:`import_path`), so a corpus
of millions of documents never sits in memory as text, rows and frames at once.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from core.data.datasets import Dataset, LabeledDataset, RetrievalDataset, dataset_summary
from core.data.retrieval_loaders import write_retrieval_beir
from core.data.sources import default_name, detect_kind, load_path, scan_data_dir
from core.runtime import DataImportError, DatasetRecord, StoreError, Workspace, user_path_kind

__all__ = [
    "cleanup_stale_files",
    "import_dataset",
    "import_path",
    "load_dataset",
    "resolve_dataset",
    "save_dataset",
    "staged_files",
]


def _write_files(ds: Dataset) -> Callable[[Path], None]:
    """The function that writes ``ds`` into a (staging) folder: Parquet files and ``meta.json``."""

    def write(folder: Path) -> None:
        if isinstance(ds, RetrievalDataset):
            ds.corpus.to_parquet(folder / "corpus.parquet", index=False)
            ds.queries.to_parquet(folder / "queries.parquet", index=False)
            ds.qrels.to_parquet(folder / "qrels.parquet", index=False)
            meta = {"kind": ds.kind, "warnings": list(ds.warnings)}
        else:
            ds.data.to_parquet(folder / "data.parquet", index=False)
            meta = {
                "kind": ds.kind,
                "label_names": list(ds.label_names),
                "multi_label": ds.multi_label,
                "warnings": list(ds.warnings),
            }
        _write_meta(folder, meta)

    return write


def _write_meta(folder: Path, meta: dict[str, Any]) -> None:
    (folder / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")


def save_dataset(
    ws: Workspace, ds: Dataset, name: str | None = None, source: str | None = None
) -> DatasetRecord:
    """Store a loaded dataset in the workspace under ``name`` (atomic)."""
    name = name or ds.name
    summary = dataset_summary(ds) | {"name": name}
    return ws.add_dataset(name, ds.kind, _write_files(ds), summary, source=source)


@contextlib.contextmanager
def staged_files(ws: Workspace, files: Mapping[str, bytes]) -> Iterator[dict[str, Path]]:
    """Write uploaded files (original name → bytes) into a staging folder of the workspace and yield
    their paths by name; the folder is removed afterwards, whatever happens."""
    stage = ws.staging_dir()
    try:
        paths: dict[str, Path] = {}
        for i, (original, data) in enumerate(files.items()):
            safe = _safe_file_name(str(original)) or f"upload-{i}"
            target = stage / str(i) / safe
            target.parent.mkdir()
            target.write_bytes(data)
            paths[original] = target
        yield paths
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _safe_file_name(original: str) -> str:
    """The last part of an uploaded file's name, without control characters, at most 200 characters."""
    name = re.sub(r"[\x00-\x1f\x7f]", "", Path(original.replace("\\", "/")).name)
    if len(name.encode("utf-8")) > 200:
        suffix = Path(name).suffix[:20]
        name = name.encode("utf-8")[: 200 - len(suffix.encode("utf-8"))].decode("utf-8", "ignore") + suffix
    return "" if name in (".", "..") else name


def _stream_retrieval(
    ws: Workspace, path: Path, name: str, custom_splits: bool
) -> tuple[DatasetRecord, tuple[str, ...]]:
    """Stream a BEIR folder or zip into a staging folder, then store it with its row (atomic)."""
    name = ws.check_name(name, "dataset name")
    if ws.get_dataset(name) is not None:
        raise StoreError(f"A dataset named {name!r} already exists; choose another name or delete it first.")
    stage = ws.staging_dir()
    try:
        out = stage / "out"
        out.mkdir()
        summary, warnings = write_retrieval_beir(
            path, out, scratch=stage / "unpacked", name=name, custom_splits=custom_splits
        )
        _write_meta(out, {"kind": "retrieval", "warnings": list(warnings)})

        def move(folder: Path) -> None:
            for file in out.iterdir():
                os.replace(file, folder / file.name)

        source = str(path.resolve())
        return ws.add_dataset(name, "retrieval", move, summary | {"name": name}, source=source), warnings
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def import_path(
    ws: Workspace, path: Path | str, *, name: str | None = None, **options: Any
) -> tuple[DatasetRecord, tuple[str, ...]]:
    """Import ``path`` into the workspace and return its record and the warnings; nothing is stored if
    any check fails. Retrieval datasets stream (one batch of rows in memory at a time); labelled tables
    are loaded, split, then saved. ``options`` are those of :func:`~core.data.load_path`."""
    record, warnings, _ = _import(ws, Path(path).expanduser(), name, options)
    return record, warnings


def _import(
    ws: Workspace, path: Path, name: str | None, options: dict[str, Any]
) -> tuple[DatasetRecord, tuple[str, ...], Dataset | None]:
    if user_path_kind(path) == "missing":
        raise DataImportError(path, "file or folder not found")
    options = dict(options)
    kind = options.pop("kind", None) or detect_kind(path)
    if kind == "retrieval":
        custom = bool(options.get("custom_splits"))
        record, warnings = _stream_retrieval(ws, path, name or default_name(path), custom)
        return record, warnings, None
    ds = load_path(path, kind=kind, name=name, **options)
    record = save_dataset(ws, ds, name or ds.name, source=str(path.resolve()))
    return record, ds.warnings, ds


def import_dataset(
    ws: Workspace, path: Path | str, *, name: str | None = None, **options: Any
) -> tuple[DatasetRecord, Dataset]:
    """Import ``path`` (as :func:`import_path`) and return its record and the dataset (a retrieval
    dataset is read back from the workspace)."""
    record, _, ds = _import(ws, Path(path).expanduser(), name, options)
    return record, ds if ds is not None else load_dataset(ws, record.name)


@functools.lru_cache(maxsize=16)
def _load_stored(folder: str, name: str, mtime: float) -> Dataset:
    path = Path(folder)
    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    if meta["kind"] == "retrieval":
        return RetrievalDataset(
            name,
            pd.read_parquet(path / "corpus.parquet"),
            pd.read_parquet(path / "queries.parquet"),
            pd.read_parquet(path / "qrels.parquet"),
            tuple(meta.get("warnings", [])),
        )
    data = pd.read_parquet(path / "data.parquet")
    if meta.get("multi_label"):
        data["labels"] = [list(v) for v in data["labels"]]
    return LabeledDataset(
        name, data, tuple(meta["label_names"]), bool(meta.get("multi_label")), tuple(meta.get("warnings", []))
    )


def load_dataset(ws: Workspace, name: str) -> Dataset:
    """Load a stored dataset by name."""
    record = ws.get_dataset(name)
    if record is None:
        known = ", ".join(r.name for r in ws.list_datasets()) or "none yet"
        raise StoreError(f"No dataset named {name!r} in the workspace (known: {known}).")
    try:
        return _load_stored(str(record.folder), record.name, (record.folder / "meta.json").stat().st_mtime)
    except (OSError, ValueError, KeyError, TypeError) as err:  # files gone or damaged outside the app
        raise StoreError(
            f"Dataset {name!r} cannot be read from {record.folder}: {type(err).__name__}: {err}"
        ) from err


def resolve_dataset(ws: Workspace, name_or_path: str, **options: Any) -> Dataset:
    """A stored dataset by name, else a dataset loaded from a path (not imported), else a data-folder name."""
    if ws.get_dataset(name_or_path) is not None:
        return load_dataset(ws, name_or_path)
    path = Path(name_or_path).expanduser()
    if path.exists():
        return load_path(path, **options)
    for source in scan_data_dir():
        if source.name == name_or_path:
            return load_path(source.path, kind=source.kind, **options)
    raise StoreError(
        f"{name_or_path!r} is neither a dataset in the workspace nor an existing path "
        "(import it with `python -m core datasets import PATH`)."
    )


def cleanup_stale_files(ws: Workspace) -> None:
    """Remove staging leftovers of crashed imports (dataset folders never recorded are invisible anyway)."""
    ws.cleanup_staging()

    known = {r.folder.name for r in ws.list_datasets()}
    for folder in (ws.home / "datasets").iterdir():
        if folder.name not in known and folder.is_dir() and time.time() - folder.stat().st_mtime > 3600:
            shutil.rmtree(folder, ignore_errors=True)
