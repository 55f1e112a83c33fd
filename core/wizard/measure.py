"""Pre-fill the wizard's answers from a dataset: what can be measured is measured, and each value says how.

- corpus size, labelled pairs (judged relevant pairs outside the evaluation split), labels per class;
- unlabeled domain text (a retrieval corpus is such text);
- GPU (:func:`core.runtime.detect_device`);
- domain specialisation, from two signals: the share of words the model's tokenizer splits into 3+ pieces
  (:func:`tokenizer_fragmentation`) and how much BM25 and the bi-encoder agree on sample queries
  (:func:`bm25_dense_overlap`, overlap@10);
- the zero-shot bi-encoder's nDCG@10 (when the corpus vectors are cached or the corpus is small);
- document lengths in the model's tokens against its window (:func:`core.data.length_stats` on a seeded
  sample): the share of the text a truncated document never searches, which decides chunking.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.data import ChunkSpec, LabeledDataset, RetrievalDataset, length_stats
from core.encoding import EmbeddingCache, Encoder, make_encoder
from core.evaluate import evaluate_run
from core.models import DEFAULT_BI_ENCODER, cross_encoder_head_is_trained, list_models, resolve_model
from core.retrieval import BM25Retriever, Corpus, DenseRetriever, DenseSpec, results_to_run
from core.runtime import InvalidInput, Reporter, Workspace, configure_environment, detect_device, report
from core.wizard.answers import estimate_domain
from core.wizard.facts import DEFAULT_WINDOW

__all__ = [
    "Measurements",
    "bm25_dense_overlap",
    "labelled_pairs",
    "load_tokenizer",
    "measure_answers",
    "measure_lengths",
    "reranker_available",
    "sample_corpus",
    "tokenizer_fragmentation",
]

_WORD = re.compile(r"[^\W\d_]{2,}")
FULL_CORPUS_MAX_DOCS = 2000  # encode the whole corpus for the measurement up to this size
LENGTH_SAMPLE = 500  # documents whose tokens are counted


@dataclass(frozen=True)
class Measurements:
    """Measured answers (by answer name), how each was measured, and details for the page."""

    values: dict[str, Any]
    notes: dict[str, str]
    details: dict[str, Any] = field(default_factory=dict)


def load_tokenizer(model: str, ws: Workspace | None = None) -> Any:
    """The tokenizer of a bi-encoder (no weights loaded)."""
    from transformers import AutoTokenizer

    configure_environment()
    info = resolve_model(model, ws, kind="bi-encoder")
    return AutoTokenizer.from_pretrained(info.location)


def tokenizer_fragmentation(
    tokenizer: Any, texts: Sequence[str], *, min_pieces: int = 3, sample: int = 500, seed: int = 0
) -> tuple[float, list[tuple[str, int]]]:
    """Share of word occurrences (letters only, 2+ characters) split into ``min_pieces`` or more pieces,
    on a seeded sample of ``texts``; also the most frequent such words with their piece counts."""
    texts = list(texts)
    if not texts:
        return 0.0, []
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(texts), size=min(sample, len(texts)), replace=False)
    counts = Counter(w.lower() for i in idx for w in _WORD.findall(texts[int(i)]))
    if not counts:
        return 0.0, []
    words = list(counts)
    ids = tokenizer(words, add_special_tokens=False)["input_ids"]
    pieces = {w: len(x) for w, x in zip(words, ids, strict=True)}
    total = sum(counts.values())
    split = {w: c for w, c in counts.items() if pieces[w] >= min_pieces}
    examples = [(w, pieces[w]) for w, _ in Counter(split).most_common(12)]
    return sum(split.values()) / total, examples


def bm25_dense_overlap(
    bm25: Any, dense: Any, queries: Sequence[str], k: int = 10
) -> tuple[float, list[float]]:
    """Mean share of the top ``k`` that two retrievers have in common (1 = same documents)."""
    if not queries:
        return 0.0, []
    a = bm25.search(list(queries), k)
    b = dense.search(list(queries), k)
    per = [len(set(x.doc_ids) & set(y.doc_ids)) / k for x, y in zip(a, b, strict=True)]
    return float(np.mean(per)), per


def labelled_pairs(ds: RetrievalDataset) -> tuple[int, str]:
    """Judged relevant pairs outside the evaluation split (the ones training may use), with a note."""
    eval_split = ds.default_split
    train = ds.qrels[(ds.qrels["split"] != eval_split) & (ds.qrels["score"] > 0)]
    splits = sorted(set(train["split"]))
    if not splits:
        return 0, f"only the {eval_split!r} split has judgements; they are kept for evaluation"
    return len(
        train
    ), f"relevant judgements in {', '.join(splits)} (the {eval_split!r} split is kept for evaluation)"


def reranker_available(ws: Workspace | None) -> tuple[bool, list[str]]:
    """Whether a cross-encoder with a trained head is registered in the workspace (and their names)."""
    if ws is None:
        return False, []

    names = [m.name for m in list_models(ws, "cross-encoder") if cross_encoder_head_is_trained(m.location)]
    return bool(names), names


def sample_corpus(
    ds: RetrievalDataset, query_ids: Sequence[str], max_docs: int, seed: int = 0
) -> tuple[list[str], list[str]]:
    """Up to ``max_docs`` documents: every judged document of ``query_ids``, then a seeded random fill."""
    texts = dict(zip(ds.doc_ids, ds.doc_texts(), strict=True))
    judged = ds.qrels[ds.qrels["query_id"].isin(set(query_ids))]["doc_id"]
    keep = list(dict.fromkeys(d for d in judged if d in texts))[:max_docs]
    rest = [d for d in ds.doc_ids if d not in set(keep)]
    rng = np.random.default_rng(seed)
    fill = rng.choice(len(rest), size=min(max_docs - len(keep), len(rest)), replace=False) if rest else []
    ids = keep + [rest[int(i)] for i in fill]
    return ids, [texts[d] for d in ids]


def _detect_gpu() -> bool:
    return detect_device() in ("cuda", "mps")


def measure_answers(
    ds: RetrievalDataset | LabeledDataset,
    ws: Workspace | None = None,
    *,
    model: str = DEFAULT_BI_ENCODER,
    encoder: Encoder | None = None,
    tokenizer: Any = None,
    sample_queries: int = 50,
    max_docs: int = 1000,
    seed: int = 0,
    progress: Reporter | None = None,
) -> Measurements:
    """Measure every answer the dataset allows (see the module docstring)."""
    values: dict[str, Any] = {}
    notes: dict[str, str] = {}
    details: dict[str, Any] = {"dataset": ds.name, "model": model}
    values["gpu"] = _detect_gpu()
    notes["gpu"] = "detected on this machine"
    available, names = reranker_available(ws)
    values["reranker_available"] = available
    notes["reranker_available"] = (
        f"trained cross-encoder(s) in the workspace: {', '.join(names)}"
        if names
        else "no cross-encoder with a trained head in the workspace"
    )
    details["rerankers"] = names
    report(progress, "measure", 0, 4, "tokenizer fragmentation")
    tokenizer = tokenizer if tokenizer is not None else load_tokenizer(model, ws)
    texts = _dataset_answers(ds, values, notes)
    frag, examples = tokenizer_fragmentation(tokenizer, texts, seed=seed)
    values["fragmentation"] = round(frag, 4)
    notes["fragmentation"] = (
        f"word occurrences in {min(500, len(texts)):,} sampled texts, {model}'s tokenizer"
    )
    details["fragmented_words"] = examples
    if isinstance(ds, RetrievalDataset):
        _measure_retrieval(
            ds, ws, model, encoder, values, notes, details, sample_queries, max_docs, seed, progress
        )
        measure_lengths(
            ds, tokenizer, int(values.get("model_window") or DEFAULT_WINDOW), values, notes, details
        )
    estimate = estimate_domain(values.get("fragmentation"), values.get("bm25_dense_overlap"))
    if estimate is not None:
        values["domain"], notes["domain"] = estimate
    report(progress, "measure", 4, 4, "done")
    return Measurements(values, notes, details)


def _dataset_answers(
    ds: RetrievalDataset | LabeledDataset, values: dict[str, Any], notes: dict[str, str]
) -> list[str]:
    """The answers the dataset's shape gives (task, size, labels, unlabeled text); returns its texts."""
    if isinstance(ds, RetrievalDataset):
        values["task"] = "retrieval"
        notes["task"] = "retrieval dataset (corpus, queries, relevance judgements)"
        values["corpus_size"] = len(ds.corpus)
        notes["corpus_size"] = "documents in the corpus"
        values["labelled_pairs"], notes["labelled_pairs"] = labelled_pairs(ds)
        values["unlabeled_text"] = True
        notes["unlabeled_text"] = f"the corpus itself: {len(ds.corpus):,} documents"
        return ds.doc_texts()
    values["task"] = "classification"
    notes["task"] = "classification dataset (texts with labels)"
    values["corpus_size"] = len(ds.data)
    notes["corpus_size"] = "labelled texts in the dataset"
    values["labels_per_class"], notes["labels_per_class"] = _labels_per_class(ds)
    values["labelled_pairs"] = 0
    notes["labelled_pairs"] = "a classification dataset has no query–document pairs"
    values["unlabeled_text"] = False
    notes["unlabeled_text"] = "no unlabeled split in a classification dataset"
    return ds.data["text"].tolist()


