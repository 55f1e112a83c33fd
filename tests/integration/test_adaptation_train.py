"""Each adaptation method trains a few steps with bert-tiny on a small SciFact slice, saves a model that
reloads, and the ``adapt`` job registers it with before/after metrics; cancel works mid-training."""

from __future__ import annotations

import time

import pytest

from core.adapt import MiningConfig, build_triples, mine_dataset
from core.models import TINY_MODEL, resolve_model
from core.runtime import jobs
from core.training import TRAINERS, train_config

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def slice_dir(tmp_path_factory, data_dir):
    from tests.slices import write_scifact_slice

    return write_scifact_slice(
        data_dir, tmp_path_factory.mktemp("scifact") / "scifact-slice", train=24, test=12, extra_docs=60
    )


@pytest.fixture(scope="module")
def slice_ds(slice_dir):
    from core.data import load_path

    return load_path(slice_dir, name="scifact-slice")


def _recorder():  # type: ignore[no-untyped-def]
    seen: dict = {"steps": [], "losses": [], "logs": []}

    def reporter(p):  # type: ignore[no-untyped-def]
        if p.is_log:
            seen["logs"].append(p.message)
            return
        seen["steps"].append((p.done, p.total))
        if p.loss is not None:
            seen["losses"].append(p.loss)

    return reporter, seen


@pytest.mark.parametrize(
    ("method", "extra"),
    [("tsdae", {}), ("contrastive", {"loss": "cached-mnrl", "mini_batch_size": 2})],
)  # mlm, plain mnrl and the cross-encoder run through the jobs below
def test_train_function_runs_a_few_steps_and_the_saved_model_reloads(method, extra, slice_ds, tmp_path):
    from sentence_transformers import CrossEncoder, SentenceTransformer

    base = resolve_model(TINY_MODEL).location
    out = tmp_path / "out" / "model"
    cfg = train_config(method, base, out, {"max_steps": 2, "batch_size": 4, "max_seq_length": 64, **extra})
    if method in ("mlm", "tsdae"):
        data = slice_ds.doc_texts()[:40]
    else:
        mined = mine_dataset(slice_ds, MiningConfig(num_negatives=2, skip_top=1, depth=10), split="train")
        data, _ = build_triples(slice_ds, mined, "train", 2)
    callbacks, seen = _recorder()
    path = TRAINERS[method].train(cfg, data, callbacks)
    assert path == out and (out / "config.json").exists()
    assert seen["steps"][-1] == (2, 2) and seen["losses"]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["model"]  # trainer scratch removed
    if method == "cross-encoder":
        ce = CrossEncoder(str(out))
        scores = ce.predict([("vitamin d", "Vitamin D and bone"), ("vitamin d", "unrelated text")])
        assert len(scores) == 2
        from core.models import cross_encoder_head_is_trained

        assert cross_encoder_head_is_trained(str(out))
    else:
        st = SentenceTransformer(str(out))
        assert st.encode(["a query"]).shape == (1, 128)
        if method == "mlm":
            assert type(st[1]).__name__ == "Pooling" and st[1].pooling_mode == "mean"


def test_adapt_job_chains_mlm_into_contrastive_and_registers_with_before_after(ws, slice_dir):
    from core.data import import_dataset

    import_dataset(ws, slice_dir, name="sl")
    mlm = jobs.run_inline(
        ws,
        "adapt",
        {
            "method": "mlm",
            "dataset": "sl",
            "base": TINY_MODEL,
            "name": "tiny-mlm",
            "evaluate": False,
            "corpus_limit": 32,
            "train": {"max_steps": 2, "batch_size": 8, "max_seq_length": 64},
        },
    )
    assert mlm.status == "done", mlm.error
    assert ws.get_model("tiny-mlm").kind == "bi-encoder"
    from sentence_transformers import SentenceTransformer

    reloaded = SentenceTransformer(ws.get_model("tiny-mlm").path)
    assert reloaded[1].pooling_mode == "mean" and reloaded.encode(["q"]).shape == (1, 128)
    run = jobs.run_inline(
        ws,
        "adapt",
        {
            "method": "contrastive",
            "dataset": "sl",
            "base": "tiny-mlm",
            "name": "tiny-con",
            "mining": {"method": "both", "num_negatives": 1, "skip_top": 1, "depth": 10},
            "train": {"max_steps": 2, "batch_size": 8, "max_seq_length": 64},
        },
    )
    assert run.status == "done", run.error
    res = run.result
    assert res["steps"] == 2 and res["train_s"] > 0
    assert set(res["before"]) >= {"ndcg@10", "recall@100"} and set(res["after"]) == set(res["before"])
    assert res["evaluation"]["verdict"] in ("better", "worse", "no change")
    assert res["mining"]["filtered"]["judged_positive"] > 0
    model = ws.get_model("tiny-con")
    assert model.kind == "bi-encoder" and model.base == "tiny-mlm" and model.run_id == run.id
    assert model.meta["after"] == res["after"]
    from core.models import list_models

    assert "tiny-con" in [m.name for m in list_models(ws, kind="bi-encoder")]  # selectable on Compare
    assert not list((ws.home / "tmp").iterdir())
    assert SentenceTransformer(model.path).encode(["q"]).shape == (1, 128)


