"""runtime — the ground floor: where things live and how long work runs.

Configuration (workspace and data folders, offline state, device), the one error base (:class:`LabError`),
the one progress reporter (:data:`Reporter` of :class:`Progress` records), the workspace store (SQLite with
files beside it) and its records, atomic file writes and safe archive extraction, and background jobs
(``jobs``: submit, cancel, reconcile; :class:`JobContext` for handlers). Imports nothing of ``core``.
"""

from core.runtime import jobs
from core.runtime.config import (
    REPO_ROOT,
    Settings,
    configure_environment,
    detect_device,
    get_settings,
    hub_reachable,
    is_offline,
)
from core.runtime.context import JobContext
from core.runtime.errors import (
    Cancelled,
    ConfigError,
    DataImportError,
    InvalidInput,
    LabError,
    ModelNotAvailable,
    NotFound,
    StoreError,
    one_line,
)
from core.runtime.files import (
    atomic_write_bytes,
    atomic_write_json,
    check_size,
    extract_zip_safely,
    format_mb,
    iter_zip_members,
    open_user_file,
    user_path_kind,
)
from core.runtime.progress import LOG, Progress, RateTracker, Reporter, log, report, scaled
from core.runtime.records import (
    FINISHED_STATUSES,
    RUN_STATUSES,
    DatasetRecord,
    ModelRecord,
    RunEvent,
    RunRecord,
)
from core.runtime.store import Workspace, open_workspace

__all__ = [
    "FINISHED_STATUSES",
    "LOG",
    "REPO_ROOT",
    "RUN_STATUSES",
    "Cancelled",
    "ConfigError",
    "DataImportError",
    "DatasetRecord",
    "InvalidInput",
    "JobContext",
    "LabError",
    "ModelNotAvailable",
    "ModelRecord",
    "NotFound",
    "Progress",
    "RateTracker",
    "Reporter",
    "RunEvent",
    "RunRecord",
    "Settings",
    "StoreError",
    "Workspace",
    "atomic_write_bytes",
    "atomic_write_json",
    "check_size",
    "configure_environment",
    "detect_device",
    "extract_zip_safely",
    "format_mb",
    "get_settings",
    "hub_reachable",
    "is_offline",
    "iter_zip_members",
    "jobs",
    "log",
    "one_line",
    "open_user_file",
    "open_workspace",
    "report",
    "scaled",
    "user_path_kind",
]
