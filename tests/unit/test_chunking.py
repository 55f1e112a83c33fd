"""Chunking long documents into passages (core.data.chunking) with a word-level fake tokenizer."""

from __future__ import annotations

import itertools

import pytest

import core.data.chunking as chunking_module
from core.data import ChunkSpec, chunk_corpus, length_stats
from core.runtime import InvalidInput
from tests.fakes import WordTokenizer

TOK = WordTokenizer()  # one token per word or mark, 2 special tokens


def _words(n: int, start: int = 0) -> str:
    return " ".join(f"w{i}" for i in range(start, start + n))


def _tokens(text: str) -> list[tuple[int, int]]:
    return TOK([text], add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"][0]


def _model_tokens(text: str) -> int:
    return len(TOK([text])["input_ids"][0])


def test_passages_fill_the_window_and_overlap_by_the_given_tokens():
    text = _words(100)
    p = chunk_corpus(["d"], [text], TOK, ChunkSpec(window=18, overlap=4))
    words = [t.split() for t in p.texts]
    assert all(_model_tokens(t) <= 18 for t in p.texts)
    assert [len(w) for w in words[:-1]] == [16] * (len(words) - 1)  # window minus [CLS] and [SEP]
    for prev, nxt in itertools.pairwise(words):
        assert prev[-4:] == nxt[:4]
    # nothing lost: every word of the document is in a passage, in order
    seen = [w for i, ws in enumerate(words) for w in (ws if i == 0 else ws[4:])]
    assert seen == text.split()
    assert list(p.position) == list(range(len(p)))
    assert all(text[a:b] == t for a, b, t in zip(p.start, p.end, p.texts, strict=True))


def test_no_overlap_cuts_the_text_into_consecutive_passages():
    p = chunk_corpus(["d"], [_words(50)], TOK, ChunkSpec(window=16, overlap=0))
    assert " ".join(p.texts) == _words(50)
    assert len(p) == 4  # 14 + 14 + 14 + 8 words


def test_cuts_never_fall_inside_a_word():
    # "w1-x" is three tokens with no space: a cut may not split it
    text = " ".join(f"w{i}-x" for i in range(60))
    p = chunk_corpus(["d"], [text], TOK, ChunkSpec(window=16, overlap=0))
    assert all(t.endswith("-x") for t in p.texts)
    assert all(_model_tokens(t) <= 16 for t in p.texts)
    assert " ".join(p.texts) == text


def test_a_text_without_spaces_is_still_cut_at_the_window():
    text = "-".join(["a"] * 200)  # 399 tokens, no white space anywhere
    p = chunk_corpus(["d"], [text], TOK, ChunkSpec(window=20, overlap=5))
    assert len(p) > 20
    assert all(_model_tokens(t) <= 20 for t in p.texts)


def test_sentences_end_passages_at_sentence_ends():
    sentences = [f"{_words(6, 10 * i)}." for i in range(30)]  # 7 tokens each
    text = " ".join(sentences)
    p = chunk_corpus(["d"], [text], TOK, ChunkSpec(window=32, overlap=7, sentences=True))
    assert all(t.endswith(".") for t in p.texts)
    assert all(_model_tokens(t) <= 32 for t in p.texts)
    assert all(t.split(". ")[0] + "." in sentences for t in p.texts)  # passages start at a sentence
    # overlap by whole sentences (one sentence of 7 tokens fits in 7)
    assert p.texts[1].startswith(p.texts[0].split(". ")[-1])
    plain = chunk_corpus(["d"], [text], TOK, ChunkSpec(window=32, overlap=7))
    assert not all(t.endswith(".") for t in plain.texts)


def test_line_breaks_count_as_sentence_ends():
    text = "\n".join(f"Speaker {i}: {_words(4, 10 * i)}" for i in range(20))  # 7 tokens a line
    p = chunk_corpus(["d"], [text], TOK, ChunkSpec(window=24, overlap=0, sentences=True))
    assert all(t.startswith("Speaker") for t in p.texts)
    assert "\n".join(p.texts) == text


def test_title_is_put_in_front_of_every_passage_within_the_window():
    body = _words(80)
    p = chunk_corpus(["d"], [body], TOK, ChunkSpec(window=20, overlap=4, title=True), titles=["Deep Title"])
    assert len(p) > 3
    assert all(t.startswith("Deep Title\n") for t in p.texts)
    assert all(_model_tokens(t) <= 20 for t in p.texts)
    long_title = _words(30, 500)  # a title longer than a quarter of the window is cut
    q = chunk_corpus(["d"], [body], TOK, ChunkSpec(window=20, overlap=4, title=True), titles=[long_title])
    assert all(_model_tokens(t) <= 20 for t in q.texts)
    assert all(t.startswith(_words(5, 500) + "\n") for t in q.texts)
    untitled = chunk_corpus(["d"], [body], TOK, ChunkSpec(window=20, overlap=4, title=True), titles=[""])
    assert untitled.texts[0].startswith("w0")


def test_empty_short_and_huge_documents():
    huge = _words(20_000)
    p = chunk_corpus(
        ["empty", "short", "huge"], ["", "just a few words", huge], TOK, ChunkSpec(window=256, overlap=64)
    )
    assert p.passage_ids[:2] == ("empty#p0", "short#p0")
    assert p.texts[:2] == ("", "just a few words")
    per_doc = p.per_document().tolist()
    assert per_doc[:2] == [1, 1]
    assert per_doc[2] == -(-(20_000 - 64) // (254 - 64))  # ceil((n - overlap) / (budget - overlap))
    assert all(_model_tokens(t) <= 256 for t in p.texts)


def test_max_passages_truncates_documents():
    p = chunk_corpus(
        ["a", "b"], [_words(100), _words(5)], TOK, ChunkSpec(window=22, overlap=0, max_passages=1)
    )
    assert p.texts == (_words(20), _words(5))
    assert ChunkSpec(window=256, overlap=0, max_passages=1).label == "first 256 tokens"


def test_ids_with_odd_characters_stay_distinct_and_map_back():
    ids = ["a", "a#p1", "doc 1/ä\t", "", "x#p0#p0"]
    p = chunk_corpus(ids, [_words(30)] * len(ids), TOK, ChunkSpec(window=16, overlap=2))
    assert len(set(p.passage_ids)) == len(p)
    assert {p.doc_of(i) for i in range(len(p))} == set(ids)
    assert all(pid.startswith(f"{p.doc_of(i)}#p") for i, pid in enumerate(p.passage_ids))


def test_fingerprint_follows_corpus_settings_and_tokenizer_not_the_aggregation():
    def fp(texts=("one two three",), spec=ChunkSpec(window=16, overlap=2), tok=TOK):
        return chunk_corpus(["d"], list(texts), tok, spec).fingerprint

    base = fp()
    assert fp() == base
    assert fp(texts=("one two four",)) != base
    assert fp(spec=ChunkSpec(window=17, overlap=2)) != base
    assert fp(spec=ChunkSpec(window=16, overlap=2, sentences=True)) != base
    assert fp(spec=ChunkSpec(window=16, overlap=2, aggregate="first")) == base
    other = WordTokenizer()
    other.fingerprint = "another-vocabulary"
    assert fp(tok=other) != base


def test_large_corpora_are_tokenized_in_batches_with_progress(monkeypatch):
    monkeypatch.setattr(chunking_module, "_BATCH_CHARS", 500)
    tok = WordTokenizer()
    records = []
    texts = [_words(40, i) for i in range(50)]
    p = chunk_corpus(
        [str(i) for i in range(50)], texts, tok, ChunkSpec(window=16, overlap=0), progress=records.append
    )
    assert tok.calls > 5  # never the whole corpus at once
    assert len(p) == 50 * 3
    assert records[-1].stage == "chunk" and records[-1].done == records[-1].total == 50
    one_batch = chunk_corpus(
        [str(i) for i in range(50)], texts, WordTokenizer(), ChunkSpec(window=16, overlap=0)
    )
    assert one_batch.texts == p.texts and one_batch.fingerprint == p.fingerprint


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"window": 8}, "window must be"),
        ({"window": 100_000}, "window must be"),
        ({"window": 64, "overlap": 40}, "at most half"),
        ({"overlap": -1}, "overlap must be"),
        ({"window": 256.0}, "whole number"),
        ({"window": True}, "whole number"),
        ({"aggregate": "mean"}, "Unknown aggregate"),
        ({"top": 0}, "at least 1"),
        ({"max_passages": 0}, "max_passages"),
        ({"tokenizer": " "}, "tokenizer"),
    ],
)
def test_bad_chunk_settings_are_refused(settings, message):
    with pytest.raises(InvalidInput, match=message):
        ChunkSpec(**settings)


