"""classify — few-shot classification: SetFit against frozen-embedding and zero-shot baselines.

Seeded experiments (methods × N × seeds on the same samples), their metrics, learning curves, the
``setfit_run`` / ``setfit_curve`` jobs, model cards and registration. Imports training, encoding and below.
"""

from core.classify.baselines import (
    frozen_vectors,
    has_label_names,
    label_text,
    logreg_predict,
    texts_fingerprint,
    zero_shot_predict,
)
from core.classify.experiment import METHODS, ClassifyConfig, ClassifyResult, RunScore, summarize
from core.classify.jobs import (
    CURVE_KIND,
    RUN_KIND,
    ClassifyJob,
    classify_curve_job,
    classify_run_job,
    model_card,
    model_meta,
    register_setfit_model,
)
from core.classify.metrics import EvalReport, evaluate_predictions
from core.classify.run import run_classification

__all__ = [
    "CURVE_KIND",
    "METHODS",
    "RUN_KIND",
    "ClassifyConfig",
    "ClassifyJob",
    "ClassifyResult",
    "EvalReport",
    "RunScore",
    "classify_curve_job",
    "classify_run_job",
    "evaluate_predictions",
    "frozen_vectors",
    "has_label_names",
    "label_text",
    "logreg_predict",
    "model_card",
    "model_meta",
    "register_setfit_model",
    "run_classification",
    "summarize",
    "texts_fingerprint",
    "zero_shot_predict",
]
