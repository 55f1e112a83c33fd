"""Running a classification experiment (:func:`run_classification`): seeded N-per-class samples, SetFit and
two baselines on the same samples, evaluation on the test split, learning curves (N × seeds).

Frozen embeddings of the test split (and of the sampled training rows) are cached on disk per body, so
baselines and learning curves never encode the same texts twice. Every score is computed on the full test
split unless ``test_limit`` asks for a (stratified, seeded) slice for a quick look. Progress: records of
stage ``classify`` whose ``done`` reaches ``total``, plus log lines, through one reporter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from core.classify.baselines import (
    frozen_vectors,
    has_label_names,
    label_text,
    logreg_predict,
    zero_shot_predict,
)
from core.classify.experiment import ClassifyConfig, ClassifyResult, RunScore
from core.classify.metrics import EvalReport, decode_predictions, evaluate_predictions
from core.data import FewShotSample, LabeledDataset, sample_per_class, stratified_subset
from core.encoding import EmbeddingCache, Encoder, make_encoder
from core.runtime import InvalidInput, Progress, Reporter, Workspace, log, report
from core.training import fit_setfit, pair_plan

__all__ = ["STAGE", "run_classification"]

STAGE = "classify"


def _check_dataset(ds: LabeledDataset) -> None:
    if not isinstance(ds, LabeledDataset):
        raise InvalidInput(f"Dataset {ds.name!r} is not a classification dataset (it is {ds.kind}).")
    if "train" not in ds.splits or "test" not in ds.splits:
        raise InvalidInput(f"Dataset {ds.name!r} needs train and test splits; it has {ds.splits}.")


def _usable_methods(
    config: ClassifyConfig, labels: Sequence[str], notes: list[str]
) -> tuple[list[str], bool]:
    """The methods that can run on these labels, and whether zero-shot is one of them."""
    methods = list(config.methods)
    zero_shot = "zeroshot" in methods and has_label_names(labels)
    if "zeroshot" in methods and not zero_shot:
        notes.append("zero-shot skipped: the labels are numbers, not names")
        methods.remove("zeroshot")
    if not methods:
        raise InvalidInput("Zero-shot needs label names; these labels are numbers. Choose setfit or logreg.")
    return methods, zero_shot


def _test_slice(ds: LabeledDataset, limit: int | None, notes: list[str]) -> tuple[list[str], list[Any], bool]:
    """Texts and targets the run is scored on (all of the test split unless ``limit``), and whether that is
    the whole split."""
    all_texts = ds.texts("test")
    all_targets = ds.targets("test")
    keep = stratified_subset(all_targets, limit)
    full = len(keep) == len(all_texts)
    if not full:
        notes.append(f"scored on a stratified slice of {len(keep)} of {len(all_texts)} test rows")
    return [all_texts[i] for i in keep], [all_targets[i] for i in keep], full


def _draw_samples(
    ds: LabeledDataset, config: ClassifyConfig, notes: list[str]
) -> dict[tuple[int, int], FewShotSample]:
    """The seeded sample of every (N, seed): the same samples feed every method."""
    samples = {(n, s): sample_per_class(ds, n, s) for n in config.n_values for s in config.seeds}
    for (n, s), sample in samples.items():
        if sample.short_labels and s == config.seeds[0]:
            notes.append(
                f"N={n}: {len(sample.short_labels)} label(s) have fewer than {n} training examples "
                f"(all of them were used): {', '.join(sample.short_labels[:5])}"
            )
    return samples


@dataclass
class _Run:
    """The state of one :func:`run_classification`: inputs, progress count, scores recorded so far.

    Work units: SetFit training steps + test encoding per SetFit run, one per logistic-regression fit, one
    for zero-shot, one for the frozen embeddings (when a baseline runs)."""

    config: ClassifyConfig
    ds: LabeledDataset
    ws: Workspace | None
    reporter: Reporter | None
    encoder: Encoder | None
    methods: list[str]
    zero_shot: bool
    notes: list[str]
    test_texts: list[str]
    test_targets: list[Any]
    full_test: bool
    samples: dict[tuple[int, int], FewShotSample]
    total: int = 0
    done: int = 0
    rows: list[RunScore] = field(default_factory=list)
    details: dict[tuple[str, int], EvalReport] = field(default_factory=dict)
    setfit_info: list[dict[str, Any]] = field(default_factory=list)
    kept_model: Any = None
    test_vecs: np.ndarray | None = None
    train_vecs: np.ndarray | None = None  # frozen vectors of the sampled training rows ...
    row_pos: dict[int, int] = field(default_factory=dict)  # ... at these positions (train row -> index)

    @classmethod
    def start(
        cls,
        config: ClassifyConfig,
        ds: LabeledDataset,
        *,
        ws: Workspace | None,
        encoder: Encoder | None,
        reporter: Reporter | None,
    ) -> _Run:
        """Check the dataset, choose the methods, slice the test split, draw the samples, count the units."""
        _check_dataset(ds)
        notes: list[str] = []
        methods, zero_shot = _usable_methods(config, ds.label_names, notes)
        test_texts, test_targets, full_test = _test_slice(ds, config.test_limit, notes)
        run = cls(
            config=config,
            ds=ds,
            ws=ws,
            reporter=reporter,
            encoder=encoder,
            methods=methods,
            zero_shot=zero_shot,
            notes=notes,
            test_texts=test_texts,
            test_targets=test_targets,
            full_test=full_test,
            samples=_draw_samples(ds, config, notes),
        )
        run.total = run.count_units()
        return run

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.ds.label_names)

    def setfit_steps(self, sample: FewShotSample) -> int:
        """Planned SetFit training steps on ``sample``."""
        plan_config = replace(self.config.setfit, n_per_class=sample.n_per_class, seed=sample.seed)
        return pair_plan(plan_config, len(sample)).steps

    def count_units(self) -> int:
        runs = len(self.config.n_values) * len(self.config.seeds)
        setfit = (
            sum(self.setfit_steps(s) + 1 for s in self.samples.values()) if "setfit" in self.methods else 0
        )
        cheap = runs * ("logreg" in self.config.methods) + (1 if self.zero_shot else 0)
        return setfit + cheap + (1 if self.uses_frozen_body else 0)

    @property
    def uses_frozen_body(self) -> bool:
        """Whether a baseline runs (they need the frozen body's vectors)."""
        return "logreg" in self.methods or self.zero_shot

    def tick(self, message: str, units: int = 1, loss: float | None = None) -> None:
        self.done += units
        report(self.reporter, STAGE, min(self.done, self.total), self.total, message, loss=loss)

    def check(self) -> None:
        """A record between steps: the reporter raises Cancelled when asked to stop."""
        report(self.reporter, STAGE, min(self.done, self.total), self.total, "working")

    def record(
        self, method: str, n: int, seed: int, preds: list[Any], conf: list[float], train_s: float
    ) -> None:
        """Score one (method, N, seed); the first seed's full report is kept as the (method, N) detail."""
        if seed == self.config.seeds[0] or (method, n) not in self.details:
            scores = evaluate_predictions(
                self.test_targets,
                preds,
                self.labels,
                texts=self.test_texts,
                confidence=conf,
                max_misclassified=self.config.max_misclassified,
            )
            self.details[(method, n)] = scores
        else:
            scores = evaluate_predictions(self.test_targets, preds, self.labels, max_misclassified=0)
        n_train = len(self.samples[(n, seed)])
        self.rows.append(
            RunScore(method, n, seed, scores.accuracy, scores.macro_f1, scores.mcc, train_s, n_train)
        )

    def encode_frozen(self) -> None:
        """Frozen body: test vectors once, sampled training rows once (cached on disk per body)."""
        self.check()
        if self.encoder is None:
            log(self.reporter, f"loading {self.config.body} (frozen body for the baselines)")
            self.encoder = make_encoder(self.config.body, self.ws)
        cache = EmbeddingCache(self.ws) if self.ws is not None else None
        log(self.reporter, f"encoding {len(self.test_texts)} test texts with the frozen body (cached)")
        self.test_vecs = frozen_vectors(self.encoder, self.test_texts, cache)
        if "logreg" in self.methods:
            train_texts = self.ds.texts("train")
            union = sorted({r for sample in self.samples.values() for r in sample.rows})
            if len(union) > 0.5 * len(train_texts):  # most of the split: cache it whole (shared by all plans)
                union = list(range(len(train_texts)))
            self.train_vecs = frozen_vectors(self.encoder, [train_texts[r] for r in union], cache)
            self.row_pos = {r: i for i, r in enumerate(union)}
        self.tick("frozen embeddings ready")

    def score_zero_shot(self) -> None:
        """One zero-shot prediction, recorded for every (N, seed) (it uses no labelled example)."""
        self.check()
        assert self.encoder is not None and self.test_vecs is not None
        labels = self.labels
        proba = zero_shot_predict(self.encoder.encode([label_text(name) for name in labels]), self.test_vecs)
        if self.ds.multi_label:  # predict as many labels as a typical training row carries
            per_row = [len(v) for v in self.ds.targets("train")]
            k = max(1, round(float(np.median(per_row))))
            top = np.argsort(-proba, axis=1)[:, :k]
            preds: list[Any] = [[labels[j] for j in row] for row in top]
            conf = proba.max(axis=1).tolist()
        else:
            preds, conf = decode_predictions(proba, labels, False)
        for n in self.config.n_values:
            for s in self.config.seeds:
                self.record("zeroshot", n, s, preds, conf, 0.0)
        self.tick("zero-shot scored")

    def score_logreg(self, sample: FewShotSample) -> None:
        self.check()
        assert self.train_vecs is not None and self.test_vecs is not None
        n, s = sample.n_per_class, sample.seed
        x = self.train_vecs[[self.row_pos[r] for r in sample.rows]]
        proba, fit_s = logreg_predict(x, sample, self.test_vecs)
        preds, conf = decode_predictions(proba, self.labels, self.ds.multi_label)
        self.record("logreg", n, s, preds, conf, fit_s)
        self.tick(f"logreg N={n} seed={s}")

    def score_setfit(self, sample: FewShotSample) -> None:
        self.check()
        n, s = sample.n_per_class, sample.seed
        model, info = self.train_setfit(sample)
        self.check()
        proba = _predict_proba_chunked(model, self.test_texts, self.check)
        preds, conf = decode_predictions(proba, self.labels, self.ds.multi_label)
        self.record("setfit", n, s, preds, conf, info["train_s"])
        self.setfit_info.append({"n_per_class": n, "seed": s, **info})
        self.tick(f"SetFit N={n} seed={s} scored")
        if self.config.keep_model and self.kept_model is None:
            self.kept_model = model
        else:
            del model

    def train_setfit(self, sample: FewShotSample) -> tuple[Any, dict[str, Any]]:
        """Train SetFit on ``sample``, its training steps ticking the run's progress."""
        n, s = sample.n_per_class, sample.seed
        planned_steps = self.setfit_steps(sample)
        reported = 0

        def on_record(p: Progress) -> None:
            nonlocal reported
            if p.is_log:
                log(self.reporter, p.message)
                return
            step, loss = min(p.done, planned_steps), p.loss
            message = f"SetFit N={n} seed={s}: step {step}/{planned_steps}"
            if loss is not None:
                message += f" · loss {loss:.4f}"
            self.tick(message, step - reported, loss)
            reported = step

        setfit_config = replace(self.config.setfit, n_per_class=n, seed=s, body=self.config.body)
        model, info = fit_setfit(setfit_config, sample, on_record, ws=self.ws)
        if reported < planned_steps:
            self.tick(f"SetFit N={n} seed={s}: trained", planned_steps - reported)
        return model, info

    def result(self) -> ClassifyResult:
        return ClassifyResult(
            config=self.config,
            dataset=self.ds.name,
            label_names=self.labels,
            multi_label=self.ds.multi_label,
            n_test=len(self.test_texts),
            full_test=self.full_test,
            rows=self.rows,
            details=self.details,
            notes=self.notes,
            setfit_info=self.setfit_info,
            model=self.kept_model,
        )


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
    run = _Run.start(config, ds, ws=ws, encoder=encoder, reporter=reporter)
    if run.uses_frozen_body:
        run.encode_frozen()
    if run.zero_shot:
        run.score_zero_shot()
    for n in config.n_values:
        for s in config.seeds:
            if "logreg" in run.methods:
                run.score_logreg(run.samples[(n, s)])
            if "setfit" in run.methods:
                run.score_setfit(run.samples[(n, s)])
    return run.result()