def test_chunk_spec_dict_round_trip_label_and_key():
    spec = ChunkSpec(window=128, overlap=32, sentences=True, title=True, aggregate="sum_top", top=2)
    assert ChunkSpec.from_dict(spec.to_dict()) == spec
    assert spec.label == "passages 128/32, sentences, title, sum of top 2"
    assert ChunkSpec().label == "passages 256/64"
    assert ChunkSpec(aggregate="first").label == "passages 256/64, first passage"
    assert spec.key() == ChunkSpec(window=128, overlap=32, sentences=True, title=True).key()
    assert ChunkSpec().key() != ChunkSpec(tokenizer="other").key()
    with pytest.raises(InvalidInput, match="Unknown chunking settings"):
        ChunkSpec.from_dict({"window": 128, "stride": 3})
    with pytest.raises(InvalidInput, match="mapping"):
        ChunkSpec.from_dict("128/32")  # type: ignore[arg-type]


def test_bad_inputs_to_chunk_corpus():
    class SlowTokenizer(WordTokenizer):
        is_fast = False

    with pytest.raises(InvalidInput, match="fast tokenizer"):
        chunk_corpus(["d"], ["text"], SlowTokenizer())
    with pytest.raises(InvalidInput, match="one entry per document"):
        chunk_corpus(["a", "b"], ["only one"], TOK)
    with pytest.raises(InvalidInput, match="one entry per document"):
        chunk_corpus(["a"], ["x"], TOK, titles=["t", "u"])


def test_length_stats_counts_tokens_text_beyond_the_window_and_passages():
    texts = [_words(10), _words(100), _words(1000), ""]
    spec = ChunkSpec(window=52, overlap=10)
    stats = length_stats(texts, TOK, window=52, spec=spec)
    assert stats.tokens == (12, 102, 1002, 2)  # special tokens included
    assert stats.share_docs_beyond == 0.5
    assert stats.share_text_beyond == pytest.approx((50 + 950) / (12 + 102 + 1002 + 2))
    passages = chunk_corpus([str(i) for i in range(4)], texts, TOK, spec).per_document().tolist()
    assert list(stats.passages) == passages
    assert stats.passages_total == sum(passages)
    assert stats.chunking == "passages 52/10"
    sampled = length_stats(texts * 10, TOK, window=52, sample=5, seed=1)
    assert sampled.checked == 5 and sampled.documents == 40 and sampled.passages == ()
    assert sampled == length_stats(texts * 10, TOK, window=52, sample=5, seed=1)
    assert set(stats.to_dict()) >= {"tokens", "p50", "share_text_beyond", "passages_mean"}
    with pytest.raises(InvalidInput):
        length_stats(texts, TOK, window=0)
