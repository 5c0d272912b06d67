"""The audit (SPEC "Audit"): who an actor is, the row a staff write adds in its own transaction, and the one
`GET /v1/audit` route screening, placement and intake serve (table: shared/migrations/003_audit.sql)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal, NamedTuple, Protocol

import asyncpg
from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, Field
from pydantic_core import to_jsonable_python

from shared.auth import Staff, require_admin
from shared.errors import error_responses
from shared.unit_of_work import UnitOfWork
from shared.web import service_router

LIMIT_DEFAULT = 100
LIMIT_MAX = 500


def actor_of(staff: Staff) -> dict[str, Any]:
    """The audit's actor for a staff token: its role, its states (null: every state) and its fingerprint,
    never the token itself."""
    return {"role": staff.role, "states": None if staff.states is None else sorted(staff.states),
            "fingerprint": staff.fingerprint}


# An applicant acting on their own application (an erasure with their phone): nobody to fingerprint.
APPLICANT: Mapping[str, Any] = {"role": "applicant", "states": None, "fingerprint": None}
# intake's daily retention purge (PURGE_AFTER_DAYS): the service itself, no token behind it.
RETENTION: Mapping[str, Any] = {"role": "retention", "states": None, "fingerprint": None}


# --- the row and the reads, on the service's connection (each Store wraps these) ----------------------


async def record(conn: asyncpg.Connection, actor: Mapping[str, Any], action: str, target: str,
                 before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> None:
    """Append one row in the caller's transaction: it commits with the write it describes, or not at all."""
    await conn.execute("INSERT INTO audit (actor, action, target, before, after) VALUES ($1, $2, $3, $4, $5)",
                       *row(actor, action, target, before, after))


def row(actor: Mapping[str, Any], action: str, target: str, before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None) -> tuple[dict, str, str, dict | None, dict | None]:
    """The row's values as JSON will hold them (days and ids as text), whatever the use case passed."""
    return (to_jsonable_python(dict(actor)), action, target, to_jsonable_python(before and dict(before)),
            to_jsonable_python(after and dict(after)))


async def entries(conn: asyncpg.Connection, since: datetime | None, limit: int) -> tuple[list[asyncpg.Record], bool]:
    """The first `limit` rows written after `since` (all, without one), oldest first, completed with the rows
    written at the very moment of the last of them, and whether rows follow. A page never ends inside a run
    of equal `at`, so reading on from its last `at` skips none (`at` is the clock at each insert, so such
    a run is rare, but two transactions may meet on a microsecond)."""
    rows = await conn.fetch(
        "WITH first AS (SELECT at FROM audit WHERE $1::timestamptz IS NULL OR at > $1 ORDER BY at, id LIMIT $2)"
        " SELECT id, at, actor, action, target, before, after FROM audit"
        " WHERE ($1::timestamptz IS NULL OR at > $1) AND at <= (SELECT max(at) FROM first) ORDER BY at, id",
        since, limit)
    more = bool(rows) and await conn.fetchval("SELECT EXISTS (SELECT FROM audit WHERE at > $1)", rows[-1]["at"])
    return rows, more


class Store(Protocol):
    async def audit_entries(self, since: datetime | None,
                            limit: int) -> tuple[list[Mapping[str, Any]], bool]: ...


class Page(NamedTuple):
    items: list[Mapping[str, Any]]
    more: bool


async def page(uow: UnitOfWork[Store], since: datetime | None, limit: int) -> Page:
    """The read of `GET /v1/audit`: rows after `since`, oldest first, and whether more follow now."""
    async with uow.snapshot() as store:  # the rows and "more" seen at one moment
        return Page(*await store.audit_entries(since, limit))


# --- the route ------------------------------------------------------------------------------------------


class Actor(BaseModel):
    role: Literal["interviewer", "admin", "applicant", "retention"]
    states: list[str] | None = Field(description="the token's states; null: every state")
    fingerprint: str | None = Field(description="first 12 hex characters of the token's SHA-256; null for an "
                                                "applicant and for the retention purge")


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor: Actor
    action: str = Field(description="e.g. interview.result, calendar.set, unit-capacity.set, application.erased, "
                                    "applications.purged")
    target: str = Field(description="the application id, state or unit id acted on ('*': every state)")
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_since: datetime | None = Field(
        description="pass as ?since= for the next page; null when this page reached the newest row")


def routes(unit_of_work: Callable[[Request], UnitOfWork]) -> APIRouter:
    """`GET /v1/audit` on the service's own audit table, for app.py to include."""
    router = service_router(prefix="/v1", tags=["audit"])

    @router.get("/audit", response_model=AuditPage, responses=error_responses(401, (403, "not an admin token")))
    async def audit(since: AwareDatetime | None = Query(None, description="RFC 3339 with an offset; rows after it"),
                    limit: int = Query(LIMIT_DEFAULT, ge=1, le=LIMIT_MAX),
                    staff: Staff = Depends(require_admin), uow: UnitOfWork = Depends(unit_of_work)) -> AuditPage:
        """Every staff write of this service, oldest first (admin)."""
        found = await page(uow, since, limit)
        return AuditPage(items=[AuditEntry(**dict(row)) for row in found.items],
                         next_since=found.items[-1]["at"] if found.more else None)

    return router
