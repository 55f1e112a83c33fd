"""Job kinds and their handlers (``module:function``), imported by the worker only when needed.

Add a line here when a feature adds a kind of background work.
"""

from __future__ import annotations

JOB_KINDS: dict[str, str] = {
    "evaluate": "core.comparison:evaluate_job",
    "project": "core.projection:project_job",
    "adapt": "core.adaptation:adapt_job",
    "mine": "core.adaptation:mine_job",
    "setfit_run": "core.classify_jobs:classify_run_job",
    "setfit_curve": "core.classify_jobs:classify_curve_job",
    "wizard_verify": "core.wizard_verify:verify_job",
    "wizard_gotchas": "core.gotchas:gotchas_job",
}
