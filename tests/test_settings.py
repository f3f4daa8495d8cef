"""Settings come from one tree with ranges: a bad value is one line naming it, exit code 2."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from askhub.settings import EmailSettings, SettingError, Settings, WebSettings, load
from tests.test_cli import askhub


@pytest.mark.sqlite_only  # the settings are read before any database is opened
@pytest.mark.parametrize(
    ("name", "value", "accepts"),
    [
        ("ASKHUB_WAVE_SIZE", "-3", "from 1 to 1000"),
        ("ASKHUB_TICK_SECONDS", "0", "from 1 to 86400"),
        ("ASKHUB_MAX_WAVES", "many", "whole number"),
        ("ASKHUB_SCHEDULER", "perhaps", "true or false"),
        ("ASKHUB_LOG_LEVEL", "loud", "debug, info, warning, error"),
        ("ASKHUB_LOGIN_WINDOW", "0", "from 1 to 86400"),
        ("ASKHUB_TRUSTED_PROXIES", "10.0.0.1, nonsense", "'nonsense' is not an IP"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_code_2(
    cli_env: dict[str, str], name: str, value: str, accepts: str
) -> None:
    result = askhub({**cli_env, name: value}, "db", "upgrade")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"askhub: {name}") and accepts in lines[0]
    assert "Traceback" not in result.stderr


def test_values_in_range_are_read_and_defaults_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASKHUB_WAVE_SIZE", "7")
    monkeypatch.setenv("ASKHUB_MIN_P_ANSWER_BP", "0")  # zero is in range here
    monkeypatch.delenv("ASKHUB_TICK_SECONDS", raising=False)
    settings = load()
    assert (settings.wave_size, settings.min_p_answer_bp, settings.tick_seconds) == (7, 0, 30)
    assert WebSettings.from_env(Settings()).login_window == 300


def test_smtp_settings_are_checked_when_email_is_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASKHUB_SMTP_HOST", "mail.example")
    monkeypatch.setenv("ASKHUB_SMTP_TIMEOUT", "-1")
    with pytest.raises(
        SettingError, match=r"ASKHUB_SMTP_TIMEOUT must be a number from 0\.1 to 600"
    ):
        load()
    monkeypatch.setenv("ASKHUB_SMTP_TIMEOUT", "2.5")
    assert EmailSettings.from_env().timeout == 2.5


def test_processes_starting_at_once_on_a_fresh_data_dir_share_one_signing_key(
    tmp_path: Path,
) -> None:
    """Two servers started together (as the crash-safety test does) both create the key when
    none exists: neither may fail on the other's file, nor read it half-written."""
    settings = Settings(database_url="sqlite+aiosqlite://", data_dir=tmp_path / "var")
    start = threading.Barrier(16)
    keys: list[str] = []
    failures: list[BaseException] = []

    def read_key() -> None:
        start.wait()
        try:
            keys.append(settings.signing_key())
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=read_key) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(keys) == 16 and len(set(keys)) == 1 and len(keys[0]) >= 32
    assert [p.name for p in (tmp_path / "var").iterdir()] == ["secret.key"]


def test_links_point_where_the_app_is_served_until_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A demo started on another port used to put links to port 8000 in its nudges."""
    for name in ("ASKHUB_BASE_URL", "ASKHUB_HOST", "ASKHUB_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert Settings().base_url == "http://127.0.0.1:8000"
    monkeypatch.setenv("ASKHUB_PORT", "8765")
    assert Settings().base_url == "http://127.0.0.1:8765"
    monkeypatch.setenv("ASKHUB_HOST", "0.0.0.0")  # listening everywhere: link to loopback
    assert Settings().base_url == "http://127.0.0.1:8765"
    monkeypatch.setenv("ASKHUB_BASE_URL", "https://askhub.example.com/")
    assert Settings().base_url == "https://askhub.example.com"
