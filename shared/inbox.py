"""Idempotent inbox: an event's effect and its (consumer, event_id) row commit together, once."""

from __future__ import annotations

import asyncpg

from shared.events import Envelope


async def claim(conn: asyncpg.Connection, consumer: str, envelope: Envelope) -> bool:
    """True on the first delivery of this event to this consumer, within the caller's transaction.

    A redelivery finds the row (committed by the first) and gets False; two concurrent
    deliveries race on the primary key and the loser waits, then gets False.
    """
    inserted = await conn.fetchval(
        "INSERT INTO inbox (consumer, event_id, topic) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING RETURNING true",
        consumer, envelope.event_id, envelope.topic,
    )
    return bool(inserted)
