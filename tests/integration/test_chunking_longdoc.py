"""Chunking with the real all-MiniLM-L6-v2 tokenizer on a few full meeting transcripts of qmsum_longdoc:
passages follow the model's own tokens and never exceed the window; a BM25 comparison on passages through
the CLI loads the tokenizer only, no model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.data import ChunkSpec, chunk_corpus, length_stats
from core.retrieval import load_tokenizer
from core.runtime import InvalidInput

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
DOCS = 4


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("all-MiniLM-L6-v2")


@pytest.fixture(scope="module")
def meetings(data_dir: Path) -> list[dict]:
    folder = data_dir / "qmsum_longdoc"
    if not folder.is_dir():
        pytest.skip("qmsum_longdoc is not in the shared data folder")
    with open(folder / "corpus.jsonl", encoding="utf-8") as f:
        return [json.loads(next(f)) for _ in range(DOCS)]


def _ids_and_offsets(tokenizer, text: str) -> tuple[list[int], np.ndarray]:
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    return enc["input_ids"], np.asarray(enc["offset_mapping"]).reshape(-1, 2)


@pytest.mark.parametrize("spec", [ChunkSpec(128, 32), ChunkSpec(256, 64), ChunkSpec(256, 64, sentences=True)])
def test_passages_are_windows_of_the_models_tokens(tokenizer, meetings, spec):
    texts = [m["text"] for m in meetings]
    p = chunk_corpus([m["_id"] for m in meetings], texts, tokenizer, spec)
    assert set(p.doc_index.tolist()) == set(range(DOCS))
    for d, text in enumerate(texts):
        ids, offsets = _ids_and_offsets(tokenizer, text)
        rows = np.flatnonzero(p.doc_index == d)
        assert len(rows) >= len(ids) / (spec.window - 2)  # the whole document is cut, not its start
        prev_stop = None
        for i in rows:
            inside = np.flatnonzero((offsets[:, 0] >= p.start[i]) & (offsets[:, 1] <= p.end[i]))
            start, stop = int(inside[0]), int(inside[-1]) + 1
            passage_ids, _ = _ids_and_offsets(tokenizer, p.texts[i])
            assert passage_ids == ids[start:stop]  # the passage re-tokenizes into the document's tokens
            assert len(passage_ids) + 2 <= spec.window  # [CLS] and [SEP] included
            if prev_stop is not None:
                assert 0 <= prev_stop - start <= spec.overlap  # overlap, never a gap
                assert spec.sentences or prev_stop - start >= spec.overlap - 8
            prev_stop = stop
        assert prev_stop == len(ids)  # up to the last token


def test_sentences_cut_transcripts_at_the_end_of_a_turn(tokenizer, meetings):
    spec = ChunkSpec(256, 64, sentences=True)
    p = chunk_corpus([m["_id"] for m in meetings], [m["text"] for m in meetings], tokenizer, spec)
    text_of = {m["_id"]: m["text"] for m in meetings}
    ends = [text_of[p.doc_of(i)][p.end[i] :][:1] for i in range(len(p))]
    at_turn_or_stop = [e in ("\n", "") or p.texts[i].rstrip()[-1:] in ".?!" for i, e in enumerate(ends)]
    assert np.mean(at_turn_or_stop) > 0.95


def test_length_stats_of_long_transcripts(tokenizer, meetings):
    stats = length_stats([m["text"] for m in meetings], tokenizer, window=256, spec=ChunkSpec(256, 64))
    assert stats.checked == DOCS and min(stats.tokens) > 512
    assert stats.share_docs_beyond == 1.0 and stats.share_text_beyond > 0.9
    assert stats.passages_mean > 10


def test_bm25_on_passages_from_the_cli_loads_no_model(meetings, tmp_path):
    folder = tmp_path / "slice"
    (folder / "qrels").mkdir(parents=True)
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as f:
        for m in meetings:
            f.write(json.dumps(m) + "\n")
    # one query per meeting, about a sentence in the second half of its transcript
    queries = []
    for i, m in enumerate(meetings):
        lines = [line for line in m["text"].split("\n") if len(line.split()) > 12]
        queries.append(
            {"_id": f"q{i}", "text": " ".join(lines[int(len(lines) * 0.8)].split(":", 1)[1].split()[:12])}
        )
    with open(folder / "queries.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(q) + "\n" for q in queries)
    rows = [f"q{i}\t{m['_id']}\t1" for i, m in enumerate(meetings)]
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(rows) + "\n")
    code = (
        "import json, sys\n"
        "from core.cli import main\n"
        f"rc = main(['evaluate', '--dataset', {str(folder)!r}, '--strategies', 'bm25,bm25@256,bm25@256/64',"
        " '--chunk-sentences', '--json'])\n"
        "print(json.dumps({'rc': rc, 'st': 'sentence_transformers' in sys.modules}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    report, flags = json.loads("\n".join(lines[:-1])), json.loads(lines[-1])
    assert flags == {"rc": 0, "st": False}
    assert set(report["strategies"]) == {"bm25", "bm25@256", "bm25@256/64"}
    scores = {n: s["ndcg@10"] for n, s in report["strategies"].items()}
    assert scores["bm25@256/64"] >= scores["bm25@256"]


def test_a_model_folder_without_tokenizer_files_is_refused(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(InvalidInput, match="no tokenizer files"):
        load_tokenizer(str(tmp_path))
