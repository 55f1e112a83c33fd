"""User text shown as text (issue 15, item 6): the escaping helpers of ``components.text``, checked against
a CommonMark renderer (markdown-it-py, with GFM tables and strikethrough and raw HTML on, as Streamlit
renders with ``unsafe_allow_html``), and the figures that draw queries and names."""

from __future__ import annotations

import html
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from components.compare_figures import make_win_loss_figure
from components.compare_lists import highlight_terms
from components.text import code_md, escape_md, escape_plot, inert_md
from core.explore import hover_text, make_projection_figure, make_query_figure

EVIL = "![x](http://evil/x.png) [click](http://evil)"
HOSTILE = [
    EVIL,
    '<img src="http://evil/y.png"> <a href="http://evil">a</a> <script>alert(1)</script>',
    "**bold** _em_ *em* `code` ~~gone~~ ~x~ | a | b |",
    "# heading",
    "  - item",
    "1. item",
    "2) item",
    "> quote",
    "    indented code",
    "---",
    "www.evil.com http://evil.com https://evil.com/x?a=1 mailto:me@evil.com me@evil.com",
    ":red[red] :material/lock: :smile: $x^2$ $$y$$ \\(z\\)",
    "&lt;b&gt; &#91;x&#93; &amp;",
    "line one\n\nline two\n# three\r\n- four",
    "[ref]: http://evil",
    "<http://evil> <me@evil.com>",
    "\\[not a link\\](http://evil)",
]
MD = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
# text a renderer shows for markup-free input: what the user typed, line breaks as spaces
TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=60)


def _shown(rendered: str) -> str:
    """The text of a paragraph markdown-it rendered (no other markup allowed)."""
    body = rendered.strip()
    if not body:
        return ""
    assert body.startswith("<p>") and body.endswith("</p>"), body
    inner = body[3:-4]
    assert not re.search(r"<(?!br\s*/?>)[a-zA-Z/!?]", inner), inner  # no tag made from the text
    return html.unescape(inner)


def _expected(text: str) -> str:
    return re.sub(r"[\r\n]", " ", text).strip()


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_renders_as_the_text_itself(text):
    escaped = escape_md(text)
    assert _shown(MD.render(escaped)).strip() == _expected(text)
    assert "](" not in escaped and "<" not in escaped and "://" not in escaped and "www." not in escaped


@settings(max_examples=400, deadline=None)
@given(text=TEXT)
def test_any_text_renders_as_itself_in_markdown(text):
    assert _shown(MD.render(escape_md(text))).strip() == _expected(text)


@settings(max_examples=200, deadline=None)
@given(text=TEXT)
def test_any_text_renders_as_itself_inside_html(text):
    """The ranked lists put escaped text inside a <div> (an HTML block): the browser decodes it."""
    rendered = MD.render(f"<div class='x'><b>{escape_md(text)}</b></div>")
    inner = rendered.strip().removeprefix("<div class='x'><b>").removesuffix("</b></div>")
    assert "<" not in inner and html.unescape(inner) == re.sub(r"[\r\n]", " ", text)


def test_ordinary_text_stays_readable():
    assert escape_md("BM25 finds 3 of 10 (0.3), e.g. my_file.csv - ok? 50% / 2: fine") == (
        "BM25 finds 3 of 10 (0.3), e.g. my_file.csv - ok? 50% / 2: fine"
    )
    assert escape_md(None) == "" and escape_md(3) == "3"


@settings(max_examples=200, deadline=None)
@given(text=TEXT)
def test_code_spans_hold_any_text(text):
    rendered = MD.render(code_md(text)).strip()
    flat = re.sub(r"[\r\n]", " ", text)
    if not flat.strip():
        return
    assert rendered.startswith("<p><code>") and rendered.endswith("</code></p>"), rendered
    assert html.unescape(rendered[len("<p><code>") : -len("</code></p>")]) == flat


