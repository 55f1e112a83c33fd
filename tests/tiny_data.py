"""Tiny datasets written on the fly for loader, store, CLI and page tests."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

CORPUS = [
    {"_id": "d1", "title": "Cats", "text": "Cats purr when they are content."},
    {"_id": "d2", "title": "Dogs", "text": "Dogs bark at the postman every morning."},
    {"_id": "d3", "title": "", "text": "Birds migrate south in winter to find food."},
    {"_id": "d4", "title": "Fish", "text": "Fish breathe through their gills under water."},
]
QUERIES = [
    {"_id": "q1", "text": "why do cats purr"},
    {"_id": "q2", "text": "dogs barking"},
    {"_id": "q3", "text": "bird migration"},
]
QRELS = {
    "test": [("q1", "d1", 2), ("q1", "d2", 0), ("q2", "d2", 1)],
    "train": [("q3", "d3", 1), ("q3", "d4", 0)],
}
# a slightly larger retrieval set (6 documents, test and train judgements) for comparison tests
PETS_CORPUS = [
    {"_id": "d1", "title": "Cats", "text": "Cats purr when they are content and relaxed."},
    {"_id": "d2", "title": "Dogs", "text": "Dogs bark at the postman every morning."},
    {"_id": "d3", "title": "Birds", "text": "Birds migrate south in winter to find food."},
    {"_id": "d4", "title": "Fish", "text": "Fish breathe through their gills under water."},
    {"_id": "d5", "title": "Kittens", "text": "A kitten is a young cat that purrs a lot."},
    {"_id": "d6", "title": "Puppies", "text": "A puppy is a young dog that barks and plays."},
]
PETS_QUERIES = [
    {"_id": "q1", "text": "why do cats purr"},
    {"_id": "q2", "text": "dogs barking"},
    {"_id": "q3", "text": "bird migration in winter"},
    {"_id": "q4", "text": "how do fish breathe"},
    {"_id": "q5", "text": "young cat"},
    {"_id": "q6", "text": "young dog"},
]
PETS_QRELS = {
    "test": [("q1", "d1", 2), ("q1", "d5", 1), ("q2", "d2", 1), ("q5", "d5", 2), ("q6", "d6", 1)],
    "train": [("q3", "d3", 1), ("q4", "d4", 1), ("q4", "d1", 0)],
}
# classification: 2 labels x 10 rows
LABELED = [{"text": f"great film number {i}", "label": "pos"} for i in range(10)] + [
    {"text": f"awful film number {i}", "label": "neg"} for i in range(10)
]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_qrels_tsv(path: Path, rows: list[tuple[str, str, int]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["query-id\tcorpus-id\tscore", *(f"{q}\t{d}\t{s}" for q, d, s in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_beir(
    folder: Path,
    corpus: list[dict[str, Any]] | None = None,
    queries: list[dict[str, Any]] | None = None,
    qrels: dict[str, list[tuple[str, str, int]]] | None = None,
) -> Path:
    """A BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv."""
    write_jsonl(folder / "corpus.jsonl", CORPUS if corpus is None else corpus)
    write_jsonl(folder / "queries.jsonl", QUERIES if queries is None else queries)
    for split, rows in (QRELS if qrels is None else qrels).items():
        write_qrels_tsv(folder / "qrels" / f"{split}.tsv", rows)
    return folder


def zip_folder(folder: Path, zip_path: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(zip_path, "w") as zf:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                zf.write(file, prefix + file.relative_to(folder).as_posix())
    return zip_path


def write_frame(frame: pd.DataFrame, path: Path) -> Path:
    """Write a table as CSV, TSV, JSONL or Parquet, chosen by the suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        raise ValueError(suffix)
    return path


def write_labeled(path: Path, rows: list[dict[str, Any]] | None = None) -> Path:
    return write_frame(pd.DataFrame(LABELED if rows is None else rows), path)


def workspace_state(ws) -> tuple:
    """Everything an import could change: dataset rows and every file under datasets/ and tmp/."""
    rows = tuple(
        (r.name, r.kind, r.folder.name, json.dumps(r.summary, sort_keys=True)) for r in ws.list_datasets()
    )
    files = tuple(
        sorted(
            p.relative_to(ws.home).as_posix()
            for sub in ("datasets", "tmp")
            for p in (ws.home / sub).rglob("*")
        )
    )
    return rows, files
