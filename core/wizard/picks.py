"""What the Verify step tests for the picks of the spectrum rules (:mod:`core.wizard.spectrum_rules`): the
picked family against what it replaced, and a compressed index against its float32 first stage
(:func:`spectrum_picks`; the claims are :func:`core.wizard.claims.pick_claim`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from core.retrieval import DenseSpec, HybridSpec
from core.wizard.facts import BINARY_MAX_LOSS, INT8_MAX_LOSS

__all__ = ["spectrum_picks"]


def _ratio_text(top: Any, bottom: Any, what: str) -> str:
    return what.format(top / bottom) if top and bottom else ""


def spectrum_picks(
    rec: Mapping[str, Any], specs: dict[str, Any], recommended: str
) -> tuple[tuple[dict[str, Any], ...], list[str]]:
    """The picks of the spectrum rules to test (see :attr:`VerifyPlan.picks`); an index variant is added to
    ``specs`` as ``<first stage>:<variant>``. Returns the picks and notes."""
    a = rec.get("answers") or {}
    picks: list[dict[str, Any]] = []
    notes: list[str] = []
    bar = float(a.get("quality_bar") or 0.95)
    if recommended == "splade":
        cost = _ratio_text(
            a.get("encode_rate_splade"), a.get("encode_rate_dense"), "{:.2g}x the encode speed"
        )
        picks.append(
            {
                "claim": "first stage",
                "strategy": "splade",
                "reference": ["dense", "hybrid"],
                "bar": bar,
                "cost": "an inverted index, no vector index" + (f", {cost}" if cost else ""),
            }
        )
    elif recommended == "static":
        speed = a.get("encode_rate_static"), a.get("encode_rate_dense")
        cost = _ratio_text(speed[1], speed[0], "1/{:.0f} the encode time") or "a fraction of the encode time"
        picks.append(
            {"claim": "first stage", "strategy": "static", "reference": ["dense"], "bar": bar, "cost": cost}
        )
    variant = (rec.get("index") or {}).get("variant")
    base = specs.get(recommended)
    if variant and isinstance(base, DenseSpec | HybridSpec):
        name = f"{recommended}:{variant}"
        if isinstance(base, DenseSpec):
            specs[name] = dataclasses.replace(base, quantization=variant)
        else:
            specs[name] = dataclasses.replace(
                base, dense=dataclasses.replace(base.dense, quantization=variant)
            )
        smaller = _ratio_text(a.get("bytes_dense"), a.get(f"bytes_{variant}"), "{:.0f}x smaller index")
        picks.append(
            {
                "claim": "index",
                "strategy": name,
                "reference": [recommended],
                "max_loss": BINARY_MAX_LOSS if variant == "binary" else INT8_MAX_LOSS,
                "cost": smaller or "a smaller index",
            }
        )
        notes.append(f"The {variant} index is tested as {name} against {recommended} on float32 vectors.")
    return tuple(picks), notes
