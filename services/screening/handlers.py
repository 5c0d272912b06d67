"""Screening handlers: subscribers (event -> domain -> store, in the inbox transaction) and the periodic release."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import date, datetime, timezone

import asyncpg

from services.screening import domain, store
from shared import inbox
from shared.events import ApplicationErased, ApplicationSubmitted, Envelope, EventData
from shared.service import Runtime

log = logging.getLogger(__name__)

# Cases released per transaction: releasing a large state's backlog in one transaction would
# hold the calendar lock (and so every calendar change) for its whole length.
RELEASE_BATCH = 2000


def today() -> date:
    """The Indian calendar day now: polling days are Indian days."""
    return domain.local_date(datetime.now(timezone.utc))


async def on_applications_submitted(conn: asyncpg.Connection, submissions: Sequence[tuple[Envelope, EventData]]) -> None:
    """Open a case per application, each waiting as the election calendar says today: one calendar
    read, one insert and one outbox write for the lot."""
    if not submissions:
        return
    await store.lock_calendar(conn, exclusive=False)
    calendar, day = await store.election_calendar(conn), today()
    cases = []
    for envelope, data in submissions:
        assert isinstance(data, ApplicationSubmitted)
        status, reason = domain.waiting_status(data.state, day, calendar)
        cases.append((envelope.application_id, data, status, reason))
    await store.open_cases(conn, cases)


async def on_application_erased(conn: asyncpg.Connection, envelope: Envelope, data: EventData) -> None:
    assert isinstance(data, ApplicationErased)
    await store.erase_case(conn, envelope.application_id, data.erased_at)


async def handle_batch(conn: asyncpg.Connection, events: Sequence[tuple[Envelope, EventData]]) -> None:
    """Apply events in delivery order, as one at a time would: each run of submissions in one go,
    an erasure in its place between them (an erasure before its submission keeps the case from
    opening; one after it blanks the case)."""
    run: list[tuple[Envelope, EventData]] = []
    for envelope, data in events:
        match data:
            case ApplicationSubmitted():
                run.append((envelope, data))
            case ApplicationErased():
                await on_applications_submitted(conn, run)
                run = []
                await on_application_erased(conn, envelope, data)
            case _:
                raise TypeError(f"screening has no handler for {envelope.event_type}")
    await on_applications_submitted(conn, run)


def consumer(runtime: Runtime):
    async def handle(events: Sequence[tuple[Envelope, EventData]]) -> None:
        async with inbox.first_deliveries(runtime.db(), "screening", events) as (conn, new):
            await handle_batch(conn, new)
    return handle


async def release_due(pool: asyncpg.Pool, on: date) -> int:
    """Queue again every deferred case whose polling ended before day `on`; the number released.

    Safe to run from several replicas at once (see store.release_cases).
    """
    released = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            await store.lock_calendar(conn, exclusive=False)
            rows = await store.release_cases(conn, on, RELEASE_BATCH)
        released += len(rows)
        if len(rows) < RELEASE_BATCH:
            return released


async def release_due_cases(runtime: Runtime) -> None:
    """Background job: every SCREENING_RELEASE_SECONDS, release the cases whose polling has ended."""
    while True:
        try:
            released = await release_due(runtime.db(), today())
            if released:
                log.info("screening: released %d deferred case(s) whose polling has ended", released)
        except Exception as error:  # the database may be away; the next run tries again
            log.warning("screening: the release check failed (%s: %s)", type(error).__name__, error)
        await asyncio.sleep(runtime.settings.screening_release_seconds)
