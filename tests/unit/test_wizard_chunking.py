"""The wizard on long documents: lengths measured as answers, chunking advised above the stated share of text
beyond the window and not below it, the plan pairs truncated with chunked strategies, and the verification
says which of the two wins (with the paired test) — both directions, on tiny data with the fake encoder."""

from __future__ import annotations

import pytest

from core.data import load_path
from core.evaluate import run_comparison
from core.retrieval import Corpus, RetrieverBuilder, spec_from_dict
from core.wizard import (
    VerifyPlan,
    complete_answers,
    derive_facts,
    load_tokenizer,
    measure_answers,
    plan_verification,
    recommend,
)
from core.wizard.facts import CHUNK_TEXT_SHARE, chunk_settings
from core.wizard.verify import _report_summary, chunking_verdict, collect_evidence
from tests.tiny_data import write_beir

FILLER = "the committee then discussed the budget of the project and other unrelated matters at length. "


def rec_json(**answers):
    a, s = complete_answers(answers)
    return recommend(a, s).to_json()


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("bert-tiny")


def long_beir(root, *, needle_at_end: bool):
    """Six long documents; each query names a fact that sits at the end (or only at the start) of its doc."""
    topics = ["volcano", "glacier", "desert", "reef", "tundra", "canyon"]
    docs, queries, qrels = [], [], []
    for i, t in enumerate(topics):
        fact = f"the {t} survey found rare {t} minerals near station {i}. "
        body = FILLER * 40
        docs.append({"_id": f"d{i}", "title": "", "text": body + fact if needle_at_end else fact + body})
        queries.append({"_id": f"q{i}", "text": f"rare {t} minerals station committee"})
        qrels.append((f"q{i}", f"d{i}", 1))
    return load_path(write_beir(root, corpus=docs, queries=queries, qrels={"test": qrels}), name=root.name)


def test_chunk_settings_follow_the_stated_threshold_in_both_directions():
    assert CHUNK_TEXT_SHARE == 0.2
    assert chunk_settings({"text_beyond_window": 0.95, "model_window": 256}) == (256, 64)
    assert chunk_settings({"text_beyond_window": 0.2, "model_window": 512}) == (512, 128)
    assert chunk_settings({"text_beyond_window": 0.19, "model_window": 256}) is None
    assert chunk_settings({"text_beyond_window": None}) is None  # unmeasured: no advice
    facts = derive_facts(complete_answers({"text_beyond_window": 0.5, "model_window": 128})[0])
    assert facts["chunking_label"] == "passages 128/32, MaxP" and facts["chunk_overlap"] == 32


def test_long_documents_are_advised_chunking_and_short_ones_are_not():
    long = recommend(*complete_answers({"text_beyond_window": 0.98, "doc_tokens_p50": 12069}))
    assert long.decisions["chunking"] == "passages 256/64, MaxP"
    (rule,) = [f for f in long.fired if f.id == "long-documents-chunk"]
    assert "98% of the corpus's text lies past the model's 256-token window" in rule.rationale
    assert "12,069" in rule.rationale and "20%" in rule.rationale
    short = recommend(*complete_answers({"text_beyond_window": 0.02, "doc_tokens_p50": 180}))
    assert short.decisions["chunking"] is None
    assert {f.id for f in short.fired} >= {"short-documents-truncate"}
    assert "long-documents-chunk" not in {f.id for f in short.fired}
    unmeasured = recommend(*complete_answers({}))
    assert "chunking" not in unmeasured.decisions


def test_measure_counts_document_lengths_with_the_models_tokenizer(tmp_path, tokenizer, fake_encoder):
    ds = long_beir(tmp_path / "long", needle_at_end=True)
    m = measure_answers(ds, None, model="bert-tiny", encoder=fake_encoder, tokenizer=tokenizer)
    window = m.values["model_window"]
    assert window == getattr(fake_encoder, "max_seq_length", 256)
    assert m.values["doc_tokens_p50"] > 500 and m.values["text_beyond_window"] > 0.5
    assert "of the documents are longer than the window" in m.notes["text_beyond_window"]
    assert m.details["lengths"]["passages_mean"] > 1
    short = load_path(write_beir(tmp_path / "short"), name="short")
    m = measure_answers(short, None, model="bert-tiny", encoder=fake_encoder, tokenizer=tokenizer)
    assert m.values["text_beyond_window"] < CHUNK_TEXT_SHARE


def test_plan_pairs_truncated_and_chunked_only_when_chunking_is_advised(tmp_path, ws):
    ds = long_beir(tmp_path / "long", needle_at_end=True)
    rec = rec_json(corpus_size=100_000, latency_budget_ms=100, text_beyond_window=0.9, model_window=64)
    p = plan_verification(rec, ds, ws, model="bert-tiny", include_extras=False)
    assert p.chunk_pairs == (("bm25@64", "bm25@64/16"), ("dense", "dense@64/16"))
    assert p.recommended == "dense@64/16"  # chunking advised: the chunked first stage is what is verified
    assert p.specs["bm25@64"]["chunking"]["max_passages"] == 1
    assert p.specs["dense@64/16"]["chunking"]["window"] == 64 and any("truncated" in n for n in p.notes)
    assert VerifyPlan.from_json(p.to_json()).chunk_pairs == p.chunk_pairs
    plain = rec_json(corpus_size=100_000, latency_budget_ms=100, text_beyond_window=0.05, model_window=64)
    p = plan_verification(plain, ds, ws, model="bert-tiny", include_extras=False)
    assert p.chunk_pairs == () and not any("@" in n for n in p.specs)


