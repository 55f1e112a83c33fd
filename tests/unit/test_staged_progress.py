"""Stage-weighted progress: monotone, ends at 1.0, weights from planned work and time measured now."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.evaluate import comparison_plan, run_comparison
from core.evaluate.progress import MODEL, QUERY, SINGLE, SPARSE
from core.retrieval import BM25Spec, DenseSpec, HybridSpec, RerankSpec
from core.runtime import PlannedStage, Progress, StagedProgress, format_eta
from tests.unit.test_retrieval_core import _builder, tiny  # noqa: F401  (fixture)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


stages = st.lists(
    st.tuples(st.integers(1, 5000), st.sampled_from(["model", "sparse", "pairs"])), min_size=1, max_size=6
)
steps = st.lists(
    st.tuples(st.sampled_from(["advance", "begin", "mark", "wait"]), st.floats(0, 1), st.floats(0, 30)),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(stages, steps)
def test_progress_never_goes_back_and_ends_at_one(plan_spec, ops):
    plan = [PlannedStage(f"s{i}", units, kind) for i, (units, kind) in enumerate(plan_spec)]
    seen: list[Progress] = []
    clock = Clock()
    bar = StagedProgress(seen.append, "job", plan, priors={"model": 1.0, "sparse": 0.01}, clock=clock)
    stage = 0
    bar.begin("s0")
    for op, share, wait in ops:
        clock.now += wait
        if op == "begin" and stage + 1 < len(plan):
            stage += 1
            bar.begin(f"s{stage}")
        elif op == "advance":
            bar.advance(int(share * plan[stage].units * 1.5))  # overshooting is clamped
        elif op == "mark":
            bar.mark_work()
    bar.finish()
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions)
    assert all(0.0 <= f <= 1.0 for f in fractions)
    assert all(f < 1.0 for f in fractions[:-1]) and fractions[-1] == 1.0
    assert all(p.eta_s is None or p.eta_s >= 0 for p in seen)


def test_eta_comes_from_the_time_measured_per_kind():
    clock = Clock()
    seen: list[Progress] = []
    plan = [PlannedStage("bm25", 1000, "sparse"), PlannedStage("encode", 1000, "model")]
    bar = StagedProgress(seen.append, "job", plan, priors={"model": 1.0, "sparse": 0.01}, clock=clock)
    bar.begin("bm25")
    clock.now = 1.0
    bar.advance(1000)  # BM25: 1 ms per text, measured
    assert bar.eta_s() is None  # encoding not measured yet: never BM25's cost multiplied up by the priors
    assert 0 < seen[-1].fraction < 0.02  # the bar moves by planned shares meanwhile
    bar.begin("encode")
    clock.now = 11.0
    bar.advance(500)  # encoding measured: 20 ms per text
    assert abs(bar.eta_s() - 10.0) < 1e-9
    assert abs(seen[-1].fraction - 11.0 / 21.0) < 0.002  # elapsed / (elapsed + ETA), not 75 % of units
    assert abs(seen[-1].eta_s - 10.0) < 0.1  # the record's rate gives the same ETA


def test_the_plan_weighs_planned_work():
    specs = {
        "bm25": BM25Spec(),
        "dense": DenseSpec(),
        "hybrid": HybridSpec(tune_split="train"),
        "rerank": RerankSpec(first_stage=DenseSpec(), reranker="r", top_k=20),
    }
    plan = {
        p.name: p
        for p in comparison_plan(specs, n_docs=500, n_queries=10, tune_queries={"train": 7}, latency_sample=4)
    }
    assert plan["bm25:build"].units == 500 and plan["bm25:build"].kind == SPARSE
    assert plan["dense:build"].units == 500 and plan["dense:build"].kind == MODEL
    assert plan["hybrid:build"].units == 1  # both indexes built already
    assert plan["hybrid:tune"].units == 7
    assert plan["rerank:search"].units == 10 + 10 * 20  # its queries and pairs (dense is searched already)
    assert plan["hybrid:search"].units == 10  # both components are strategies of their own
    assert plan["rerank:search"].kind == MODEL  # the pairs are passage-sized
    assert plan["dense:search"].kind == QUERY and plan["hybrid:tune"].kind == QUERY  # batched queries
    assert plan["rerank:latency"].kind == SINGLE and plan["dense:latency"].kind == SINGLE
    assert plan["bm25:latency"].kind == SPARSE


def test_a_cheaper_kind_is_priced_from_a_dearer_measured_one():
    clock = Clock()
    plan = [PlannedStage("encode", 100, "model"), PlannedStage("queries", 100, "query")]
    bar = StagedProgress(None, "job", plan, priors={"model": 1.0, "query": 0.1}, clock=clock)
    bar.begin("encode")
    clock.now = 10.0
    bar.advance(100)  # 100 ms a passage
    bar.begin("queries")
    assert abs(bar.eta_s() - 1.0) < 1e-9  # 100 queries at a tenth of a passage each


def test_setup_before_the_work_is_not_priced_per_unit():
    """Loading a model for 30 s and then encoding 500 texts in 10 s: the other 500 cost 10 s, not 40 s."""
    clock = Clock()
    plan = [PlannedStage("encode", 1000, "model")]
    bar = StagedProgress(None, "job", plan, priors={"model": 1.0}, clock=clock)
    bar.begin("encode")
    clock.now = 30.0
    bar.mark_work()  # the model is loaded, the first batch starts
    clock.now = 40.0
    bar.advance(500)
    assert abs(bar.eta_s() - 10.0) < 1e-9
    bar.mark_work()  # only once per stage
    assert abs(bar.eta_s() - 10.0) < 1e-9


def test_a_comparison_reports_monotone_progress_to_one(tiny, fake_encoder):  # noqa: F811
    seen: list[Progress] = []
    specs = {"bm25": BM25Spec(), "dense": DenseSpec(), "hybrid": HybridSpec(tune_split="train")}
    run_comparison(tiny, "test", specs, k=5, builder=_builder(tiny, fake_encoder), progress=seen.append)
    bars = [p for p in seen if not p.is_log]
    fractions = [p.fraction for p in bars]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    messages = " | ".join(p.message for p in bars)
    for part in ("bm25: building", "dense: encoding corpus", "hybrid: tuning alpha", "timing single queries"):
        assert part in messages, messages


def test_format_eta():
    assert [format_eta(s) for s in (None, 4.2, 97.4, 3725)] == ["?", "4s", "1m37s", "1h02m"]
