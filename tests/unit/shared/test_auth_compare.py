"""Every presented credential (intake's API key, a staff token, reporting's read token) is compared through
shared.auth.same_secret, hmac.compare_digest, against every known one: never by ==, never by a dict look-up."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import SecretStr

from services.reporting.api import SummaryFastPath
from shared import auth

SETTINGS = SimpleNamespace(intake_api_keys=SecretStr("form:key-one,simulator:key-two"),
                           staff_tokens=SecretStr("token-a:admin,token-b:interviewer:RJ"))


@pytest.fixture
def compared(monkeypatch) -> list[tuple[bytes, bytes]]:
    """The pairs hmac.compare_digest was given, through shared.auth's one import of it."""
    calls: list[tuple[bytes, bytes]] = []
    real = auth.compare_digest

    def recording(given: bytes, known: bytes) -> bool:
        calls.append((given, known))
        return real(given, known)

    monkeypatch.setattr(auth, "compare_digest", recording)
    return calls


def test_an_api_key_is_compared_with_every_known_key(compared) -> None:
    assert auth.source_for_key(SETTINGS, "key-two") == "simulator"
    assert sorted(compared) == [(b"key-two", b"key-one"), (b"key-two", b"key-two")]
    compared.clear()
    assert auth.source_for_key(SETTINGS, "key-twx") is None
    assert len(compared) == 2


def test_a_staff_token_is_compared_with_every_known_token(compared) -> None:
    staff = auth.staff_for(SETTINGS, HTTPAuthorizationCredentials(scheme="Bearer", credentials="token-a"))
    assert staff is not None and staff.is_admin
    assert sorted(compared) == [(b"token-a", b"token-a"), (b"token-a", b"token-b")]


def test_reportings_read_token_goes_through_the_same_comparison(compared) -> None:
    fast_path = SummaryFastPath(app=None, view=None, read_token="read-secret")  # type: ignore[arg-type]
    assert fast_path.authorised({"headers": [(b"authorization", b"Bearer read-secret")], "query_string": b""})
    assert not fast_path.authorised({"headers": [], "query_string": b"token=guess"})
    assert compared == [(b"read-secret", b"read-secret"), (b"guess", b"read-secret")]
