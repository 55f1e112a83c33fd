"""Settings come from the environment, with clear errors for impossible values."""

from __future__ import annotations

import pytest

from core.runtime import ConfigError, detect_device, get_settings


def test_settings_follow_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ESL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ESL_MAX_FILE_MB", "2.5")
    s = get_settings()
    assert s.home == (tmp_path / "home").resolve()
    assert s.data_dir == (tmp_path / "data").resolve()
    assert s.max_file_bytes == int(2.5 * 1024 * 1024)


@pytest.mark.parametrize("value", ["lots", "-3", "0", "-5", "nan", "inf", "1e400"])
def test_impossible_size_limit_is_a_clear_error_when_the_limit_is_needed(monkeypatch, value):
    monkeypatch.setenv("ESL_MAX_FILE_MB", value)
    settings = get_settings()  # checked lazily: commands that read no user file keep working
    with pytest.raises(ConfigError, match="ESL_MAX_FILE_MB") as info:
        _ = settings.max_file_bytes
    assert "\n" not in str(info.value)


def test_forced_device_wins(monkeypatch):
    monkeypatch.setenv("ESL_DEVICE", "cpu")
    assert detect_device() == "cpu"
    monkeypatch.delenv("ESL_DEVICE")
    assert detect_device() in {"cpu", "cuda", "mps"}