@pytest.mark.parametrize("needle_at_end", [True, False])
def test_verification_says_which_wins(tmp_path, ws, fake_encoder, needle_at_end):
    """The fact at the end: only passages see it, chunked BM25 wins; at the start of long documents, the
    truncated index is not worse."""
    ds = long_beir(tmp_path / "d", needle_at_end=needle_at_end)
    pairs = (("bm25@64", "bm25@64/16"),)
    builder = RetrieverBuilder(Corpus.from_dataset(ds), ws, encoder_factory=lambda *a: fake_encoder)
    rec = rec_json(corpus_size=100_000, latency_budget_ms=100, text_beyond_window=0.9, model_window=64)
    specs = plan_verification(rec, ds, ws, model="bert-tiny", include_extras=False).specs
    specs = {n: spec_from_dict(specs[n]) for n in pairs[0]}
    rep = run_comparison(ds, "test", specs, ws=ws, builder=builder, latency_sample=2)
    verdict = chunking_verdict(_report_summary(rep, ds.qrels_dict("test")), pairs)
    (pair,) = verdict["pairs"]
    if needle_at_end:
        assert pair["ndcg@10"]["chunked"] > pair["ndcg@10"]["truncated"]
        assert pair["delta"] > 0.3 and pair["p"] is not None
        assert pair["winner"] in ("chunked", "neither")  # six queries: significance depends on the test
    else:
        assert pair["ndcg@10"]["truncated"] >= pair["ndcg@10"]["chunked"] - 1e-9
        assert pair["winner"] in ("truncated", "neither")
    assert pair["text"].startswith("BM25: ") and "nDCG@10" in pair["text"] and verdict["case"]


def fake_summary(ndcg, p):
    strategies = {
        n: {"ndcg@10": v, "recall@100": 0.9, "latency_ms_p50": 5.0, "latency_ms_p95": 6.0}
        for n, v in ndcg.items()
    }
    return {"strategies": strategies, "p_values": p}


def test_verdict_cases_chunking_wins_truncation_wins_and_mixed():
    pairs = (("bm25@256", "bm25@256/64"), ("dense", "dense@256/64"))
    qmsum = fake_summary(
        {"bm25@256": 0.12, "bm25@256/64": 0.44, "dense": 0.13, "dense@256/64": 0.38},
        {"bm25@256": {"bm25@256/64": 1e-25}, "dense": {"dense@256/64": 1e-18}},
    )
    v = chunking_verdict(qmsum, pairs)
    assert [x["winner"] for x in v["pairs"]] == ["chunked", "chunked"] and "chunking wins" in v["case"]
    assert v["best"] == "bm25@256/64"
    qasper = fake_summary(
        {"bm25@256": 0.42, "bm25@256/64": 0.365, "dense": 0.24, "dense@256/64": 0.258},
        {"bm25@256": {"bm25@256/64": 8.5e-15}, "dense": {"dense@256/64": 0.015}},
    )
    v = chunking_verdict(qasper, pairs)
    assert [x["winner"] for x in v["pairs"]] == ["truncated", "chunked"] and v["case"].startswith("mixed")
    assert v["best"] == "bm25@256" and "BM25: truncated documents win" in v["summary"]
    only_bm25 = chunking_verdict(qasper, pairs[:1])
    assert "truncation wins" in only_bm25["case"]
    noise = fake_summary({"bm25@256": 0.40, "bm25@256/64": 0.41}, {"bm25@256": {"bm25@256/64": 0.4}})
    assert "no significant difference" in chunking_verdict(noise, pairs)["case"]


def test_collect_evidence_carries_the_chunking_verdict(ws):
    plan = VerifyPlan("d", "test", {}, "dense", None, chunk_pairs=(("bm25@256", "bm25@256/64"),))
    verify = ws.create_run("wizard_verify", {"plan": plan.to_json(), "recommendation": {}}, status="done")
    comp = fake_summary(
        {"dense": 0.3, "bm25@256": 0.12, "bm25@256/64": 0.44}, {"bm25@256": {"bm25@256/64": 1e-9}}
    )
    comp.update(dataset="d", split="test", queries=10)
    ws.update_run(verify, result={"comparison": comp, "chunking": chunking_verdict(comp, plan.chunk_pairs)})
    ev = collect_evidence(ws, verify)
    assert ev["chunking"]["pairs"][0]["winner"] == "chunked"


def test_rebuild_script_applies_pca_inside_a_chunked_dense_strategy(tmp_path, ws):
    """The bundle's script on a chunked dense pipeline with PCA: PCA over the passages' vectors, the same
    passages and MaxP around it, results per document (bert-tiny, tiny long documents)."""
    import json
    import types

    from core.data import ChunkSpec
    from core.models import TINY_MODEL
    from core.retrieval import DenseSpec, PassageRetriever, PCADenseRetriever, spec_to_dict
    from core.runtime import REPO_ROOT
    from core.wizard.script import _template

    source = _template("retrieval").replace(
        "@@BUNDLE@@", repr(json.dumps({"pipeline": {}, "repo": str(REPO_ROOT)}))
    )
    module = types.ModuleType("rebuild_pipeline")
    exec(
        compile(source, "rebuild_pipeline.py", "exec"), module.__dict__
    )  # the template, as the bundle runs it
    ds = long_beir(tmp_path / "long", needle_at_end=True)
    spec = DenseSpec(model=TINY_MODEL, chunking=ChunkSpec(window=64, overlap=16))
    pipeline = {"first_stage": "dense", "first_stage_spec": spec_to_dict(spec), "dimension": 16}
    retriever = module.build(ds, ws, pipeline)
    assert isinstance(retriever, PassageRetriever) and isinstance(retriever.inner, PCADenseRetriever)
    (hits,) = retriever.search(["rare volcano minerals"], 3)
    assert len(hits) == 3 and set(hits.doc_ids) <= set(ds.doc_ids)  # documents, not passages
