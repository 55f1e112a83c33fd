"""Shared fixtures: an isolated workspace per test, the shared data folder, a fake encoder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("ESL_DATA_DIR") or REPO.parent / "shared" / "data").resolve()
# a workspace that lives across test sessions, for integration tests that would otherwise re-encode
# whole corpora (the embedding cache); ignored by git
PERSISTENT_HOME = REPO / ".esl-test" / "workspace"

os.environ.setdefault("ESL_DATA_DIR", str(DATA_DIR))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
# numba (ranx, umap) compiles once and caches here, shared by all test sessions
os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".esl-test" / "numba"))


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty workspace in ``ESL_HOME``."""
    home = tmp_path / "esl-home"
    monkeypatch.setenv("ESL_HOME", str(home))
    return home


@pytest.fixture
def ws(isolated_home: Path):
    from core.runtime import Workspace

    return Workspace(isolated_home)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA_DIR.is_dir():
        pytest.skip(f"shared data folder {DATA_DIR} not found (set ESL_DATA_DIR)")
    return DATA_DIR


@pytest.fixture(scope="session")
def persistent_ws():
    """A workspace kept between test sessions (embedding cache for integration tests)."""
    from core.runtime import Workspace

    PERSISTENT_HOME.mkdir(parents=True, exist_ok=True)
    return Workspace(PERSISTENT_HOME)


@pytest.fixture
def fake_encoder():
    from tests.fakes import HashingEncoder

    return HashingEncoder(dim=64)
