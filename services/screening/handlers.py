"""Screening handlers: FastStream subscribers — event -> domain -> store, inside the inbox transaction."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg

from services.screening import domain, store
from shared.events import ApplicationSubmitted, Envelope, EventData

IST = ZoneInfo("Asia/Kolkata")  # polling days are Indian calendar days


async def on_application_submitted(conn: asyncpg.Connection, envelope: Envelope, data: EventData) -> None:
    assert isinstance(data, ApplicationSubmitted)
    calendar = await store.election_calendar(conn)
    today = datetime.now(IST).date()
    if domain.is_deferred(data.state, today, calendar):
        status, reason = "deferred", f"election in {data.state} until {calendar[data.state]}"
    else:
        status, reason = "queued", "new application"
    await store.open_case(conn, envelope.application_id, data, status, reason)


HANDLERS = {
    "application.submitted": on_application_submitted,
}


async def handle(conn: asyncpg.Connection, envelope: Envelope, data: EventData) -> None:
    await HANDLERS[envelope.event_type](conn, envelope, data)
