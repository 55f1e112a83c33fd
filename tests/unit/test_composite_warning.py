"""A composite strategy (hybrid, rerank) that is not significantly better than its best component is
flagged (``composite_not_better``, a note, the JSON, the wizard's simpler alternative)."""

from __future__ import annotations

from core.evaluate import composite_check, load_comparison, run_comparison, save_comparison
from core.retrieval import BM25Spec, DenseSpec, HybridSpec, RerankSpec
from tests.unit.test_retrieval_core import _builder, tiny  # noqa: F401  (fixture)


def test_a_hybrid_on_three_queries_is_flagged_not_better(tiny, fake_encoder, ws):  # noqa: F811
    specs = {
        "bm25": BM25Spec(),
        "hybrid": HybridSpec(),
        "rerank": RerankSpec(first_stage=BM25Spec(), reranker="r", top_k=5),
    }
    rep = run_comparison(tiny, "test", specs, ws=ws, k=5, builder=_builder(tiny, fake_encoder, ws))
    hybrid = rep.strategies["hybrid"]
    assert hybrid.composite_not_better  # 3 queries: no difference can be significant
    assert hybrid.extra["best_component"] in (BM25Spec().label, DenseSpec().label)
    assert any("not significantly better than its best component" in n for n in hybrid.notes)
    assert "composite_not_better" not in rep.strategies["bm25"].extra
    assert rep.strategies["rerank"].extra["best_component"] == BM25Spec().label
    out = rep.to_json()
    assert out["composite_not_better"] == {"hybrid": True, "rerank": True}
    assert rep.simpler_alternatives()["hybrid"] == hybrid.extra["best_component"]
    again = load_comparison(ws, save_comparison(ws, rep))
    assert again.simpler_alternatives() == rep.simpler_alternatives()


def _runs(n: int, good: bool) -> dict[str, dict[str, float]]:
    """Per query: the relevant document first (``good``) or third."""
    return {
        f"q{i}": ({"rel": 3.0, "x": 2.0, "y": 1.0} if good else {"x": 3.0, "y": 2.0, "rel": 1.0})
        for i in range(n)
    }


def test_a_composite_significantly_better_is_not_flagged():
    qrels = {f"q{i}": {"rel": 1} for i in range(30)}
    composite = _runs(30, good=True)
    metrics = {"ndcg@10": 1.0}
    found, warning = composite_check(
        qrels, "hybrid", composite, metrics, {"bm25": _runs(30, good=False), "dense": _runs(30, good=False)}
    )
    assert found["composite_not_better"] is False and warning is None
    assert found["composite_p"] < 0.05


def test_a_composite_worse_than_a_component_is_flagged():
    qrels = {f"q{i}": {"rel": 1} for i in range(30)}
    found, warning = composite_check(
        qrels, "hybrid", _runs(30, good=False), {"ndcg@10": 0.5}, {"bm25": _runs(30, good=True)}
    )
    assert found["composite_not_better"] is True and found["best_component"] == "bm25"
    assert warning is not None and "Prefer the simpler bm25" in warning
