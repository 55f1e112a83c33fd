"""bm25s (the engine behind BM25Retriever) ranks the same documents as rank-bm25, the slow reference.

rank-bm25 is used only here and in bench/. Both get the same tokens (lower-cased words, English stop-words
removed, no stemming). With the same BM25 variant (Robertson idf, which rank-bm25's BM25Okapi uses) the
rankings are identical; the default Lucene variant differs only in its idf (log(1 + x) instead of log x)
and keeps nearly the same top documents.
"""

from __future__ import annotations

import re

import numpy as np
from bm25s.stopwords import STOPWORDS_EN
from rank_bm25 import BM25Okapi

from core.retrieval import BM25Retriever, BM25Spec, Corpus

DOCS = [
    "Insulin resistance raises blood glucose in type 2 diabetes patients.",
    "Regular exercise lowers blood pressure and improves insulin sensitivity.",
    "Vitamin D deficiency is linked to weaker bones and fractures in older adults.",
    "Calcium and vitamin D supplements reduce fracture risk in elderly women.",
    "Smoking damages lung tissue and causes chronic obstructive pulmonary disease.",
    "Lung cancer screening with low dose CT reduces mortality among heavy smokers.",
    "Statins lower LDL cholesterol and reduce the risk of heart attacks.",
    "High cholesterol diets increase plaque in coronary arteries.",
    "Sleep deprivation impairs memory consolidation and attention.",
    "Memory loss in Alzheimer disease follows amyloid plaque accumulation.",
    "Antibiotic overuse drives bacterial resistance in hospitals.",
    "Bacterial infections in hospitals spread through contaminated hands.",
    "Gut microbiota composition changes with diet and antibiotic exposure.",
    "A fibre rich diet supports healthy gut bacteria and lowers inflammation.",
    "Chronic inflammation contributes to heart disease and diabetes.",
    "Blood pressure medication reduces stroke risk in hypertensive patients.",
]
QUERIES = [
    "insulin and blood glucose",
    "vitamin D fractures elderly",
    "smoking lung disease",
    "cholesterol heart attack risk",
    "memory and sleep",
    "antibiotic resistance bacteria hospitals",
    "diet gut bacteria inflammation",
    "blood pressure stroke",
    "plaque",
]


def _tokens(text: str) -> list[str]:
    stop = set(STOPWORDS_EN)
    return [w for w in re.findall(r"(?u)\b\w\w+\b", text.lower()) if w not in stop]


def _ranking(scores: np.ndarray) -> list[int]:
    order = np.argsort(-scores, kind="stable")
    return [int(i) for i in order if scores[i] > 0]


def test_bm25s_ranks_the_same_documents_as_rank_bm25():
    corpus = Corpus.from_texts([f"d{i}" for i in range(len(DOCS))], DOCS)
    reference = BM25Okapi([_tokens(d) for d in DOCS], k1=1.2, b=0.75)
    ours = BM25Retriever(corpus, BM25Spec(stemmer=None, stopwords="en", method="robertson"))
    for query in QUERIES:
        expected = _ranking(np.asarray(reference.get_scores(_tokens(query))))
        assert expected, query
        assert _ranking(ours.scores(query)) == expected, query
        hits = ours.search([query], k=len(DOCS))[0]
        assert list(hits.doc_ids) == [f"d{i}" for i in expected]


def test_default_lucene_variant_keeps_the_same_top_documents():
    corpus = Corpus.from_texts([f"d{i}" for i in range(len(DOCS))], DOCS)
    reference = BM25Okapi([_tokens(d) for d in DOCS], k1=1.2, b=0.75)
    ours = BM25Retriever(corpus, BM25Spec(stemmer=None, stopwords="en"))  # method="lucene"
    for query in QUERIES:
        expected = _ranking(np.asarray(reference.get_scores(_tokens(query))))
        got = _ranking(ours.scores(query))
        assert set(got) == set(expected), query  # same matching documents
        assert got[0] == expected[0], query  # same best document
