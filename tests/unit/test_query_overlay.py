"""A query on a retrieval map: placed with the projection, relevant and retrieved documents marked."""

from __future__ import annotations

import pytest

from core.explore import ExploreRequest, ProjectionSettings, explore, query_overlay, strategy_specs
from tests.fakes import HashingEncoder
from tests.unit.test_projection import labeled, retrieval


def test_overlay_marks_relevant_and_retrieved_documents_and_places_the_rest(ws):
    ds = retrieval(60)
    enc = HashingEncoder(64, "m64")
    req = ExploreRequest("tinyret", model="m64", settings=ProjectionSettings(method="pca"), max_points=12)
    result = explore(ws, req, dataset=ds, encoder_factory=lambda name: enc)
    overlay = query_overlay(ws, result, ds, "q1", strategies=("bm25", "dense"), k=8, encoder=enc)

    assert overlay["role"].tolist()[0] == "query"
    query = overlay.iloc[0]
    assert query["text"] == "lost card pin" and not query["in_sample"]
    relevant = overlay[overlay["role"] == "relevant"]
    assert relevant["id"].tolist() == ["d0", "d27"] and relevant["grade"].tolist() == [2, 1]
    assert relevant["in_sample"].all()  # judged-relevant documents are always sampled
    retrieved = overlay[overlay["role"] == "retrieved"]
    assert set(retrieved["strategy"]) == {"bm25", "dense"}
    assert retrieved.groupby("strategy")["rank"].max().to_dict() == {"bm25": 8, "dense": 8}
    # with 12 of 60 documents on the map, some retrieved ones are outside the sample: placed, not dropped
    outside = retrieved[~retrieved["in_sample"]]
    assert len(outside) > 0 and outside[["x", "y"]].notna().all().all()
    inside = retrieved[retrieved["in_sample"]].iloc[0]
    on_map = result.points.set_index("id").loc[inside["id"]]
    assert (inside["x"], inside["y"]) == pytest.approx((on_map["x"], on_map["y"]))
    # the judged grade travels with retrieved documents
    hit = retrieved[retrieved["id"] == "d0"]
    assert hit.empty or (hit["grade"] == 2).all()


def test_overlay_refuses_classification_maps_and_unknown_queries(ws):
    enc = HashingEncoder(64, "m64")
    cls = explore(
        ws,
        ExploreRequest("topics", model="m64", settings=ProjectionSettings(method="pca")),
        dataset=labeled(),
        encoder_factory=lambda n: enc,
    )
    ds = retrieval(30)
    with pytest.raises(ValueError, match="retrieval dataset"):
        query_overlay(ws, cls, ds, "q1", encoder=enc)
    ret = explore(
        ws,
        ExploreRequest("tinyret", model="m64", settings=ProjectionSettings(method="pca")),
        dataset=ds,
        encoder_factory=lambda n: enc,
    )
    with pytest.raises(KeyError, match="No query"):
        query_overlay(ws, ret, ds, "nope", encoder=enc)
    with pytest.raises(ValueError, match="Unknown strategies"):
        strategy_specs("m", ["bm25", "magic"])
