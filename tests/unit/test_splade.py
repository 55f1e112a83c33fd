"""SPLADE (learned sparse) retrieval with the real packaged splade-tiny (4.4M parameters): registry, search
contract, hostile inputs, the workspace cache (torn / corrupt files rebuilt), explanations, fusion of 2 or 3
first stages, options and mining."""

from __future__ import annotations

import pandas as pd
import pytest

from core.adapt import MiningConfig, mine_dataset
from core.data import RetrievalDataset
from core.evaluate import CompareOptions, run_comparison
from core.models import DEFAULT_SPARSE_MODEL, SPARSE_KIND, list_models, resolve_model
from core.retrieval import (
    BM25Spec,
    Corpus,
    DenseSpec,
    FusionRetriever,
    FusionSpec,
    RetrieverBuilder,
    SparseCache,
    SparseRetriever,
    SparseSpec,
    fuse_many,
    make_sparse_encoder,
    spec_from_dict,
    spec_to_dict,
    weight_grid,
)
from core.runtime import InvalidInput, ModelNotAvailable
from tests.fakes import HashingEncoder

DOCS = {
    "smoke": "Smoking tobacco is the main cause of lung tumors in adults.",
    "ct": "Lung cancer screening with low-dose CT scans.",
    "cats": "Cats sleep for most of the day and hunt at night.",
    "rates": "Central banks raise interest rates to fight inflation.",
    "empty": "",
}
QUERIES = {"q1": "what causes lung cancer in smokers", "q2": "why do cats sleep so much", "q3": "inflation"}
QRELS = [
    ("test", "q1", "smoke", 1),
    ("test", "q2", "cats", 1),
    ("train", "q3", "rates", 1),
]


@pytest.fixture(scope="module")
def encoder():
    return make_sparse_encoder(DEFAULT_SPARSE_MODEL)


@pytest.fixture
def corpus() -> Corpus:
    return Corpus.from_texts(list(DOCS), list(DOCS.values()))


@pytest.fixture
def tiny() -> RetrievalDataset:
    corpus = pd.DataFrame({"doc_id": list(DOCS), "title": [""] * len(DOCS), "text": list(DOCS.values())})
    queries = pd.DataFrame({"query_id": list(QUERIES), "text": list(QUERIES.values())})
    return RetrievalDataset(
        "tiny", corpus, queries, pd.DataFrame(QRELS, columns=["split", "query_id", "doc_id", "score"])
    )


class CountingEncoder:
    """The real SPLADE encoder, counting the texts it encodes."""

    def __init__(self, inner):
        self.inner, self.encoded = inner, 0
        self.fingerprint, self.vocab_size, self.name = inner.fingerprint, inner.vocab_size, inner.name

    def encode(self, texts, **kw):
        self.encoded += len(texts)
        return self.inner.encode(texts, **kw)

    def terms(self, ids):
        return self.inner.terms(ids)


def test_splade_tiny_is_a_packaged_sparse_model():
    info = resolve_model("splade-tiny")
    assert info.kind == SPARSE_KIND and info.source == "packaged"
    assert resolve_model("splade-tiny-msmarco").location == info.location
    assert any(m.name == "splade-tiny" for m in list_models(kind=SPARSE_KIND))


def test_unavailable_sparse_models_fail_clearly(tmp_path):
    with pytest.raises(ModelNotAvailable, match="offline"):
        make_sparse_encoder("someone/splade-that-is-not-here")
    (tmp_path / "notamodel").mkdir()
    with pytest.raises(ModelNotAvailable, match="not a model folder"):
        make_sparse_encoder(str(tmp_path / "notamodel"))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "bert", "architectures": ["BertForMaskedLM"]}')
    with pytest.raises(ModelNotAvailable, match="Could not load SPLADE model"):
        make_sparse_encoder(str(broken))


