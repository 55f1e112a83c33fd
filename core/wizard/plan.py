"""The Verify step's plan for one recommendation: which strategies to compare (the recommended one against
the alternatives a user would otherwise pick) and, where recommended, a short adaptation run (job kind
``adapt``) or a SetFit run (job kind ``setfit_curve``) that test the other decisions; runs that already
answer the question are reused (:func:`plan_verification`, :func:`find_matching_comparison`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.classify import has_label_names
from core.data import LabeledDataset, RetrievalDataset
from core.encoding import DEFAULT_STATIC_MODEL
from core.evaluate import CompareOptions
from core.models import DEFAULT_BI_ENCODER
from core.retrieval import (
    DEFAULT_RERANK_DEPTH,
    BM25Spec,
    DenseSpec,
    HybridSpec,
    RerankSpec,
    SparseSpec,
    spec_to_dict,
)
from core.runtime import InvalidInput, RunRecord, Workspace, jobs
from core.wizard.facts import chunk_settings
from core.wizard.picks import spectrum_picks

__all__ = [
    "SHORT_ADAPT_STEPS",
    "SHORT_SETFIT_SEEDS",
    "ExtraCheck",
    "VerifyPlan",
    "chunking_specs",
    "find_matching_comparison",
    "plan_verification",
]

SHORT_ADAPT_STEPS = 60  # max optimizer steps of the short adaptation check
SHORT_SETFIT_SEEDS = 3  # seeds of the short SetFit check


@dataclass(frozen=True)
class ExtraCheck:
    """A run of another feature's job kind that tests one decision (or an earlier run that already did)."""

    purpose: str  # adaptation | classifier
    kind: str
    config: dict[str, Any]
    title: str
    reuse: str | None = None  # id of a finished run that answers the same question

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class VerifyPlan:
    """What the Verify step runs for one recommendation on one dataset."""

    dataset: str
    split: str | None
    specs: dict[str, dict[str, Any]]  # strategy name -> spec dict (retrieval only)
    recommended: str | None  # the strategy that embodies the recommendation
    first_stage: str | None  # the recommended first stage (the reranker's input), when reranked
    extras: tuple[ExtraCheck, ...] = ()
    notes: tuple[str, ...] = ()
    reuse_comparison: str | None = None
    model: str = DEFAULT_BI_ENCODER
    chunk_pairs: tuple[tuple[str, str], ...] = ()  # (truncated, chunked) strategy names to compare
    # picks of the spectrum rules, each tested against what it replaced: {"claim": "first stage" | "index",
    # "strategy", "reference": [names], "bar" (share of nDCG@10 to keep) | "max_loss", "cost" (words)}
    picks: tuple[Mapping[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["extras"] = [e.to_json() for e in self.extras]
        data["notes"] = list(self.notes)
        data["chunk_pairs"] = [list(p) for p in self.chunk_pairs]
        data["picks"] = [dict(p) for p in self.picks]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VerifyPlan:
        data = dict(data)
        data["extras"] = tuple(ExtraCheck(**e) for e in data.get("extras") or ())
        data["notes"] = tuple(data.get("notes") or ())
        data["chunk_pairs"] = tuple(tuple(p) for p in data.get("chunk_pairs") or ())
        data["picks"] = tuple(dict(p) for p in data.get("picks") or ())
        return cls(**data)


# --------------------------------------------------------------------------------------------------
# planning
# --------------------------------------------------------------------------------------------------
def _spec_key(spec: Any) -> Any:
    """A comparable (hashable) form of a spec dict, nested parts, chunkings and fusion parts included; a tuned
    hybrid's alpha (or a tuned fusion's weights) is whatever tuning found, so it is left out."""
    if isinstance(spec, Mapping):
        data = dict(spec)
        if data.get("kind") in ("hybrid", "fusion") and data.get("tune_split"):
            data.pop("alpha", None)
            data.pop("weights", None)
        return tuple(sorted((k, _spec_key(v)) for k, v in data.items()))
    if isinstance(spec, list | tuple):
        return tuple(_spec_key(v) for v in spec)
    return spec


def find_matching_comparison(
    ws: Workspace, dataset: str, split: str, specs: Mapping[str, Mapping[str, Any]]
) -> tuple[str, dict[str, str]] | None:
    """The newest finished ``evaluate`` run on the same dataset and split that holds every spec; returns
    its id and a map from our strategy names to its names."""
    wanted = {name: _spec_key(spec) for name, spec in specs.items()}
    for run in ws.list_runs(kind="evaluate", status=("done",), limit=200):
        cfg = run.config or {}
        if cfg.get("dataset") != dataset or (cfg.get("split") or split) != split:
            continue
        if not (ws.run_dir(run.id) / "report.json").exists():
            continue
        theirs = {_spec_key(spec): name for name, spec in (cfg.get("strategies") or {}).items()}
        if all(key in theirs for key in wanted.values()):
            return run.id, {name: theirs[key] for name, key in wanted.items()}
    return None


def _retrieval_specs(
    rec: Mapping[str, Any], ds: RetrievalDataset, model: str, reranker: str | None
) -> tuple[dict[str, Any], str, str | None, list[str]]:
    notes: list[str] = []
    tune = "train" if "train" in ds.splits and ds.default_split != "train" else None
    dense = DenseSpec(model=model)
    specs: dict[str, Any] = {
        "bm25": BM25Spec(),
        "dense": dense,
        "hybrid": HybridSpec(dense=dense, tune_split=tune),
    }
    first = rec.get("first_stage") or "dense"
    if first == "splade":
        specs["splade"] = SparseSpec()
    elif first == "static":
        specs["static"] = dataclasses.replace(dense, model=DEFAULT_STATIC_MODEL)
    recommended = first if first in specs else "dense"
    first_stage = None
    if first == "cross-encoder":
        notes.append(
            "A cross-encoder over every document is not run (queries × documents pairs); it is approximated by "
            "reranking the dense top 100."
            if reranker
            else "The cross-encoder-alone strategy is not measured: no pretrained cross-encoder is available here."
        )
    wants_rerank = bool(rec.get("reranker"))
    if wants_rerank and reranker:
        top_k = int((rec.get("reranker") or {}).get("top_k") or DEFAULT_RERANK_DEPTH)
        base_name = recommended
        if first == "cross-encoder":
            top_k = min(100, len(ds.corpus))
        specs["rerank"] = RerankSpec(first_stage=specs[base_name], reranker=reranker, top_k=top_k)
        first_stage, recommended = base_name, "rerank"
    elif wants_rerank:
        notes.append(
            "The reranker is not measured: no cross-encoder with a trained head is registered here; the "
            "first stage is verified alone."
        )
    if rec.get("index", {}).get("dimension") not in (None, (rec.get("answers") or {}).get("embedding_dim")):
        notes.append("The dimension reduction is measured in the Gotchas step (PCA on the corpus vectors).")
    return specs, recommended, first_stage, notes


def _planned_specs(
    rec: Mapping[str, Any], ds: RetrievalDataset, model: str, reranker: str | None
) -> tuple[dict[str, dict[str, Any]], str, str | None, tuple[Mapping[str, Any], ...], list[str]]:
    """The specs to compare (as dicts), the recommended strategy, the reranked first stage, the spectrum
    picks to test and notes."""
    built, recommended, first_stage, notes = _retrieval_specs(rec, ds, model, reranker)
    picks, pick_notes = spectrum_picks(rec, built, first_stage or recommended)
    return {n: spec_to_dict(s) for n, s in built.items()}, recommended, first_stage, picks, notes + pick_notes


def chunking_specs(
    rec: Mapping[str, Any], ds: RetrievalDataset, model: str, first: str
) -> tuple[dict[str, dict[str, Any]], tuple[tuple[str, str], ...], list[str]]:
    """When the answers advise chunking (:func:`core.wizard.facts.chunk_settings`): BM25 on each document's
    first W tokens and on passages W/O (cheap, always), and the recommended dense / hybrid first stage on
    passages (its plain spec is the model truncated at its window). Returns the specs, the (truncated,
    chunked) pairs the verification compares, and notes."""
    cut = chunk_settings(dict(rec.get("answers") or {}))
    if cut is None:
        return {}, (), []
    window, overlap = cut
    chunked = f"@{window}/{overlap}"
    pairs = [(f"bm25@{window}", f"bm25{chunked}")]
    if first in ("dense", "hybrid"):
        pairs.append((first, f"{first}{chunked}"))
    names = [n for pair in pairs for n in pair if "@" in n]
    options = CompareOptions(strategies=tuple(names), model=model, tune_split="auto")
    specs = {n: spec_to_dict(s) for n, s in options.specs(ds.splits).items()}
    share = (rec.get("answers") or {}).get("text_beyond_window") or 0.0
    note = (
        f"{share:.0%} of the text lies past the {window}-token window: the check compares each document "
        f"truncated to its first {window} tokens against passages {window}/{overlap} (MaxP), for BM25"
        + (f" and the {first} first stage." if first in ("dense", "hybrid") else ".")
    )
    return specs, tuple(pairs), [note]


def _find_run(ws: Workspace, kinds: Sequence[str], match: Any) -> RunRecord | None:
    for run in ws.list_runs(kind=tuple(kinds), status=("done",), limit=200):
        if match(run.config or {}, run.result or {}):
            return run
    return None


def _adaptation_extra(
    rec: Mapping[str, Any], ds: RetrievalDataset, ws: Workspace, model: str, kinds: set[str], steps_max: int
) -> tuple[ExtraCheck | None, str | None]:
    adaptation = rec.get("adaptation")
    if not adaptation:
        return None, None
    steps = list(adaptation.get("steps") or [])
    # the step a short run can test: contrastive when there are pairs, else the unsupervised step
    method = "contrastive" if "contrastive" in steps else steps[-1]
    if "adapt" not in kinds:
        return (
            None,
            f"The {' → '.join(steps)} adaptation is not measured: adaptation jobs are not available here.",
        )
    previous = _find_run(
        ws,
        ["adapt"],
        lambda c, r: c.get("dataset") == ds.name and c.get("method") == method and r.get("after"),
    )
    skipped = [s for s in steps if s != method]
    note = (
        f"The short check trains only the {method} step; {', '.join(skipped)} is not run here (start it from the "
        "Adapt page)."
        if skipped
        else None
    )
    config = {
        "method": method,
        "dataset": ds.name,
        "base": model,
        "name": f"wizard-{method}-{ds.name}-{time.strftime('%Y%m%d%H%M%S')}",
        "train": {"max_steps": steps_max},
        "evaluate": True,
    }
    title = f"Wizard check: short {method} run on {ds.name}"
    return ExtraCheck("adaptation", "adapt", config, title, previous.id if previous else None), note


def _classifier_extra(
    rec: Mapping[str, Any], ds: LabeledDataset, ws: Workspace, model: str, kinds: set[str], seeds: int
) -> tuple[ExtraCheck | None, str | None]:
    classifier = rec.get("classifier")
    if not classifier:
        return None, None
    if "setfit_curve" not in kinds:
        return None, "The classifier choice is not measured: SetFit jobs are not available here."
    lpc = int((rec.get("answers") or {}).get("labels_per_class") or 0)
    n = min(max(lpc, 8), 64) if classifier != "setfit" else max(2, min(lpc or 8, 64))
    methods = ["setfit", "logreg"]

    if has_label_names(list(ds.label_names)):
        methods.append("zeroshot")
    previous = _find_run(
        ws,
        ["setfit_curve", "setfit_run"],
        lambda c, r: (
            c.get("dataset") == ds.name
            and n in (c.get("n_values") or [])
            and {"setfit", "logreg"} <= set(c.get("methods") or [])
        ),
    )
    config = {
        "dataset": ds.name,
        "body": model,
        "methods": methods,
        "n_values": [n],
        "seeds": list(range(seeds)),
        "test_limit": 1000,
    }
    note = None
    if classifier == "fine-tune":
        note = (
            "Full fine-tuning is not a job here; the check compares what is cheaper (logistic regression on frozen "
            f"embeddings, SetFit) at N={n} per class — if they fall short, fine-tune."
        )
    title = f"Wizard check: SetFit vs baselines on {ds.name} (N={n})"
    return ExtraCheck("classifier", "setfit_curve", config, title, previous.id if previous else None), note


def plan_verification(
    rec: Mapping[str, Any],
    ds: RetrievalDataset | LabeledDataset,
    ws: Workspace,
    *,
    model: str = DEFAULT_BI_ENCODER,
    reranker: str | None = None,
    include_extras: bool = True,
    short_steps: int = SHORT_ADAPT_STEPS,
    short_seeds: int = SHORT_SETFIT_SEEDS,
) -> VerifyPlan:
    """The measurements that test ``rec`` (the JSON of a recommendation) on ``ds``; ``short_steps`` /
    ``short_seeds`` size the short adaptation / SetFit run."""
    kinds = jobs.known_kinds()
    task = rec.get("task") or (rec.get("answers") or {}).get("task")
    notes: list[str] = []
    extras: list[ExtraCheck] = []
    if isinstance(ds, RetrievalDataset):
        if task == "classification":
            raise InvalidInput(
                f"{ds.name!r} is a retrieval dataset but the task is classification; pick a "
                "classification dataset to verify a classifier."
            )
        split = ds.default_split
        specs, recommended, first_stage, picks, spec_notes = _planned_specs(rec, ds, model, reranker)
        notes += spec_notes
        extra_specs, chunk_pairs, chunk_notes = chunking_specs(rec, ds, model, first_stage or recommended)
        specs.update(extra_specs)
        notes += chunk_notes
        for truncated, chunked in chunk_pairs:  # chunking advised: the recommendation is the chunked one
            if truncated == recommended or (recommended == "bm25" and truncated.startswith("bm25@")):
                recommended = chunked
        match = find_matching_comparison(ws, ds.name, split, specs)
        if include_extras:
            extra, note = _adaptation_extra(rec, ds, ws, model, kinds, short_steps)
            extras += [extra] if extra else []
            notes += [note] if note else []
        return VerifyPlan(
            ds.name,
            split,
            specs,
            recommended,
            first_stage,
            tuple(extras),
            tuple(notes),
            match[0] if match else None,
            model,
            chunk_pairs,
            picks,
        )
    if task != "classification":
        raise InvalidInput(
            f"{ds.name!r} is a classification dataset but the task is {task}; pick a retrieval "
            "dataset (corpus, queries, qrels) to verify a retrieval strategy."
        )
    if include_extras:
        extra, note = _classifier_extra(rec, ds, ws, model, kinds, short_seeds)
        extras += [extra] if extra else []
        notes += [note] if note else []
    return VerifyPlan(ds.name, None, {}, None, None, tuple(extras), tuple(notes), None, model)
