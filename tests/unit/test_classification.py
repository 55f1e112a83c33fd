"""Few-shot classification: sampling, pair cap, evaluation, baselines and runs with the fake encoder."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from core.classify import (
    ClassifyConfig,
    evaluate_predictions,
    frozen_vectors,
    has_label_names,
    label_text,
    logreg_predict,
    run_classification,
    summarize,
    zero_shot_predict,
)
from core.data import LabeledDataset, sample_per_class, stratified_subset
from core.training import SetFitConfig, pair_plan

TOPICS = {
    "sports": ["football", "goal", "match", "team", "league", "coach"],
    "weather": ["rain", "storm", "sunny", "forecast", "cloud", "wind"],
    "cooking": ["recipe", "oven", "bake", "flour", "dinner", "spice"],
}


def make_dataset(train_per_label: int = 30, test_per_label: int = 10, seed: int = 0) -> LabeledDataset:
    rng = np.random.default_rng(seed)
    rows = []
    for split, count in (("train", train_per_label), ("test", test_per_label)):
        for label, words in TOPICS.items():
            for _ in range(count):
                text = (
                    " ".join(rng.choice(words, size=4)) + " " + " ".join(rng.choice(["the", "a", "today"], 2))
                )
                rows.append({"text": text, "label": label, "split": split})
    return LabeledDataset("topics", pd.DataFrame(rows), tuple(TOPICS))


def make_multilabel() -> LabeledDataset:
    rows = []
    for i in range(40):
        labels = ["a"] if i % 3 == 0 else ["b"] if i % 3 == 1 else ["a", "c"]
        rows.append({"text": f"text {i}", "labels": labels, "split": "train" if i < 30 else "test"})
    return LabeledDataset("multi", pd.DataFrame(rows), ("a", "b", "c"), multi_label=True)


# -- sampling --------------------------------------------------------------------------------------
def test_sampling_is_stratified_and_seeded():
    ds = make_dataset()
    a = sample_per_class(ds, 8, seed=3)
    assert Counter(a.labels) == dict.fromkeys(TOPICS, 8)
    assert a == sample_per_class(ds, 8, seed=3)
    assert set(a.rows) != set(sample_per_class(ds, 8, seed=4).rows)
    train = ds.split("train")
    for text, label, row in zip(a.texts, a.labels, a.rows, strict=True):
        assert train["text"][row] == text and train["label"][row] == label
    assert len(set(a.rows)) == len(a.rows)


def test_samples_are_nested_across_n():
    ds = make_dataset()
    small, large = sample_per_class(ds, 4, seed=1), sample_per_class(ds, 16, seed=1)
    assert set(small.rows) < set(large.rows)


def test_short_labels_give_all_they_have():
    ds = make_dataset(train_per_label=5)
    s = sample_per_class(ds, 8, seed=0)
    assert len(s) == 15 and set(s.short_labels) == set(TOPICS)
    with pytest.raises(ValueError):
        sample_per_class(ds, 0, seed=0)


def test_multilabel_sampling_counts_rows_for_every_label():
    ds = make_multilabel()
    s = sample_per_class(ds, 3, seed=0)
    counts = Counter(label for labels in s.labels for label in labels)
    assert all(counts[label] >= 3 for label in ("a", "b", "c"))
    assert len(set(s.rows)) == len(s.rows)
    ids = s.label_ids()
    assert all(len(row) == 3 and set(row) <= {0, 1} for row in ids)


def test_stratified_subset_keeps_every_label():
    targets = ["x"] * 90 + ["y"] * 10
    keep = stratified_subset(targets, 20, seed=0)
    assert len(keep) == 20 and Counter(targets[i] for i in keep) == {"x": 18, "y": 2}
    assert stratified_subset(targets, None) == list(range(100))
    assert keep == stratified_subset(targets, 20, seed=0)


# -- pair cap --------------------------------------------------------------------------------------
def test_pair_plan_uncapped_follows_num_iterations():
    plan = pair_plan(SetFitConfig(num_iterations=20, max_pairs=None, batch_size=16), 16)
    assert (plan.pairs, plan.num_iterations, plan.steps, plan.capped) == (640, 20, 40, False)


def test_pair_plan_caps_many_class_sets():
    cfg = SetFitConfig(num_iterations=20, max_pairs=1000, batch_size=16, epochs=2)
    plan = pair_plan(cfg, 616)  # Banking77 at N=8
    assert plan.wanted_pairs == 2 * 20 * 616 and plan.capped
    assert plan.pairs == 1000 and plan.num_iterations == 1
    assert plan.steps == 2 * 63
    small = pair_plan(replace(cfg, epochs=1), 16)
    assert not small.capped and small.pairs == 640


def test_setfit_config_validation_and_round_trip():
    cfg = SetFitConfig(n_per_class=4, head="differentiable", max_pairs=None)
    assert SetFitConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError):
        SetFitConfig(head="svm")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SetFitConfig(max_pairs=1)
    with pytest.raises(ValueError, match="loss must be one of cosent, cosine"):
        SetFitConfig(loss="triplet")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SetFitConfig.from_dict({"epochz": 1})


def test_classify_config_round_trip_and_one_body():
    cfg = ClassifyConfig(dataset="x", body="bert-tiny", methods=("logreg",), n_values=(4, 8), seeds=(0, 1))
    assert cfg.setfit.body == "bert-tiny"
    assert ClassifyConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError):
        ClassifyConfig(dataset="x", methods=("svm",))
    with pytest.raises(ValueError):
        ClassifyConfig(dataset="x", n_values=(0,))


# -- evaluation ------------------------------------------------------------------------------------
def test_evaluate_predictions_known_values():
    y_true = ["a", "a", "a", "b", "b", "c"]
    y_pred = ["a", "a", "b", "b", "b", "a"]
    rep = evaluate_predictions(y_true, y_pred, ["a", "b", "c"], texts=list("uvwxyz"), confidence=[0.9] * 6)
    assert rep.accuracy == pytest.approx(4 / 6)
    # a: P=2/3 R=2/3 F1=2/3; b: P=2/3 R=1 F1=0.8; c: 0
    assert rep.macro_f1 == pytest.approx((2 / 3 + 0.8 + 0) / 3)
    assert rep.confusion == ((2, 1, 0), (0, 2, 0), (1, 0, 0))
    assert [m["text"] for m in rep.misclassified] == ["w", "z"]
    per = {p["label"]: p for p in rep.per_class}
    assert per["b"]["recall"] == 1.0 and per["c"]["support"] == 1
    assert -1.0 <= rep.mcc <= 1.0 and rep.mcc > 0


def test_evaluate_predictions_multilabel():
    rep = evaluate_predictions([["a"], ["a", "b"]], [["a"], ["a"]], ["a", "b"])
    assert rep.accuracy == 0.5 and rep.confusion is None
    assert len(rep.misclassified) == 1 and rep.misclassified[0]["true"] == "a, b"


def test_summarize_mean_and_std():
    rows = [
        {
            "method": "logreg",
            "n_per_class": 8,
            "seed": s,
            "accuracy": acc,
            "macro_f1": acc,
            "mcc": 0.0,
            "train_s": 1.0,
            "n_train": 16,
        }
        for s, acc in enumerate([0.6, 0.8])
    ]
    (entry,) = summarize(rows)
    assert entry["accuracy_mean"] == pytest.approx(0.7)
    assert entry["accuracy_std"] == pytest.approx(np.std([0.6, 0.8], ddof=1))
    assert summarize(rows[:1])[0]["accuracy_std"] == 0.0


# -- baselines with the fake encoder ---------------------------------------------------------------
def test_frozen_vectors_are_cached(ws, fake_encoder):
    from core.encoding import EmbeddingCache

    cache = EmbeddingCache(ws)
    texts = ["one text", "another text"]
    first = frozen_vectors(fake_encoder, texts, cache)
    calls = fake_encoder.calls
    second = frozen_vectors(fake_encoder, texts, cache)
    assert fake_encoder.calls == calls
    np.testing.assert_allclose(first, second)


def test_logreg_baseline_learns_topics(fake_encoder):
    ds = make_dataset()
    sample = sample_per_class(ds, 8, seed=0)
    proba, fit_s = logreg_predict(
        fake_encoder.encode(sample.texts), sample, fake_encoder.encode(ds.texts("test"))
    )
    assert proba.shape == (30, 3) and fit_s >= 0
    pred = [ds.label_names[i] for i in proba.argmax(axis=1)]
    assert np.mean(np.asarray(pred) == np.asarray(ds.targets("test"))) > 0.9


def test_zero_shot_uses_label_names(fake_encoder):
    labels = ["rain", "football"]
    texts = ["heavy rain rain today", "football football match"]
    proba = zero_shot_predict(fake_encoder.encode(labels), fake_encoder.encode(texts))
    assert proba.argmax(axis=1).tolist() == [0, 1]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_label_names_detection():
    assert has_label_names(["negative", "positive"]) and not has_label_names(["0", "1", "2"])
    assert label_text("card_arrival") == "card arrival" and label_text("TopUpFailed") == "Top Up Failed"


# -- runs ------------------------------------------------------------------------------------------
def test_run_classification_baselines_same_samples_and_deterministic(ws, fake_encoder):
    ds = make_dataset()
    cfg = ClassifyConfig(dataset="topics", methods=("logreg", "zeroshot"), n_values=(2, 8), seeds=(0, 1, 2))
    seen = []
    result = run_classification(
        cfg, ds, ws=ws, encoder=fake_encoder, reporter=lambda p: p.is_log or seen.append((p.done, p.total))
    )
    assert len(result.rows) == 2 * 2 * 3
    assert {(r.method, r.n_per_class) for r in result.rows} == {
        (m, n) for m in ("logreg", "zeroshot") for n in (2, 8)
    }
    assert seen and seen[-1][0] == seen[-1][1]  # progress reaches its total
    assert result.full_test and result.n_test == 30
    assert set(result.details) == {("logreg", 2), ("logreg", 8), ("zeroshot", 2), ("zeroshot", 8)}
    encoded = fake_encoder.encoded
    again = run_classification(cfg, ds, ws=ws, encoder=fake_encoder)
    assert [r.accuracy for r in again.rows] == [r.accuracy for r in result.rows]
    assert fake_encoder.encoded - encoded == 3  # only the label names: texts came from the cache
    by = {(s["method"], s["n_per_class"]): s for s in result.summary()}
    assert by[("zeroshot", 8)]["accuracy_std"] == 0.0
    assert by[("logreg", 8)]["accuracy_mean"] >= by[("logreg", 2)]["accuracy_mean"]
    d = result.to_dict()
    assert d["details"][0]["seed"] == 0 and "confusion" in d["details"][0]


def test_run_classification_skips_zero_shot_for_numeric_labels(ws, fake_encoder):
    ds = make_dataset()
    mapping = {name: str(i) for i, name in enumerate(ds.label_names)}
    data = ds.data.assign(label=ds.data["label"].map(mapping))
    numeric = LabeledDataset("numeric", data, tuple(mapping.values()))
    cfg = ClassifyConfig(dataset="numeric", methods=("logreg", "zeroshot"), seeds=(0,))
    result = run_classification(cfg, numeric, ws=ws, encoder=fake_encoder)
    assert {r.method for r in result.rows} == {"logreg"}
    assert any("zero-shot skipped" in note for note in result.notes)


def test_run_classification_stops_on_request(ws, fake_encoder):
    from core.runtime import Cancelled

    cfg = ClassifyConfig(dataset="topics", methods=("logreg",), seeds=(0,))

    def stop(p):  # the job's reporter raises Cancelled once the user asked to stop
        raise Cancelled("cancelled by the user")

    with pytest.raises(Cancelled):
        run_classification(cfg, make_dataset(), ws=ws, encoder=fake_encoder, reporter=stop)


def test_test_limit_scores_a_slice(ws, fake_encoder):
    cfg = ClassifyConfig(dataset="topics", methods=("logreg",), seeds=(0,), test_limit=12)
    result = run_classification(cfg, make_dataset(), ws=ws, encoder=fake_encoder)
    assert result.n_test == 12 and not result.full_test and result.notes


def test_setfit_only_run_reaches_its_total(monkeypatch):
    import core.classify.run as classify_run

    class Uniform:  # a stand-in SetFit model: the same probability for every label
        def predict_proba(self, texts, batch_size=64, as_numpy=True):
            return np.full((len(texts), len(TOPICS)), 1 / len(TOPICS))

    def fake_fit(config, sample, reporter=None, *, ws=None, output_dir=None):
        return Uniform(), {"train_s": 0.0, "steps": 0}

    monkeypatch.setattr(classify_run, "fit_setfit", fake_fit)
    cfg = ClassifyConfig(dataset="topics", methods=("setfit",), seeds=(0,))
    seen = []
    run_classification(cfg, make_dataset(), reporter=lambda p: p.is_log or seen.append((p.done, p.total)))
    assert seen[-1][0] == seen[-1][1]  # no frozen-embedding unit is counted when no baseline runs