def measure_lengths(
    ds: RetrievalDataset,
    tokenizer: Any,
    window: int,
    values: dict[str, Any],
    notes: dict[str, str],
    details: dict[str, Any],
    *,
    seed: int = 0,
) -> None:
    """Tokens per document of a seeded sample against ``window``: the share of the text beyond it, the
    median length, and the passages a window/(window/4) chunking would make (``details["lengths"]``)."""
    spec = ChunkSpec(window=max(16, min(window, 8192)), overlap=max(16, min(window, 8192)) // 4)
    try:
        stats = length_stats(
            ds.doc_texts(), tokenizer, window=window, spec=spec, sample=LENGTH_SAMPLE, seed=seed
        )
    except InvalidInput as err:  # a tokenizer without character offsets cannot count passages
        notes["text_beyond_window"] = f"not measured: {err}"
        return
    values["model_window"] = int(window)
    notes.setdefault(
        "model_window", f"{window} tokens assumed (the encoder does not state its max_seq_length)"
    )
    values["text_beyond_window"] = round(stats.share_text_beyond, 4)
    values["doc_tokens_p50"] = round(stats.p50)
    checked = (
        f"{stats.checked:,} of {stats.documents:,} documents"
        if stats.checked < stats.documents
        else (f"all {stats.documents:,} documents")
    )
    notes["text_beyond_window"] = (
        f"tokens past the {window}-token window over all tokens, {checked}; {stats.share_docs_beyond:.0%} of the "
        f"documents are longer than the window"
    )
    notes["doc_tokens_p50"] = f"median of {checked} (p10 {stats.p10:,.0f}, p90 {stats.p90:,.0f})"
    details["lengths"] = {k: v for k, v in stats.to_dict().items() if k not in ("tokens", "passages")}


def _labels_per_class(ds: LabeledDataset) -> tuple[int, str]:
    split = "train" if "train" in ds.splits else ds.splits[0]
    frame = ds.split(split)
    if ds.multi_label:
        counts = Counter(label for labels in frame["labels"] for label in labels)
    else:
        counts = Counter(frame["label"])
    values = [counts.get(label, 0) for label in ds.label_names] or list(counts.values())
    median = int(statistics.median(values)) if values else 0
    return median, (
        f"median over {len(values)} classes in the {split!r} split (smallest {min(values, default=0):,}, "
        f"largest {max(values, default=0):,})"
    )


def _encoder_answers(encoder: Encoder, model: str, values: dict[str, Any], notes: dict[str, str]) -> None:
    """The encoder's dimension and, when it states one, its window (``max_seq_length``)."""
    values["embedding_dim"] = int(encoder.dim)
    notes["embedding_dim"] = f"{model} output dimension"
    window = getattr(encoder, "max_seq_length", None)
    if isinstance(window, int) and window > 0:
        values["model_window"] = window
        notes["model_window"] = f"{model}'s max_seq_length"


def _measure_retrieval(
    ds: RetrievalDataset,
    ws: Workspace | None,
    model: str,
    encoder: Encoder | None,
    values: dict[str, Any],
    notes: dict[str, str],
    details: dict[str, Any],
    sample_queries: int,
    max_docs: int,
    seed: int,
    progress: Reporter | None,
) -> None:
    report(progress, "measure", 1, 4, f"loading {model}")
    encoder = encoder or make_encoder(model, ws)
    _encoder_answers(encoder, model, values, notes)
    cache = EmbeddingCache(ws) if ws is not None else None
    split = ds.default_split
    queries = ds.split_queries(split)
    rng = np.random.default_rng(seed)
    pick = sorted(rng.choice(len(queries), size=min(sample_queries, len(queries)), replace=False))
    q_ids = [queries["query_id"].iloc[int(i)] for i in pick]
    q_texts = [queries["text"].iloc[int(i)] for i in pick]

    cached = cache.get(encoder.fingerprint, ds.fingerprint, len(ds.corpus)) if cache is not None else None
    full = cached is not None or len(ds.corpus) <= FULL_CORPUS_MAX_DOCS
    if full:
        corpus = Corpus.from_dataset(ds)
        where = "the whole corpus" + (" (vectors from the embedding cache)" if cached is not None else "")
    else:
        ids, texts = sample_corpus(ds, q_ids, max_docs, seed)
        corpus = Corpus.from_texts(ids, texts)
        where = (
            f"a {len(ids):,}-document sample of the corpus (the sampled queries' judged documents plus random "
            f"others; the full corpus is not encoded yet)"
        )
    report(progress, "measure", 2, 4, f"BM25 vs dense on {len(q_texts)} queries over {where}")

    def encode_progress(p: Any) -> None:
        report(progress, "encode", p.done, p.total, p.message)

    dense = DenseRetriever(corpus, encoder, DenseSpec(model=model), cache=cache, progress=encode_progress)
    bm25 = BM25Retriever(corpus)
    overlap, per = bm25_dense_overlap(bm25, dense, q_texts, k=10)
    values["bm25_dense_overlap"] = round(overlap, 4)
    notes["bm25_dense_overlap"] = f"mean overlap@10 on {len(q_texts)} sampled {split!r} queries over {where}"
    details["overlap_per_query"] = per
    details["overlap_corpus_docs"] = len(corpus)
    if full:
        report(progress, "measure", 3, 4, f"zero-shot nDCG@10 on the {split!r} split")
        all_ids, all_texts = queries["query_id"].tolist(), queries["text"].tolist()
        run = results_to_run(all_ids, dense.search(all_texts, 10))
        means, _ = evaluate_run(ds.qrels_dict(split), run, {"ndcg@10": "ndcg@10"})
        values["baseline_ndcg10"] = round(means["ndcg@10"], 4)
        notes["baseline_ndcg10"] = f"{model} zero-shot on all {len(all_ids)} {split!r} queries"
    else:
        notes["baseline_ndcg10"] = (
            "not measured: the corpus vectors are not cached yet (the Verify step measures it)"
        )
