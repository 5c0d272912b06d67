"""Reporting handlers: FastStream subscribers — every topic -> projection, inside the inbox transaction."""

from __future__ import annotations

import asyncpg

from services.reporting import domain, store
from shared.events import (ApplicationErased, ApplicationSubmitted, Envelope, EventData, InterviewScheduled,
                           PlacementChanged, ScreeningCompleted, ScreeningQueued)
from shared.phone import phone_hash
from shared.settings import get_settings


async def on_submitted(conn: asyncpg.Connection, envelope: Envelope, data: EventData) -> None:
    assert isinstance(data, ApplicationSubmitted)
    key = get_settings().phone_hash_key.get_secret_value().encode()
    await store.record_submitted(conn, envelope.application_id, data.state, data.district,
                                 phone_hash(data.phone, key), data.submitted_at)


async def on_queued(conn: asyncpg.Connection, envelope: Envelope, data: EventData) -> None:
    assert isinstance(data, ScreeningQueued)
    await store.move_stage(conn, envelope.application_id, data.state, data.status, envelope.occurred_at)


async def on_scheduled(conn: asyncpg.Connection, envelope: Envelope, data: EventData) -> None:
    assert isinstance(data, InterviewScheduled)
    await store.move_stage(conn, envelope.application_id, data.state, "scheduled", envelope.occurred_at,
                           scheduled=True)


async def on_completed(conn: asyncpg.Connection, envelope: Envelope, data: EventData) -> None:
    assert isinstance(data, ScreeningCompleted)
    await store.move_stage(conn, envelope.application_id, data.state, data.outcome, envelope.occurred_at,
                           outcome=data.outcome)


async def on_placement(conn: asyncpg.Connection, envelope: Envelope, data: EventData) -> None:
    assert isinstance(data, PlacementChanged)
    await store.move_stage(conn, envelope.application_id, data.state, domain.stage_for_placement(data.level),
                           envelope.occurred_at, level=data.level, unit_id=data.unit_id)


async def on_erased(conn: asyncpg.Connection, envelope: Envelope, data: EventData) -> None:
    assert isinstance(data, ApplicationErased)
    await store.record_erased(conn, envelope.application_id)


HANDLERS = {
    "application.submitted": on_submitted,
    "application.erased": on_erased,
    "screening.queued": on_queued,
    "screening.interview-scheduled": on_scheduled,
    "screening.completed": on_completed,
    "placement.changed": on_placement,
}


async def handle(conn: asyncpg.Connection, envelope: Envelope, data: EventData) -> None:
    await HANDLERS[envelope.event_type](conn, envelope, data)
