"""Long documents into passages by the model's own tokens: :class:`ChunkSpec`, :func:`chunk_corpus`,
:func:`length_stats`.

A passage is a window of the tokenizer's tokens (special tokens counted, so ``window`` 256 fits a model of
``max_seq_length`` 256 exactly), the next one starting ``overlap`` tokens before the previous one ended.
Cuts fall between words (never inside one), and with ``sentences`` at the last sentence end inside the
window; with ``title`` every passage starts with the document's title. The tokenizer is passed in as an
object (a Hugging Face *fast* tokenizer, which gives character offsets): this layer loads no model.
Documents are tokenized in batches of bounded size, so a large corpus never holds all its token ids at once.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.runtime import InvalidInput, RateTracker, Reporter, report

__all__ = [
    "AGGREGATES",
    "ChunkSpec",
    "Passages",
    "chunk_corpus",
    "tokenizer_fingerprint",
]

AGGREGATES = ("maxp", "sum_top", "first")  # how a document is scored from its passages
_MIN_WINDOW, _MAX_WINDOW = 16, 8192
_BATCH_CHARS = 2_000_000  # characters tokenized at once (bounds the token ids and offsets held)
_BATCH_DOCS = 512
_SENTENCE_ENDS = frozenset(".!?")
_CLOSERS = frozenset("\"')]»”’")


@dataclass(frozen=True)
class ChunkSpec:
    """How documents become passages and how a document is scored from them.

    ``window``: tokens per passage, special tokens included; ``overlap``: tokens shared by consecutive
    passages (at most half the window); ``sentences``: cut at the last sentence end inside the window (and
    overlap by whole sentences); ``title``: prepend the document's title to every passage; ``max_passages``:
    keep only the first N passages of each document (1 = the document truncated to ``window`` tokens);
    ``aggregate``: ``maxp`` (the best passage), ``sum_top`` (sum of the ``top`` best) or ``first`` (the
    first passage); ``tokenizer``: the model whose tokens count, None = the strategy's dense model (the
    default bi-encoder for BM25)."""

    window: int = 256
    overlap: int = 64
    sentences: bool = False
    title: bool = False
    max_passages: int | None = None
    aggregate: str = "maxp"
    top: int = 3
    tokenizer: str | None = None

    def __post_init__(self) -> None:
        for name in ("window", "overlap", "top"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidInput(f"Chunking {name} must be a whole number, got {value!r}.")
        if not _MIN_WINDOW <= self.window <= _MAX_WINDOW:
            raise InvalidInput(
                f"Chunking window must be {_MIN_WINDOW}-{_MAX_WINDOW} tokens, got {self.window}."
            )
        if not 0 <= self.overlap <= self.window // 2:
            raise InvalidInput(
                f"Chunking overlap must be 0-{self.window // 2} tokens (at most half the window of "
                f"{self.window}), got {self.overlap}."
            )
        if self.aggregate not in AGGREGATES:
            raise InvalidInput(f"Unknown aggregate {self.aggregate!r}: use one of {', '.join(AGGREGATES)}.")
        if self.top < 1:
            raise InvalidInput(f"top (passages summed per document) must be at least 1, got {self.top}.")
        if self.max_passages is not None and (
            isinstance(self.max_passages, bool)
            or not isinstance(self.max_passages, int)
            or self.max_passages < 1
        ):
            raise InvalidInput(
                f"max_passages must be a whole number of at least 1, got {self.max_passages!r}."
            )
        if self.tokenizer is not None and not (isinstance(self.tokenizer, str) and self.tokenizer.strip()):
            raise InvalidInput(f"Chunking tokenizer must be a model name or None, got {self.tokenizer!r}.")

    @property
    def truncates(self) -> bool:
        """One passage per document: the document cut at ``window`` tokens."""
        return self.max_passages == 1

    @property
    def label(self) -> str:
        """E.g. ``passages 256/64``, ``passages 256/64, sentences, title, sum of top 3``, ``first 256 tokens``."""
        if self.truncates:
            parts = [f"first {self.window} tokens"]
        else:
            parts = [f"passages {self.window}/{self.overlap}"]
            if self.max_passages:
                parts.append(f"first {self.max_passages}")
        parts += ["sentences"] * self.sentences + ["title"] * self.title
        if not self.truncates and self.aggregate == "sum_top":
            parts.append(f"sum of top {self.top}")
        elif not self.truncates and self.aggregate == "first":
            parts.append("first passage")
        return ", ".join(parts)

    def key(self) -> str:
        """A stable key of what shapes the passages (the aggregation does not), for cache keys."""
        return (
            f"w{self.window}-o{self.overlap}-s{int(self.sentences)}-t{int(self.title)}"
            f"-m{self.max_passages or 0}-k{self.tokenizer or ''}"
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChunkSpec:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        if not isinstance(data, Mapping):
            raise InvalidInput(f"Chunking settings must be a mapping, got {type(data).__name__}.")
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise InvalidInput(f"Unknown chunking settings: {sorted(unknown)}")
        return cls(**dict(data))


@dataclass(frozen=True, eq=False)
class Passages:
    """The passages of a corpus: ids (``<doc id>#p<n>``), texts, the document of each (``doc_index`` into
    ``doc_ids``), its place in that document (``position`` 0, 1, …, and the characters ``start``-``end`` of
    the text that was cut), and a fingerprint of corpus, settings and tokenizer."""

    passage_ids: tuple[str, ...]
    texts: tuple[str, ...]
    doc_ids: tuple[str, ...]
    doc_index: np.ndarray  # int32, passage -> document position
    position: np.ndarray  # int32, passage -> its rank within its document
    start: np.ndarray  # int64, first character of the passage in the document's (body) text
    end: np.ndarray
    fingerprint: str
    spec: ChunkSpec

    def __len__(self) -> int:
        return len(self.passage_ids)

    def doc_of(self, i: int) -> str:
        return self.doc_ids[int(self.doc_index[i])]

    def per_document(self) -> np.ndarray:
        """Passages of each document, in corpus order."""
        return np.bincount(self.doc_index, minlength=len(self.doc_ids))


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """A key that changes with the tokenizer's vocabulary and rules (its serialised form for a Hugging
    Face fast tokenizer; a ``fingerprint`` attribute otherwise)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None and hasattr(backend, "to_str"):
        return hashlib.sha256(backend.to_str().encode()).hexdigest()[:16]
    fp = getattr(tokenizer, "fingerprint", None)
    if fp:
        return str(fp)
    return f"{type(tokenizer).__name__}:{getattr(tokenizer, 'name_or_path', '')}"


