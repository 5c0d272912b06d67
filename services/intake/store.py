"""Intake store: every SQL statement of intake (applications + their outbox events)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import asyncpg

from shared.events import ApplicationSubmitted, new_event
from shared.outbox import add_events

PRODUCER = "intake"


async def submit_application(pool: asyncpg.Pool, application: ApplicationSubmitted, phone_hash: str,
                             ) -> tuple[uuid.UUID, bool]:
    """Insert the application and its event in one transaction; returns (id, duplicate).

    The unique phone_hash decides races: of concurrent posts of one phone exactly one insert
    wins, the others wait for its commit, find the row and report a duplicate.
    """
    application_id = uuid.uuid4()
    details = application.model_dump(
        mode="json", include={"languages", "skills", "social", "followers", "hours_per_week"})
    async with pool.acquire() as conn, conn.transaction():
        inserted = await conn.fetchval(
            "INSERT INTO applications (application_id, phone_hash, phone, full_name, email, state, district,"
            " block, age, details, source, submitted_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            " ON CONFLICT (phone_hash) DO NOTHING RETURNING application_id",
            application_id, phone_hash, application.phone, application.full_name, application.email,
            application.state, application.district, application.block, application.age, details,
            application.source, application.submitted_at,
        )
        if inserted is None:
            existing = await conn.fetchval("SELECT application_id FROM applications WHERE phone_hash = $1",
                                           phone_hash)
            return existing, True
        await add_events(conn, [new_event(PRODUCER, application_id, application,
                                          occurred_at=application.submitted_at)])
    return application_id, False


def now() -> datetime:
    return datetime.now(timezone.utc)
