"""Idempotent inbox: an event's effect and its (consumer, event_id) row commit together, once."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

import asyncpg

from shared.events import Envelope, Event
from shared.metrics import EVENTS_CONSUMED

log = logging.getLogger(__name__)

async def claim_many(conn: asyncpg.Connection, consumer: str, envelopes: Sequence[Envelope]) -> set[uuid.UUID]:
    """The ids of the events delivered to this consumer for the first time, claimed within the
    caller's transaction: a redelivery finds the row its first delivery committed and is left out;
    two concurrent deliveries race on the primary key and the loser waits, then is left out.

    Nearly every batch is delivered for the first time, so its rows are first written by COPY, the
    cheapest insert PostgreSQL has, under a savepoint. Only when one of them was claimed before does
    the COPY fail on the primary key; then the savepoint is rolled back and the rows are inserted by one
    statement that skips the claimed ones, rather than every batch paying an insert that checks each
    row for a conflict."""
    delivered = {envelope.event_id: envelope.topic for envelope in envelopes}  # an event twice in a batch once
    if not delivered:
        return set()
    try:
        async with conn.transaction():
            await conn.copy_records_to_table(
                "inbox", columns=("consumer", "event_id", "topic"),
                records=[(consumer, event_id, topic) for event_id, topic in delivered.items()])
        return set(delivered)
    except asyncpg.UniqueViolationError:
        rows = await conn.fetch(
            "INSERT INTO inbox (consumer, event_id, topic)"
            " SELECT $1, event_id, topic FROM unnest($2::uuid[], $3::text[]) AS delivered (event_id, topic)"
            " ON CONFLICT DO NOTHING RETURNING event_id",
            consumer, list(delivered), list(delivered.values()),
        )
        return {row["event_id"] for row in rows}


@contextlib.asynccontextmanager
async def first_deliveries(pool: asyncpg.Pool, consumer: str,
                           events: Sequence[Event]) -> AsyncIterator[tuple[asyncpg.Connection, list[Event]]]:
    """The transaction a consumer's use case applies a batch in: yields the connection and the
    events this consumer has not applied before, in delivery order (an event twice in one batch
    once). Their inbox rows commit with whatever the use case does, or roll back with it."""
    async with pool.acquire() as conn, conn.transaction():
        unclaimed = await claim_many(conn, consumer, [envelope for envelope, _ in events])
        new: list[Event] = []
        for envelope, data in events:
            if envelope.event_id in unclaimed:
                unclaimed.discard(envelope.event_id)
                new.append((envelope, data))
        yield conn, new
    applied = {envelope.event_id for envelope, _ in new}
    outcomes: Counter[tuple[str, str]] = Counter()
    for envelope, _ in events:
        first = envelope.event_id in applied
        applied.discard(envelope.event_id)
        outcomes[envelope.topic, "applied" if first else "duplicate"] += 1
    for (topic, outcome), count in outcomes.items():
        EVENTS_CONSUMED.labels(consumer, topic, outcome).inc(count)
    if skipped := len(events) - len(new):
        # Redelivery follows a rebalance or a crash before an offset commit: worth a line, as it shows
        # two deliveries of the same events (by this replica or another) ending in one effect.
        log.info("%s: %d of %d events in a batch were applied before (redelivered), skipped",
                 consumer, skipped, len(events))


# Rows deleted per statement when pruning: short transactions, so pruning never holds up consumers.
PRUNE_BATCH = 10_000


async def prune(pool: asyncpg.Pool, older_than: timedelta) -> int:
    """Delete the inbox rows of events applied more than `older_than` ago; how many went.

    No redelivery brings such an event back: Kafka keeps a message no longer than its retention
    (INBOX_RETENTION_DAYS is at least that), and the embedded broker's restart replay
    (shared.outbox.queue_unapplied) looks back no further than the same window.
    """
    deleted = 0
    while True:
        status = await pool.execute(
            "DELETE FROM inbox WHERE ctid = ANY(ARRAY("
            "  SELECT ctid FROM inbox WHERE received_at < now() - $1::interval LIMIT $2))",
            older_than, PRUNE_BATCH)
        count = int(status.split()[-1])
        deleted += count
        if count < PRUNE_BATCH:
            return deleted
