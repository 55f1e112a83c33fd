"""User text shown as text.

Queries, documents, labels, ids, dataset and model names, notes and error messages are data: wherever the
app shows them, Streamlit renders Markdown (``st.markdown``, captions, alerts, widget labels, tabs,
expanders, help texts, toasts) or plotly renders its pseudo-HTML (titles, hover, legends). Without
escaping, ``![x](http://evil/x.png)`` in a query makes the page fetch a remote image and
``[click](http://evil)`` shows an arbitrary link.

- :func:`escape_md` — for everything Streamlit renders as Markdown, in plain Markdown and inside HTML
  (``unsafe_allow_html``) alike;
- :func:`code_md` — the same text as inline code (paths, ids, file names), whatever backticks it holds;
- :func:`inert_md` — Markdown the app composed with user text inside (a strategy card): its headings,
  tables, emphasis and code stay, no link, image, raw HTML, autolink, math or directive is left;
- :func:`escape_plot` — for plotly text (the same helper the figure builders of ``core.explore`` use).
"""

from __future__ import annotations

import re
from typing import Any

from core.explore import plot_text

__all__ = ["MD_SPECIAL", "code_md", "escape_md", "escape_plot", "inert_md"]

# characters Markdown gives a meaning wherever they stand: emphasis and code (* `), links and images, and
# Streamlit's :red[...] directives ([ ]), raw HTML and autolinks (< >), character references (&), tables (|),
# strikethrough (~), math ($), headings (#), and the backslash that escapes them
MD_SPECIAL = frozenset("\\`*[]<>|~$&#")
_LIST_START = re.compile(r"[-+=]|\d{1,9}[.)]")  # a list item or setext line when it starts a line


def escape_md(text: Any) -> str:
    """``text`` as it is, wherever Streamlit renders Markdown, in plain Markdown and inside HTML
    (``unsafe_allow_html``) alike: the characters of :data:`MD_SPECIAL` become numeric character
    references (``[`` → ``&#91;``: Markdown and HTML both show ``[`` and neither reads it as syntax), and so
    do the characters that only mean something in context — ``_`` unless inside a word (emphasis), ``:``
    and ``@`` before a non-space (links
    ``http://…``, e-mail autolinks, ``:emoji:`` and ``:material/…:`` icons), the ``.`` of ``www.`` (GFM
    autolinks), and a leading ``-``, ``+``, ``=`` or the ``.`` / ``)`` of ``1.`` (lists); line breaks become
    spaces (one paragraph, an HTML block is never cut) and leading spaces or tabs references (no code
    block). Ordinary punctuation (``. , - ( ) ! ? / %``) stays as it is. ``None`` is ``""``."""
    text = re.sub(r"[\r\n]", " ", "" if text is None else str(text))
    body = text.lstrip(" \t")
    lead = len(text) - len(body)
    start = _LIST_START.match(body)
    marker = lead + start.end() - 1 if start else -1  # the one character that makes a list
    out = []
    for i, c in enumerate(text):
        nxt = text[i + 1] if i + 1 < len(text) else " "
        if (
            i < lead
            or i == marker
            or c in MD_SPECIAL
            or (c == "_" and not (i > 0 and text[i - 1].isalnum() and nxt.isalnum()))
            or (c in ":@" and not nxt.isspace())
            or (c == "." and text[max(0, i - 3) : i].lower() == "www")
        ):
            out.append(f"&#{ord(c)};")
        else:
            out.append(c)
    return "".join(out)


def code_md(text: Any) -> str:
    """``text`` as a Markdown code span (shown in a monospace font, nothing inside read as Markdown):
    fenced by one backtick more than its longest run of backticks, padded with a space when it starts or
    ends with one, line breaks as spaces. Empty text is ``""``."""
    text = "" if text is None else re.sub(r"[\r\n]", " ", str(text))
    if not text.strip():
        return escape_md(text)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    return f"{fence}{pad}{text}{pad}{fence}"


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_LINK_LIKE = re.compile(r"[\[\]<$]|[:@](?=\S)|(?<=www)\.", re.IGNORECASE)


def inert_md(markdown: str) -> str:
    """``markdown`` with every character that could make a link, an image, raw HTML, an autolink, math or
    a Streamlit directive (``[ ] < $``, ``:`` and ``@`` before a non-space, the ``.`` of ``www.``) written as
    a character reference — outside fenced code blocks, which CommonMark shows as they are (fences are
    found by its own rules, so a fence a user's text opens or closes is seen alike here and there). The
    rest of the Markdown (headings, tables, emphasis, lists, inline code) renders as before."""
    out, fence = [], None
    for line in markdown.splitlines():
        found = _FENCE.match(line)
        if fence is None and found and not (found.group(1)[0] == "`" and "`" in found.group(2)):
            fence = found.group(1)  # an opening fence (a backtick fence's info string has no backtick)
            out.append(line)
            continue
        if fence is not None:
            closing = found and found.group(1)[0] == fence[0] and len(found.group(1)) >= len(fence)
            if closing and not found.group(2).strip():
                fence = None
            out.append(line)
            continue
        out.append(_LINK_LIKE.sub(lambda m: f"&#{ord(m.group())};", line))
    return "\n".join(out)


def escape_plot(text: Any) -> str:
    """``text`` as it is in a plotly title, hover text, legend or annotation (see
    :func:`core.explore.plot_text`)."""
    return plot_text(text)