def test_search_answers_the_contract_and_finds_the_relevant_document(corpus, encoder):
    r = SparseRetriever(corpus, encoder=encoder)
    hits = r.search(list(QUERIES.values()), k=3)
    assert len(hits) == 3 and all(len(h) <= 3 for h in hits)
    assert all(list(h.scores) == sorted(h.scores, reverse=True) for h in hits)
    assert hits[0].doc_ids[0] == "smoke" and hits[1].doc_ids[0] == "cats"
    assert r.search([], 5) == []
    assert r.search([QUERIES["q1"]], 1)[0].doc_ids == ("smoke",)
    with pytest.raises(InvalidInput):
        r.search(["x"], 0)


def test_hostile_queries_and_documents(corpus, encoder):
    r = SparseRetriever(corpus, encoder=encoder)
    blank, unknown, emoji = r.search(["", "   ", "🦄🦄🦄"], k=5)[:3]
    assert len(blank) == 0 and len(unknown) == 0  # a blank query activates nothing
    assert all(s > 0 for s in emoji.scores)  # whatever it matches scores above zero
    assert r.doc_matrix[list(DOCS).index("empty")].nnz == 0  # an empty document has no activations...
    for h in r.search([*list(QUERIES.values()), "", "zzqx"], k=10):
        assert "empty" not in h.doc_ids  # ...so it is never returned


