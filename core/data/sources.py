"""Datasets found outside the workspace: kind detection, the data folder's ready-made datasets, and
:func:`load_path`, which loads any path (BEIR folder or zip, classification table, folder of split files).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.data.datasets import Dataset
from core.data.labeled_loaders import load_classification
from core.data.retrieval_loaders import load_retrieval_beir
from core.runtime import DataImportError, get_settings, user_path_kind

__all__ = ["DataSource", "default_name", "detect_kind", "load_path", "scan_data_dir"]


def default_name(path: Path) -> str:
    """The name a dataset gets from its path: a file's stem, a folder's name."""
    return path.stem if path.suffix and user_path_kind(path) == "file" else path.name


def detect_kind(path: Path) -> str:
    """``retrieval`` for BEIR folders / zips, ``classification`` for tables or folders of split files
    (and for paths that are neither: their loader says what is wrong with them)."""
    try:
        kind = user_path_kind(path)
    except DataImportError:
        return "classification"
    if kind == "file" and path.suffix.lower() == ".zip":
        return "retrieval"
    if kind == "dir":
        if any(path.glob("corpus.*")) or (path / "qrels").is_dir() or any(path.glob("*/corpus.*")):
            return "retrieval"
        return "classification"
    return "classification"


@dataclass(frozen=True)
class DataSource:
    """A dataset found in the data folder, ready for one-click import."""

    name: str
    kind: str
    path: Path
    description: str = ""
    license: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def scan_data_dir(folder: Path | str | None = None) -> list[DataSource]:
    """List importable datasets in ``ESL_DATA_DIR`` (sub-folders in BEIR or classification layout)."""
    folder = Path(folder) if folder else get_settings().data_dir
    if not folder.is_dir():
        return []
    provenance: dict[str, Any] = {}
    prov_file = folder / "PROVENANCE.json"
    if prov_file.exists():
        try:
            provenance = json.loads(prov_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            provenance = {}
    sources = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        has_data = (
            any(sub.glob("*.jsonl"))
            or any(sub.glob("*.csv"))
            or any(sub.glob("*.parquet"))
            or any(sub.glob("*.tsv"))
        )
        if not has_data:
            continue
        info = provenance.get(sub.name, {})
        sources.append(
            DataSource(
                name=sub.name,
                kind=detect_kind(sub),
                path=sub,
                description=str(info.get("domain") or info.get("kind") or ""),
                license=str(info.get("license") or ""),
            )
        )
    for zipped in sorted(folder.glob("*.zip")):
        sources.append(DataSource(name=zipped.stem, kind="retrieval", path=zipped))
    return sources


def load_path(
    path: Path | str,
    *,
    kind: str | None = None,
    name: str | None = None,
    text_col: str | None = None,
    label_col: str | None = None,
    test_size: float = 0.2,
    seed: int = 42,
    split_col: str | None = None,
    make_split: bool = False,
    custom_splits: bool = False,
) -> Dataset:
    """Load a dataset straight from a path (no workspace needed): a BEIR folder or zip, a
    classification table, or a folder of ``train`` / ``test`` / ``validation`` tables. Split names
    other than train / validation (dev, val) / test are refused unless ``custom_splits``."""
    path = Path(path).expanduser()
    if user_path_kind(path) == "missing":
        raise DataImportError(path, "file or folder not found")
    kind = kind or detect_kind(path)
    name = name or default_name(path)
    if kind == "retrieval":
        return load_retrieval_beir(path, name=name, custom_splits=custom_splits)
    if kind == "classification":
        return load_classification(
            path,
            name=name,
            text_col=text_col,
            label_col=label_col,
            test_size=test_size,
            seed=seed,
            split_col=split_col,
            make_split=make_split,
            custom_splits=custom_splits,
        )
    raise DataImportError(path, f"unknown dataset kind {kind!r} (use retrieval or classification)")
