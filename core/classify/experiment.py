"""Few-shot text classification: seeded N-per-class samples, SetFit and two baselines on the same samples,
evaluation on the full test split, and learning curves (N × seeds, mean ± std).

Methods (``METHODS``):

- ``setfit``   contrastive fine-tuning of the body on pairs of the sample, then a head (see
  :mod:`core.training.setfit`);
- ``logreg``   logistic regression on *frozen* embeddings of the same body, fitted on the same sample;
- ``zeroshot`` cosine similarity between a text and each label name (only when labels have names; it uses
  no labelled example, so its score is the same for every N and seed).

Frozen embeddings of the test split (and of the sampled training rows) are cached on disk per body, so
baselines and learning curves never encode the same texts twice. Every score is computed on the full test
split unless ``test_limit`` asks for a (stratified, seeded) slice for a quick look.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from core.data import FewShotSample, LabeledDataset, sample_per_class, stratified_subset
from core.encoding import EmbeddingCache, Encoder, encode_corpus, make_encoder
from core.models import DEFAULT_BI_ENCODER
from core.runtime import InvalidInput, Progress, Reporter, Workspace, log, report
from core.training import SetFitConfig, fit_setfit, pair_plan

__all__ = [
    "METHODS",
    "ClassifyConfig",
    "ClassifyResult",
    "EvalReport",
    "RunScore",
    "evaluate_predictions",
    "frozen_vectors",
    "has_label_names",
    "label_text",
    "logreg_predict",
    "run_classification",
    "summarize",
    "texts_fingerprint",
    "zero_shot_predict",
]

METHODS = ("setfit", "logreg", "zeroshot")
METHOD_TITLES = {
    "setfit": "SetFit",
    "logreg": "Frozen embeddings + logistic regression",
    "zeroshot": "Zero-shot",
}
STAGE = "classify"


# --------------------------------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EvalReport:
    """Scores of one method on one test set."""

    accuracy: float  # exact-match accuracy when multi-label
    macro_f1: float
    mcc: float  # multi-class MCC; mean of per-label MCC when multi-label
    n_test: int
    per_class: tuple[dict[str, Any], ...]  # label, precision, recall, f1, support
    labels: tuple[str, ...]
    confusion: tuple[tuple[int, ...], ...] | None  # rows = true label, columns = predicted (single-label)
    misclassified: tuple[dict[str, Any], ...]  # text, true, predicted, confidence

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["per_class"] = list(self.per_class)
        out["labels"] = list(self.labels)
        out["confusion"] = [list(r) for r in self.confusion] if self.confusion is not None else None
        out["misclassified"] = list(self.misclassified)
        return out


def _multi_hot(values: Sequence[Sequence[str]], labels: Sequence[str]) -> np.ndarray:
    index = {name: i for i, name in enumerate(labels)}
    out = np.zeros((len(values), len(labels)), dtype=np.int64)
    for i, row in enumerate(values):
        for name in row:
            if name in index:
                out[i, index[name]] = 1
    return out


def evaluate_predictions(
    y_true: Sequence[Any],
    y_pred: Sequence[Any],
    labels: Sequence[str],
    *,
    texts: Sequence[str] | None = None,
    confidence: Sequence[float] | None = None,
    max_misclassified: int = 200,
) -> EvalReport:
    """Accuracy, macro-F1, MCC, per-class precision/recall/F1, confusion matrix and misclassified rows.

    Labels are names; multi-label truths and predictions are lists of names per row.
    """
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        matthews_corrcoef,
        precision_recall_fscore_support,
    )

    labels = list(labels)
    if len(y_true) != len(y_pred):
        raise InvalidInput(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    multi = bool(y_true) and isinstance(y_true[0], (list, tuple))
    if multi:
        t = _multi_hot(y_true, labels)
        p = _multi_hot(y_pred, labels)
        accuracy = float(accuracy_score(t, p))
        macro_f1 = float(f1_score(t, p, average="macro", zero_division=0))
        with warnings.catch_warnings():  # a label absent from both columns has MCC 0 (sklearn warns)
            warnings.simplefilter("ignore")
            mccs = [matthews_corrcoef(t[:, j], p[:, j]) for j in range(len(labels))]
        mcc = float(np.mean(mccs)) if mccs else 0.0
        prec, rec, f1, support = precision_recall_fscore_support(t, p, average=None, zero_division=0)
        confusion = None
        wrong = [i for i in range(len(t)) if not np.array_equal(t[i], p[i])]
    else:
        t_list = [str(v) for v in y_true]
        p_list = [str(v) for v in y_pred]
        accuracy = float(accuracy_score(t_list, p_list))
        macro_f1 = float(f1_score(t_list, p_list, labels=labels, average="macro", zero_division=0))
        mcc = float(matthews_corrcoef(t_list, p_list)) if len(set(t_list) | set(p_list)) > 1 else 0.0
        prec, rec, f1, support = precision_recall_fscore_support(
            t_list, p_list, labels=labels, average=None, zero_division=0
        )
        matrix = confusion_matrix(t_list, p_list, labels=labels)
        confusion = tuple(tuple(int(x) for x in row) for row in matrix)
        wrong = [i for i in range(len(t_list)) if t_list[i] != p_list[i]]
    per_class = tuple(
        {
            "label": labels[j],
            "precision": float(prec[j]),
            "recall": float(rec[j]),
            "f1": float(f1[j]),
            "support": int(support[j]),
        }
        for j in range(len(labels))
    )
    if confidence is not None:  # most confident mistakes first: the ones worth looking at
        wrong.sort(key=lambda i: -float(confidence[i]))
    misclassified = tuple(
        {
            "text": texts[i] if texts is not None else "",
            "true": _label_str(y_true[i]),
            "predicted": _label_str(y_pred[i]),
            "confidence": float(confidence[i]) if confidence is not None else None,
        }
        for i in wrong[:max_misclassified]
    )
    return EvalReport(
        accuracy=accuracy,
        macro_f1=macro_f1,
        mcc=mcc,
        n_test=len(y_true),
        per_class=per_class,
        labels=tuple(labels),
        confusion=confusion,
        misclassified=misclassified,
    )


def _label_str(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def decode_predictions(
    proba: np.ndarray, labels: Sequence[str], multi_label: bool, threshold: float = 0.5
) -> tuple[list[Any], list[float]]:
    """Label names (lists when multi-label) and a confidence per row from a probability matrix."""
    proba = np.asarray(proba, dtype=np.float64)
    if multi_label:
        preds = [[labels[j] for j in np.flatnonzero(row >= threshold)] for row in proba]
        conf = [float(row.max()) if len(row) else 0.0 for row in proba]
        return preds, conf
    best = proba.argmax(axis=1)
    return [labels[j] for j in best], [float(proba[i, j]) for i, j in enumerate(best)]


# --------------------------------------------------------------------------------------------------
# frozen-embedding baselines
# --------------------------------------------------------------------------------------------------
def texts_fingerprint(texts: Sequence[str]) -> str:
    """Stable id of an ordered list of texts (embedding-cache key)."""
    h = hashlib.sha256()
    for text in texts:
        h.update(text.encode("utf-8"))
        h.update(b"\x01")
    return h.hexdigest()[:24]


def frozen_vectors(
    encoder: Encoder,
    texts: Sequence[str],
    cache: EmbeddingCache | None,
    *,
    batch_size: int = 64,
    progress: Any = None,
) -> np.ndarray:
    """Embeddings of ``texts`` by the frozen body, from the on-disk cache when it has them."""
    vectors, _ = encode_corpus(
        encoder, list(texts), texts_fingerprint(texts), cache, batch_size=batch_size, progress=progress
    )
    return vectors


def _logreg(multi_label: bool, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    clf = LogisticRegression(max_iter=1000, random_state=seed)
    return OneVsRestClassifier(clf) if multi_label else clf


def logreg_predict(
    train_vectors: np.ndarray, sample: FewShotSample, test_vectors: np.ndarray
) -> tuple[np.ndarray, float]:
    """Fit logistic regression on the sample's frozen vectors; returns test probabilities
    (columns in ``sample.label_names`` order) and the fit time in seconds."""
    y = np.asarray(sample.label_ids())
    start = time.perf_counter()
    clf = _logreg(sample.multi_label, sample.seed)
    clf.fit(train_vectors, y)
    fit_s = time.perf_counter() - start
    raw = clf.predict_proba(test_vectors)
    if sample.multi_label:
        return np.asarray(raw), fit_s
    proba = np.zeros((len(test_vectors), len(sample.label_names)))
    proba[:, np.asarray(clf.classes_, dtype=int)] = raw  # classes never sampled keep probability 0
    return proba, fit_s


_NUMERIC = re.compile(r"^[+-]?\d+(\.\d+)?$")


def has_label_names(labels: Sequence[str]) -> bool:
    """True when labels are words (zero-shot can use them), not bare numbers or codes."""
    return any(not _NUMERIC.match(str(label).strip()) for label in labels)


def label_text(label: str) -> str:
    """The text a label name is embedded as: ``card_arrival`` → ``card arrival``."""
    text = re.sub(r"[_\-]+", " ", str(label))
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def zero_shot_predict(
    label_vectors: np.ndarray, test_vectors: np.ndarray, *, temperature: float = 0.05
) -> np.ndarray:
    """Probabilities from cosine similarity to each label name (softmax with ``temperature``)."""
    sims = np.asarray(test_vectors) @ np.asarray(label_vectors).T
    z = sims / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------------------------------
# runs and learning curves
# --------------------------------------------------------------------------------------------------
def _default_setfit() -> SetFitConfig:
    return SetFitConfig()


@dataclass(frozen=True)
class ClassifyConfig:
    """One classification experiment: methods × N values × seeds on one dataset and body."""

    dataset: str
    body: str = DEFAULT_BI_ENCODER
    methods: tuple[str, ...] = METHODS
    n_values: tuple[int, ...] = (8,)
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    setfit: SetFitConfig = field(default_factory=_default_setfit)
    test_limit: int | None = None  # None: the full test split
    max_misclassified: int = 200
    keep_model: bool = False  # keep the SetFit model of (first N, first seed) in the result

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown:
            raise InvalidInput(f"Unknown method(s) {unknown}; choose from {list(METHODS)}")
        if not self.methods:
            raise InvalidInput("Choose at least one method.")
        if not self.n_values or any(int(n) < 1 for n in self.n_values):
            raise InvalidInput(f"N per class must be positive integers, got {list(self.n_values)}")
        if not self.seeds:
            raise InvalidInput("Give at least one seed.")
        if self.setfit.body != self.body:  # one body for SetFit and the baselines
            object.__setattr__(self, "setfit", replace(self.setfit, body=self.body))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["methods"] = list(self.methods)
        out["n_values"] = list(self.n_values)
        out["seeds"] = list(self.seeds)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassifyConfig:
        data = dict(data)
        setfit = data.pop("setfit", None) or {}
        known = {f for f in cls.__dataclass_fields__}
        extra = set(data) - known
        if extra:
            raise InvalidInput(f"Unknown classify settings: {sorted(extra)}")
        for key in ("methods", "n_values", "seeds"):
            if key in data and data[key] is not None:
                data[key] = tuple(int(v) for v in data[key]) if key != "methods" else tuple(data[key])
        return cls(**data, setfit=SetFitConfig.from_dict(setfit))


@dataclass(frozen=True)
class RunScore:
    """Scores of one (method, N, seed) on the test split."""

    method: str
    n_per_class: int
    seed: int
    accuracy: float
    macro_f1: float
    mcc: float
    train_s: float
    n_train: int


@dataclass
class ClassifyResult:
    """Everything a run produced; ``to_dict`` is what jobs store and pages read."""

    config: ClassifyConfig
    dataset: str
    label_names: tuple[str, ...]
    multi_label: bool
    n_test: int
    full_test: bool
    rows: list[RunScore]
    details: dict[tuple[str, int], EvalReport]  # (method, N) → report of the first seed
    notes: list[str] = field(default_factory=list)
    setfit_info: list[dict[str, Any]] = field(default_factory=list)
    model: Any = None  # the kept SetFit model (not serialised)

    def summary(self) -> list[dict[str, Any]]:
        return summarize(self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "body": self.config.body,
            "methods": list(self.config.methods),
            "n_values": list(self.config.n_values),
            "seeds": list(self.config.seeds),
            "label_names": list(self.label_names),
            "multi_label": self.multi_label,
            "n_test": self.n_test,
            "full_test": self.full_test,
            "rows": [asdict(r) for r in self.rows],
            "summary": self.summary(),
            "details": [
                {"method": m, "n_per_class": n, "seed": self.config.seeds[0], **rep.to_dict()}
                for (m, n), rep in self.details.items()
            ],
            "notes": list(self.notes),
            "setfit_runs": list(self.setfit_info),
            "config": self.config.to_dict(),
        }


def summarize(rows: Sequence[RunScore | dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean ± standard deviation (over seeds) per (method, N); std is 0 for a single seed."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in rows:
        r = asdict(row) if isinstance(row, RunScore) else dict(row)
        groups.setdefault((r["method"], int(r["n_per_class"])), []).append(r)
    out = []
    for (method, n), items in groups.items():
        entry: dict[str, Any] = {"method": method, "n_per_class": n, "seeds": len(items)}
        for metric in ("accuracy", "macro_f1", "mcc", "train_s"):
            values = np.asarray([float(i[metric]) for i in items])
            entry[f"{metric}_mean"] = float(values.mean())
            entry[f"{metric}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        out.append(entry)
    order = {m: i for i, m in enumerate(METHODS)}
    out.sort(key=lambda e: (order.get(e["method"], 9), e["n_per_class"]))
    return out


def _n_cheap_units(config: ClassifyConfig, zero_shot: bool) -> int:
    runs = len(config.n_values) * len(config.seeds)
    return runs * ("logreg" in config.methods) + (1 if zero_shot else 0)


def run_classification(
    config: ClassifyConfig,
    ds: LabeledDataset,
    *,
    ws: Workspace | None = None,
    encoder: Encoder | None = None,
    reporter: Reporter | None = None,
) -> ClassifyResult:
    """Run ``config`` on ``ds``: the same seeded samples feed every method; scores on the test split.

    ``encoder`` (frozen body for the baselines) defaults to ``config.body`` loaded from the registry;
    frozen vectors are cached in ``ws`` when given. ``reporter`` gets the overall progress (stage
    ``classify``) and log lines; a :class:`~core.runtime.Cancelled` it raises stops the run.
    """

    def say(message: str) -> None:
        log(reporter, message)

    if not isinstance(ds, LabeledDataset):
        raise InvalidInput(f"Dataset {ds.name!r} is not a classification dataset (it is {ds.kind}).")
    if "train" not in ds.splits or "test" not in ds.splits:
        raise InvalidInput(f"Dataset {ds.name!r} needs train and test splits; it has {ds.splits}.")
    labels = tuple(ds.label_names)
    notes: list[str] = []
    methods = list(config.methods)
    zero_shot = "zeroshot" in methods and has_label_names(labels)
    if "zeroshot" in methods and not zero_shot:
        notes.append("zero-shot skipped: the labels are numbers, not names")
        methods.remove("zeroshot")
    if not methods:
        raise InvalidInput("Zero-shot needs label names; these labels are numbers. Choose setfit or logreg.")

    all_test_texts = ds.texts("test")
    all_test_targets = ds.targets("test")
    keep = stratified_subset(all_test_targets, config.test_limit)
    test_texts = [all_test_texts[i] for i in keep]
    test_targets = [all_test_targets[i] for i in keep]
    full_test = len(keep) == len(all_test_texts)
    if not full_test:
        notes.append(f"scored on a stratified slice of {len(keep)} of {len(all_test_texts)} test rows")

    samples = {(n, s): sample_per_class(ds, n, s) for n in config.n_values for s in config.seeds}
    for (n, s), sample in samples.items():
        if sample.short_labels and s == config.seeds[0]:
            notes.append(
                f"N={n}: {len(sample.short_labels)} label(s) have fewer than {n} training examples "
                f"(all of them were used): {', '.join(sample.short_labels[:5])}"
            )

    # work units: SetFit training steps + test encoding, plus one unit per cheap evaluation

    setfit_units = {}
    if "setfit" in methods:
        for key, sample in samples.items():
            plan = pair_plan(replace(config.setfit, n_per_class=key[0], seed=key[1]), len(sample))
            setfit_units[key] = plan.steps + 1
    total = sum(setfit_units.values()) + _n_cheap_units(config, zero_shot) + 1
    done = 0

    def tick(message: str, units: int = 1, loss: float | None = None) -> None:
        nonlocal done
        done += units
        report(reporter, STAGE, min(done, total), total, message, loss=loss)

    def check() -> None:  # a record between steps: the reporter raises Cancelled when asked to stop
        report(reporter, STAGE, min(done, total), total, "working")

    rows: list[RunScore] = []
    details: dict[tuple[str, int], EvalReport] = {}
    setfit_info: list[dict[str, Any]] = []
    kept_model = None

    def record(method: str, n: int, seed: int, preds: list[Any], conf: list[float], train_s: float) -> None:
        if seed == config.seeds[0] or (method, n) not in details:
            report = evaluate_predictions(
                test_targets,
                preds,
                labels,
                texts=test_texts,
                confidence=conf,
                max_misclassified=config.max_misclassified,
            )
            details[(method, n)] = report
        else:
            report = evaluate_predictions(test_targets, preds, labels, max_misclassified=0)
        rows.append(
            RunScore(
                method,
                n,
                seed,
                report.accuracy,
                report.macro_f1,
                report.mcc,
                train_s,
                len(samples[(n, seed)]),
            )
        )

    # frozen body: test vectors once, sampled training rows once (cached on disk per body)
    test_vecs = train_vecs = None
    row_pos: dict[int, int] = {}
    if "logreg" in methods or zero_shot:
        check()
        if encoder is None:
            say(f"loading {config.body} (frozen body for the baselines)")
            encoder = make_encoder(config.body, ws)

        cache = EmbeddingCache(ws) if ws is not None else None
        say(f"encoding {len(test_texts)} test texts with the frozen body (cached)")
        test_vecs = frozen_vectors(encoder, test_texts, cache)
        if "logreg" in methods:
            train_texts = ds.texts("train")
            union = sorted({r for sample in samples.values() for r in sample.rows})
            if len(union) > 0.5 * len(train_texts):  # most of the split: cache it whole (shared by all plans)
                union = list(range(len(train_texts)))
            train_vecs = frozen_vectors(encoder, [train_texts[r] for r in union], cache)
            row_pos = {r: i for i, r in enumerate(union)}
        tick("frozen embeddings ready")

    if zero_shot:
        check()
        assert encoder is not None and test_vecs is not None
        label_vecs = encoder.encode([label_text(name) for name in labels])
        proba = zero_shot_predict(label_vecs, test_vecs)
        if ds.multi_label:  # predict as many labels as a typical training row carries
            per_row = [len(v) for v in ds.targets("train")]
            k = max(1, round(float(np.median(per_row))))
            top = np.argsort(-proba, axis=1)[:, :k]
            preds: list[Any] = [[labels[j] for j in row] for row in top]
            conf = proba.max(axis=1).tolist()
        else:
            preds, conf = decode_predictions(proba, labels, False)
        for n in config.n_values:
            for s in config.seeds:
                record("zeroshot", n, s, preds, conf, 0.0)
        tick("zero-shot scored")

    for n in config.n_values:
        for s in config.seeds:
            sample = samples[(n, s)]
            if "logreg" in methods:
                check()
                assert train_vecs is not None and test_vecs is not None
                x = train_vecs[[row_pos[r] for r in sample.rows]]
                proba, fit_s = logreg_predict(x, sample, test_vecs)
                preds, conf = decode_predictions(proba, labels, ds.multi_label)
                record("logreg", n, s, preds, conf, fit_s)
                tick(f"logreg N={n} seed={s}")
            if "setfit" in methods:
                check()
                model, info = _run_setfit(config, sample, ws, tick, reporter, setfit_units[(n, s)] - 1)
                check()
                proba = _predict_proba_chunked(model, test_texts, check)
                preds, conf = decode_predictions(proba, labels, ds.multi_label)
                record("setfit", n, s, preds, conf, info["train_s"])
                setfit_info.append({"n_per_class": n, "seed": s, **info})
                tick(f"SetFit N={n} seed={s} scored")
                if config.keep_model and kept_model is None:
                    kept_model = model
                else:
                    del model
    return ClassifyResult(
        config=config,
        dataset=ds.name,
        label_names=labels,
        multi_label=ds.multi_label,
        n_test=len(test_texts),
        full_test=full_test,
        rows=rows,
        details=details,
        notes=notes,
        setfit_info=setfit_info,
        model=kept_model,
    )


def _run_setfit(
    config: ClassifyConfig,
    sample: FewShotSample,
    ws: Workspace | None,
    tick: Callable[..., None],
    reporter: Reporter | None,
    planned_steps: int,
) -> tuple[Any, dict[str, Any]]:
    n, s = sample.n_per_class, sample.seed
    reported = 0

    def on_record(p: Progress) -> None:
        nonlocal reported
        if p.is_log:
            log(reporter, p.message)
            return
        step, loss = min(p.done, planned_steps), p.loss
        message = f"SetFit N={n} seed={s}: step {step}/{planned_steps}"
        if loss is not None:
            message += f" · loss {loss:.4f}"
        tick(message, step - reported, loss)
        reported = step

    setfit_config = replace(config.setfit, n_per_class=n, seed=s, body=config.body)
    model, info = fit_setfit(setfit_config, sample, on_record, ws=ws)
    if reported < planned_steps:
        tick(f"SetFit N={n} seed={s}: trained", planned_steps - reported)
    return model, info


def _predict_proba_chunked(model: Any, texts: Sequence[str], between: Callable[[], None]) -> np.ndarray:
    """Test-set probabilities of a SetFit model, in chunks; ``between()`` runs before each chunk (a
    reporter record, so a cancel is noticed quickly)."""
    chunk = 512
    parts = []
    for start in range(0, len(texts), chunk):
        between()
        probs = model.predict_proba(list(texts[start : start + chunk]), batch_size=64, as_numpy=True)
        parts.append(np.asarray(probs, dtype=np.float64))
    return np.concatenate(parts) if parts else np.zeros((0, 0))


def expected_minutes(config: ClassifyConfig, n_train_per_n: dict[int, int], s_per_step: float = 2.0) -> float:
    """Rough duration on this machine, for the page's warning (SetFit steps dominate)."""
    steps = 0
    if "setfit" in config.methods:
        for n, n_train in n_train_per_n.items():
            steps += pair_plan(replace(config.setfit, n_per_class=n), n_train).steps * len(config.seeds)
    return math.ceil(steps * s_per_step / 60)
