"""Encoding backends with bert-tiny: ONNX export / int8 round trips, bf16, fallbacks with reasons, cache
keys that keep backends apart, length-sorted batching, estimates and truncation shares."""

from __future__ import annotations

import hashlib
import json
import threading

import numpy as np
import pytest

from core.encoding import (
    BACKENDS,
    EmbeddingCache,
    EncodeSettings,
    backend_statuses,
    encode_corpus,
    encode_in_batches,
    encoder_cache_key,
    estimate_encode_time,
    make_encoder,
    plan_backend,
    token_lengths,
    truncation_stats,
)
from core.models import TINY_MODEL
from core.retrieval import BM25Spec, DenseSpec, HybridSpec, backend_variants, make_reranker

TEXTS = [
    "the cat sat on the mat",
    "dogs chase cats in the park while their owners watch from the benches " * 6,
    "stock markets fell sharply on monday",
    "x",
    "the central bank raised interest rates again to fight inflation",
]
NO_BF16 = frozenset({"fpu", "avx2", "avx512f"})
WITH_BF16 = frozenset({"avx2", "avx512f", "avx512_bf16", "avx512_vnni"})


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def tiny_home(tmp_path_factory):
    """One workspace for the module, so bert-tiny is exported and quantised once."""
    from core.runtime import Workspace

    return Workspace(tmp_path_factory.mktemp("backends-home"))


@pytest.fixture(scope="module")
def torch_vectors(tiny_home):
    return make_encoder(TINY_MODEL, tiny_home, backend="torch", device="cpu").encode(TEXTS)


# -- plans and fallbacks ------------------------------------------------------------------------------
def test_unknown_backend_is_an_error_naming_the_choices():
    with pytest.raises(ValueError, match="torch, onnx, onnx-int8, bf16"):
        plan_backend("tensorrt", "cpu")


def test_bf16_falls_back_to_torch_with_a_reason_on_cpus_without_bf16():
    plan = plan_backend("bf16", "cpu", flags=NO_BF16)
    assert plan.fell_back and plan.backend == "torch" and plan.precision == "fp32"
    assert "AVX512-BF16" in plan.reason and "slower than fp32" in plan.reason
    assert plan_backend("bf16", "cpu", flags=WITH_BF16).backend == "bf16"


def test_onnx_falls_back_when_a_package_is_missing():
    plan = plan_backend("onnx-int8", "cpu", onnx_packages=("onnxruntime", "no_such_package_esl"))
    assert plan.backend == "torch"
    assert "no_such_package_esl" in plan.reason and "pip install" in plan.reason


def test_gpu_uses_torch_fp16_and_keeps_int8_off_the_gpu():
    assert plan_backend("torch", "cuda").precision == "fp16"
    int8 = plan_backend("onnx-int8", "cuda")
    assert int8.backend == "torch" and int8.precision == "fp16" and "GPU" in int8.reason


def test_int8_without_vnni_runs_with_a_note():
    plan = plan_backend("onnx-int8", "cpu", flags=frozenset({"avx2"}))
    assert plan.backend == "onnx-int8" and "VNNI" in plan.note


def test_statuses_say_why_a_backend_is_unavailable():
    statuses = {s.backend: s for s in backend_statuses("cpu", flags=NO_BF16)}
    assert list(statuses) == list(BACKENDS)
    assert statuses["torch"].available and statuses["onnx"].available
    assert not statuses["bf16"].available and "AVX512-BF16" in statuses["bf16"].reason


def test_fallen_back_encoder_shares_torchs_cache_key_and_says_why(tiny_home):
    plan = plan_backend("bf16", "cpu", flags=NO_BF16)
    enc = make_encoder(TINY_MODEL, tiny_home, backend="bf16", plan=plan)
    ref = make_encoder(TINY_MODEL, tiny_home, backend="torch", device="cpu")
    assert enc.plan.reason and enc.fingerprint == ref.fingerprint


