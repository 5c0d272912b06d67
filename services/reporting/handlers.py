"""Reporting handlers: FastStream subscribers — every topic -> projection and counters, inside the inbox transaction."""

from __future__ import annotations

import asyncpg

from services.reporting import store
from services.reporting.domain import aware
from shared.events import (ApplicationErased, ApplicationSubmitted, Envelope, EventData, InterviewScheduled,
                           PlacementChanged, ScreeningCompleted, ScreeningQueued)
from shared.phone import normalize_phone, phone_hash
from shared.settings import get_settings


def _phone_hash(phone: str) -> str | None:
    # Intake sends the normalized number; normalizing again costs nothing and guards the look-up.
    key = get_settings().phone_hash_key.get_secret_value().encode()
    normalized = normalize_phone(phone)
    return phone_hash(normalized, key) if key and normalized else None


async def handle(conn: asyncpg.Connection, envelope: Envelope, data: EventData) -> None:
    """Apply one event (already claimed in the inbox by shared.broker.Consumer, same transaction)."""
    application_id, at = envelope.application_id, aware(envelope.occurred_at)
    old = await store.lock_application(conn, application_id)
    hashed = None
    match data:
        case ApplicationSubmitted():
            new = old.submitted(data.state, data.district, aware(data.submitted_at))
            hashed = _phone_hash(data.phone)
        case ScreeningQueued():
            new = old.moved(data.state, data.status, at)
        case InterviewScheduled():
            new = old.scheduled(data.state, at)
        case ScreeningCompleted():
            new = old.completed(data.state, data.district, data.outcome, at)
        case PlacementChanged():
            new = old.placement(data.state, data.level, data.unit_id, at)
        case ApplicationErased():
            new = old.erasure()
        case _:
            raise TypeError(f"reporting has no handler for {envelope.event_type}")
    await store.save_application(conn, application_id, old, new, phone_hash=hashed)
