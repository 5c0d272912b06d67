"""Auth: upstream form keys (X-Api-Key) and staff bearer tokens with roles and state scopes (SPEC
"Auth"), read from the running service's settings; the one scope check every service applies."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from hmac import compare_digest

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.settings import Settings

ROLES = ("interviewer", "admin")


def token_fingerprint(token: str) -> str:
    """Who a token is, for the audit and "my decided cases", without being the token: the first 12 hex
    characters of its SHA-256. Tokens are long random strings (`recruit up` makes 32 characters), so
    the fingerprint cannot be turned back into one."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Staff:
    role: str
    states: frozenset[str] | None  # None: every state
    # token_fingerprint of the token; every Staff made from STAFF_TOKENS has one.
    fingerprint: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may_act_in(self, state: str) -> bool:
        return self.is_admin or self.states is None or state in self.states

    def visible_states(self) -> list[str] | None:
        """The states this token sees when a request names none: None for every state."""
        return None if self.is_admin or self.states is None else sorted(self.states)


def out_of_scope(state: str) -> HTTPException:
    """The one answer to a token acting outside its states."""
    return HTTPException(403, f"your token does not cover {state}")


def require_scope(staff: Staff, state: str) -> None:
    """403 unless the token may see and act in `state` (an admin, or an interviewer of it)."""
    if not staff.may_act_in(state):
        raise out_of_scope(state)


@lru_cache(maxsize=4)
def parse_api_keys(text: str) -> dict[str, str]:
    """'source:key,source:key' -> {key: source}."""
    keys: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        source, sep, key = item.partition(":")
        if not sep or not source or not key:
            raise ValueError("INTAKE_API_KEYS entries must look like source:key")
        keys[key] = source
    return keys


@lru_cache(maxsize=4)
def parse_staff_tokens(text: str) -> dict[str, Staff]:
    """'token:role[:RJ|UP]' comma-separated -> {token: Staff}."""
    tokens: dict[str, Staff] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        token, _, rest = item.partition(":")
        role, _, scope = rest.partition(":")
        if not token or role not in ROLES:
            raise ValueError("STAFF_TOKENS entries must look like token:interviewer[:RJ|UP] or token:admin")
        states = frozenset(s.strip().upper() for s in scope.split("|") if s.strip()) or None
        tokens[token] = Staff(role=role, states=states, fingerprint=token_fingerprint(token))
    return tokens


def same_secret(given: str | bytes, known: str | bytes) -> bool:
    """The one comparison of a presented credential with a known one, in constant time (the time taken does
    not tell how much of a guess matched): every key, staff token and reporting read token goes through it."""
    as_bytes = [value.encode() if isinstance(value, str) else value for value in (given, known)]
    return compare_digest(*as_bytes)


def _find(secret: str, table: dict[str, object]) -> object | None:
    # Every entry is compared, the match or not, so neither does the time tell which entry a guess came near.
    found = None
    for known, value in table.items():
        if same_secret(secret, known):
            found = value
    return found


_bearer = HTTPBearer(auto_error=False)


def unauthorized(detail: str = "missing or invalid credentials") -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def _settings(request: Request) -> Settings:
    return request.app.state.runtime.settings


def staff_for(settings: Settings, credentials: HTTPAuthorizationCredentials | None) -> Staff | None:
    if credentials is None:
        return None
    found = _find(credentials.credentials, parse_staff_tokens(settings.staff_tokens.get_secret_value()))
    return found if isinstance(found, Staff) else None


async def require_staff(request: Request,
                        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Staff:
    staff = staff_for(_settings(request), credentials)
    if staff is None:
        raise unauthorized()
    return staff


async def require_admin(staff: Staff = Depends(require_staff)) -> Staff:
    if not staff.is_admin:
        raise HTTPException(403, "this needs an admin token")
    return staff


def source_for_key(settings: Settings, key: str | None) -> str | None:
    """The upstream source an X-Api-Key belongs to, or None."""
    if not key:
        return None
    found = _find(key, parse_api_keys(settings.intake_api_keys.get_secret_value()))
    return found if isinstance(found, str) else None
