"""Real models, no network: the packaged default, local sentence-transformers and transformers folders."""

from __future__ import annotations

import numpy as np
import pytest

from core.models import TINY_MODEL, load_sentence_transformer, resolve_model

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_packaged_default_loads_offline_and_encodes():
    model = load_sentence_transformer("all-MiniLM-L6-v2", device="cpu")
    vecs = model.encode(
        ["A cat sits on the mat.", "A kitten is sitting on a rug.", "Stock markets fell sharply today."],
        normalize_embeddings=True,
    )
    assert vecs.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.2


def test_local_transformers_folder_loads_with_mean_pooling():
    folder = resolve_model(TINY_MODEL).location  # a plain BertForMaskedLM folder, no modules.json
    info = resolve_model(folder)
    assert info.source == "local" and info.kind == "mlm"
    model = load_sentence_transformer(folder, device="cpu")
    assert model.encode(["hello world"]).shape == (1, 128)


def test_local_sentence_transformers_folder_loads(tmp_path):
    saved = tmp_path / "my-st-model"
    load_sentence_transformer(TINY_MODEL, device="cpu").save(str(saved))
    info = resolve_model(str(saved))
    assert info.source == "local" and info.kind == "bi-encoder"
    reloaded = load_sentence_transformer(str(saved), device="cpu")
    original = load_sentence_transformer(TINY_MODEL, device="cpu")
    texts = ["graded relevance", "offline models"]
    assert np.allclose(reloaded.encode(texts), original.encode(texts), atol=1e-5)
