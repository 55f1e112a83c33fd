"""Paths as a person reads them on screen: short and human (``~/.esl``, ``workspace/models/x``), the full
path only in a tooltip, and never the workspace's internal staging folders.

Pure functions (unit-tested without Streamlit): :func:`short_path` and :func:`hide_paths`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

__all__ = ["SHORT_PATH_CHARS", "hide_paths", "short_path"]

SHORT_PATH_CHARS = 32  # a path outside the home folder longer than this shows its last two parts


def _as_path(path: Any) -> Path:
    return Path(str(path)).expanduser()


def _inside(path: Path, root: Path | None) -> Path | None:
    if root is None:
        return None
    try:
        return path.relative_to(root)
    except ValueError:
        return None


def short_path(path: Any, *, workspace: Any = None, home: Any = None) -> str:
    """``path`` in a short, human form: ``workspace/<rest>`` inside the workspace folder ``workspace``,
    ``~/<rest>`` inside the user's home folder, else the path itself when it is short, or ``…/<parent>/<name>``.
    A file in a staging folder of the workspace (``tmp/<stage>/…``) is named by its file name alone."""
    p = _as_path(path)
    ws = _as_path(workspace) if workspace is not None else None
    rel = _inside(p, ws)
    if rel is not None and ws is not None:
        if rel.parts[:1] == ("tmp",):
            return p.name
        return "workspace" if not rel.parts else f"workspace/{rel.as_posix()}"
    user_home = _as_path(home) if home is not None else Path.home()
    rel = _inside(p, user_home)
    if rel is not None and user_home != Path("/"):
        return "~" if not rel.parts else f"~/{rel.as_posix()}"
    text = p.as_posix()
    if len(text) <= SHORT_PATH_CHARS or len(p.parts) <= 3:
        return text
    return "…/" + "/".join(p.parts[-2:])


def hide_paths(text: Any, *, workspace: Any) -> str:
    """``text`` (an error message, a note) with every path inside the workspace folder written as
    :func:`short_path` writes it: a file of a staging folder by its name, others as ``workspace/…``."""
    root = _as_path(workspace).as_posix().rstrip("/")
    if not root:
        return str(text)
    pattern = re.compile(re.escape(root) + r"(?![\w\-])(?:/[^\s'\",;:()\[\]]*)?")

    def shorten(match: re.Match[str]) -> str:
        found = match.group(0)
        path = found.rstrip(".")  # a full stop after the path ends the sentence
        return short_path(path, workspace=root) + found[len(path) :]

    return pattern.sub(shorten, str(text))