# -- cache keys ---------------------------------------------------------------------------------------
def test_cache_key_differs_per_backend_and_precision_and_keeps_old_fp32_keys():
    keys = {encoder_cache_key("m", EncodeSettings(b)) for b in BACKENDS}
    keys.add(encoder_cache_key("m", EncodeSettings("torch", precision="fp16")))
    assert len(keys) == len(BACKENDS) + 1
    legacy = json.dumps(
        {"model": "m", "backend": "torch", "max_seq_length": None, "normalize": True}, sort_keys=True
    )
    assert encoder_cache_key("m", EncodeSettings()) == hashlib.sha256(legacy.encode()).hexdigest()[:20]


def test_embedding_cache_never_mixes_vectors_of_different_backends(tiny_home, torch_vectors):
    cache = EmbeddingCache(tiny_home)
    encoders = {b: make_encoder(TINY_MODEL, tiny_home, backend=b, device="cpu") for b in BACKENDS}
    assert len({e.fingerprint for e in encoders.values()}) == len(BACKENDS)
    stored = {}
    for backend, enc in encoders.items():  # same corpus fingerprint for all
        vecs, from_cache = encode_corpus(enc, TEXTS, "corpus-x", cache)
        assert not from_cache, backend
        stored[backend] = vecs
    assert cache.misses == len(BACKENDS) and cache.hits == 0
    assert not np.array_equal(stored["onnx-int8"], stored["torch"])
    for backend, enc in encoders.items():
        again, from_cache = encode_corpus(enc, TEXTS, "corpus-x", cache)
        assert from_cache and np.array_equal(again, stored[backend]), backend


# -- round trips --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("backend", "threshold"), [("onnx", 0.9999), ("onnx-int8", 0.99), ("bf16", 0.999)])
def test_backend_vectors_match_torch_fp32(tiny_home, torch_vectors, backend, threshold):
    enc = make_encoder(TINY_MODEL, tiny_home, backend=backend, device="cpu")
    assert enc.plan.backend == backend
    vecs = enc.encode(TEXTS, batch_size=2)
    assert vecs.shape == torch_vectors.shape and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    assert _cos(vecs, torch_vectors).min() >= threshold


def test_onnx_files_are_cached_in_the_workspace_and_reused(tiny_home):
    make_encoder(TINY_MODEL, tiny_home, backend="onnx-int8")
    files = sorted((tiny_home.home / "cache" / "onnx").glob("*/bi-encoder/*.onnx"))
    assert [f.name for f in files] == ["model-int8.onnx", "model.onnx"]
    stamps = [f.stat().st_mtime_ns for f in files]
    make_encoder(TINY_MODEL, tiny_home, backend="onnx-int8")
    assert [f.stat().st_mtime_ns for f in files] == stamps


def test_max_seq_length_reaches_the_onnx_tokenizer(tiny_home):
    long = [TEXTS[1]]
    full = make_encoder(TINY_MODEL, tiny_home, backend="onnx", device="cpu").encode(long)
    cut = make_encoder(TINY_MODEL, tiny_home, backend="onnx", max_seq_length=8).encode(long)
    ref = make_encoder(TINY_MODEL, tiny_home, backend="torch", max_seq_length=8, device="cpu").encode(long)
    assert _cos(cut, ref)[0] > 0.9999 and _cos(cut, full)[0] < 0.999


@pytest.fixture(scope="module")
def saved_cross_encoder(tmp_path_factory):
    """A cross-encoder folder with a fixed (saved) head, so every backend scores the same weights."""
    from core.models import load_cross_encoder

    folder = tmp_path_factory.mktemp("ce") / "tiny-ce"
    load_cross_encoder(TINY_MODEL, device="cpu").save(str(folder))
    return str(folder)


@pytest.mark.parametrize(("backend", "atol"), [("onnx", 1e-4), ("onnx-int8", 0.02), ("bf16", 0.01)])
def test_reranker_backends_keep_the_score_contract(tiny_home, saved_cross_encoder, backend, atol):
    ref = make_reranker(saved_cross_encoder, tiny_home, backend="torch", device="cpu", batch_size=2)
    other = make_reranker(saved_cross_encoder, tiny_home, backend=backend, device="cpu", batch_size=2)
    assert other.plan.backend == backend and other.head_trained
    want, got = ref.score("cats in parks", TEXTS), other.score("cats in parks", TEXTS)
    assert got.shape == (len(TEXTS),) and got.dtype == np.float32
    assert np.allclose(got, want, atol=atol)
    assert other.score("q", []).shape == (0,)


