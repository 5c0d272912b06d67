"""A fresh (memory-only) broker gets again only the stored events some consumer has not applied."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from shared import db, inbox
from shared.events import CONSUMED_TOPICS, ApplicationErased, ScreeningQueued, new_event
from shared.outbox import add_events, queue_unapplied

CONSUMERS = ("screening", "placement", "reporting")
WINDOW = timedelta(days=7)


def erased_event():
    return new_event("intake", uuid.uuid4(), ApplicationErased(erased_at=datetime.now(timezone.utc)))


async def test_only_events_a_consumer_has_not_applied_are_queued_again(stack) -> None:
    for schema in ("intake", *CONSUMERS):
        await db.migrate(stack.database_url, schema)
    applied_everywhere, missing_in_placement, applied_nowhere, never_published = (erased_event() for _ in range(4))
    # screening.queued is reporting's alone: placement and screening not having it is no reason to resend.
    queued = new_event("screening", uuid.uuid4(), ScreeningQueued(state="RJ", status="queued", reason="test"))
    pool = await db.create_pool(stack.database_url, "intake")
    try:
        async with pool.acquire() as conn, conn.transaction():
            await add_events(conn, [applied_everywhere, missing_in_placement, applied_nowhere, never_published, queued])
            await conn.execute("DELETE FROM outbox_pending WHERE id IN (SELECT id FROM outbox WHERE event_id <> $1)",
                               never_published.event_id)
            claims = [(c, applied_everywhere) for c in CONSUMERS] + [
                ("screening", missing_in_placement), ("reporting", missing_in_placement), ("reporting", queued)]
            for consumer, event in claims:
                await conn.execute(f'INSERT INTO "{consumer}".inbox (consumer, event_id, topic) VALUES ($1, $2, $3)',
                                   consumer, event.event_id, event.topic)

        async with pool.acquire() as conn:
            assert await queue_unapplied(conn, CONSUMED_TOPICS, WINDOW) == 2
            unpublished = {r["event_id"] for r in await conn.fetch(
                "SELECT event_id FROM outbox JOIN outbox_pending USING (id)")}
            assert unpublished == {missing_in_placement.event_id, applied_nowhere.event_id, never_published.event_id}
            # Once every consumer has applied them (claimed in its inbox), nothing is queued again.
            await conn.execute("DELETE FROM outbox_pending")
            for consumer, event in [("placement", missing_in_placement), *((c, applied_nowhere) for c in CONSUMERS),
                                    *((c, never_published) for c in CONSUMERS)]:
                await conn.execute(f'INSERT INTO "{consumer}".inbox (consumer, event_id, topic) VALUES ($1, $2, $3)',
                                   consumer, event.event_id, event.topic)
            assert await queue_unapplied(conn, CONSUMED_TOPICS, WINDOW) == 0
    finally:
        await pool.close()


async def test_inbox_rows_past_retention_are_pruned_and_their_events_stay_out_of_any_replay(stack) -> None:
    for schema in ("intake", *CONSUMERS):
        await db.migrate(stack.database_url, schema)
    old, recent = erased_event(), erased_event()
    intake = await db.create_pool(stack.database_url, "intake")
    pools = {consumer: await db.create_pool(stack.database_url, consumer) for consumer in CONSUMERS}
    try:
        async with intake.acquire() as conn, conn.transaction():
            await add_events(conn, [old, recent])
            await conn.execute("DELETE FROM outbox_pending")
            await conn.execute("UPDATE outbox SET"
                               " created_at = CASE WHEN event_id = $1 THEN now() - interval '10 days' ELSE now() END",
                               old.event_id)
        for consumer, pool in pools.items():
            await pool.execute("INSERT INTO inbox (consumer, event_id, topic, received_at) VALUES"
                               " ($1, $2, $4, now() - interval '9 days'), ($1, $3, $4, now())",
                               consumer, old.event_id, recent.event_id, old.topic)

        for consumer, pool in pools.items():
            assert await inbox.prune(pool, WINDOW) == 1
            assert await pool.fetchval("SELECT array_agg(event_id) FROM inbox WHERE event_id = ANY($1::uuid[])",
                                       [old.event_id, recent.event_id]) == [recent.event_id]
            assert await inbox.prune(pool, WINDOW) == 0

        # The old event's rows are gone, and yet it is not sent again: it is older than the window.
        async with intake.acquire() as conn:
            assert await queue_unapplied(conn, CONSUMED_TOPICS, WINDOW) == 0
            assert await conn.fetchval("SELECT count(*) FROM outbox_pending") == 0
    finally:
        await intake.close()
        for pool in pools.values():
            await pool.close()
