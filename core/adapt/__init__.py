"""adapt — domain adaptation: mine hard negatives, train, measure before and after.

Hard-negative mining with false-negative rules, training triples, the before/after evaluation and its
verdict, and the ``adapt`` and ``mine`` jobs. Imports evaluate, training and below.
"""

from core.adapt.mining import (
    MINING_METHODS,
    MiningConfig,
    MiningResult,
    RULES,
    ScoreFn,
    bm25_scorer,
    dense_scorer,
    mine_dataset,
    mine_negatives,
)
from core.adapt.workflow import (
    EVAL_METRICS,
    METHODS,
    MODEL_KINDS,
    adapt_job,
    build_triples,
    default_model_name,
    describe_methods,
    evaluate_change,
    load_mined,
    mine_job,
    subset_queries,
    summarize,
    train_fields,
    verdict,
)

__all__ = [
    "EVAL_METRICS",
    "METHODS",
    "MINING_METHODS",
    "MODEL_KINDS",
    "MiningConfig",
    "MiningResult",
    "RULES",
    "ScoreFn",
    "adapt_job",
    "bm25_scorer",
    "build_triples",
    "default_model_name",
    "dense_scorer",
    "describe_methods",
    "evaluate_change",
    "load_mined",
    "mine_dataset",
    "mine_job",
    "mine_negatives",
    "subset_queries",
    "summarize",
    "train_fields",
    "verdict",
]