def test_inert_markdown_keeps_our_markup_and_drops_links():
    card = "\n".join(
        [
            f"# Embedding strategy for {EVIL}",
            "",
            f"Created by the lab · dataset **{EVIL}** · model `m`",
            "| decision | choice |",
            "|---|---|",
            "| first stage | hybrid <b>x</b> |",
            "```json",
            '{"model": "[a](b)"}',
            "```",
            "  ```",  # a fence a name opened on its own line: code until it closes
            "![img](http://evil/z.png)",
            "```",
            "www.evil.com :red[x] $y$",
        ]
    )
    out = MD.render(inert_md(card))
    assert "<a " not in out and "<img" not in out and "<b>" not in out
    assert "<h1>" in out and "<table>" in out and "<strong>" in out and "<code>m</code>" in out
    assert "{&quot;model&quot;: &quot;[a](b)&quot;}" in out  # the JSON block is shown as written


# -- figures: plotly's pseudo-HTML -------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=40))
def test_plot_text_is_decoded_back_to_the_text(text):
    shown = escape_plot(text)
    assert html.unescape(shown) == text
    assert not re.search(r"<|%\{|\[|\$", shown)


def _overlay(query: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "role": ["query", "relevant", "retrieved"],
            "strategy": ["", "", "bm25"],
            "rank": [None, None, 1],
            "grade": [None, 2, 2],
            "id": ["q1", "d<1>", "d<1>"],
            "text": [query, f"doc {EVIL}", f"doc {EVIL}"],
            "x": [0.0, 1.0, 1.0],
            "y": [0.0, 1.0, 1.0],
            "in_sample": [False, True, True],
        }
    )


@pytest.mark.parametrize("query", [EVIL, '<a href="http://evil">click</a>'])
def test_the_explore_query_chart_shows_the_query_as_text(query):
    points = pd.DataFrame({"id": ["d<1>"], "text": [EVIL], "label": ["<b>l</b>"], "x": [1.0], "y": [1.0]})
    fig = make_query_figure(points, _overlay(query))
    title = fig.layout.title.text
    assert "<a" not in title and "](http" not in title and "![" not in title
    assert html.unescape(title) == f"Query: “{query}”"
    hovers = " ".join(" ".join(t.hovertext) for t in fig.data if t.hovertext is not None)
    assert "<a " not in hovers and "](http" not in hovers and "<b>l</b>" not in hovers


def test_map_titles_legends_and_hover_show_names_as_text():
    points = pd.DataFrame(
        {"id": ["<i>d1</i>"], "text": [EVIL], "label": ['<a href="x">lab</a>'], "x": [1.0], "y": [1.0]}
    )
    fig = make_projection_figure(points, color="label", title=f"{EVIL} · <a href='x'>model</a>")
    assert "<a" not in fig.layout.title.text and "](http" not in fig.layout.title.text
    assert [t.name for t in fig.data] == ['&#60;a href="x"&#62;lab&#60;/a&#62;']
    assert "<i>" not in hover_text(points)[0] and "](http" not in hover_text(points)[0]


def test_win_loss_hover_holds_query_text_as_text():
    frame = pd.DataFrame(
        {"query_id": ["q<1>"], "query": [EVIL], "a": [1.0], "b": [0.0], "delta": [1.0], "winner": ["a"]}
    )
    fig = make_win_loss_figure(frame, "a%{y}", "b")
    assert list(fig.data[0].customdata[0]) == [escape_plot("q<1>"), escape_plot(EVIL)]
    assert "](http" not in str(fig.data[0].customdata)
    assert "%{y}" not in fig.layout.title.text and fig.data[0].name == "a&#37;{y} better"


def test_snippets_escape_markdown_and_html():
    snippet = highlight_terms(f"cats purr {EVIL} <b>x</b>", "cats")
    assert snippet.startswith("<mark>cats</mark>") and "<b>" not in snippet and "](" not in snippet
    assert html.unescape(re.sub(r"</?mark>", "", snippet)) == f"cats purr {EVIL} <b>x</b>"
