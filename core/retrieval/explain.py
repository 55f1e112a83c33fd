"""Why a document matched a query, for any text (no index needed): SPLADE's expansion terms and the terms the
document shares with them (:func:`explain_sparse_match`), and BM25's exact term matches under the same
tokenizer, stemmer and stop-words as :class:`~core.retrieval.bm25.BM25Retriever` (:func:`lexical_matches`)."""

from __future__ import annotations

from collections.abc import Sequence

from core.retrieval.bm25 import BM25Spec
from core.retrieval.sparse import SparseExplanation, SpladeEncoder, explain_rows

__all__ = ["explain_sparse_match", "lexical_matches"]


def explain_sparse_match(
    encoder: SpladeEncoder, query: str, doc_id: str, text: str, top: int = 20
) -> SparseExplanation:
    """SPLADE's explanation of ``text`` (the document ``doc_id``) for ``query``, both encoded now."""
    q = encoder.encode([query], query=True)[0]
    d = encoder.encode([text])[0]
    return explain_rows(encoder, doc_id, q, d, top)


def _tokens(texts: Sequence[str], spec: BM25Spec) -> list[list[str]]:
    from bm25s.tokenization import Tokenizer

    stemmer = None
    if spec.stemmer:
        import Stemmer

        stemmer = Stemmer.Stemmer(spec.stemmer).stemWord
    tok = Tokenizer(stopwords=spec.stopwords or [], stemmer=stemmer)
    return tok.tokenize(list(texts), update_vocab=True, return_as="string", show_progress=False)


def lexical_matches(query: str, text: str, spec: BM25Spec = BM25Spec()) -> tuple[str, ...]:
    """The query's BM25 terms (stemmed, stop-words out, as ``spec`` says) that occur in ``text``, in query
    order, each once."""
    if not query.strip() or not text.strip():
        return ()
    q_tokens, d_tokens = _tokens([query, text], spec)
    present = set(d_tokens)
    return tuple(dict.fromkeys(t for t in q_tokens if t in present))
