"""Measure the spectrum of first stages on the user's data, cheaply, for the wizard's rules
(:mod:`core.wizard.spectrum_rules`): per family — BM25, SPLADE, dense, hybrid, the dense int8 and binary
(+ float rescoring) indexes, and a static model with and without transformer rescoring — its nDCG@10 on the
user's queries, index bytes per vector, and the encode rate (passages/s) of the transformer, SPLADE and the
static model on this machine.

- A family an earlier comparison in the workspace already measured on the dataset's evaluation split (the
  same spec) is read from it, and the note names the run.
- The others run through :func:`core.evaluate.run_comparison`: on the whole corpus and every evaluation
  query when the corpus is small or the transformer's vectors are cached; else on a seeded sample of the
  queries over their judged documents plus a seeded random fill (:func:`core.wizard.measure.sample_corpus`),
  alpha fixed (no train split in the sample).
- Encode rates are timed on a seeded sample of documents after a warm-up, each encoder alone.
- The static family is measured only when a static model is registered (``python -m core models distill``
  makes one offline from the bi-encoder in seconds); the note says so when it is not.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.data import RetrievalDataset, resolve_dataset
from core.encoding import DEFAULT_STATIC_MODEL, EmbeddingCache, distill_static, make_encoder
from core.evaluate import CompareOptions, load_comparison, run_comparison
from core.models import DEFAULT_BI_ENCODER, resolve_model
from core.retrieval import SparseSpec, make_sparse_encoder, spec_to_dict
from core.runtime import InvalidInput, LabError, Reporter, Workspace, report
from core.wizard.measure import FULL_CORPUS_MAX_DOCS, Measurements, sample_corpus
from core.wizard.plan import find_matching_comparison

__all__ = [
    "FAMILY_OF",
    "RATE_DOCS",
    "SPECTRUM_KIND",
    "SPECTRUM_QUERIES",
    "SpectrumJob",
    "encode_rates",
    "latest_spectrum",
    "measure_spectrum",
    "spectrum_job",
    "spectrum_options",
    "spectrum_values",
    "static_available",
]

# strategy name (core.evaluate.CompareOptions) -> the family suffix of its answers (ndcg10_<family>, ...)
FAMILY_OF = {
    "bm25": "bm25",
    "splade": "splade",
    "dense": "dense",
    "hybrid": "hybrid",
    "dense:int8": "int8",
    "dense:binary": "binary",
    "static": "static",
    "static_rescore": "static_rescore",
}
SPECTRUM_QUERIES = 100  # evaluation queries sampled when the corpus must be sampled
RATE_DOCS = 64  # documents each encoder is timed on
LATENCY_SAMPLE = 5  # single queries timed per strategy (the Verify step times more)


def static_available(ws: Workspace | None, name: str) -> tuple[bool, str]:
    """Whether ``name`` is a registered static model, and a note when it is not."""
    try:
        info = resolve_model(name, ws, kind="bi-encoder")
    except LabError:
        info = None
    if info is not None and info.kind == "static":
        return True, ""
    return False, (
        f"not measured: no static model {name!r} is registered; distil one offline from the bi-encoder with "
        f"`python -m core models distill --from {DEFAULT_BI_ENCODER} --name {name}` (seconds), then measure again"
    )


def spectrum_options(
    model: str = DEFAULT_BI_ENCODER,
    *,
    static_model: str | None = DEFAULT_STATIC_MODEL,
    sparse_model: str = SparseSpec.model,
) -> CompareOptions:
    """The comparison of the spectrum (``static_model=None`` leaves the static family out)."""
    names = [n for n in FAMILY_OF if static_model or not n.startswith("static")]
    return CompareOptions(
        strategies=tuple(names),
        model=model,
        sparse_model=sparse_model,
        static_model=static_model or DEFAULT_STATIC_MODEL,
        backend="torch",
        baseline="dense",
    )


def spectrum_values(
    strategies: Mapping[str, Any], n_docs: int, where: str, runs: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    """Answers (``ndcg10_<family>``, ``bytes_<family>``), notes and per-strategy details from comparison
    results (:class:`core.evaluate.StrategyResult` by strategy name); ``runs``: the run each was read from."""
    values: dict[str, Any] = {}
    notes: dict[str, str] = {}
    details: dict[str, Any] = {}
    runs = runs or {}
    for name, res in strategies.items():
        family = FAMILY_OF.get(name)
        if family is None:
            continue
        ndcg = res.metrics.get("ndcg@10")
        values[f"ndcg10_{family}"] = round(float(ndcg), 4)
        source = f"comparison run {runs[name]} (reused)" if name in runs else where
        notes[f"ndcg10_{family}"] = f"{res.label}: {source}"
        size = res.extra.get("index_bytes_per_vector")
        if name == "splade" and res.extra.get("splade_index_bytes"):
            size = res.extra["splade_index_bytes"] / max(1, n_docs)
        if size is not None and family in ("dense", "int8", "binary", "splade"):
            values[f"bytes_{family}"] = round(float(size), 1)
            notes[f"bytes_{family}"] = f"{res.label}: index bytes per document over {n_docs:,} documents"
        details[name] = {
            "label": res.label,
            "ndcg@10": ndcg,
            "recall@100": res.metrics.get("recall@100"),
            "latency_ms_p50": res.latency_ms_p50,
            "bytes_per_vector": size,
            "run": runs.get(name),
        }
    return values, notes, details


def _timed_rate(encode: Any, texts: Sequence[str]) -> float:
    encode(list(texts[:4]))  # warm-up: first-call costs are not the rate
    start = time.perf_counter()
    encode(list(texts))
    return len(texts) / max(time.perf_counter() - start, 1e-9)


def encode_rates(
    texts: Sequence[str],
    ws: Workspace | None,
    model: str,
    *,
    static_model: str | None,
    sparse_model: str,
    progress: Reporter | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Passages/s of the transformer (torch), SPLADE and the static model on ``texts``, each alone."""
    values: dict[str, Any] = {}
    notes: dict[str, str] = {}
    encoders = {
        "dense": lambda: make_encoder(model, ws, backend="torch").encode,
        "splade": lambda: make_sparse_encoder(sparse_model, ws).encode,
    }
    if static_model:
        encoders["static"] = lambda: make_encoder(static_model, ws).encode
    names = {"dense": model, "splade": sparse_model, "static": static_model}
    for i, (family, make) in enumerate(encoders.items()):
        report(progress, "spectrum", i, len(encoders), f"timing {names[family]} on {len(texts)} documents")
        values[f"encode_rate_{family}"] = round(_timed_rate(make(), texts), 1)
        notes[f"encode_rate_{family}"] = (
            f"{names[family]}: {len(texts)} seeded sample documents encoded on this machine after a warm-up"
        )
    return values, notes


