"""runtime — the ground floor: where things live and how long work runs.

Configuration (workspace and data folders, offline state, device), the one error base (:class:`LabError`),
the one progress reporter (:data:`Reporter` of :class:`Progress` records), the workspace store (SQLite with
files beside it) and its records, atomic file writes and safe archive extraction, and background jobs
(``jobs``: submit, cancel, reconcile; :class:`JobContext` for handlers), and what keeps the workspace usable
after a crash or on a full disk (owner-tagged scratch folders cleaned at start, :class:`DiskFull`, the
reserve). Imports nothing of ``core``.
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
    DiskFull,
    InvalidInput,
    LabError,
    ModelNotAvailable,
    NotFound,
    StoreError,
    one_line,
)
from core.runtime.files import (
    atomic_write_bytes,
    atomic_write_dir,
    atomic_write_json,
    atomic_write_with,
    check_size,
    extract_zip_safely,
    format_mb,
    iter_zip_members,
    open_user_file,
    user_path_kind,
)
from core.runtime.leftovers import owner_tag, remove_stale_scratch, scratch_dir
from core.runtime.progress import (
    LOG,
    PlannedStage,
    Progress,
    RateTracker,
    Reporter,
    StagedProgress,
    format_eta,
    log,
    report,
    scaled,
)
from core.runtime.records import (
    FINISHED_STATUSES,
    RUN_STATUSES,
    DatasetRecord,
    ModelRecord,
    RunEvent,
    RunRecord,
)
from core.runtime.space import disk_full_error, free_bytes, is_disk_full
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
    "DiskFull",
    "InvalidInput",
    "JobContext",
    "LabError",
    "ModelNotAvailable",
    "ModelRecord",
    "NotFound",
    "PlannedStage",
    "Progress",
    "RateTracker",
    "Reporter",
    "RunEvent",
    "RunRecord",
    "Settings",
    "StagedProgress",
    "StoreError",
    "Workspace",
    "atomic_write_bytes",
    "atomic_write_dir",
    "atomic_write_json",
    "atomic_write_with",
    "check_size",
    "configure_environment",
    "detect_device",
    "disk_full_error",
    "extract_zip_safely",
    "format_eta",
    "format_mb",
    "free_bytes",
    "get_settings",
    "hub_reachable",
    "is_disk_full",
    "is_offline",
    "iter_zip_members",
    "jobs",
    "log",
    "one_line",
    "open_user_file",
    "open_workspace",
    "owner_tag",
    "remove_stale_scratch",
    "report",
    "scaled",
    "scratch_dir",
    "user_path_kind",
]
