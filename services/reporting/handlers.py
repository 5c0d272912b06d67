"""Reporting handlers: FastStream subscribers — every topic -> projections and counters, inside the inbox transaction."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from services.reporting import store
from services.reporting.domain import Projection, aware
from shared import inbox
from shared.events import (
    ApplicationErased,
    ApplicationSubmitted,
    Envelope,
    EventData,
    InterviewScheduled,
    PlacementChanged,
    ScreeningCompleted,
    ScreeningQueued,
)
from shared.phone import normalize_phone, phone_hash
from shared.settings import get_settings


def _phone_hash(phone: str) -> str | None:
    # Intake sends the normalized number; normalizing again costs nothing and guards the look-up.
    key = get_settings().phone_hash_key.get_secret_value().encode()
    normalized = normalize_phone(phone)
    return phone_hash(normalized, key) if key and normalized else None


def _moved(old: Projection, envelope: Envelope, data: EventData) -> Projection:
    at = aware(envelope.occurred_at)
    match data:
        case ApplicationSubmitted():
            return old.submitted(data.state, data.district, aware(data.submitted_at))
        case ScreeningQueued():
            return old.moved(data.state, data.status, at)
        case InterviewScheduled():
            return old.scheduled(data.state, at)
        case ScreeningCompleted():
            return old.completed(data.state, data.district, data.outcome, at)
        case PlacementChanged():
            return old.placement(data.state, data.level, data.unit_id, at)
        case ApplicationErased():
            return old.erasure()
    raise TypeError(f"reporting has no handler for {envelope.event_type}")


async def handle_batch(conn: asyncpg.Connection, events: Sequence[tuple[Envelope, EventData]]) -> None:
    """Apply events (already claimed in the inbox by shared.broker.Consumer, same transaction) in
    delivery order, in three statements whatever their number: lock the applications' projections,
    move each in memory event by event, then store the projections and the counters' summed deltas.
    The sum of per-event deltas is the delta from first to last projection, so the counters end
    where applying the events one at a time would leave them."""
    before = await store.lock_applications(conn, [envelope.application_id for envelope, _ in events])
    after, hashes = dict(before), {}
    for envelope, data in events:
        after[envelope.application_id] = _moved(after[envelope.application_id], envelope, data)
        if isinstance(data, ApplicationSubmitted):
            hashes[envelope.application_id] = _phone_hash(data.phone)
    await store.save_applications(conn, [(application_id, before[application_id], new, hashes.get(application_id))
                                         for application_id, new in after.items()])


def consumer(runtime):
    async def handle(events: Sequence[tuple[Envelope, EventData]]) -> None:
        async with inbox.first_deliveries(runtime.db(), "reporting", events) as (conn, new):
            if new:
                await handle_batch(conn, new)
    return handle
