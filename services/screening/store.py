"""Screening store: every SQL statement of screening (cases, calendar, erasures, and their outbox events)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timezone

import asyncpg

from services.screening import domain
from shared.events import (
    ApplicationSubmitted,
    InterviewScheduled,
    ScreeningCompleted,
    ScreeningQueued,
    new_event,
)
from shared.geography import STATES
from shared.outbox import add_events

PRODUCER = "screening"

# Advisory lock keys (database-wide, hence prefixed). Calendar changes take CALENDAR_LOCK exclusively;
# whatever reads the calendar to set a case's status (a new case, a wave, the release) takes it
# shared, so a case is never opened, scheduled or released against a calendar changing under it.
CALENDAR_LOCK = "screening.election-calendar"
# Waves run one at a time, so two waves never book the same interviewer into the same slot.
WAVES_LOCK = "screening.interview-waves"

# Ordered before every real (deferred, submitted_at, application_id): the queue's first page.
QUEUE_START = (False, datetime(1, 1, 1, tzinfo=timezone.utc), uuid.UUID(int=0))


async def lock_calendar(conn: asyncpg.Connection, *, exclusive: bool) -> None:
    lock = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    await conn.execute(f"SELECT {lock}(hashtext($1))", CALENDAR_LOCK)


async def lock_waves(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", WAVES_LOCK)


# --- the election calendar -----------------------------------------------------------------------


async def election_calendar(conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, date]:
    return {r["state"]: r["polling_ends"]
            for r in await conn.fetch("SELECT state, polling_ends FROM election_calendar ORDER BY state")}


async def set_polling_ends(conn: asyncpg.Connection, state: str, polling_ends: date) -> None:
    await conn.execute(
        "INSERT INTO election_calendar (state, polling_ends) VALUES ($1, $2)"
        " ON CONFLICT (state) DO UPDATE SET polling_ends = excluded.polling_ends, updated_at = now()",
        state, polling_ends,
    )


async def clear_polling_ends(conn: asyncpg.Connection, state: str) -> bool:
    return await conn.fetchval("DELETE FROM election_calendar WHERE state = $1 RETURNING true", state) is not None


async def _status_changed(conn: asyncpg.Connection, rows: Sequence[asyncpg.Record], today: date,
                          calendar: dict[str, date]) -> None:
    events = []
    for row in rows:
        status, reason = domain.waiting_status(row["state"], today, calendar)
        events.append(new_event(PRODUCER, row["application_id"],
                                ScreeningQueued(state=row["state"], status=status, reason=reason)))
    await add_events(conn, events)


async def apply_calendar_to_state(conn: asyncpg.Connection, state: str, today: date) -> list[asyncpg.Record]:
    """Give every waiting case of `state` the status the calendar gives it on `today`, one event each.

    For calendar changes, under lock_calendar(exclusive): waits for cases another transaction holds
    (an interview being booked or decided), so no waiting case of the state is missed.
    """
    calendar = await election_calendar(conn)
    status, _ = domain.waiting_status(state, today, calendar)
    rows = await conn.fetch(
        "UPDATE cases SET status = $2, updated_at = now()"
        " WHERE state = $1 AND status IN ('queued', 'deferred') AND status <> $2"
        " RETURNING application_id, state",
        state, status,
    )
    await _status_changed(conn, rows, today, calendar)
    return rows


async def release_cases(conn: asyncpg.Connection, today: date, limit: int) -> list[asyncpg.Record]:
    """Up to `limit` deferred cases whose state's polling ended before `today` (or has no entry), queued again.

    One event each. Under lock_calendar (shared is enough: only calendar changes must not interleave);
    cases another transaction holds, another replica's release included, are skipped and found on
    the next run.
    """
    calendar = await election_calendar(conn)
    # Named positively (not "state <> ALL(deferring)") so that the cases_deferred index answers it.
    released = [state for state in STATES if not domain.is_deferred(state, today, calendar)]
    rows = await conn.fetch(
        "WITH due AS ("
        "  SELECT application_id FROM cases WHERE status = 'deferred' AND state = ANY($1::text[])"
        "  LIMIT $2 FOR UPDATE SKIP LOCKED)"
        " UPDATE cases c SET status = 'queued', updated_at = now()"
        " FROM due WHERE c.application_id = due.application_id AND c.status = 'deferred'"
        " RETURNING c.application_id, c.state",
        released, limit,
    )
    await _status_changed(conn, rows, today, calendar)
    return rows


# --- cases ---------------------------------------------------------------------------------------


async def calendar_entry(conn: asyncpg.Connection, state: str) -> dict[str, date]:
    """The calendar as far as `state` is concerned: {state: polling_ends}, or {} without an entry."""
    value = await conn.fetchval("SELECT polling_ends FROM election_calendar WHERE state = $1", state)
    return {} if value is None else {state: value}


async def open_cases(conn: asyncpg.Connection,
                     cases: Sequence[tuple[uuid.UUID, ApplicationSubmitted, str, str]]) -> int:
    """Open a case for each new (application_id, application, status, reason) and queue its event,
    in the given order; an application that has a case or was erased is skipped. How many opened."""
    opened = {row["application_id"] for row in await conn.fetch(
        "INSERT INTO cases (application_id, state, district, block, full_name, phone, email, submitted_at, status)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],"
        "  $8::timestamptz[], $9::text[]) AS new (application_id, state, district, block, full_name, phone, email,"
        "  submitted_at, status)"
        " WHERE NOT EXISTS (SELECT FROM erased WHERE erased.application_id = new.application_id)"
        " ON CONFLICT DO NOTHING RETURNING application_id",
        [i for i, *_ in cases], [a.state for _, a, *_ in cases], [a.district for _, a, *_ in cases],
        [a.block for _, a, *_ in cases], [a.full_name for _, a, *_ in cases], [a.phone for _, a, *_ in cases],
        [a.email for _, a, *_ in cases], [a.submitted_at for _, a, *_ in cases], [status for *_, status, _ in cases],
    )}
    events = []
    for application_id, application, status, reason in cases:
        if application_id in opened:
            opened.discard(application_id)  # one event per case, if the same application came twice
            events.append(new_event(PRODUCER, application_id,
                                    ScreeningQueued(state=application.state, status=status, reason=reason)))
    await add_events(conn, events)
    return len(events)


async def erase_case(conn: asyncpg.Connection, application_id: uuid.UUID, erased_at: datetime) -> bool:
    """Drop a case's contact details and take it out of every queue; False if it had no case (yet)."""
    await conn.execute("INSERT INTO erased (application_id, erased_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                       application_id, erased_at)
    # Screening's own events carry no name, phone or email, so its outbox has nothing to scrub.
    status = await conn.execute(
        "UPDATE cases SET full_name = NULL, phone = NULL, email = NULL, status = 'erased', updated_at = now()"
        " WHERE application_id = $1",
        application_id,
    )
    return status != "UPDATE 0"


async def waiting_cases(pool: asyncpg.Pool, states: list[str] | None, limit: int,
                        after: tuple[bool, datetime, uuid.UUID] = QUEUE_START) -> list[asyncpg.Record]:
    """A page of the queue in queue order, starting after the (deferred, submitted_at, application_id) `after`."""
    columns = "application_id, full_name, phone, state, district, status, submitted_at"
    order = "((status = 'deferred'), submitted_at, application_id)"
    if states is None:
        return await pool.fetch(
            f"SELECT {columns} FROM cases WHERE status IN ('queued', 'deferred')"
            f" AND {order} > ($2::bool, $3::timestamptz, $4::uuid)"
            f" ORDER BY (status = 'deferred'), submitted_at, application_id LIMIT $1",
            limit, *after,
        )
    # One index range per state (cases_waiting), merged: a state's page never walks other states' cases.
    return await pool.fetch(
        f"SELECT c.* FROM unnest($5::text[]) AS s(state), LATERAL ("
        f"  SELECT {columns} FROM cases WHERE status IN ('queued', 'deferred') AND state = s.state"
        f"  AND {order} > ($2::bool, $3::timestamptz, $4::uuid)"
        f"  ORDER BY (status = 'deferred'), submitted_at, application_id LIMIT $1) AS c"
        f" ORDER BY (c.status = 'deferred'), c.submitted_at, c.application_id LIMIT $1",
        limit, *after, states,
    )


async def case_for_update(conn: asyncpg.Connection, application_id: uuid.UUID) -> asyncpg.Record | None:
    # FOR UPDATE serialises concurrent results for one case: the second sees the first's decision.
    return await conn.fetchrow("SELECT * FROM cases WHERE application_id = $1 FOR UPDATE", application_id)


# Events carry instants in UTC, like occurred_at; the API shows them in the caller's or India's zone.
async def schedule_interview(conn: asyncpg.Connection, case: asyncpg.Record, interview_at: datetime,
                             interviewer: str | None) -> None:
    await conn.execute(
        "UPDATE cases SET status = 'scheduled', interview_at = $2, interviewer = $3, updated_at = now()"
        " WHERE application_id = $1",
        case["application_id"], interview_at, interviewer,
    )
    await add_events(conn, [new_event(PRODUCER, case["application_id"], InterviewScheduled(
        state=case["state"], interview_at=interview_at.astimezone(timezone.utc), interviewer=interviewer))])


async def record_result(conn: asyncpg.Connection, case: asyncpg.Record, outcome: str, score: int | None,
                        rubric: dict[str, int] | None, interviewer: str | None) -> None:
    await conn.execute(
        "UPDATE cases SET status = $2, score = $3, rubric = $4, interviewer = coalesce($5, interviewer),"
        " decided_at = now(), updated_at = now() WHERE application_id = $1",
        case["application_id"], outcome, score, rubric, interviewer,
    )
    await add_events(conn, [new_event(PRODUCER, case["application_id"], ScreeningCompleted(
        state=case["state"], district=case["district"], block=case["block"], outcome=outcome, score=score,
        rubric=rubric, interviewer=interviewer or case["interviewer"], submitted_at=case["submitted_at"]))])


# --- interview waves -----------------------------------------------------------------------------


async def booked_interviews(conn: asyncpg.Connection, interviewers: Sequence[str], start: datetime,
                            end: datetime) -> dict[str, list[datetime]]:
    """The scheduled interviews of these interviewers from `start` to `end`, per interviewer."""
    booked: dict[str, list[datetime]] = {}
    for row in await conn.fetch(
        "SELECT interviewer, interview_at FROM cases WHERE status = 'scheduled' AND interviewer = ANY($1::text[])"
        " AND interview_at > $2 AND interview_at < $3",
        list(interviewers), start, end,
    ):
        booked.setdefault(row["interviewer"], []).append(row["interview_at"])
    return booked


async def queued_for_wave(conn: asyncpg.Connection, state: str, limit: int) -> list[domain.WaitingCase]:
    """The head of a state's queue, locked; rows another transaction holds are skipped, not waited for."""
    rows = await conn.fetch(
        "SELECT application_id, state, status, submitted_at FROM cases WHERE state = $1 AND status = 'queued'"
        " ORDER BY submitted_at, application_id LIMIT $2 FOR UPDATE SKIP LOCKED",
        state, limit,
    )
    return [domain.WaitingCase(str(r["application_id"]), r["state"], r["status"], r["submitted_at"]) for r in rows]


async def schedule_wave(conn: asyncpg.Connection, state: str, slots: Sequence[domain.Slot]) -> None:
    if not slots:
        return
    await conn.execute(
        "UPDATE cases c SET status = 'scheduled', interview_at = s.interview_at, interviewer = s.interviewer,"
        "   updated_at = now()"
        " FROM unnest($1::uuid[], $2::timestamptz[], $3::text[]) AS s(application_id, interview_at, interviewer)"
        " WHERE c.application_id = s.application_id",
        [uuid.UUID(s.application_id) for s in slots], [s.interview_at for s in slots], [s.interviewer for s in slots],
    )
    await add_events(conn, [
        new_event(PRODUCER, s.application_id, InterviewScheduled(
            state=state, interview_at=s.interview_at.astimezone(timezone.utc), interviewer=s.interviewer))
        for s in slots
    ])
