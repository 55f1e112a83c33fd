"""BM25 indexes saved in the workspace and reused with identical scores; the index store under hostile
conditions (damaged files, a writer killed with SIGKILL midway)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from core.evaluate import run_comparison
from core.retrieval import BM25Retriever, BM25Spec, Corpus, HybridSpec, IndexStore
from tests.unit.test_retrieval_core import _builder, tiny  # noqa: F401  (fixture)

REPO = Path(__file__).resolve().parents[2]
TEXTS = [
    "the cat sat on the mat",
    "dogs chase cats in the park",
    "stock markets fell sharply on monday",
    "the central bank raised interest rates",
    "a kitten is a young cat",
    "Zürich banks report record profits",
]
QUERIES = ["young cat", "interest rates bank", "markets", "unseen words only", "Zürich", "cats and dogs"]


def _corpus() -> Corpus:
    return Corpus.from_texts([f"d{i}" for i in range(len(TEXTS))], TEXTS)


def _bm25_dirs(store: IndexStore) -> list[Path]:
    return sorted(store.folder.glob("*.bm25"))


@pytest.mark.parametrize("spec", [BM25Spec(), BM25Spec(stemmer=None, stopwords=None, k1=0.9, method="bm25+")])
def test_a_saved_bm25_index_loads_with_identical_scores(ws, spec):
    corpus = _corpus()
    built = BM25Retriever(corpus, spec, store=IndexStore(ws))
    loaded = BM25Retriever(corpus, spec, store=IndexStore(ws))
    assert not built.index_loaded and loaded.index_loaded
    assert loaded.built_s == pytest.approx(built.built_s)
    for q in QUERIES:
        assert np.array_equal(built.scores(q), loaded.scores(q))
    assert built.search(QUERIES, 4) == loaded.search(QUERIES, 4)
    extra, notes = loaded.describe_index()
    assert extra["bm25_index_loaded"] is True and "loaded from the workspace" in notes[0]
    extra, notes = built.describe_index()
    assert (extra["bm25_index_loaded"], extra["bm25_built_s"], notes) == (False, built.built_s, [])
    assert extra["bm25_index_bytes"] > 0 and extra["bm25_documents"] == len(corpus)  # its size (spectrum)


def test_other_settings_or_another_corpus_get_another_bm25_index(ws):
    store = IndexStore(ws)
    BM25Retriever(_corpus(), BM25Spec(), store=store)
    BM25Retriever(_corpus(), BM25Spec(k1=2.0), store=store)
    BM25Retriever(Corpus.from_texts(["a", "b"], ["one text", "another text"]), BM25Spec(), store=store)
    assert len(_bm25_dirs(store)) == 3 and store.loads == 0


@pytest.mark.parametrize("damage", ["truncate", "delete-file", "extra-file", "no-manifest"])
def test_a_damaged_bm25_index_is_rebuilt(ws, damage):
    store, corpus = IndexStore(ws), _corpus()
    good = BM25Retriever(corpus, BM25Spec(), store=store)
    (folder,) = _bm25_dirs(store)
    data = folder / "data.csc.index.npy"
    if damage == "truncate":
        data.write_bytes(data.read_bytes()[:40])
    elif damage == "delete-file":
        (folder / "vocab.tokenizer.json").unlink()
    elif damage == "extra-file":
        (folder / "stray.txt").write_text("?")
    else:
        Path(f"{folder}.json").unlink()
    again = BM25Retriever(corpus, BM25Spec(), store=store)
    assert not again.index_loaded and store.discarded == 1
    assert again.search(QUERIES, 4) == good.search(QUERIES, 4)
    assert BM25Retriever(corpus, BM25Spec(), store=store).index_loaded


def test_a_comparison_says_when_its_bm25_index_was_loaded(tiny, fake_encoder, ws):  # noqa: F811
    specs = {"bm25": BM25Spec(), "hybrid": HybridSpec()}

    def run():
        builder = _builder(tiny, fake_encoder, ws)
        return run_comparison(tiny, "test", specs, ws=ws, k=5, builder=builder, latency_sample=2)

    first, second = run(), run()
    assert first.strategies["bm25"].extra["bm25_index_loaded"] is False
    assert first.strategies["bm25"].notes == []
    for name in specs:
        res = second.strategies[name]
        assert res.extra["bm25_index_loaded"] is True
        assert any("BM25 index loaded" in n for n in res.notes)
        assert res.metrics == first.strategies[name].metrics
    assert second.strategies["hybrid"].extra["index"] == "exact"  # its dense side: small, exact, rebuilt


_KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from core.retrieval import IndexStore

store = IndexStore(Path(sys.argv[1]))
def write(path):
    Path(path).write_bytes(b"half an index")
    os.kill(os.getpid(), signal.SIGKILL)  # killed midway through the write
store.save(sys.argv[2], "faiss", write, {})
"""


@pytest.mark.parametrize("folder", [False, True])
def test_a_writer_killed_midway_leaves_no_entry_and_its_leftovers_are_cleaned(tmp_path, folder):
    tmp_path = tmp_path / "indexes"
    script = (
        _KILLED_WRITER
        if not folder
        else _KILLED_WRITER.replace(
            'Path(path).write_bytes(b"half an index")', '(Path(path) / "data.npy").write_bytes(b"half")'
        )
        .replace("write, {})", "write, {}, folder=True)")
        .replace('"faiss"', '"bm25"')
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), str(tmp_path), "k1"], env=env, cwd=REPO
    )
    assert proc.returncode == -signal.SIGKILL
    suffix = "bm25" if folder else "faiss"
    store = IndexStore(tmp_path)  # a fresh process: only leftovers younger than an hour are kept
    assert not store.path("k1", suffix).exists()
    assert store.load("k1", suffix, lambda p: p.read_bytes()) is None
    assert len(list(tmp_path.glob(".*"))) == 1  # the killed writer's temporary file
    assert store.cleanup(older_than_s=0) == 1
    assert list(tmp_path.iterdir()) == []
    assert store.save("k1", suffix, lambda p: _write(p, folder), {"built_s": 1.0}, folder=folder) is not None
    value, meta = store.load("k1", suffix, lambda p: p.exists())
    assert value is True and meta == {"built_s": 1.0}


def _write(path: Path, folder: bool) -> None:
    if folder:
        (path / "data.npy").write_bytes(b"whole")
    else:
        path.write_bytes(b"whole")
