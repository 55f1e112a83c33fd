"""The wizard's rules as data: :data:`RULES` is a table of :class:`Rule` records.

A rule fires when all of its conditions (:class:`When`: field, operator, value) hold over the *facts* — the
answers plus a few numbers derived from them (see :func:`core.wizard.facts.derive_facts`). A fired rule sets
recommendation fields; when two rules set the same field, the higher priority wins and the other is kept in
the rationale as overridden (:func:`core.wizard.recommendation.recommend`).
"""

from __future__ import annotations

from core.wizard.facts import (
    CHUNK_TEXT_SHARE,
    FINETUNE_MIN_LABELS,
    MEDIOCRE_NDCG,
    MIN_RERANK_K,
    MIN_TRAIN_PAIRS,
    SETFIT_MAX_LABELS,
)
from core.wizard.rule_types import DENSE_TASKS, RETRIEVAL, Fact, Rule, When
from core.wizard.spectrum_rules import SPECTRUM_RULES

__all__ = ["RERANKER_WARNING", "RULES", "RULE_BY_ID", "Fact", "Rule", "When"]

RERANKER_WARNING = (
    "No pretrained cross-encoder can be installed offline here (no PyPI package carries an MS MARCO / BGE "
    "reranker). A cross-encoder built from a bi-encoder has an untrained head and ranks at random; one "
    "fine-tuned on SciFact's 809 training queries made the hybrid top-50 worse (nDCG@10 0.12–0.52 against 0.73 "
    "without it). Public rerankers are trained on ~500k queries: use a reranker only if you bring a pretrained "
    "one (a local folder, or a hub id when online), and keep it only if the Verify step shows it helps."
)


# --------------------------------------------------------------------------------------------------
# the rule table
# --------------------------------------------------------------------------------------------------
TOO_BIG_FOR_CE = When("cross_encoder_full_ms", ">", Fact("latency_budget_ms"))

