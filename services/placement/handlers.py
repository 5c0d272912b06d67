"""Placement handlers: FastStream subscribers — event -> store (re-place the state), in the inbox transaction."""

from __future__ import annotations

import asyncpg

from services.placement import store
from shared import inbox
from shared.events import ApplicationErased, Envelope, EventData, ScreeningCompleted


async def on_screening_completed(conn: asyncpg.Connection, envelope: Envelope, data: EventData) -> None:
    assert isinstance(data, ScreeningCompleted)
    if data.outcome != "selected" or data.score is None:
        return  # rejected and no_show place nobody
    application_id = envelope.application_id
    await store.lock_application(conn, application_id)
    if await store.is_erased(conn, application_id):
        return  # erased before (or after) its result arrived: never placed
    before = await store.state_of(conn, application_id)
    # A newer result may name another state (only a correction upstream would): both are re-placed.
    states = sorted({data.state} | ({before} if before else set()))
    for state in states:
        await store.lock_state(conn, state)
    if not await store.record_selection(
            conn, application_id, state=data.state, district=data.district, block=data.block or None,
            score=data.score, submitted_at=data.submitted_at, result_at=envelope.occurred_at,
            result_event=envelope.event_id):
        return  # an older result than the one placement already has
    for state in states:
        await store.replace_state(conn, state)


async def on_application_erased(conn: asyncpg.Connection, envelope: Envelope, data: EventData) -> None:
    assert isinstance(data, ApplicationErased)
    application_id = envelope.application_id
    await store.lock_application(conn, application_id)
    await store.mark_erased(conn, application_id)
    state = await store.state_of(conn, application_id)
    if state is None:
        return  # not (yet) a candidate: the mark keeps a later result from placing them
    await store.lock_state(conn, state)
    departed = await store.forget_candidate(conn, application_id)
    await store.replace_state(conn, state, departed=[departed])


HANDLERS = {
    "screening.completed": on_screening_completed,
    "application.erased": on_application_erased,
}


def consumer(runtime):
    async def handle(events) -> None:
        async with inbox.first_deliveries(runtime.db(), "placement", events) as (conn, new):
            for envelope, data in new:
                await HANDLERS[envelope.event_type](conn, envelope, data)
    return handle


REPLACE_MARKED_EVERY_SECONDS = 10.0


async def replace_marked_states(runtime) -> None:
    import asyncio, logging
    log = logging.getLogger(__name__)
    while True:
        try:
            changed = await store.replace_marked_states(runtime.db())
            if changed:
                log.info("re-placed states left marked by a capacity change: %d placement changes", changed)
        except Exception as error:
            log.warning("re-placing marked states failed: %r", error)
        await asyncio.sleep(REPLACE_MARKED_EVERY_SECONDS)