# -- batching -----------------------------------------------------------------------------------------
def _length_vector(batch: list[str]) -> np.ndarray:
    return np.array([[len(t), len(batch)] for t in batch], dtype=np.float32)


def test_batches_restore_input_order_and_sorting_groups_similar_lengths():
    texts = ["a" * n for n in (5, 50, 1, 30, 7, 60, 2)]
    seen: list[list[int]] = []

    def fn(batch):
        seen.append([len(t) for t in batch])
        return _length_vector(batch)

    out = encode_in_batches(texts, fn, 2, batch_size=3, sort=True)
    assert out[:, 0].tolist() == [len(t) for t in texts]
    assert seen == [[60, 50, 30], [7, 5, 2], [1]]
    seen.clear()
    out = encode_in_batches(texts, fn, 2, batch_size=3, sort=False)
    assert out[:, 0].tolist() == [len(t) for t in texts]
    assert seen == [[5, 50, 1], [30, 7, 60], [2]]


def test_token_lengths_decide_the_order_when_given():
    texts = ["aaaa", "b", "cc", "ddd"]
    seen: list[list[str]] = []

    def fn(batch):
        seen.append(batch)
        return _length_vector(batch)

    encode_in_batches(texts, fn, 2, batch_size=2, lengths=[1, 9, 9, 3])
    assert seen == [["b", "cc"], ["ddd", "aaaa"]]  # ties keep input order


def test_token_lengths_are_capped_at_the_max_sequence_length(tiny_home):
    enc = make_encoder(TINY_MODEL, tiny_home, backend="torch", device="cpu")
    full = token_lengths(enc.tokenizer, TEXTS)
    assert full.max() > 16
    assert token_lengths(enc.tokenizer, TEXTS, cap=16).tolist() == [min(n, 16) for n in full]


def test_sorted_and_unsorted_batching_give_the_same_vectors(tiny_home):
    enc = make_encoder(TINY_MODEL, tiny_home, backend="onnx", device="cpu")
    unsorted = make_encoder(TINY_MODEL, tiny_home, backend="onnx", device="cpu", sort_by_length=False)
    assert np.allclose(enc.encode(TEXTS, batch_size=2), unsorted.encode(TEXTS, batch_size=2), atol=1e-5)


def test_prepared_batches_run_ahead_in_a_thread_and_keep_the_input_order():
    texts = ["a" * n for n in (5, 50, 1, 30, 7, 60, 2)]
    prepared: list[str] = []

    def prepare(batch):
        prepared.append(threading.current_thread().name)
        return [len(t) for t in batch]

    def run(features):  # receives what prepare made, not texts
        return np.array([[n, len(features)] for n in features], dtype=np.float32)

    out = encode_in_batches(texts, run, 2, batch_size=3, prepare=prepare, ahead=2)
    assert out[:, 0].tolist() == [len(t) for t in texts]
    assert len(prepared) == 3 and all(name.startswith("esl-prepare") for name in prepared)


def test_tokenize_ahead_gives_the_vectors_of_plain_encoding(tiny_home, torch_vectors):
    """The GPU path (tokenize the next batches in a thread, run the model's forward pass) on the CPU."""
    from core.encoding import SentenceTransformerEncoder
    from core.models import load_sentence_transformer

    model = load_sentence_transformer(TINY_MODEL, tiny_home, device="cpu")
    enc = SentenceTransformerEncoder(model, TINY_MODEL, "fp", prefetch=True)
    assert enc._can_prefetch() and not SentenceTransformerEncoder(model, TINY_MODEL, "fp")._can_prefetch()
    for threads in (1, 3):
        enc.prepare_threads = threads
        vecs = enc.encode(TEXTS * 3, batch_size=2)
        assert np.allclose(vecs, np.vstack([torch_vectors] * 3), atol=1e-5)
    # three tokenizing models: the model itself and two copies with their own tokenizer, same weights
    copies = [enc._preparers.get() for _ in range(enc._preparer_count)]
    clones = [c for c in copies if c is not model]
    assert len(copies) == 3 and len(clones) == 2
    assert all(c.tokenizer is not model.tokenizer for c in clones)
    weight = next(model.parameters())
    assert all(next(c.parameters()) is weight for c in clones)