def _reused(
    ws: Workspace, ds: RetrievalDataset, split: str, specs: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Strategies an earlier comparison measured on the whole split (the same spec): results and run ids."""
    found: dict[str, Any] = {}
    runs: dict[str, str] = {}
    for name, spec in specs.items():
        match = find_matching_comparison(ws, ds.name, split, {name: spec_to_dict(spec)})
        if match is None:
            continue
        run_id, names = match
        rep = load_comparison(ws, run_id)
        if names[name] in rep.strategies:
            found[name], runs[name] = rep.strategies[names[name]], run_id
    return found, runs


def _subset(
    ds: RetrievalDataset, split: str, doc_ids: Sequence[str], query_ids: Sequence[str]
) -> RetrievalDataset:
    """``ds`` cut to ``doc_ids`` and the ``split`` judgements of ``query_ids`` (one split, no tuning)."""
    docs, qids = set(doc_ids), set(query_ids)
    qrels = ds.qrels[(ds.qrels["split"] == split) & ds.qrels["query_id"].isin(qids)]
    return RetrievalDataset(
        name=f"{ds.name} (sample)",
        corpus=ds.corpus[ds.corpus["doc_id"].isin(docs)].reset_index(drop=True),
        queries=ds.queries[ds.queries["query_id"].isin(qids)].reset_index(drop=True),
        qrels=qrels[qrels["doc_id"].isin(docs)].reset_index(drop=True),
    )


def _where(
    ds: RetrievalDataset,
    ws: Workspace | None,
    model: str,
    split: str,
    sample_queries: int,
    max_docs: int,
    seed: int,
) -> tuple[RetrievalDataset, str, str]:
    """The dataset to measure on (whole, or a seeded sample), its split, and how it was chosen."""
    queries = ds.split_queries(split)
    cached = False
    if ws is not None and len(ds.corpus) > max_docs:
        fp = make_encoder(model, ws, backend="torch").fingerprint
        cached = EmbeddingCache(ws).get(fp, ds.fingerprint, len(ds.corpus)) is not None
    if cached or len(ds.corpus) <= max_docs:
        why = "the transformer's vectors cached" if cached else "a small corpus"
        return (
            ds,
            split,
            f"all {len(queries):,} {split!r} queries over all {len(ds.corpus):,} documents ({why})",
        )
    rng = np.random.default_rng(seed)
    pick = sorted(rng.choice(len(queries), size=min(sample_queries, len(queries)), replace=False))
    q_ids = [queries["query_id"].iloc[int(i)] for i in pick]
    doc_ids, _ = sample_corpus(ds, q_ids, max_docs, seed)
    sub = _subset(ds, split, doc_ids, q_ids)
    return (
        sub,
        split,
        (
            f"{len(q_ids):,} seeded sample {split!r} queries over {len(doc_ids):,} documents (their judged documents "
            "plus a random fill; the transformer's corpus vectors are not cached yet), hybrid alpha fixed at 0.5"
        ),
    )


def _rate_sample(ds: RetrievalDataset, n: int, seed: int) -> list[str]:
    """A seeded sample of ``n`` documents' texts to time the encoders on."""
    texts = ds.doc_texts()
    rng = np.random.default_rng(seed)
    return [texts[int(i)] for i in rng.choice(len(texts), size=min(n, len(texts)), replace=False)]


def measure_spectrum(
    ds: RetrievalDataset,
    ws: Workspace | None = None,
    *,
    model: str = DEFAULT_BI_ENCODER,
    static_model: str = DEFAULT_STATIC_MODEL,
    sparse_model: str = SparseSpec.model,
    sample_queries: int = SPECTRUM_QUERIES,
    max_docs: int = FULL_CORPUS_MAX_DOCS,
    rate_docs: int = RATE_DOCS,
    seed: int = 0,
    distill: bool = False,
    progress: Reporter | None = None,
) -> Measurements:
    """The spectrum's answers with how each was measured (see the module docstring); ``distill``: distil
    the static model from ``model`` first when none is registered as ``static_model``."""
    if not isinstance(ds, RetrievalDataset):
        raise InvalidInput("The first-stage spectrum needs a retrieval dataset (corpus, queries, qrels).")
    has_static, static_note = static_available(ws, static_model)
    distilled = ""
    if not has_static and distill and ws is not None:  # offline: model2vec reads the bi-encoder's folder only
        report(progress, "spectrum", 0, 1, f"distilling static model {static_model} from {model}")
        distill_static(model, static_model, ws)
        has_static, distilled = True, f"; {static_model} distilled offline from {model} for this measurement"
    options = spectrum_options(
        model, static_model=static_model if has_static else None, sparse_model=sparse_model
    )
    split = ds.default_split
    specs = options.specs(ds.splits)
    found, runs = _reused(ws, ds, split, specs) if ws is not None else ({}, {})
    values, notes, details = spectrum_values(found, len(ds.corpus), "", runs)
    if len(found) < len(specs):
        target, split, where = _where(ds, ws, model, split, sample_queries, max_docs, seed)
        # built for the data measured on: a sample has no train split to tune the hybrid on
        missing = {n: s for n, s in options.specs(target.splits).items() if n not in found}
        rep = run_comparison(
            target, split, missing, ws=ws, baseline=None, latency_sample=LATENCY_SAMPLE, progress=progress
        )
        more = spectrum_values(rep.strategies, len(target.corpus), where)
        values.update(more[0])
        notes.update(more[1])
        details.update(more[2])
    if not has_static:
        notes["ndcg10_static"] = notes["encode_rate_static"] = static_note
    elif distilled and "ndcg10_static" in notes:
        notes["ndcg10_static"] += distilled
    rates, rate_notes = encode_rates(
        _rate_sample(ds, rate_docs, seed),
        ws,
        model,
        static_model=static_model if has_static else None,
        sparse_model=sparse_model,
        progress=progress,
    )
    values.update(rates)
    notes.update(rate_notes)
    report(progress, "spectrum", 1, 1, "done")
    return Measurements(values, notes, {"spectrum": details, "spectrum_runs": sorted(set(runs.values()))})


@dataclass(frozen=True)
class SpectrumJob:
    """The config of a ``wizard_spectrum`` job, parsed once at the job boundary (:meth:`from_dict`)."""

    dataset: str
    model: str = DEFAULT_BI_ENCODER
    static_model: str = DEFAULT_STATIC_MODEL
    sparse_model: str = SparseSpec.model
    sample_queries: int = SPECTRUM_QUERIES
    max_docs: int = FULL_CORPUS_MAX_DOCS
    seed: int = 0
    distill: bool = False  # distil the static model from ``model`` when none is registered

    def __post_init__(self) -> None:
        if not isinstance(self.distill, bool):
            raise InvalidInput(
                f"wizard_spectrum setting 'distill' must be true or false, got {self.distill!r}."
            )
        for name in ("sample_queries", "max_docs", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if name == "seed" else 1):
                raise InvalidInput(
                    f"wizard_spectrum setting {name!r} must be a positive whole number, got {value!r}."
                )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpectrumJob:
        """Missing (or None) settings take their defaults; unknown ones are an error."""
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise InvalidInput(f"Unknown wizard_spectrum job settings: {sorted(unknown)}")
        if not data.get("dataset"):
            raise InvalidInput("The first-stage spectrum needs a dataset.")
        return cls(**{k: v for k, v in data.items() if v is not None})


SPECTRUM_KIND = "wizard_spectrum"


def latest_spectrum(ws: Workspace, dataset: str, model: str) -> Measurements | None:
    """The newest finished ``wizard_spectrum`` run on ``dataset`` with ``model`` as measurements (its id in
    ``details["spectrum_run"]``), or None."""
    for run in ws.list_runs(kind=SPECTRUM_KIND, status=("done",), limit=50):
        cfg = run.config or {}
        if cfg.get("dataset") == dataset and cfg.get("model", DEFAULT_BI_ENCODER) == model and run.result:
            result = run.result
            details = {**(result.get("details") or {}), "spectrum_run": run.id}
            return Measurements(dict(result.get("values") or {}), dict(result.get("notes") or {}), details)
    return None


def spectrum_job(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    """Job handler (kind ``wizard_spectrum``): config = :class:`SpectrumJob`; returns the measurements."""
    job = SpectrumJob.from_dict(config)
    ds = resolve_dataset(ctx.ws, job.dataset)
    if not isinstance(ds, RetrievalDataset):
        raise InvalidInput("The first-stage spectrum needs a retrieval dataset (corpus, queries, qrels).")
    m = measure_spectrum(
        ds,
        ctx.ws,
        model=job.model,
        static_model=job.static_model,
        sparse_model=job.sparse_model,
        sample_queries=job.sample_queries,
        max_docs=job.max_docs,
        seed=job.seed,
        distill=job.distill,
        progress=ctx.reporter(),
    )
    return {"values": m.values, "notes": m.notes, "details": m.details}
