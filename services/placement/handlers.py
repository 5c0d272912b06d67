"""Placement handlers: FastStream subscribers — event -> store (re-place the state), in the inbox transaction."""

from __future__ import annotations

import asyncpg

from services.placement import store
from shared.events import ApplicationErased, Envelope, EventData, ScreeningCompleted


async def on_screening_completed(conn: asyncpg.Connection, envelope: Envelope, data: EventData) -> None:
    assert isinstance(data, ScreeningCompleted)
    if data.outcome != "selected" or data.score is None:
        return  # rejected and no_show place nobody
    await store.lock_state(conn, data.state)
    if await store.add_candidate(conn, envelope.application_id, data.state, data.district, data.block,
                                 data.score, data.submitted_at):
        await store.replace_state(conn, data.state)


async def on_application_erased(conn: asyncpg.Connection, envelope: Envelope, data: EventData) -> None:
    assert isinstance(data, ApplicationErased)
    state = await store.remove_candidate(conn, envelope.application_id)
    if state is not None:
        await store.lock_state(conn, state)
        await store.replace_state(conn, state, removed=envelope.application_id)


HANDLERS = {
    "screening.completed": on_screening_completed,
    "application.erased": on_application_erased,
}


async def handle(conn: asyncpg.Connection, envelope: Envelope, data: EventData) -> None:
    await HANDLERS[envelope.event_type](conn, envelope, data)
