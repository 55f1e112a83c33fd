"""Strategy specs: frozen, serialisable data (``BM25Spec``, ``DenseSpec``, ``SparseSpec`` (SPLADE),
``HybridSpec`` or ``RerankSpec``, whose first stage is any of the others; BM25, SPLADE and dense optionally on
passages, ``chunking``), their JSON form, the standard set, and backend variants.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from core.data import ChunkSpec
from core.encoding import plan_backend
from core.models import DEFAULT_BI_ENCODER
from core.retrieval.bm25 import BM25Spec
from core.retrieval.dense import DenseSpec
from core.retrieval.hybrid import HybridSpec
from core.retrieval.rerank import RerankSpec
from core.retrieval.sparse import SparseSpec
from core.runtime import InvalidInput

__all__ = ["StrategySpec", "backend_variants", "default_specs", "spec_from_dict", "spec_to_dict"]

StrategySpec = BM25Spec | DenseSpec | SparseSpec | HybridSpec | RerankSpec
_CLASSES = {
    "bm25": BM25Spec,
    "dense": DenseSpec,
    "splade": SparseSpec,
    "hybrid": HybridSpec,
    "rerank": RerankSpec,
}


def spec_to_dict(spec: StrategySpec) -> dict[str, Any]:
    """A JSON-ready dict (nested specs included)."""
    return dataclasses.asdict(spec)


def spec_from_dict(data: dict[str, Any]) -> StrategySpec:
    """Inverse of :func:`spec_to_dict`; unknown keys are an error."""
    data = dict(data)
    kind = data.get("kind")
    if kind not in _CLASSES:
        raise InvalidInput(f"Unknown strategy kind {kind!r}: use one of {sorted(_CLASSES)}.")
    cls = _CLASSES[kind]
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise InvalidInput(f"Unknown settings for {kind}: {sorted(unknown)}")
    if kind in ("bm25", "dense", "splade") and data.get("chunking") is not None:
        data["chunking"] = ChunkSpec.from_dict(data["chunking"])
    if kind == "hybrid":
        data["sparse"] = spec_from_dict({"kind": "bm25", **data.get("sparse", {})})
        data["dense"] = spec_from_dict({"kind": "dense", **data.get("dense", {})})
    if kind == "rerank":
        first = data.pop("first_stage", None)
        if first:  # missing or empty: RerankSpec's default first stage
            data["first_stage"] = spec_from_dict(first)
    return cls(**data)


def default_specs(
    model: str = DEFAULT_BI_ENCODER, reranker: str | None = None, *, tune_split: str | None = None
) -> dict[str, StrategySpec]:
    """The four standard strategies keyed by short name (``rerank`` only with a reranker)."""
    dense = DenseSpec(model=model)
    hybrid = HybridSpec(dense=dense, tune_split=tune_split)
    specs: dict[str, StrategySpec] = {"bm25": BM25Spec(), "dense": dense, "hybrid": hybrid}
    if reranker:
        specs["rerank"] = RerankSpec(first_stage=hybrid, reranker=reranker)
    return specs


def backend_variants(specs: Mapping[str, Any], backends: Sequence[str]) -> dict[str, Any]:
    """``specs`` plus, for each dense strategy, one copy per extra backend (named ``dense-onnx-int8``
    …): run them in one comparison to see what each backend costs in quality next to torch fp32."""
    out = dict(specs)
    for name, spec in specs.items():
        if not isinstance(spec, DenseSpec):
            continue
        for backend in backends:
            if backend == spec.backend:
                continue
            plan_backend(backend, "cpu")  # validates the name
            out[f"{name}-{backend}"] = dataclasses.replace(spec, backend=backend)
    return out
