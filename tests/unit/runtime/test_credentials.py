"""`recruit up`'s data dir and credentials file: private from the first byte."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from shared.runtime.supervisor import load_credentials


@pytest.fixture
def open_umask():
    """The most permissive umask a machine can have: whatever the code does not restrict is readable."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_credentials_file_is_born_private_not_chmod_ed_after_the_secrets_are_in(
        tmp_path: Path, open_umask, monkeypatch: pytest.MonkeyPatch) -> None:
    # A chmod after the write would leave a moment when the file was readable by anyone;
    # with chmod doing nothing, only a file created with mode 600 ends up 600.
    monkeypatch.setattr(Path, "chmod", lambda self, mode: None)
    data_dir = tmp_path / "data"
    load_credentials(data_dir, {})
    assert _mode(data_dir / "credentials.json") == 0o600
    assert _mode(data_dir) == 0o700
    assert [p.name for p in data_dir.iterdir()] == ["credentials.json"], "no draft left behind"


def test_an_existing_data_dir_is_made_private(tmp_path: Path, open_umask) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    load_credentials(data_dir, {})
    assert _mode(data_dir) == 0o700


def test_a_restart_keeps_the_stored_credentials_and_the_environment_wins(tmp_path: Path) -> None:
    first = load_credentials(tmp_path, {})
    assert load_credentials(tmp_path, {}) == first
    assert load_credentials(tmp_path, {"STAFF_TOKENS": "t:admin"})["STAFF_TOKENS"] == "t:admin"
    stored = json.loads((tmp_path / "credentials.json").read_text())
    assert stored["STAFF_TOKENS"] == first["STAFF_TOKENS"], "an environment value is not written over the stored one"


def test_a_credential_given_as_a_file_is_used_and_not_stored(tmp_path: Path) -> None:
    (tmp_path / "tokens").write_text("file-token:admin\n")
    data_dir = tmp_path / "data"
    given = load_credentials(data_dir, {"STAFF_TOKENS_FILE": str(tmp_path / "tokens")})
    assert given["STAFF_TOKENS"] == "file-token:admin"
    assert json.loads((data_dir / "credentials.json").read_text())["STAFF_TOKENS"] != "file-token:admin"
