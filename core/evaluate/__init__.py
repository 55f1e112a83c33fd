"""evaluate — measuring strategies on a dataset split.

ranx metrics, paired significance and rank curves, per-query latency, TREC run files for downloads (ids
with whitespace percent-encoded; ``metrics``), the comparison (:func:`run_comparison` →
:class:`ComparisonReport`, in ``comparison`` and ``report``), stored as a run whose Parquet run files keep
any id (``store``), its options (:class:`CompareOptions`, filled by the CLI and the page alike) and its
job. Imports retrieval and below.
"""

from core.evaluate.comparison import STAGE, evaluate_job, run_comparison
from core.evaluate.metrics import (
    CURVE_DEPTH,
    DEFAULT_LATENCY_SAMPLE,
    DEFAULT_STAT_TEST,
    METRICS,
    PRIMARY_METRIC,
    LatencyStats,
    evaluate_run,
    format_trec_run,
    measure_latency,
    paired_significance,
    rank_curves,
    read_trec_run,
    safe_name,
    trec_id,
    write_trec_run,
)
from core.evaluate.options import (
    DEFAULT_K,
    FIRST_STAGES,
    STAT_TESTS,
    STATIC_STRATEGIES,
    STRATEGIES,
    CompareOptions,
    EvaluateJob,
    parse_strategy,
    strategy_variant,
)
from core.evaluate.report import ComparisonReport, StrategyResult
from core.evaluate.store import (
    RUN_SUFFIX,
    load_comparison,
    read_run,
    run_path,
    save_comparison,
    trec_path,
    write_run,
)

__all__ = [
    "CURVE_DEPTH",
    "DEFAULT_K",
    "DEFAULT_LATENCY_SAMPLE",
    "DEFAULT_STAT_TEST",
    "FIRST_STAGES",
    "METRICS",
    "PRIMARY_METRIC",
    "RUN_SUFFIX",
    "STAGE",
    "STATIC_STRATEGIES",
    "STAT_TESTS",
    "STRATEGIES",
    "CompareOptions",
    "ComparisonReport",
    "EvaluateJob",
    "LatencyStats",
    "StrategyResult",
    "evaluate_job",
    "evaluate_run",
    "format_trec_run",
    "load_comparison",
    "measure_latency",
    "paired_significance",
    "parse_strategy",
    "rank_curves",
    "read_run",
    "read_trec_run",
    "run_comparison",
    "run_path",
    "safe_name",
    "save_comparison",
    "strategy_variant",
    "trec_id",
    "trec_path",
    "write_run",
    "write_trec_run",
]