def tokenized(tokenizer: Any, texts: Sequence[str]) -> Iterator[tuple[int, str, np.ndarray]]:
    """``(index, text, token offsets)`` of every text, tokenized in bounded batches."""
    for lo, hi in _batches(texts):
        batch = [str(t or "") for t in texts[lo:hi]]
        yield from (
            (lo + i, t, o) for i, (t, o) in enumerate(zip(batch, _offsets(tokenizer, batch), strict=True))
        )


def check_tokenizer(tokenizer: Any) -> None:
    if not getattr(tokenizer, "is_fast", False):
        raise InvalidInput(
            "Chunking needs a fast tokenizer (one that reports character offsets); this model's tokenizer "
            f"({type(tokenizer).__name__}) is not one."
        )


def special_tokens(tokenizer: Any) -> int:
    count = getattr(tokenizer, "num_special_tokens_to_add", None)
    return int(count(pair=False)) if callable(count) else 0


def _batches(texts: Sequence[str]) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` ranges of at most :data:`_BATCH_DOCS` documents and about :data:`_BATCH_CHARS`
    characters (a single longer document is a batch of its own)."""
    start, chars = 0, 0
    for i, text in enumerate(texts):
        if i > start and (chars + len(text) > _BATCH_CHARS or i - start >= _BATCH_DOCS):
            yield start, i
            start, chars = i, 0
        chars += len(text)
    if start < len(texts):
        yield start, len(texts)


def _offsets(tokenizer: Any, texts: list[str]) -> list[np.ndarray]:
    """Character offsets ``(n, 2)`` of each text's tokens, special tokens left out."""
    enc = tokenizer(
        texts,
        add_special_tokens=False,
        return_offsets_mapping=True,
        return_attention_mask=False,
        return_token_type_ids=False,
        verbose=False,
    )
    return [np.asarray(o, dtype=np.int64).reshape(-1, 2) for o in enc["offset_mapping"]]


def _boundaries(text: str, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Token indexes where a passage may start: after white space (a word starts there), and the subset
    where a sentence starts (after ``.!?``, possibly closed by a quote or bracket, or after a line break)."""
    n = len(offsets)
    if n < 2:
        zero = np.zeros(min(n, 1), dtype=np.int64)
        return zero, zero
    starts, ends = offsets[1:, 0], offsets[:-1, 1]
    gap = starts > ends
    words = np.concatenate([[0], np.flatnonzero(gap) + 1])
    chars = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    lines = np.concatenate([[0], np.cumsum(chars == 10)])
    has_break = lines[starts] - lines[ends] > 0
    last = chars[np.maximum(ends - 1, 0)]
    before = chars[np.maximum(ends - 2, 0)]
    ends_code = np.array([ord(c) for c in _SENTENCE_ENDS], dtype=np.uint32)
    closers = np.array([ord(c) for c in _CLOSERS], dtype=np.uint32)
    full_stop = np.isin(last, ends_code) | (np.isin(last, closers) & np.isin(before, ends_code))
    sentences = np.concatenate([[0], np.flatnonzero(gap & (has_break | full_stop)) + 1])
    return words, sentences


def _last_in(cands: np.ndarray, lo: int, hi: int) -> int | None:
    """The largest candidate in ``[lo, hi]``."""
    i = int(np.searchsorted(cands, hi, side="right")) - 1
    return int(cands[i]) if i >= 0 and cands[i] >= lo else None


def _first_in(cands: np.ndarray, lo: int, hi: int) -> int | None:
    """The smallest candidate in ``[lo, hi]``."""
    i = int(np.searchsorted(cands, lo, side="left"))
    return int(cands[i]) if i < len(cands) and cands[i] <= hi else None


def _pick(find: Any, kinds: tuple[np.ndarray | None, ...], lo: int, hi: int, *, default: int) -> int:
    """The first kind of boundary (sentences, then words) that ``find`` finds in ``[lo, hi]``."""
    for cands in kinds:
        if cands is not None:
            found = find(cands, lo, hi)
            if found is not None:
                return found
    return default


def _spans(
    n: int, budget: int, overlap: int, words: np.ndarray, sentences: np.ndarray | None, limit: int | None
) -> list[tuple[int, int]]:
    """Token ranges ``[start, stop)`` of the passages of one document of ``n`` tokens."""
    spans: list[tuple[int, int]] = []
    start = 0
    while limit is None or len(spans) < limit:
        if n - start <= budget:
            spans.append((start, n))
            break
        hi, lo = start + budget, start + max(1, budget // 2)
        stop = _pick(_last_in, (sentences, words), lo, hi, default=hi)
        spans.append((start, stop))
        nxt = stop
        if overlap:  # start at the first sentence (else word) beginning in the overlap
            nxt = _pick(_first_in, (sentences, words), stop - overlap, stop, default=stop - overlap)
        start = max(nxt, start + 1)
    return spans


def _title_prefix(tokenizer: Any, title: str, cap: int) -> tuple[str, int]:
    """The title (cut to ``cap`` tokens) and its token count."""
    title = title.strip()
    if not title:
        return "", 0
    offsets = _offsets(tokenizer, [title])[0]
    if len(offsets) > cap:
        offsets = offsets[:cap]
        title = title[: int(offsets[-1, 1])]
    return title, len(offsets)


@dataclass
class _Collector:
    ids: list[str] = dataclasses.field(default_factory=list)
    texts: list[str] = dataclasses.field(default_factory=list)
    doc_index: list[int] = dataclasses.field(default_factory=list)
    position: list[int] = dataclasses.field(default_factory=list)
    start: list[int] = dataclasses.field(default_factory=list)
    end: list[int] = dataclasses.field(default_factory=list)


def document_spans(text: str, offsets: np.ndarray, spec: ChunkSpec, budget: int) -> list[tuple[int, int]]:
    """Character ranges of the passages of one (body) text; one empty passage for an empty text."""
    if not len(offsets):
        return [(0, 0)]
    words, sentences = _boundaries(text, offsets)
    overlap = min(spec.overlap, budget // 2)
    spans = _spans(
        len(offsets), budget, overlap, words, sentences if spec.sentences else None, spec.max_passages
    )
    return [(int(offsets[a, 0]), int(offsets[b - 1, 1])) for a, b in spans]


def chunk_corpus(
    doc_ids: Sequence[str],
    texts: Sequence[str],
    tokenizer: Any,
    spec: ChunkSpec = ChunkSpec(),
    *,
    titles: Sequence[str] | None = None,
    corpus_fingerprint: str | None = None,
    progress: Reporter | None = None,
) -> Passages:
    """The passages of ``texts`` (document ``doc_ids``), cut by ``tokenizer``'s tokens as ``spec`` says.

    ``titles`` (optional, one per document): with ``spec.title`` each passage starts with its document's
    title (at most a quarter of the window) and ``texts`` are then the bodies. Every document gets at
    least one passage (an empty one for an empty text). ``corpus_fingerprint``: the corpus's own (computed
    from ids and texts otherwise)."""
    if len(doc_ids) != len(texts) or (titles is not None and len(titles) != len(texts)):
        raise InvalidInput("doc_ids, texts and titles must have one entry per document.")
    check_tokenizer(tokenizer)
    budget = spec.window - special_tokens(tokenizer)
    if budget < _MIN_WINDOW // 2:
        raise InvalidInput(f"A window of {spec.window} tokens leaves no room for text with this tokenizer.")
    out, h = _Collector(), hashlib.sha256()
    tracker, total = RateTracker(), len(texts)
    report(progress, "chunk", 0, total, "cutting documents into passages")
    for d, text, offsets in tokenized(tokenizer, texts):
        if corpus_fingerprint is None:
            h.update(f"{doc_ids[d]}\x00{text}\x01".encode())
        prefix, used = "", 0
        if spec.title and titles is not None:
            prefix, used = _title_prefix(tokenizer, str(titles[d] or ""), spec.window // 4)
            if corpus_fingerprint is None:
                h.update(f"{prefix}\x02".encode())
        for p, (a, b) in enumerate(document_spans(text, offsets, spec, budget - used)):
            out.ids.append(f"{doc_ids[d]}#p{p}")
            out.texts.append(f"{prefix}\n{text[a:b]}" if prefix else text[a:b])
            out.doc_index.append(d)
            out.position.append(p)
            out.start.append(a)
            out.end.append(b)
        if d + 1 == total or (d + 1) % 64 == 0:
            report(progress, "chunk", d + 1, total, f"{len(out.ids):,} passages", tracker.rate(d + 1))
    shape = dataclasses.replace(
        spec, tokenizer=None
    ).key()  # the tokenizer counts by its content, not its name
    key = f"{corpus_fingerprint or h.hexdigest()}|{shape}|{tokenizer_fingerprint(tokenizer)}"
    return Passages(
        passage_ids=tuple(out.ids),
        texts=tuple(out.texts),
        doc_ids=tuple(str(d) for d in doc_ids),
        doc_index=np.asarray(out.doc_index, dtype=np.int32),
        position=np.asarray(out.position, dtype=np.int32),
        start=np.asarray(out.start, dtype=np.int64),
        end=np.asarray(out.end, dtype=np.int64),
        fingerprint=hashlib.sha256(key.encode()).hexdigest()[:24],
        spec=spec,
    )
