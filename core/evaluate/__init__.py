"""evaluate — measuring strategies on a dataset split.

ranx metrics, paired significance and rank curves, per-query latency (each strategy alone, warm, with the
machine's load: ``latency``), stage-weighted progress (``progress``), TREC run files for downloads (ids
with whitespace percent-encoded; ``metrics``), the comparison (:func:`run_comparison` →
:class:`ComparisonReport`, in ``comparison`` and ``report``), stored as a run whose Parquet run files keep
any id (``store``), its options (:class:`CompareOptions`, filled by the CLI and the page alike) and its
job, and the spectrum table of a report (``spectrum``: family, quality, encode speed, latency, index size,
ratios against dense float32 exact). Imports retrieval and below.
"""

from core.evaluate.comparison import STAGE, evaluate_job, run_comparison
from core.evaluate.latency import LatencyProfile, machine_load, measure_strategies
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
from core.evaluate.progress import ComparisonProgress, comparison_plan
from core.evaluate.report import SIGNIFICANCE, ComparisonReport, StrategyResult, composite_check
from core.evaluate.spectrum import FAMILIES, SpectrumRow, spectrum_baseline, spectrum_rows
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
    "FAMILIES",
    "FIRST_STAGES",
    "METRICS",
    "PRIMARY_METRIC",
    "RUN_SUFFIX",
    "SIGNIFICANCE",
    "STAGE",
    "STATIC_STRATEGIES",
    "STAT_TESTS",
    "STRATEGIES",
    "CompareOptions",
    "ComparisonProgress",
    "ComparisonReport",
    "EvaluateJob",
    "LatencyProfile",
    "LatencyStats",
    "SpectrumRow",
    "StrategyResult",
    "comparison_plan",
    "composite_check",
    "evaluate_job",
    "evaluate_run",
    "format_trec_run",
    "load_comparison",
    "machine_load",
    "measure_latency",
    "measure_strategies",
    "paired_significance",
    "parse_strategy",
    "rank_curves",
    "read_run",
    "read_trec_run",
    "run_comparison",
    "run_path",
    "safe_name",
    "save_comparison",
    "spectrum_baseline",
    "spectrum_rows",
    "strategy_variant",
    "trec_id",
    "trec_path",
    "write_run",
    "write_trec_run",
]