def test_cross_encoder_job_is_judged_against_its_first_stage(ws, slice_dir):
    from core.data import import_dataset

    import_dataset(ws, slice_dir, name="sl")
    run = jobs.run_inline(
        ws,
        "adapt",
        {
            "method": "cross-encoder",
            "dataset": "sl",
            "base": TINY_MODEL,
            "name": "tiny-ce",
            "first_stage": "bm25",
            "rerank_top_k": 20,
            "eval_queries": 6,
            "mining": {"num_negatives": 2, "skip_top": 1, "depth": 10},
            "train": {"max_steps": 2, "batch_size": 4, "max_seq_length": 96},
        },
    )
    assert run.status == "done", run.error
    ev = run.result["evaluation"]
    assert ev["queries"] == 6 and ev["rerank_top_k"] == 20
    assert ev["first_stage"]["kind"] == "bm25"
    assert "first stage alone" in ev["labels"]["before"]
    assert not any("untrained" in n for n in ev["notes"])  # the saved head is recognised as trained
    assert ws.get_model("tiny-ce").kind == "cross-encoder"
    from sentence_transformers import CrossEncoder

    assert len(CrossEncoder(ws.get_model("tiny-ce").path).predict([("q", "a"), ("q", "b")])) == 2


def test_cancel_stops_real_training_in_a_worker_and_registers_nothing(ws, slice_dir):
    from core.data import import_dataset

    import_dataset(ws, slice_dir, name="sl")
    run_id = jobs.submit(
        ws,
        "adapt",
        {
            "method": "tsdae",
            "dataset": "sl",
            "base": TINY_MODEL,
            "name": "never",
            "train": {"max_steps": 100000, "batch_size": 2, "max_seq_length": 32},
        },
    )
    deadline = time.time() + 240
    while time.time() < deadline:
        run = ws.get_run(run_id)
        if run.status != "running" or ((run.step or 0) >= 2 and run.total == 100000):
            break
        time.sleep(0.5)
    assert ws.get_run(run_id).status == "running", ws.get_run(run_id).error
    t0 = time.time()
    jobs.cancel(ws, run_id)
    run = jobs.wait(ws, run_id, timeout=60, poll=0.2)
    assert run.status == "cancelled"
    assert time.time() - t0 < 20
    assert ws.get_model("never") is None
    assert not list((ws.home / "tmp").glob(f"run-{run_id}-*"))


def test_dense_mining_agrees_with_sentence_transformers_mine_hard_negatives(slice_ds, ws):
    """Same rules as ``mine_hard_negatives`` (top sampling, relative margin, positives excluded)."""
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives

    from core.encoding import make_encoder

    enc = make_encoder(TINY_MODEL, device="cpu")
    cfg = MiningConfig(
        method="dense", num_negatives=3, skip_top=0, depth=30, relative_margin=0.05, model=TINY_MODEL
    )
    ours = mine_dataset(slice_ds, cfg, split="train", encoder=enc)
    qtext = dict(zip(slice_ds.queries["query_id"], slice_ds.queries["text"], strict=True))
    dtext = dict(zip(slice_ds.doc_ids, slice_ds.doc_texts(), strict=True))
    single = {
        q: d
        for q, docs in slice_ds.qrels_dict("train").items()
        for d, s in docs.items()
        if s > 0 and len(docs) == 1
    }
    pairs = Dataset.from_dict(
        {"query": [qtext[q] for q in single], "answer": [dtext[d] for d in single.values()]}
    )
    theirs = mine_hard_negatives(
        pairs,
        enc.model,
        corpus=list(dtext.values()),
        num_negatives=3,
        relative_margin=0.05,
        range_max=30,
        sampling_strategy="top",
        output_format="n-tuple",
        verbose=False,
    )
    theirs_by_q = {row["query"]: [row[f"negative_{i}"] for i in (1, 2, 3)] for row in theirs}
    compared = 0
    for qid in single:
        if qtext[qid] not in theirs_by_q:
            continue
        mine = ours.negatives[ours.negatives["query_id"] == qid]["doc_id"].map(dtext).tolist()
        if len(mine) == 3:
            assert mine == theirs_by_q[qtext[qid]]
            compared += 1
    assert compared >= 5
