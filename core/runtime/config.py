"""Where things live and what this machine can do: workspace folder, data folder, offline state, device.

Everything is read from environment variables so that the app, the CLI, the worker processes and the
tests agree without passing settings around:

- ``ESL_HOME``       workspace folder (default ``~/.embedding-lab``)
- ``ESL_DATA_DIR``   folder scanned for ready-made datasets (default ``../shared/data`` beside the repo)
- ``ESL_MAX_FILE_MB`` largest file accepted on import, in MB (default 1024)
- ``ESL_DEVICE``     force a torch device (``cpu``, ``cuda``, ``mps``); default: best available
- ``HF_HUB_OFFLINE`` set to 1 to never touch the Hugging Face hub (set automatically when it is unreachable)
"""

from __future__ import annotations

import functools
import math
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from core.runtime.errors import ConfigError

__all__ = [
    "REPO_ROOT",
    "Settings",
    "configure_environment",
    "detect_device",
    "get_settings",
    "hub_reachable",
    "is_offline",
    "parse_max_file_mb",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MAX_FILE_MB = 1024


@dataclass(frozen=True)
class Settings:
    """Resolved locations and limits for one process.

    The size limit is checked only when it is needed (:attr:`max_file_bytes`), so a bad
    ``ESL_MAX_FILE_MB`` fails the commands that read user files with one clear line, not every command.
    """

    home: Path
    data_dir: Path
    max_file_mb: str = str(DEFAULT_MAX_FILE_MB)  # as written in ESL_MAX_FILE_MB

    @property
    def db_path(self) -> Path:
        return self.home / "workspace.sqlite"

    @property
    def max_file_bytes(self) -> int:
        """The largest file (or unpacked archive) accepted on import, in bytes; ConfigError when unusable."""
        return parse_max_file_mb(self.max_file_mb)


def parse_max_file_mb(raw: str) -> int:
    """``ESL_MAX_FILE_MB`` (megabytes, decimals allowed) as bytes; a one-line ConfigError when unusable."""
    try:
        max_mb = float(raw)
    except ValueError:
        raise ConfigError(f"ESL_MAX_FILE_MB must be a number of megabytes, got {raw!r}.") from None
    if not math.isfinite(max_mb) or max_mb <= 0:
        raise ConfigError(f"ESL_MAX_FILE_MB must be a positive, finite number of megabytes, got {raw!r}.")
    return max(1, int(max_mb * 1024 * 1024))


def get_settings() -> Settings:
    """Read the settings from the environment (cheap; call it whenever needed; never raises)."""
    home = Path(os.environ.get("ESL_HOME") or Path.home() / ".embedding-lab").expanduser()
    data_dir = Path(os.environ.get("ESL_DATA_DIR") or REPO_ROOT.parent / "shared" / "data").expanduser()
    raw = (os.environ.get("ESL_MAX_FILE_MB") or "").strip() or str(DEFAULT_MAX_FILE_MB)
    return Settings(home=home.resolve(), data_dir=data_dir.resolve(), max_file_mb=raw)


@functools.lru_cache(maxsize=1)
def hub_reachable(timeout: float = 1.5) -> bool:
    """True when huggingface.co answers on port 443 (one short probe per process)."""
    try:
        with socket.create_connection(("huggingface.co", 443), timeout=timeout):
            return True
    except OSError:
        return False


def is_offline() -> bool:
    """True when hub downloads are impossible or switched off."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip() in {"1", "true", "True", "YES", "yes"}:
        return True
    return not hub_reachable()


_CONFIGURED = False


def configure_environment() -> None:
    """Set process-wide switches before transformers / huggingface_hub are imported.

    - ``HF_HUB_OFFLINE=1`` when the hub cannot be reached, so loaders fail at once instead of retrying;
    - ``TOKENIZERS_PARALLELISM=false`` (worker processes fork);
    - ``NUMBA_CACHE_DIR`` inside the workspace so UMAP's compile survives restarts.
    """
    global _CONFIGURED
    if _CONFIGURED:
        return
    _CONFIGURED = True
    if "HF_HUB_OFFLINE" not in os.environ and not hub_reachable():
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    settings = get_settings()
    numba_dir = settings.home / "cache" / "numba"
    try:
        numba_dir.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("NUMBA_CACHE_DIR", str(numba_dir))
    except OSError:
        pass


def detect_device() -> str:
    """Best torch device: ``ESL_DEVICE`` if set, else cuda, then mps, then cpu."""
    forced = os.environ.get("ESL_DEVICE", "").strip()
    if forced:
        return forced
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"