def test_token_lengths_in_threads_match_one_thread(tiny_home):
    enc = make_encoder(TINY_MODEL, tiny_home, backend="torch", device="cpu")
    texts = [t + f" {i}" for i in range(40) for t in TEXTS]
    one = token_lengths(enc.tokenizer, texts, chunk=16, threads=1)
    assert token_lengths(enc.tokenizer, texts, chunk=16, threads=3).tolist() == one.tolist()
    assert len(one) == len(texts)


def test_progress_reports_throughput():
    seen = []
    encode_in_batches(["a"] * 10, _length_vector, 2, batch_size=4, progress=seen.append)
    assert seen[-1].done == 10 and seen[-1].total == 10
    assert seen[-1].rate and seen[-1].message.endswith("texts/s")


# -- estimates and truncation ------------------------------------------------------------------------
def test_estimate_extrapolates_from_a_timed_sample(fake_encoder):
    texts = [f"passage number {i} about cats" for i in range(500)]
    est = estimate_encode_time(fake_encoder, texts, sample_size=40)
    assert est.texts == 500 and est.sample == 40
    assert fake_encoder.encoded == 42  # warm-up of 2, then the sample; never the whole corpus
    assert est.seconds == pytest.approx(500 / est.rate)
    assert "500 texts" in est.text
    assert estimate_encode_time(fake_encoder, []).seconds == 0


def test_truncation_share_counts_documents_longer_than_the_cap(tiny_home):
    enc = make_encoder(TINY_MODEL, tiny_home, backend="torch", device="cpu")
    lengths = token_lengths(enc.tokenizer, TEXTS)
    stats = truncation_stats(enc.tokenizer, TEXTS, 12)
    assert stats.checked == len(TEXTS) and stats.max_tokens == lengths.max()
    assert stats.truncated == int((lengths > 12).sum()) and 0 < stats.share < 1
    assert truncation_stats(enc.tokenizer, TEXTS, 10_000).share == 0


# -- quality guard ------------------------------------------------------------------------------------
def test_backend_variants_add_one_dense_strategy_per_backend():
    specs = {"bm25": BM25Spec(), "dense": DenseSpec(model=TINY_MODEL), "hybrid": HybridSpec()}
    out = backend_variants(specs, ["onnx-int8", "bf16", "torch"])
    assert list(out) == ["bm25", "dense", "hybrid", "dense-onnx-int8", "dense-bf16"]
    assert out["dense-bf16"].backend == "bf16" and out["dense-bf16"].model == TINY_MODEL
    assert len({s.label for s in out.values()}) == len(out)
    with pytest.raises(ValueError):
        backend_variants(specs, ["fp8"])


def test_fp16_precision_of_the_gpu_path_converts_the_model_and_keys_the_cache(tiny_home, torch_vectors):
    """What torch does on a CUDA device (fp16), run on the CPU: same vectors within fp16 error."""
    from core.encoding import SentenceTransformerEncoder
    from core.models import load_sentence_transformer

    model = load_sentence_transformer(TINY_MODEL, tiny_home, device="cpu")
    enc = SentenceTransformerEncoder(model, TINY_MODEL, "fp", EncodeSettings("torch", precision="fp16"))
    assert (
        next(model.parameters()).dtype.is_floating_point
        and str(next(model.parameters()).dtype) == "torch.float16"
    )
    assert (
        enc.fingerprint
        != SentenceTransformerEncoder(
            load_sentence_transformer(TINY_MODEL, tiny_home, device="cpu"), TINY_MODEL, "fp"
        ).fingerprint
    )
    vecs = enc.encode(TEXTS)
    assert vecs.dtype == np.float32 and _cos(vecs, torch_vectors).min() >= 0.999
