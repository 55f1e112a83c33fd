"""What a comparison is asked to do, as one frozen value: :class:`CompareOptions`.

The CLI fills it from its arguments, the Compare page from its widgets and the wizard from a
recommendation; :meth:`CompareOptions.specs` turns it into strategy specs, so the same choices give the same
specs (and the same numbers) wherever they were made. A strategy name may carry a chunking: ``dense@256/64``
(passages of 256 tokens overlapping by 64), ``bm25@256`` (each document truncated to its first 256 tokens);
see :func:`parse_strategy`. A dense strategy may carry an index variant after a colon (before any chunking):
``dense:int8``, ``dense:binary`` (rescored ×4), ``dense:binary+rescore8``, ``dense:float16``, ``dense:pca128``
(PCA to 128 dimensions), ``dense:dim128`` (the first 128: Matryoshka truncation), combined with ``+``
(``dense:binary+pca256``) and with chunking (``dense:int8@256/64``); see :func:`strategy_variant`.
``static`` is dense with the workspace's static model (``static_model``), ``static_rescore`` its top
candidates rescored with ``model``'s vectors.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.data import AGGREGATES, ChunkSpec
from core.encoding import AUTO, BACKEND_CHOICES, DEFAULT_STATIC_MODEL
from core.evaluate.metrics import DEFAULT_LATENCY_SAMPLE, DEFAULT_STAT_TEST
from core.models import DEFAULT_BI_ENCODER
from core.retrieval import (
    DEFAULT_RERANK_DEPTH,
    INDEX_KINDS,
    QUANTIZATIONS,
    BM25Spec,
    DenseSpec,
    FusionSpec,
    HybridSpec,
    RerankSpec,
    SparseSpec,
    StrategySpec,
    backend_variants,
    spec_from_dict,
    spec_to_dict,
)
from core.runtime import InvalidInput

__all__ = [
    "DEFAULT_K",
    "FIRST_STAGES",
    "STATIC_STRATEGIES",
    "STAT_TESTS",
    "STRATEGIES",
    "CompareOptions",
    "EvaluateJob",
    "parse_strategy",
    "strategy_variant",
]

# splade: SPLADE alone; hybrid: BM25 + dense (alpha tuned); hybrid_splade: SPLADE + dense; hybrid_bm25_splade:
# BM25 + SPLADE; hybrid3: BM25 + SPLADE + dense (the last three: weights tuned on the train split)
STRATEGIES = ("bm25", "splade", "dense", "hybrid", "hybrid_splade", "hybrid_bm25_splade", "hybrid3", "rerank")
# dense with the workspace's static model, and its top candidates rescored by ``model`` (the Compare page's
# picker offers them beside STRATEGIES, with a panel that distils the static model when none is registered)
STATIC_STRATEGIES = ("static", "static_rescore")
_KNOWN = STRATEGIES + STATIC_STRATEGIES
STAT_TESTS = (DEFAULT_STAT_TEST, "fisher", "wilcoxon")
FIRST_STAGES = ("bm25", "splade", "dense", "hybrid", "hybrid_splade", "hybrid3")  # what a reranker rescores
DEFAULT_K = 100  # results per query (Recall@100 needs 100)
_CHOICES = {
    "backend": BACKEND_CHOICES,
    "rerank_first_stage": FIRST_STAGES,
    "fusion": ("convex", "rrf"),
    "norm": ("minmax", "zscore"),
    "index": INDEX_KINDS,
    "stat_test": STAT_TESTS,
    "chunk_aggregate": AGGREGATES,
}
_VARIANT_TOKEN = re.compile(
    r"^(?:pca(?P<pca>\d+)|dim(?P<dim>\d+)|rescore(?P<rescore>\d+)|(?P<quant>[a-z0-9]+))$"
)
_CHUNKED = re.compile(r"^(?P<base>[a-z0-9_-]+)@(?P<window>\d+)(?:/(?P<overlap>\d+))?$")


def _split_variant(name: str) -> tuple[str, str]:
    """``"dense:int8@256/64"`` -> ``("dense@256/64", "int8")``; no colon: ``(name, "")``."""
    head, colon, rest = name.partition(":")
    if not colon:
        return name, ""
    variant, at, cut = rest.partition("@")
    return head + at + cut, variant


def strategy_variant(name: str) -> dict[str, Any]:
    """The dense-spec settings of a strategy name's index variant: ``"dense:binary+rescore8"`` ->
    ``{"quantization": "binary", "rescore": 8}``, ``"dense:pca128"`` -> ``{"dims": 128, "reduce": "pca"}``,
    ``"dense:dim128"`` -> ``{"dims": 128, "reduce": "truncate"}``; ``{}`` without one."""
    _plain, variant = _split_variant(name)
    if not variant and ":" not in name:
        return {}
    out: dict[str, Any] = {}
    for token in variant.split("+"):
        match = _VARIANT_TOKEN.match(token)
        if match is None or (match["quant"] is not None and match["quant"] not in QUANTIZATIONS):
            raise InvalidInput(
                f"Cannot read index variant {token!r} of {name!r}: use {', '.join(QUANTIZATIONS)}, pcaN, dimN "
                "or rescoreN, joined by + (e.g. dense:binary+rescore8, dense:int8@256/64)."
            )
        if match["quant"] is not None:
            out["quantization"] = match["quant"]
        elif match["rescore"] is not None:
            out["rescore"] = int(match["rescore"])
        else:
            out["dims"] = int(match["pca"] or match["dim"])
            out["reduce"] = "pca" if match["pca"] else "truncate"
    return out


def parse_strategy(name: str) -> tuple[str, tuple[int, int | None] | None]:
    """``"dense@256/64"`` -> ``("dense", (256, 64))``, ``"bm25@256"`` -> ``("bm25", (256, None))`` (the
    first 256 tokens only), ``"hybrid"`` -> ``("hybrid", None)``; an index variant (``dense:int8@256/64``)
    is left to :func:`strategy_variant`; anything else is an error."""
    name, _variant = _split_variant(name)
    if "@" not in name:
        if name not in _KNOWN:
            raise InvalidInput(f"Unknown strategy {name!r}; choose from {', '.join(_KNOWN)}.")
        return name, None
    match = _CHUNKED.match(name)
    if not match or match["base"] not in _KNOWN:
        raise InvalidInput(
            f"Cannot read strategy {name!r}: write a strategy ({', '.join(_KNOWN)}) and a chunking, "
            "e.g. dense@256/64 (passages of 256 tokens overlapping by 64) or bm25@256 (first 256 tokens)."
        )
    overlap = match["overlap"]
    return match["base"], (int(match["window"]), int(overlap) if overlap is not None else None)


def _names(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """A comma list or a sequence of names, stripped, empty ones dropped."""
    if value is None:
        return ()
    parts = value.split(",") if isinstance(value, str) else value
    return tuple(str(p).strip() for p in parts if str(p).strip())


@dataclass(frozen=True)
class CompareOptions:
    """One comparison's choices. ``tune_split``: ``auto`` (train, unless train is evaluated), ``none``, or a
    split name; ``check_backends``: extra backends the dense strategy is also evaluated with; ``chunk_*``: how
    the strategies named with a chunking (``dense@256/64``) cut and score passages (core.data.ChunkSpec)."""

    strategies: tuple[str, ...] = ("bm25", "dense", "hybrid")
    split: str | None = None
    model: str = DEFAULT_BI_ENCODER
    sparse_model: str = SparseSpec.model
    backend: str = AUTO  # core.encoding.auto: the fastest backend that passes a parity check here
    rerank_backend: str | None = None
    max_seq_length: int | None = None
    check_backends: tuple[str, ...] = ()
    reranker: str | None = None
    rerank_top_k: int = DEFAULT_RERANK_DEPTH
    rerank_first_stage: str = "hybrid"
    stemming: bool = True
    stopwords: bool = True
    k: int = DEFAULT_K
    fusion: str = HybridSpec.fusion
    norm: str = HybridSpec.norm
    alpha: float = HybridSpec.alpha
    rrf_k: int = HybridSpec.rrf_k
    tune_split: str = "auto"
    index: str = DenseSpec.index
    static_model: str = DEFAULT_STATIC_MODEL
    baseline: str | None = None
    stat_test: str = DEFAULT_STAT_TEST
    chunk_sentences: bool = ChunkSpec.sentences
    chunk_title: bool = ChunkSpec.title
    chunk_aggregate: str = ChunkSpec.aggregate
    chunk_top: int = ChunkSpec.top

    def __post_init__(self) -> None:
        object.__setattr__(self, "strategies", _names(self.strategies))
        object.__setattr__(self, "check_backends", _names(self.check_backends))
        if not self.strategies:
            raise InvalidInput(f"Choose at least one strategy from {', '.join(_KNOWN)}.")
        for name in self.strategies:
            base, cut = parse_strategy(name)
            if cut is not None:
                self.chunking(cut)  # validates window and overlap
            variant = strategy_variant(name)
            if variant and (base == "bm25" or (base == "rerank" and self.rerank_first_stage == "bm25")):
                raise InvalidInput(
                    f"{name!r}: index variants apply to strategies with a dense part, not BM25."
                )
            if variant:
                DenseSpec(**variant)  # validates the values
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                raise InvalidInput(
                    f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}."
                )
        if self.k < 1 or self.rerank_top_k < 1:
            raise InvalidInput("k and the rerank depth must be at least 1.")
        if self.baseline is not None and self.baseline not in self.strategies:
            raise InvalidInput(
                f"Baseline {self.baseline!r} is not among the strategies {list(self.strategies)}."
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CompareOptions:
        """Options from a mapping (a stored config, keyword overrides); keys that are not options are an
        error."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - fields
        if unknown:
            raise InvalidInput(f"Unknown evaluate options: {sorted(unknown)}")
        return cls(**dict(data))

    @classmethod
    def from_args(cls, args: Any) -> CompareOptions:
        """Options from an argparse namespace (its other attributes, such as ``dataset``, are left out)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in vars(args).items() if k in fields})

    def resolved_tune_split(self, splits: Sequence[str]) -> str | None:
        """The split alpha is tuned on: never the evaluated one, ``None`` for RRF or a fixed alpha."""
        if self.fusion != "convex":
            return None
        if self.tune_split == "auto":
            evaluated = self.split or ("test" if "test" in splits else splits[-1])
            return "train" if "train" in splits and evaluated != "train" else None
        return None if self.tune_split in ("none", "") else self.tune_split

    def chunking(self, cut: tuple[int, int | None]) -> ChunkSpec:
        """The chunking of a strategy named ``…@window/overlap`` (``…@window``: the first window only)."""
        window, overlap = cut
        return ChunkSpec(
            window=window,
            overlap=overlap or 0,
            sentences=self.chunk_sentences,
            title=self.chunk_title,
            max_passages=1 if overlap is None else None,
            aggregate=self.chunk_aggregate,
            top=self.chunk_top,
        )

    def specs(self, splits: Sequence[str]) -> dict[str, StrategySpec]:
        """The strategy specs these options describe, keyed by strategy name (backend variants added)."""
        specs: dict[str, StrategySpec] = {}
        for name in self.strategies:
            base, cut = parse_strategy(name)
            spec = self._spec(base, self.chunking(cut) if cut else None, splits)
            specs[name] = _with_variant(spec, strategy_variant(name))
        return backend_variants(specs, self.check_backends) if self.check_backends else specs

    def _spec(self, name: str, chunking: ChunkSpec | None, splits: Sequence[str]) -> StrategySpec:
        """The spec of strategy ``name`` (one of :data:`STRATEGIES`) with its parts on ``chunking``."""
        bm25 = BM25Spec(
            stemmer="english" if self.stemming else None,
            stopwords="en" if self.stopwords else None,
            chunking=chunking,
        )
        dense = DenseSpec(
            model=self.model,
            backend=self.backend,
            index=self.index,
            max_seq_length=self.max_seq_length,
            chunking=chunking,
        )
        tune_split = self.resolved_tune_split(list(splits))
        hybrid = HybridSpec(
            sparse=bm25,
            dense=dense,
            fusion=self.fusion,
            alpha=self.alpha,
            norm=self.norm,
            rrf_k=self.rrf_k,
            tune_split=tune_split,
        )
        static = dataclasses.replace(dense, model=self.static_model)
        splade = SparseSpec(model=self.sparse_model, chunking=chunking)
        fusion = {"fusion": self.fusion, "norm": self.norm, "rrf_k": self.rrf_k, "tune_split": tune_split}
        first_stages: dict[str, StrategySpec] = {
            "bm25": bm25,
            "splade": splade,
            "dense": dense,
            "hybrid": hybrid,
            "hybrid_splade": FusionSpec(parts=(splade, dense), **fusion),
            "hybrid_bm25_splade": FusionSpec(parts=(bm25, splade), **fusion),
            "hybrid3": FusionSpec(parts=(bm25, splade, dense), **fusion),
            "static": static,
            "static_rescore": dataclasses.replace(static, rescore_with=self.model),
        }
        if name != "rerank":
            return first_stages[name]
        if not self.reranker:
            raise InvalidInput(
                "rerank needs --reranker: a cross-encoder folder, a model trained on the Adapt page, or a "
                "hub id when online (no pretrained cross-encoder can be installed offline; see MODELS.md)."
            )
        return RerankSpec(
            first_stage=first_stages[self.rerank_first_stage],
            reranker=self.reranker,
            top_k=self.rerank_top_k,
            backend=self.rerank_backend or (self.backend if self.backend != AUTO else "torch"),
        )


def _with_variant(spec: StrategySpec, variant: Mapping[str, Any]) -> StrategySpec:
    """``spec`` with its dense part(s) given an index variant (:func:`strategy_variant`)."""
    if not variant:
        return spec
    if isinstance(spec, DenseSpec):
        return dataclasses.replace(spec, **variant)
    if isinstance(spec, HybridSpec):
        return dataclasses.replace(spec, dense=dataclasses.replace(spec.dense, **variant))
    if isinstance(spec, RerankSpec):
        return dataclasses.replace(spec, first_stage=_with_variant(spec.first_stage, variant))
    raise InvalidInput("Index variants apply to strategies with a dense part, not BM25.")


@dataclass(frozen=True)
class EvaluateJob:
    """The config of an ``evaluate`` job, parsed once at the job boundary (:meth:`from_dict`)."""

    dataset: str
    strategies: Mapping[str, Mapping[str, Any]]  # strategy name -> spec dict (core.retrieval.spec_to_dict)
    split: str | None = None
    k: int = DEFAULT_K
    baseline: str | None = None
    stat_test: str = DEFAULT_STAT_TEST
    latency_sample: int = DEFAULT_LATENCY_SAMPLE

    def __post_init__(self) -> None:
        if not self.strategies:
            raise InvalidInput("Choose at least one strategy.")
        if self.stat_test not in STAT_TESTS:
            raise InvalidInput(f"stat_test must be one of {', '.join(STAT_TESTS)}, got {self.stat_test!r}.")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluateJob:
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - fields
        if unknown:
            raise InvalidInput(f"Unknown evaluate job settings: {sorted(unknown)}")
        values = {k: v for k, v in data.items() if v is not None or k in ("split", "baseline")}
        return cls(**values)

    @classmethod
    def build(cls, dataset: str, options: CompareOptions, splits: Sequence[str]) -> EvaluateJob:
        """The job that runs ``options`` on ``dataset`` (whose splits are ``splits``)."""
        return cls(
            dataset=dataset,
            strategies={n: spec_to_dict(s) for n, s in options.specs(splits).items()},
            split=options.split,
            k=options.k,
            baseline=options.baseline,
            stat_test=options.stat_test,
        )

    def specs(self) -> dict[str, StrategySpec]:
        return {name: spec_from_dict(dict(d)) for name, d in self.strategies.items()}

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["strategies"] = {n: dict(d) for n, d in self.strategies.items()}
        return data
