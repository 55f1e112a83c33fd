"""The spectrum of first stages in one table: what each strategy of a :class:`ComparisonReport` buys in quality,
encoding speed, query latency and index size, against the dense float32 exact strategy of the same report.

:func:`spectrum_rows` reads only the report (each result's metrics, latency and ``extra``), so the Compare
page, the CLI and ``bench/spectrum.py`` show the same numbers. Encoding speed is the rate the corpus (or its
passages) was encoded at *in that run*: every model a strategy encodes with counts (a hybrid pays for its
dense and SPLADE parts, ``static_rescore`` for the static model and the transformer), measured by whichever
strategy of the report encoded the same corpus with the same model; a model whose vectors all came from the
cache has no rate unless ``sample_rates`` gives one measured elsewhere (a timed sample, said in ``encode``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.evaluate.report import ComparisonReport, StrategyResult

__all__ = ["FAMILIES", "SpectrumRow", "spectrum_baseline", "spectrum_rows"]

FAMILIES = ("lexical", "learned sparse", "dense", "static", "compressed", "hybrid", "rerank")
EncoderKey = tuple[str, str, str]  # (kind, model, settings: backend, length and chunking as JSON)


@dataclass(frozen=True)
class SpectrumRow:
    """One strategy of the spectrum. ``encode``: ``measured`` (in this run), ``sample`` (a rate from
    ``sample_rates``), ``cached`` (vectors from the cache, no rate) or ``none`` (no model: BM25);
    ``encode_pps``: passages encoded per second with every model of the strategy; ``index_mb`` and
    ``bytes_per_vector``: its indexes together (FAISS, SPLADE's inverted index, BM25's matrix), per
    indexed text; the ratios are against :func:`spectrum_baseline` (None without one)."""

    strategy: str
    label: str
    family: str
    ndcg_10: float
    recall_100: float
    encode: str
    encode_pps: float | None
    latency_ms_p50: float
    latency_ms_p95: float
    index_s: float
    index_mb: float | None
    bytes_per_vector: float | None
    quality_kept: float | None = None  # nDCG@10 / the baseline's
    times_smaller: float | None = None  # the baseline's index MB / this one's
    times_faster_encode: float | None = None  # the baseline's corpus encode time / this one's
    baseline: bool = False


def _is_static(name: str, res: StrategyResult) -> bool:
    return name.split(":")[0].split("@")[0].startswith("static") or str(
        res.extra.get("backend", "")
    ).startswith("static")


def family(name: str, res: StrategyResult) -> str:
    """lexical / learned sparse / dense / static / compressed / hybrid / rerank, from the result's spec."""
    kind = res.spec.get("kind")
    if kind == "bm25":
        return "lexical"
    if kind == "splade":
        return "learned sparse"
    if kind in ("hybrid", "fusion"):
        return "hybrid"
    if kind == "rerank":
        return "rerank"
    if _is_static(name, res):
        return "static"
    compressed = res.spec.get("quantization", "float32") != "float32" or res.spec.get("dims") is not None
    return "compressed" if compressed else "dense"


def spectrum_baseline(report: ComparisonReport) -> str | None:
    """The dense float32 exact strategy the ratios are taken against: ``dense`` when it is one, else the
    first on whole documents, else the first on passages (a long-document comparison); None without one."""
    found = [
        name
        for name, res in report.strategies.items()
        if family(name, res) == "dense"
        and res.spec.get("rescore_with") is None
        and res.extra.get("index") == "exact"
    ]
    whole = [name for name in found if report.strategies[name].spec.get("chunking") is None]
    return "dense" if "dense" in whole else next(iter(whole + found), None)


def _encoders(spec: Mapping[str, Any]) -> list[tuple[EncoderKey, str]]:
    """(key, model) of every model that encodes the corpus for ``spec`` (first dense part first)."""
    kind = spec.get("kind")
    if kind == "hybrid":
        return _encoders({"kind": "bm25", **spec.get("sparse", {})}) + _encoders(
            {"kind": "dense", **spec.get("dense", {})}
        )
    if kind == "fusion":
        return [e for part in spec.get("parts", ()) for e in _encoders(part)]
    if kind == "rerank":
        return _encoders(spec.get("first_stage") or {})
    chunking = json.dumps(spec.get("chunking"), sort_keys=True)
    if kind == "splade":
        settings = json.dumps([spec.get("max_seq_length"), chunking])
        return [(("splade", str(spec.get("model")), settings), str(spec.get("model")))]
    if kind != "dense":
        return []
    out = []
    for model in (spec.get("model"), spec.get("rescore_with")):
        if model:
            settings = json.dumps([spec.get("backend"), spec.get("max_seq_length"), chunking])
            out.append((("dense", str(model), settings), str(model)))
    return out


