"""adapt — domain adaptation: mine hard negatives, train, measure before and after.

Hard-negative mining with false-negative rules (``mining``), the ``adapt`` and ``mine`` job configs
(``config``: :class:`AdaptJob`, :class:`MineJob`), the before/after evaluation and its verdict
(``evaluation``), training triples and the job handlers (``workflow``). Imports evaluate, training and below.
"""

from core.adapt.config import (
    DEFAULT_METHOD,
    METHODS,
    MODEL_KINDS,
    TRAIN_COST_FACTOR,
    AdaptEstimate,
    AdaptJob,
    MineJob,
    default_model_name,
    describe_methods,
    estimate_adapt,
    method_defaults,
    train_fields,
    training_steps,
)
from core.adapt.evaluation import EVAL_METRICS, NOT_EVALUATED, evaluate_change, subset_queries, verdict
from core.adapt.mining import (
    MINING_METHODS,
    RULES,
    MiningConfig,
    MiningResult,
    ScoreFn,
    bm25_scorer,
    dense_scorer,
    mine_dataset,
    mine_negatives,
)
from core.adapt.workflow import MINED_FILE, adapt_job, build_triples, load_mined, mine_job, summarize

__all__ = [
    "DEFAULT_METHOD",
    "EVAL_METRICS",
    "METHODS",
    "MINED_FILE",
    "MINING_METHODS",
    "MODEL_KINDS",
    "NOT_EVALUATED",
    "RULES",
    "TRAIN_COST_FACTOR",
    "AdaptEstimate",
    "AdaptJob",
    "MineJob",
    "MiningConfig",
    "MiningResult",
    "ScoreFn",
    "adapt_job",
    "bm25_scorer",
    "build_triples",
    "default_model_name",
    "dense_scorer",
    "describe_methods",
    "estimate_adapt",
    "evaluate_change",
    "load_mined",
    "method_defaults",
    "mine_dataset",
    "mine_job",
    "mine_negatives",
    "subset_queries",
    "summarize",
    "train_fields",
    "training_steps",
    "verdict",
]
