"""Small, deterministic slices of the shared SciFact data for integration tests of training code."""

from __future__ import annotations

import json
import random
from pathlib import Path

from tests.tiny_data import write_jsonl, write_qrels_tsv


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _read_qrels(path: Path) -> list[tuple[str, str, int]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        q, d, s = line.split("\t")
        rows.append((q, d, int(s)))
    return rows


def write_scifact_slice(
    data_dir: Path, out: Path, *, train: int = 40, test: int = 20, extra_docs: int = 160, seed: int = 0
) -> Path:
    """A BEIR folder with ``train`` / ``test`` queries of SciFact, their judged documents and
    ``extra_docs`` other documents (fixed by ``seed``)."""
    src = data_dir / "scifact"
    rng = random.Random(seed)
    qrels = {split: _read_qrels(src / "qrels" / f"{split}.tsv") for split in ("train", "test")}
    keep_q: dict[str, set[str]] = {}
    for split, n in (("train", train), ("test", test)):
        qids = sorted({q for q, _, _ in qrels[split]})
        keep_q[split] = set(rng.sample(qids, n))
    rows = {s: [r for r in qrels[s] if r[0] in keep_q[s]] for s in qrels}
    judged = {d for s in rows for _, d, _ in rows[s]}
    corpus = _read_jsonl(src / "corpus.jsonl")
    others = [c for c in corpus if c["_id"] not in judged]
    chosen = {c["_id"] for c in rng.sample(others, extra_docs)} | judged
    queries = [q for q in _read_jsonl(src / "queries.jsonl") if q["_id"] in keep_q["train"] | keep_q["test"]]
    write_jsonl(out / "corpus.jsonl", [c for c in corpus if c["_id"] in chosen])
    write_jsonl(out / "queries.jsonl", queries)
    for split, r in rows.items():
        write_qrels_tsv(out / "qrels" / f"{split}.tsv", r)
    return out