def _first(encoders: list[tuple[EncoderKey, str]], kind: str) -> EncoderKey | None:
    return next((key for key, _m in encoders if key[0] == kind), None)


def _measured_rates(report: ComparisonReport) -> dict[EncoderKey, float]:
    """Passages/s of each (model, corpus) encoded in this run, from the results that encoded it."""
    rates: dict[EncoderKey, float] = {}
    for res in report.strategies.values():
        encoders, extra = _encoders(res.spec), res.extra
        dense, splade = _first(encoders, "dense"), _first(encoders, "splade")
        if dense is not None and extra.get("encode_passages_per_s"):
            rates.setdefault(dense, float(extra["encode_passages_per_s"]))
        if splade is not None and extra.get("splade_from_cache") is False and extra.get("splade_encode_s"):
            rates.setdefault(splade, _texts(extra, "splade") / float(extra["splade_encode_s"]))
    return rates


def _texts(extra: Mapping[str, Any], part: str = "") -> float:
    """How many texts (documents or passages) the strategy's index holds (0: unknown)."""
    if part in ("", "dense") and extra.get("index_bytes_per_vector"):
        return float(extra["index_mb"]) * 1e6 / float(extra["index_bytes_per_vector"])
    if part in ("", "splade") and extra.get("splade_terms_per_doc"):
        return float(extra["splade_postings"]) / float(extra["splade_terms_per_doc"])
    return float(extra.get("bm25_documents", 0)) if part == "" else 0.0


def _encode(
    res: StrategyResult, rates: Mapping[EncoderKey, float], sample_rates: Mapping[str, float]
) -> tuple[str, float | None]:
    """(how the rate is known, passages/s with every model of the strategy one after the other)."""
    encoders = _encoders(res.spec)
    if not encoders:
        return "none", None
    how, seconds_per_text = "measured", 0.0
    for key, model in encoders:
        if key in rates:
            seconds_per_text += 1.0 / rates[key]
        elif sample_rates.get(model):
            how, seconds_per_text = "sample", seconds_per_text + 1.0 / float(sample_rates[model])
        else:
            return "cached", None
    return how, 1.0 / seconds_per_text


def _index_bytes(extra: Mapping[str, Any]) -> float | None:
    """Bytes of every index of the strategy (FAISS, SPLADE, BM25) that reported its size."""
    parts = [
        float(extra["index_mb"]) * 1e6 if extra.get("index_mb") is not None else None,
        extra.get("splade_index_bytes"),
        extra.get("bm25_index_bytes"),
    ]
    known = [float(p) for p in parts if p is not None]
    return sum(known) if known else None


def _row(name: str, res: StrategyResult, how: str, pps: float | None) -> SpectrumRow:
    nbytes, texts = _index_bytes(res.extra), _texts(res.extra)
    return SpectrumRow(
        strategy=name,
        label=res.label,
        family=family(name, res),
        ndcg_10=float(res.metrics.get("ndcg@10", 0.0)),
        recall_100=float(res.metrics.get("recall@100", 0.0)),
        encode=how,
        encode_pps=pps,
        latency_ms_p50=float(res.latency_ms_p50),
        latency_ms_p95=float(res.latency_ms_p95),
        index_s=float(res.index_s),
        index_mb=nbytes / 1e6 if nbytes is not None else None,
        bytes_per_vector=nbytes / texts if nbytes is not None and texts else None,
    )


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def spectrum_rows(
    report: ComparisonReport, *, sample_rates: Mapping[str, float] | None = None
) -> list[SpectrumRow]:
    """One :class:`SpectrumRow` per strategy, in the report's order, with ratios against
    :func:`spectrum_baseline`. ``sample_rates``: model name -> passages/s measured outside the report (for
    models whose vectors came from the cache). "× faster encode" compares the time to encode the whole
    corpus (passages are more texts than documents), not the per-passage rate."""
    rates = _measured_rates(report)
    rows = {
        name: _row(name, res, *_encode(res, rates, sample_rates or {}))
        for name, res in report.strategies.items()
    }
    base_name = spectrum_baseline(report)
    base = rows.get(base_name) if base_name else None
    if base is None:
        return list(rows.values())

    def corpus_s(row: SpectrumRow) -> float | None:
        texts = _texts(report.strategies[row.strategy].extra)
        return texts / row.encode_pps if row.encode_pps and texts else None

    out = []
    for name, row in rows.items():
        out.append(
            dataclasses.replace(
                row,
                quality_kept=_ratio(row.ndcg_10, base.ndcg_10),
                times_smaller=_ratio(base.index_mb, row.index_mb),
                times_faster_encode=_ratio(corpus_s(base), corpus_s(row)),
                baseline=name == base_name,
            )
        )
    return out
