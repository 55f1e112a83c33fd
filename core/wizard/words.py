"""The wizard's decisions and measurements in words, for the page and the CLI alike (never a Python list,
dict or repr): :func:`decision_words` and :func:`spectrum_rows` (the measured first-stage spectrum, one row
per family)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.wizard.questions import SPECTRUM_FAMILIES
from core.wizard.recommendation import ADAPTATION_NAMES, FIRST_STAGE_NAMES, INDEX_VARIANT_NAMES, human_list

__all__ = ["decision_words", "spectrum_rows"]

_RATE_OF = {"dense": "dense", "hybrid": "dense", "splade": "splade", "static": "static", "int8": "dense"}
_RATE_OF |= {"binary": "dense", "static_rescore": "dense"}  # rescoring needs the transformer's corpus vectors
_BYTES_OF = {"dense": "dense", "int8": "int8", "binary": "binary", "splade": "splade"}


def decision_words(name: str, value: Any) -> str:
    """One decision in words: ``cross-encoder on the top 50 (not available here)``, ``TSDAE, then
    contrastive fine-tuning with hard negatives (bm25 mined negatives)``, ``binary index with float
    rescoring, exact search, 384-d, cosine``; ``—`` when there is none."""
    if value in (None, "", [], {}):
        return "—"
    if name in ("first_stage", "first stage") and isinstance(value, str):
        return FIRST_STAGE_NAMES.get(value, value)
    if name == "reranker" and isinstance(value, dict):
        where = "all documents" if value.get("top_k") is None else f"the top {value['top_k']}"
        return f"cross-encoder on {where}" + ("" if value.get("available") else " (not available here)")
    if name == "adaptation" and isinstance(value, dict):
        steps = ", then ".join(ADAPTATION_NAMES.get(s, s) for s in value.get("steps", []))
        return steps + (f" ({value['negatives']} negatives)" if value.get("negatives") else "")
    if name == "index" and isinstance(value, dict):
        text = f"{value.get('type', 'exact')} search, {value.get('dimension')}-d, {value.get('similarity', 'cosine')}"
        variant = value.get("variant")
        return f"{INDEX_VARIANT_NAMES.get(variant, variant)}, {text}" if variant else text
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items() if k != "warning")
    if isinstance(value, list | tuple):
        return human_list([str(v) for v in value])
    return str(value)


def spectrum_rows(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The measured spectrum (answers ``ndcg10_*``, ``encode_rate_*``, ``bytes_*``), one row per measured
    family: ``family`` (words), ``ndcg@10``, ``kept`` (share of dense float32 nDCG@10), ``passages/s``
    (the encoder it needs), ``speed`` (that rate against the transformer's), ``bytes/vector`` (None where
    not an index of its own)."""
    dense = values.get("ndcg10_dense")
    dense_rate = values.get("encode_rate_dense")
    rows = []
    for family, label in SPECTRUM_FAMILIES.items():
        ndcg = values.get(f"ndcg10_{family}")
        if ndcg is None:
            continue
        rate = values.get(f"encode_rate_{_RATE_OF.get(family, family)}")
        size = values.get(f"bytes_{_BYTES_OF[family]}") if family in _BYTES_OF else None
        rows.append(
            {
                "family": label,
                "ndcg@10": ndcg,
                "kept": ndcg / dense if dense else None,
                "passages/s": rate if family != "bm25" else None,
                "speed": rate / dense_rate
                if rate and dense_rate and _RATE_OF.get(family) != "dense"
                else None,
                "bytes/vector": size,
            }
        )
    return rows