def test_corpus_activations_are_cached_and_a_torn_or_corrupt_file_is_rebuilt(corpus, encoder, tmp_path):
    cache = SparseCache(tmp_path)
    first = SparseRetriever(corpus, encoder=CountingEncoder(encoder), cache=cache)
    assert not first.from_cache
    path = cache.path(encoder.fingerprint, corpus.fingerprint)
    good = path.read_bytes()
    counting = CountingEncoder(encoder)
    again = SparseRetriever(corpus, encoder=counting, cache=cache)
    assert again.from_cache and counting.encoded == 0
    assert (again.doc_matrix != first.doc_matrix).nnz == 0
    for damage in (good[: len(good) // 2], b"not a zip at all", b""):
        path.write_bytes(damage)
        counting = CountingEncoder(encoder)
        rebuilt = SparseRetriever(corpus, encoder=counting, cache=cache)
        assert not rebuilt.from_cache and counting.encoded == len(DOCS)
        assert path.read_bytes() == good  # rewritten whole
    assert cache.discarded == 3
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary files left


def test_a_write_that_dies_midway_leaves_nothing(corpus, encoder, tmp_path, monkeypatch):
    import scipy.sparse as sp

    cache = SparseCache(tmp_path)

    def die(fh, matrix, compressed=False):
        fh.write(b"PK\x03\x04 half a file")
        raise KeyboardInterrupt  # as a kill between two writes

    monkeypatch.setattr(sp, "save_npz", die)
    with pytest.raises(KeyboardInterrupt):
        SparseRetriever(corpus, encoder=encoder, cache=cache)
    assert list(tmp_path.iterdir()) == []


def test_query_batches_are_cached_single_queries_always_encoded(corpus, encoder, tmp_path):
    cache = SparseCache(tmp_path)
    counting = CountingEncoder(encoder)
    r = SparseRetriever(corpus, encoder=counting, cache=cache)
    base = counting.encoded
    batch = list(QUERIES.values())
    first = r.search(batch, 3)
    assert r.search(batch, 3) == first and counting.encoded == base + 3
    fresh = SparseRetriever(corpus, encoder=counting, cache=cache)  # a new process: from the workspace
    assert fresh.search(batch, 3) == first and counting.encoded == base + 3
    r.search([batch[0]], 3)
    r.search([batch[0]], 3)
    assert counting.encoded == base + 5


def test_explain_names_expansions_and_shared_terms(corpus, encoder):
    r = SparseRetriever(corpus, encoder=encoder)
    query = QUERIES["q1"]
    hit = r.search([query], 1)[0]
    why = r.explain(query, "smoke", top=50)
    assert why.score == pytest.approx(hit.scores[0], rel=1e-4)
    terms = dict(why.query_terms)
    assert {"lung", "cancer"} <= set(terms)
    assert [m.term for m in why.shared][:1] and all(m.term in terms for m in why.shared)
    contributions = [m.contribution for m in why.shared]
    assert contributions == sorted(contributions, reverse=True)
    assert sum(contributions) == pytest.approx(why.score, rel=1e-4)
    assert r.explain("", "smoke").shared == ()
    with pytest.raises(InvalidInput, match="not in this corpus"):
        r.explain(query, "nope")


def test_specs_round_trip_and_refuse_bad_values():
    for spec in (
        SparseSpec(),
        SparseSpec(model="x", batch_size=4, max_seq_length=64),
        FusionSpec(),
        FusionSpec(parts=(SparseSpec(), DenseSpec()), weights=(0.3, 0.7), fusion="rrf"),
    ):
        assert spec_from_dict(spec_to_dict(spec)) == spec
    for bad in (
        lambda: SparseSpec(batch_size=0),
        lambda: SparseSpec(max_seq_length=2),
        lambda: SparseSpec(model=" "),
        lambda: FusionSpec(parts=(BM25Spec(),)),
        lambda: FusionSpec(parts=(BM25Spec(), BM25Spec())),
        lambda: FusionSpec(parts=(BM25Spec(), DenseSpec()), weights=(0.5, 0.6)),
        lambda: FusionSpec(parts=(BM25Spec(), DenseSpec()), weights=(1.0,)),
        lambda: FusionSpec(norm="l2"),
        lambda: spec_from_dict({"kind": "fusion", "parts": "bm25"}),
        lambda: spec_from_dict({"kind": "splade", "bogus": 1}),
    ):
        with pytest.raises(InvalidInput):
            bad()


def test_fuse_many_keeps_queries_that_some_parts_missed():
    a = {"0": {"x": 2.0, "y": 1.0}, "1": {}, "2": {}}
    b = {"0": {"y": 5.0, "z": 1.0}, "1": {"z": 3.0}, "2": {}}
    fused = fuse_many([a, b], (0.5, 0.5))
    assert set(fused["0"]) == {"x", "y", "z"} and fused["0"]["x"] == pytest.approx(fused["0"]["y"])
    assert fused["0"]["y"] > fused["0"]["z"]
    assert fused["1"] == {"z": 3.0} and fused["2"] == {}
    assert len(weight_grid(2)) == 21 and len(weight_grid(3)) == 66
    assert all(abs(sum(w) - 1) < 1e-9 for w in weight_grid(3))


def test_a_fusion_weighted_on_one_part_ranks_like_that_part(tiny, encoder):
    builder = RetrieverBuilder(
        Corpus.from_dataset(tiny),
        encoder_factory=lambda m, b, n: HashingEncoder(),
        sparse_encoder_factory=lambda m, n: encoder,
    )
    fusion = builder.build(FusionSpec(parts=(BM25Spec(), SparseSpec(), DenseSpec())))
    assert isinstance(fusion, FusionRetriever)
    queries = list(QUERIES.values())[:2]  # (a part with one hit min-max normalises it to 0)
    splade_only = fusion.with_weights((0.0, 1.0, 0.0)).search(queries, 3)
    alone = builder.build(SparseSpec()).search(queries, 3)
    assert [h.doc_ids[0] for h in splade_only] == [h.doc_ids[0] for h in alone]  # min-max keeps the order
    assert fusion.search(queries, 3)[0].doc_ids[0] == "smoke"


def test_compare_options_and_the_cli_offer_splade_and_its_hybrids(tiny, encoder):
    from core.cli import build_parser

    names = "bm25,splade,dense,hybrid,hybrid_splade,hybrid_bm25_splade,hybrid3"
    specs = CompareOptions(strategies=names, sparse_model="my-splade").specs(["train", "test"])
    assert specs["splade"] == SparseSpec(model="my-splade")
    assert specs["hybrid3"].parts == (BM25Spec(), SparseSpec(model="my-splade"), DenseSpec(backend="auto"))
    assert specs["hybrid_splade"].tune_split == "train" and specs["hybrid"].sparse == BM25Spec()
    assert CompareOptions(strategies="splade@128/32").specs(["test"])["splade@128/32"].chunking.window == 128
    args = build_parser().parse_args(
        ["evaluate", "--dataset", "d", "--strategies", "splade", "--sparse-model", "m"]
    )
    assert CompareOptions.from_args(args) == CompareOptions(strategies=("splade",), sparse_model="m")
    builder = RetrieverBuilder(
        Corpus.from_dataset(tiny),
        encoder_factory=lambda m, b, n: HashingEncoder(),
        sparse_encoder_factory=lambda m, n: encoder,
    )
    rep = run_comparison(
        tiny, "test", CompareOptions(strategies=names).specs(tiny.splits), builder=builder, k=5
    )
    assert rep.strategies["splade"].metrics["ndcg@10"] == 1.0
    tuned = rep.strategies["hybrid3"]
    assert len(tuned.extra["tuned_weights"]) == 3 and any("weights tuned on train" in n for n in tuned.notes)
    assert rep.strategies["splade"].extra["splade_index_bytes"] > 0


def test_splade_mines_hard_negatives(tiny, ws):
    result = mine_dataset(
        tiny, MiningConfig(method="splade", skip_top=0, depth=3, relative_margin=None), split="test", ws=ws
    )
    frame = result.negatives
    assert len(frame) == 2 and set(frame["source"]) == {"splade"}
    assert not set(zip(frame["query_id"], frame["doc_id"], strict=True)) & {("q1", "smoke"), ("q2", "cats")}
    assert any(ws.cache_dir("sparse").iterdir())  # activations cached in the workspace


def test_match_explanations_show_expansions_next_to_bm25_exact_matches(encoder):
    from components.match_explain import explanation_row, format_terms, splade_strategies
    from core.retrieval import explain_sparse_match, lexical_matches

    assert splade_strategies(["bm25", "splade", "hybrid", "hybrid_splade", "hybrid3", "dense"]) == [
        "splade",
        "hybrid_splade",
        "hybrid3",
    ]
    query, text = QUERIES["q1"], DOCS["smoke"]
    bm25 = lexical_matches(query, text)
    assert "lung" in bm25 and "smoker" not in bm25  # BM25: exact stems only ("smokers" is not "smoking")
    assert lexical_matches("", text) == () and lexical_matches(query, "") == ()
    why = explain_sparse_match(encoder, query, "smoke", text)
    row = explanation_row("splade", 1, why, bm25, set(query.split()))
    assert row["doc_id"] == "smoke" and row["SPLADE score"] > 0
    assert "+tumor" in row["shared terms (query × doc weight)"]  # an expansion the query does not spell
    assert row["expansions"] >= 1 and row["BM25 exact matches"].startswith("caus")
    assert format_terms([("a", 1.0), ("b", 0.5)]) == "a 1.00 · b 0.50"


def test_a_writer_killed_midway_leaves_no_cache_entry_and_its_temp_file_is_swept(corpus, encoder, tmp_path):
    tmp_path = tmp_path / "sparse"
    tmp_path.mkdir()
    import os
    import signal
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        f"""
        import time, scipy.sparse as sp
        from core.retrieval import SparseCache
        def slow(fh, matrix, compressed=False):
            fh.write(b"PK\\x03\\x04" + b"x" * 4096); fh.flush(); print("writing", flush=True); time.sleep(60)
        sp.save_npz = slow
        SparseCache({str(tmp_path)!r}).put("enc", "corpus", sp.csr_matrix((2, 3)))
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    assert proc.stdout.readline().strip() == "writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "enc-corpus.npz").exists()  # no torn entry under the real name
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # only the writer's temporary file
    SparseCache(tmp_path, stale_after_s=0)
    assert list(tmp_path.iterdir()) == []
