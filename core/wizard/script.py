"""The runnable script of the strategy bundle: :func:`render_script` fills one of two template files
(``templates/retrieval.py.tmpl``, ``templates/classification.py.tmpl``) from a card.

Every value of the card reaches the script as data, never as code: the templates hold one placeholder for
a JSON document (``BUNDLE = json.loads(<literal>)``, the literal being the ``repr`` of pure-ASCII JSON) and
three placeholders in the docstring that describe the pipeline through JSON-escaped text (no quote, newline
or backslash of the value survives unescaped). A dataset named ``\"\"\"; __import__('os').system(...)``
therefore changes what the script prints, never what it does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

from core.runtime import REPO_ROOT

__all__ = ["SCRIPT_FILE", "TEMPLATES", "bundle_data", "render_script"]

SCRIPT_FILE = "rebuild_pipeline.py"
TEMPLATES = {"retrieval": "retrieval.py.tmpl", "classification": "classification.py.tmpl"}
_PLACEHOLDER = re.compile(r"@@([A-Z]+)@@")


def _template(task: str) -> str:
    return resources.files("core.wizard").joinpath("templates", TEMPLATES[task]).read_text(encoding="utf-8")


def _doc_text(value: Any) -> str:
    """``value`` as text that is safe inside a ``\"\"\"`` docstring: its JSON string (ASCII only: quotes,
    newlines and control characters escaped), with every backslash doubled so the docstring shows the
    JSON text as it is (and no quote is ever next to another)."""
    return json.dumps(str(value), ensure_ascii=True).replace("\\", "\\\\")


def bundle_data(card: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON document the script is made with: pipeline, strategy, dataset, creation time, repository,
    and for a classifier the methods and the default examples per class."""
    rec = card["recommendation"]
    data: dict[str, Any] = {
        "pipeline": card["pipeline"],
        "strategy": rec["strategy"],
        "dataset": card["dataset"],
        "created": card["created"],
        "repo": str(REPO_ROOT),
    }
    if card["pipeline"].get("task") == "classification":
        method = {"setfit": "setfit", "zero-shot": "zeroshot"}.get(rec.get("classifier") or "", "logreg")
        lpc = int((rec.get("answers") or {}).get("labels_per_class") or 8)
        data["methods"] = list(dict.fromkeys([method, "logreg"]))
        data["n_per_class"] = max(2, min(lpc, 64))
    return data


def render_script(card: Mapping[str, Any]) -> str:
    """The rebuild script for the card's pipeline."""
    data = bundle_data(card)
    task = "classification" if card["pipeline"].get("task") == "classification" else "retrieval"
    fields = {
        # repr of an ASCII-only JSON text: a Python string literal whatever the values hold
        "BUNDLE": repr(json.dumps(data, ensure_ascii=True)),
        "STRATEGY": _doc_text(data["strategy"]),
        "CREATED": _doc_text(data["created"]),
        "DATASET": _doc_text(data["dataset"]),
    }
    # one pass: a value is never searched for placeholders itself
    return _PLACEHOLDER.sub(lambda m: fields[m.group(1)], _template(task))
