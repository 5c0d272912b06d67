"""Idempotent inbox: an event's effect and its (consumer, event_id) row commit together, once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

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


async def claim_many(conn: asyncpg.Connection, consumer: str, envelopes: Sequence[Envelope]) -> set[uuid.UUID]:
    """`claim` for a batch in one statement: the ids of the events delivered here for the first time."""
    rows = await conn.fetch(
        "INSERT INTO inbox (consumer, event_id, topic)"
        " SELECT $1, event_id, topic FROM unnest($2::uuid[], $3::text[]) AS delivered (event_id, topic)"
        " ON CONFLICT DO NOTHING RETURNING event_id",
        consumer, [e.event_id for e in envelopes], [e.topic for e in envelopes],
    )
    return {row["event_id"] for row in rows}
