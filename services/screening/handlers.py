"""Screening handlers: subscribers (event -> domain -> store, in the inbox transaction) and the periodic release."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timezone

import asyncpg

from services.screening import domain, store
from shared.events import ApplicationErased, ApplicationSubmitted, Envelope, EventData
from shared.service import Runtime

log = logging.getLogger(__name__)

# Cases released per transaction: releasing a large state's backlog in one transaction would
# hold the calendar lock (and so every calendar change) for its whole length.
RELEASE_BATCH = 2000


def today() -> date:
    """The Indian calendar day now: polling days are Indian days."""
    return domain.local_date(datetime.now(timezone.utc))


async def on_application_submitted(conn: asyncpg.Connection, envelope: Envelope, data: EventData) -> None:
    assert isinstance(data, ApplicationSubmitted)
    await store.lock_calendar(conn, exclusive=False)
    calendar = await store.calendar_entry(conn, data.state)
    status, reason = domain.waiting_status(data.state, today(), calendar)
    await store.open_case(conn, envelope.application_id, data, status, reason)


async def on_application_erased(conn: asyncpg.Connection, envelope: Envelope, data: EventData) -> None:
    assert isinstance(data, ApplicationErased)
    await store.erase_case(conn, envelope.application_id, data.erased_at)


HANDLERS = {
    "application.submitted": on_application_submitted,
    "application.erased": on_application_erased,
}


async def handle(conn: asyncpg.Connection, envelope: Envelope, data: EventData) -> None:
    await HANDLERS[envelope.event_type](conn, envelope, data)


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
