"""Secrets from files (SPEC "Operations": INTAKE_API_KEYS_FILE, STAFF_TOKENS_FILE, PHONE_HASH_KEY_FILE,
REPORTING_READ_TOKEN_FILE), as compose secrets mount them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.settings import SECRET_FILES, Settings


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in SECRET_FILES:
        monkeypatch.delenv(name.upper(), raising=False)
        monkeypatch.delenv(f"{name.upper()}_FILE", raising=False)
    return monkeypatch


@pytest.mark.parametrize("name", SECRET_FILES)
def test_a_secret_is_read_from_its_file_without_the_trailing_newline(tmp_path: Path, clean_env, name: str) -> None:
    secret = tmp_path / name
    secret.write_text("web-form:s3cr3t-value\n")
    clean_env.setenv(f"{name.upper()}_FILE", str(secret))
    assert getattr(Settings(), name).get_secret_value() == "web-form:s3cr3t-value"


def test_both_a_value_and_a_file_is_refused(tmp_path: Path, clean_env) -> None:
    (tmp_path / "tokens").write_text("t:admin")
    clean_env.setenv("STAFF_TOKENS", "other:admin")
    clean_env.setenv("STAFF_TOKENS_FILE", str(tmp_path / "tokens"))
    with pytest.raises(ValidationError, match="STAFF_TOKENS and STAFF_TOKENS_FILE are both set"):
        Settings()


def test_a_missing_file_says_which_and_shows_no_secret(tmp_path: Path, clean_env) -> None:
    clean_env.setenv("PHONE_HASH_KEY_FILE", str(tmp_path / "absent"))
    with pytest.raises(ValidationError, match="PHONE_HASH_KEY_FILE: cannot read"):
        Settings()


def test_recruit_service_says_what_is_wrong_and_shows_no_secret(tmp_path: Path, clean_env) -> None:
    from typer.testing import CliRunner

    from shared.runtime.cli import app
    from shared.settings import get_settings

    clean_env.setenv("INTAKE_API_KEYS", "web-form:do-not-print-me")
    clean_env.setenv("PHONE_HASH_KEY_FILE", str(tmp_path / "absent"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["service", "intake"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "PHONE_HASH_KEY_FILE: cannot read" in result.output and "do-not-print-me" not in result.output
