"""AppTest (issue 15, item 6): a query, documents, ids and a dataset name written with Markdown image and
link syntax show as text on the Compare page: no element the page draws holds a link or an image."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from core.data import import_dataset, load_dataset
from core.evaluate import run_comparison, save_comparison
from core.retrieval import BM25Spec, Corpus, RetrieverBuilder
from tests.tiny_data import PETS_CORPUS, PETS_QRELS, PETS_QUERIES, write_beir

pytestmark = pytest.mark.app

REPO = Path(__file__).resolve().parents[2]
EVIL = "![x](http://evil/x.png) [click](http://evil)"
NAME = "pets __bold__ me@evil.com"  # workspace names allow letters, digits, spaces and . , + @ ( ) - _
MD = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


@pytest.fixture
def hostile(tmp_path, ws) -> str:
    """A dataset whose first query is EVIL, whose documents hold EVIL and <img> tags, stored comparison."""
    queries = [dict(q) for q in PETS_QUERIES]
    queries[0]["text"] = f"{EVIL} why do cats purr"
    corpus = [dict(d) for d in PETS_CORPUS]
    corpus[0] = {
        **corpus[0],
        "title": f"Cats {EVIL}",
        "text": f"Cats purr {EVIL} <img src=http://evil/y.png>",
    }
    folder = write_beir(tmp_path / "pets", corpus=corpus, queries=queries, qrels=PETS_QRELS)
    import_dataset(ws, folder, name=NAME)
    ds = load_dataset(ws, NAME)
    builder = RetrieverBuilder(Corpus.from_dataset(ds), ws)
    rep = run_comparison(ds, "test", {"bm25": BM25Spec()}, ws=ws, k=10, builder=builder, latency_sample=1)
    save_comparison(ws, rep, title=f"Compare on {NAME}")
    return queries[0]["_id"]


def _texts(at: AppTest) -> list[str]:
    """The Markdown source of every element that renders Markdown."""
    kinds = ("markdown", "caption", "info", "warning", "error", "success", "subheader", "title")
    return [e.value for kind in kinds for e in at.get(kind)]


def test_the_compare_page_shows_queries_documents_and_names_as_text(hostile):
    at = AppTest.from_file(str(REPO / "pages" / "compare.py"), default_timeout=180).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="cmp_rl_qid").value == hostile
    texts = _texts(at)
    rendered = [MD.render(t) for t in texts]
    assert not [r for r in rendered if re.search(r"<(a|img)\b", r)], "a link or image was rendered"
    joined = " ".join(texts)
    assert "](http" not in joined and "<img" not in joined
    assert "__bold__" not in joined and "@evil" not in joined  # no emphasis, no e-mail autolink (GFM)
    # the query heading of the ranked lists shows the query as written
    heading = next(t for t in texts if t.startswith(f"**{hostile}**"))
    assert html.unescape(re.sub(r"<[^>]+>", "", MD.render(heading))).strip() == (
        f"{hostile}: {EVIL} why do cats purr"
    )
    # the ranked list shows the document's title and text, escaped, and highlights the query's terms
    snippets = [html.unescape(re.sub(r"</?mark>", "", t)) for t in texts if "<mark>" in t]
    assert snippets and any(f"Cats purr {EVIL} <img src=http://evil/y.png>" in s for s in snippets)
    # the dataset name in the caption over the results
    assert any(NAME in html.unescape(t) for t in texts)
