"""Screening store: every SQL statement of screening (cases, calendar, and their outbox events)."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime

import asyncpg

from shared.events import ApplicationSubmitted, InterviewScheduled, ScreeningCompleted, ScreeningQueued, new_event
from shared.outbox import add_events

PRODUCER = "screening"


async def election_calendar(conn: asyncpg.Connection) -> dict[str, date]:
    return {r["state"]: r["polling_ends"] for r in await conn.fetch("SELECT state, polling_ends FROM election_calendar")}


async def open_case(conn: asyncpg.Connection, application_id: uuid.UUID, application: ApplicationSubmitted,
                    status: str, reason: str) -> bool:
    """Open a case for a new application and queue its event; False if one exists already."""
    inserted = await conn.fetchval(
        "INSERT INTO cases (application_id, state, district, block, full_name, phone, email, submitted_at, status)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING true",
        application_id, application.state, application.district, application.block, application.full_name,
        application.phone, application.email, application.submitted_at, status,
    )
    if inserted:
        await add_events(conn, [new_event(PRODUCER, application_id,
                                          ScreeningQueued(state=application.state, status=status, reason=reason))])
    return bool(inserted)


async def waiting_cases(pool: asyncpg.Pool, states: list[str] | None, limit: int) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT application_id, full_name, phone, state, district, status, submitted_at FROM cases"
        " WHERE status IN ('queued', 'deferred') AND ($1::text[] IS NULL OR state = ANY($1))"
        " ORDER BY (status = 'deferred'), submitted_at, application_id LIMIT $2",
        states, limit,
    )


async def case_for_update(conn: asyncpg.Connection, application_id: uuid.UUID) -> asyncpg.Record | None:
    # FOR UPDATE serialises concurrent results for one case: the second sees the first's decision.
    return await conn.fetchrow("SELECT * FROM cases WHERE application_id = $1 FOR UPDATE", application_id)


async def schedule_interview(conn: asyncpg.Connection, case: asyncpg.Record, interview_at: datetime,
                             interviewer: str | None) -> None:
    await conn.execute(
        "UPDATE cases SET status = 'scheduled', interview_at = $2, interviewer = $3, updated_at = now()"
        " WHERE application_id = $1",
        case["application_id"], interview_at, interviewer,
    )
    await add_events(conn, [new_event(PRODUCER, case["application_id"], InterviewScheduled(
        state=case["state"], interview_at=interview_at, interviewer=interviewer))])


async def record_result(conn: asyncpg.Connection, case: asyncpg.Record, outcome: str, score: int | None,
                        rubric: dict[str, int] | None, interviewer: str | None) -> None:
    await conn.execute(
        "UPDATE cases SET status = $2, score = $3, rubric = $4, interviewer = coalesce($5, interviewer),"
        " decided_at = now(), updated_at = now() WHERE application_id = $1",
        case["application_id"], outcome, score, json.dumps(rubric) if rubric else None, interviewer,
    )
    await add_events(conn, [new_event(PRODUCER, case["application_id"], ScreeningCompleted(
        state=case["state"], district=case["district"], block=case["block"], outcome=outcome, score=score,
        rubric=rubric, interviewer=interviewer or case["interviewer"], submitted_at=case["submitted_at"]))])
