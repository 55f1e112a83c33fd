"""Page tests run the test-only bert-tiny model, which the pages offer only when asked."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _show_test_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESL_SHOW_TEST_MODELS", "1")