RULES: tuple[Rule, ...] = (
    # --- retrieval architecture -----------------------------------------------------------------
    Rule(
        "large-corpus-bi-encoder",
        "Large corpus → bi-encoder first stage",
        (RETRIEVAL, TOO_BIG_FOR_CE),
        "A cross-encoder would score all {corpus_size:,} documents per query (~{cross_encoder_full_ms:,.0f} ms at "
        "~{rerank_ms_per_pair} ms a pair on {hardware}), far over the {latency_budget_ms:,.0f} ms budget; a "
        "bi-encoder encodes the corpus once and answers from a vector index in ~{dense_ms:,.0f} ms.",
        sets=(("first_stage", "dense"),),
        priority=10,
    ),
    Rule(
        "small-corpus-cross-encoder",
        "Small corpus, loose latency → a cross-encoder alone is viable",
        (RETRIEVAL, When("cross_encoder_full_ms", "<=", Fact("latency_budget_ms"))),
        "Scoring all {corpus_size:,} documents with a cross-encoder takes ~{cross_encoder_full_ms:,.0f} ms on "
        "{hardware}, within the {latency_budget_ms:,.0f} ms budget: no first-stage recall is lost. But "
        "{reranker_status}.",
        sets=(("first_stage", "cross-encoder"), ("reranker", "cross-encoder (all documents)")),
        priority=10,
        warnings=(RERANKER_WARNING,),
        advice="Without a pretrained cross-encoder, keep the bi-encoder (or hybrid) ranking the Verify step "
        "measures as best.",
    ),
    Rule(
        "scale-and-precision-rerank",
        "Large corpus and room in the budget → first stage + cross-encoder rerank of the top-k",
        (RETRIEVAL, TOO_BIG_FOR_CE, When("first_stage_plus_rerank_ms", "<=", Fact("latency_budget_ms"))),
        "A first stage (~{first_stage_ms:,.0f} ms) plus a cross-encoder over its top {rerank_k} "
        "(~{rerank_ms:,.0f} ms) fits the {latency_budget_ms:,.0f} ms budget: recall from the index, precision "
        "from the cross-encoder. But {reranker_status}.",
        sets=(("reranker", "cross-encoder"), ("rerank_top_k", Fact("rerank_k"))),
        priority=10,
        warnings=(RERANKER_WARNING,),
    ),
    Rule(
        "reranker-smaller-k",
        "A reranker at k=50 breaks the budget → rerank fewer candidates",
        (
            RETRIEVAL,
            TOO_BIG_FOR_CE,
            When("first_stage_plus_rerank_ms", ">", Fact("latency_budget_ms")),
            When("rerank_k_fit", ">=", MIN_RERANK_K),
        ),
        "Reranking the top {rerank_k} costs ~{rerank_ms:,.0f} ms on {hardware} (typically 100–500 ms on CPU), "
        "over what the {latency_budget_ms:,.0f} ms budget leaves after the first stage; the top {rerank_k_fit} "
        "fits. But {reranker_status}.",
        sets=(("reranker", "cross-encoder"), ("rerank_top_k", Fact("rerank_k_fit"))),
        priority=20,
        warnings=(RERANKER_WARNING,),
        advice="Rerank only the top {rerank_k_fit}, or serve the reranker on a GPU.",
    ),
    Rule(
        "reranker-breaks-budget",
        "No room for a reranker in the latency budget",
        (
            RETRIEVAL,
            TOO_BIG_FOR_CE,
            When("first_stage_plus_rerank_ms", ">", Fact("latency_budget_ms")),
            When("rerank_k_fit", "<", MIN_RERANK_K),
        ),
        "A cross-encoder costs ~{rerank_ms_per_pair} ms a pair on {hardware} (100–500 ms for a typical top-50); "
        "after the first stage (~{first_stage_ms:,.0f} ms) the {latency_budget_ms:,.0f} ms budget leaves room "
        "for fewer than {min_rerank_k} pairs.",
        sets=(("reranker", None), ("rerank_top_k", None)),
        priority=20,
        advice="Skip the reranker; spend the effort on fine-tuning the bi-encoder instead, or raise the budget / "
        "serve on a GPU.",
    ),
    Rule(
        "jargon-hybrid-adapt",
        "Specialised domain / high tokenizer fragmentation → hybrid with BM25 + domain adaptation",
        (RETRIEVAL, When("domain", "==", "specialised")),
        "The domain is specialised{domain_evidence}: rare terms the tokenizer shreds into pieces are matched "
        "exactly by BM25, so fuse BM25 with the bi-encoder, and adapt the bi-encoder to the domain "
        "(TSDAE or MLM on the corpus, then contrastive fine-tuning when labelled pairs exist).",
        sets=(("first_stage", "hybrid"),),
        priority=20,
    ),
    Rule(
        "domain-adapt-then-contrastive",
        "Specialised domain with text and labels → TSDAE (or MLM), then contrastive fine-tuning",
        (
            DENSE_TASKS,
            When("domain", "==", "specialised"),
            When("unlabeled_text", "==", True),
            When("labelled_pairs", ">=", MIN_TRAIN_PAIRS),
        ),
        "Unlabeled domain text teaches the encoder the vocabulary (TSDAE denoising or MLM), and "
        "{labelled_pairs:,} labelled pairs (≥ {min_train_pairs}) then teach it what relevant means.",
        sets=(("adaptation", ("tsdae", "contrastive")),),
        priority=20,
    ),
    Rule(
        "unlabeled-only-tsdae",
        "Unlabeled text only → TSDAE",
        (
            DENSE_TASKS,
            When("domain", "==", "specialised"),
            When("unlabeled_text", "==", True),
            When("labelled_pairs", "<", MIN_TRAIN_PAIRS),
        ),
        "With unlabeled text from a specialised domain but fewer than {min_train_pairs} labelled pairs "
        "({labelled_pairs:,}), TSDAE (a denoising auto-encoder on sentences) is the unsupervised adaptation "
        "that works best for sentence embeddings.",
        sets=(("adaptation", ("tsdae",)),),
        priority=15,
    ),
    Rule(
        "generic-zero-shot",
        "Generic domain without labels → keep the pretrained bi-encoder",
        (
            DENSE_TASKS,
            When("domain", "==", "generic"),
            When("labelled_pairs", "<", MIN_TRAIN_PAIRS),
        ),
        "The pretrained bi-encoder was trained on about a billion generic sentence pairs; without labelled "
        "pairs ({labelled_pairs:,} < {min_train_pairs}), unsupervised adaptation on generic text rarely beats it.",
        sets=(("adaptation", None),),
        priority=5,
        advice="Label {min_train_pairs}+ query–document pairs if the Verify step shows the quality is not enough.",
    ),
    Rule(
        "labelled-pairs-contrastive",
        "Labelled pairs → contrastive fine-tuning with hard negatives",
        (DENSE_TASKS, When("labelled_pairs", ">=", MIN_TRAIN_PAIRS)),
        "{labelled_pairs:,} labelled query–document pairs are enough for contrastive fine-tuning "
        "(MultipleNegativesRankingLoss with mined hard negatives) of the bi-encoder.",
        sets=(("adaptation", ("contrastive",)),),
        priority=15,
    ),
    Rule(
        "mediocre-hard-negatives",
        "Mediocre retrieval → improve hard negatives before changing the architecture",
        (
            RETRIEVAL,
            When("baseline_ndcg10", "<", MEDIOCRE_NDCG),
            When("labelled_pairs", ">=", MIN_TRAIN_PAIRS),
        ),
        "The zero-shot bi-encoder reaches nDCG@10 {baseline_ndcg10:.3f} (< {mediocre_ndcg}) on this data. "
        "Before a bigger model or a reranker, fine-tune on the {labelled_pairs:,} pairs with better hard "
        "negatives: mined from BM25 and the dense model, with false negatives filtered out.",
        sets=(("negatives", "bm25+dense mined, false negatives filtered"),),
        priority=25,
        advice="Mine negatives from both BM25 and the dense model, drop judged positives and near-duplicates "
        "of the positive, review them on the Adapt page, then fine-tune.",
    ),
    Rule(
        "mediocre-no-labels",
        "Mediocre retrieval without labels → label pairs first",
        (
            RETRIEVAL,
            When("baseline_ndcg10", "<", MEDIOCRE_NDCG),
            When("labelled_pairs", "<", MIN_TRAIN_PAIRS),
        ),
        "The zero-shot bi-encoder reaches only nDCG@10 {baseline_ndcg10:.3f} and there are "
        "{labelled_pairs:,} labelled pairs: a few hundred judged (query, relevant document) pairs are worth "
        "more than any architecture change.",
        advice="Label {min_train_pairs}+ query–document pairs (e.g. from search logs or by judging the hybrid "
        "top 10), then fine-tune with mined hard negatives.",
        priority=25,
    ),
    Rule(
        "dimension-breaks-budget",
        "Large dimension breaks the latency budget → reduce the dimension / use HNSW",
        (DENSE_TASKS, When("dense_ms", ">", Fact("latency_budget_ms"))),
        "An exact search over {corpus_size:,} × {embedding_dim}-d vectors takes ~{dense_ms:,.0f} ms, over the "
        "{latency_budget_ms:,.0f} ms budget.",
        sets=(("dimension", Fact("reduced_dim")), ("index", "hnsw")),
        priority=10,
        advice="Reduce the vectors to {reduced_dim}-d with PCA fitted on the corpus (the Gotchas step measures "
        "the quality cost) and use an HNSW index.",
    ),
    Rule(
        "index-memory",
        "Index too big for memory → reduce the dimension",
        (DENSE_TASKS, When("index_gb", ">", Fact("memory_budget_gb"))),
        "{corpus_size:,} × {embedding_dim}-d float32 vectors need ~{index_gb:,.1f} GB of RAM (budget "
        "{memory_budget_gb:,.4g} GB).",
        sets=(("dimension", Fact("reduced_dim")),),
        priority=5,
        advice="PCA to {reduced_dim}-d (measured in the Gotchas step) or product quantisation.",
    ),
    Rule(
        "throughput-workers",
        "Throughput beyond one worker",
        (DENSE_TASKS, When("workers_needed", ">", 1)),
        "At ~{serve_ms_per_query:,.0f} ms a query, {throughput_qps:,.0f} queries/s need ~{workers_needed} "
        "busy workers on {hardware}.",
        advice="Batch queries, add replicas, or serve the encoder on a GPU.",
        priority=5,
    ),
    Rule(
        "long-documents-chunk",
        "Long documents → cut them into passages (chunking) and score documents by their best passage",
        (RETRIEVAL, When("text_beyond_window", ">=", CHUNK_TEXT_SHARE)),
        "{text_beyond_window:.0%} of the corpus's text lies past the model's {window}-token window (median "
        "document: {median_tokens} tokens): a truncated document is searched by its first {window} tokens only, "
        "the rest never is. At {chunk_text_share:.0%} or more beyond the window, index passages of {chunk_window} "
        "tokens overlapping by {chunk_overlap} and rank each document by its best passage (MaxP).",
        sets=(("chunking", Fact("chunking_label")),),
        priority=10,
        advice="Compare truncated against chunked on your queries (the Verify step does): when the queries are "
        "about a document's beginning (title, abstract), truncation can win — then keep it.",
    ),
    Rule(
        "short-documents-truncate",
        "Documents fit the window → no chunking",
        (RETRIEVAL, When("text_beyond_window", "<", CHUNK_TEXT_SHARE)),
        "Only {text_beyond_window:.1%} of the text lies past the model's {window}-token window (below "
        "{chunk_text_share:.0%}; median document: {median_tokens} tokens): truncation loses little, and passages "
        "would multiply the index for nothing.",
        sets=(("chunking", None),),
        priority=10,
    ),
    Rule(
        "similarity-bi-encoder",
        "Similarity / dedup → bi-encoder with cosine on normalised vectors",
        (When("task", "==", "similarity"),),
        "Pairwise similarity over {corpus_size:,} texts needs vectors that can be compared in bulk: a bi-encoder "
        "with L2-normalised vectors (cosine = dot product) in a vector index; a cross-encoder would need "
        "every pair.",
        sets=(("first_stage", "dense"), ("similarity", "cosine")),
        priority=10,
        advice="Pick the duplicate threshold on a few hundred labelled pairs.",
    ),
    # --- classification -------------------------------------------------------------------------
    Rule(
        "no-labels-zero-shot",
        "No labels → zero-shot by similarity to label names",
        (When("task", "==", "classification"), When("labels_per_class", "==", 0)),
        "Without labelled examples, compare each text's embedding with the embeddings of the label names.",
        sets=(("classifier", "zero-shot"),),
        priority=20,
        advice="Label 8–16 examples per class and SetFit will usually beat zero-shot.",
    ),
    Rule(
        "few-labels-setfit",
        "Fewer than 100 labels per class → SetFit",
        (
            When("task", "==", "classification"),
            When("labels_per_class", ">", 0),
            When("labels_per_class", "<", SETFIT_MAX_LABELS),
        ),
        "With {labels_per_class:,} labelled examples per class (< {setfit_max_labels}), SetFit (contrastive "
        "fine-tuning of the bi-encoder on pairs, then a logistic-regression head) beats a classifier on frozen "
        "embeddings and needs no prompts.",
        sets=(("classifier", "setfit"),),
        priority=10,
    ),
    Rule(
        "mid-labels-frozen-logreg",
        "100–1,000 labels per class → logistic regression on frozen embeddings (SetFit optional)",
        (
            When("task", "==", "classification"),
            When("labels_per_class", ">=", SETFIT_MAX_LABELS),
            When("labels_per_class", "<=", FINETUNE_MIN_LABELS),
        ),
        "With {labels_per_class:,} examples per class a linear head on frozen embeddings is strong and cheap; "
        "SetFit's pair generation grows quadratically and gains less at this size.",
        sets=(("classifier", "logreg"),),
        priority=10,
    ),
    Rule(
        "abundant-labels-finetune",
        "More than 1,000 labels per class → full fine-tuning of a small classifier",
        (When("task", "==", "classification"), When("labels_per_class", ">", FINETUNE_MIN_LABELS)),
        "With {labels_per_class:,} examples per class (> {finetune_min_labels:,}), fine-tuning all weights of a "
        "small transformer classifier (e.g. MiniLM with a classification head) uses the labels best.",
        sets=(("classifier", "fine-tune"),),
        priority=10,
    ),
    # --- hardware -------------------------------------------------------------------------------
    Rule(
        "cpu-only-training",
        "No GPU → keep adaptation runs short",
        (
            When("gpu", "==", False),
            When("task", "!=", "classification"),
            When("labelled_pairs", ">=", MIN_TRAIN_PAIRS),
        ),
        "Training on CPU is ~50× slower than on a GPU (one contrastive epoch on SciFact: minutes on CPU, ~4 s "
        "on an H100).",
        advice="Use a MiniLM-sized model, limit max steps, cache corpus embeddings, and schedule long runs.",
        priority=5,
    ),
    *SPECTRUM_RULES,
)
RULE_BY_ID = {r.id: r for r in RULES}
