"""Strategy bundle: a Markdown strategy card (decisions, reasons, measured numbers, charts as PNG images),
the same content as JSON, and a runnable script that rebuilds the chosen pipeline with ``core``.

:func:`core.wizard.card.make_card` assembles the card data, :func:`write_bundle` writes the folder and
:func:`bundle_zip` returns it as a zip archive (for a download button).
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.wizard.card import render_markdown
from core.wizard.charts import render_charts
from core.wizard.script import SCRIPT_FILE, render_script

__all__ = ["CARD_FILE", "JSON_FILE", "bundle_zip", "write_bundle"]

CARD_FILE = "strategy_card.md"
JSON_FILE = "strategy.json"


def write_bundle(folder: Path | str, card: Mapping[str, Any]) -> dict[str, Path]:
    """Write card (Markdown), JSON, script and charts into ``folder``; returns the paths by role."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    charts = render_charts(card, folder)
    data = dict(card, charts=charts)
    paths = {
        "card": folder / CARD_FILE,
        "json": folder / JSON_FILE,
        "script": folder / SCRIPT_FILE,
    }
    paths["card"].write_text(render_markdown(card, charts), encoding="utf-8")
    paths["json"].write_text(json.dumps(data, indent=2, default=float), encoding="utf-8")
    paths["script"].write_text(render_script(card), encoding="utf-8")
    paths["script"].chmod(0o755)
    for name, rel in charts.items():
        paths[f"chart:{name}"] = folder / rel
    return paths


def bundle_zip(card: Mapping[str, Any]) -> bytes:
    """The bundle as a zip archive (in memory)."""
    with tempfile.TemporaryDirectory(prefix="esl-bundle-") as tmp:
        paths = write_bundle(Path(tmp) / "strategy", card)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in paths.values():
                zf.write(path, path.relative_to(Path(tmp)).as_posix())
        return buf.getvalue()
