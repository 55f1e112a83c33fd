"""evaluate — measuring strategies on a dataset split.

ranx metrics, paired significance and rank curves, per-query latency, TREC run files, the comparison
(:func:`run_comparison` → :class:`ComparisonReport`, stored as a run), its options
(:class:`CompareOptions`, filled by the CLI and the page alike) and its job. Imports retrieval and below.
"""

from core.evaluate.metrics import (
    LatencyStats,
    METRICS,
    evaluate_run,
    format_trec_run,
    measure_latency,
    paired_significance,
    rank_curves,
    read_trec_run,
    write_trec_run,
)
from core.evaluate.comparison import (
    ComparisonReport,
    STAGE,
    StrategyResult,
    evaluate_job,
    load_comparison,
    run_comparison,
    save_comparison,
)
from core.evaluate.options import CompareOptions, DEFAULT_K, EvaluateJob, STAT_TESTS, STRATEGIES

__all__ = [
    "CompareOptions",
    "ComparisonReport",
    "DEFAULT_K",
    "EvaluateJob",
    "LatencyStats",
    "METRICS",
    "STAGE",
    "STAT_TESTS",
    "STRATEGIES",
    "StrategyResult",
    "evaluate_job",
    "evaluate_run",
    "format_trec_run",
    "load_comparison",
    "measure_latency",
    "paired_significance",
    "rank_curves",
    "read_trec_run",
    "run_comparison",
    "save_comparison",
    "write_trec_run",
]
