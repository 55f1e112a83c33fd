"""The model memo with a real model: a warm worker's encoders are built once per (weights, settings), and
a warm worker's second encode job reuses the first one's model."""

from __future__ import annotations

import pytest

from core.data import import_path
from core.encoding import make_encoder
from core.models import MEMO_ENV, TINY_MODEL, model_memo
from core.models import memo as memo_module
from core.runtime import jobs
from tests.tiny_data import write_beir

pytestmark = pytest.mark.integration


@pytest.fixture
def memo(monkeypatch):  # type: ignore[no-untyped-def]
    """A fresh memo of this process with room for two models."""
    monkeypatch.setenv(MEMO_ENV, "2")
    monkeypatch.setattr(memo_module, "_MEMO", [])
    yield model_memo()
    monkeypatch.setattr(memo_module, "_MEMO", [])


def test_encoders_are_kept_by_weights_and_settings(ws, memo):
    first = make_encoder(TINY_MODEL, ws)
    assert make_encoder(TINY_MODEL, ws) is first
    other = make_encoder(TINY_MODEL, ws, max_seq_length=32)
    assert other is not first and other.model is not first.model  # its own model: settings change it
    assert (memo.hits, memo.misses) == (1, 2)
    assert first.encode(["a query"]).shape == other.encode(["a query"]).shape


def test_without_a_memo_every_encoder_is_new(ws, monkeypatch):
    monkeypatch.delenv(MEMO_ENV, raising=False)
    monkeypatch.setattr(memo_module, "_MEMO", [])
    assert make_encoder(TINY_MODEL, ws) is not make_encoder(TINY_MODEL, ws)


def test_encode_jobs_follow_each_other_on_the_warm_worker(ws, tmp_path):
    record, _ = import_path(ws, write_beir(tmp_path / "tiny"), name="tiny")
    jobs.keep_warm(ws.home)
    try:
        config = {"dataset": "tiny", "model": TINY_MODEL, "restart": True}
        runs = [jobs.wait(ws, jobs.submit(ws, "encode", config), timeout=300) for _ in range(2)]
    finally:
        jobs.keep_warm(ws.home, enabled=False)
    assert [r.status for r in runs] == ["done", "done"], [r.error for r in runs]
    assert runs[0].pid == runs[1].pid
    assert runs[0].result["encoder_fingerprint"] == runs[1].result["encoder_fingerprint"]
    assert runs[0].result["rows_encoded"] == runs[1].result["rows_encoded"] == record.summary["documents"]
