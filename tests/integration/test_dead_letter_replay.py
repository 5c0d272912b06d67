"""Dead letters on the real broker and PostgreSQL: a poison event is dead-lettered with no inbox row,
listed without personal data, applied once when replayed after its cause is fixed, and a second
replay sends nothing; status counts what is not replayed yet."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from shared import db, inbox
from shared.broker import Consumer, ensure_topics, make_broker, make_producer
from shared.events import APPLICATIONS_ERASED, ApplicationErased, new_event
from shared.runtime import operations
from tests.support import eventually

GROUP = "screening"  # a group status knows (CONSUMED_TOPICS), on a topic it consumes


@pytest.fixture(scope="module")
async def pool(stack):
    await db.migrate(stack.database_url, "screening")
    await ensure_topics(stack.kafka_bootstrap_servers, 2)
    pool = await db.create_pool(stack.database_url, "screening")
    yield pool
    await pool.close()


async def test_a_fixed_poison_event_is_applied_once_by_a_replay_and_a_second_replay_sends_nothing(stack, pool):
    servers = stack.kafka_bootstrap_servers
    poison = new_event("intake", uuid.uuid4(), ApplicationErased(erased_at=datetime.now(timezone.utc)))
    fixed, applied = False, []

    async def handle(events):
        async with inbox.first_deliveries(pool, GROUP, events) as (_, new):
            for envelope, _ in new:
                if envelope.event_id == poison.event_id and not fixed:
                    raise ValueError("a bug in the handler")
                applied.append(envelope.event_id)

    broker = make_broker(servers, GROUP)
    Consumer(broker, group=GROUP, topics=[APPLICATIONS_ERASED], handle=handle)
    await broker.start()
    try:
        producer = make_producer(servers, "test")
        await producer.start()
        await producer.send_and_wait(APPLICATIONS_ERASED, poison.to_json().encode(), key=poison.kafka_key().encode())
        await producer.stop()

        async def dead_lettered():
            letters = (await operations.list_dead_letters(servers, [APPLICATIONS_ERASED]))[APPLICATIONS_ERASED]
            return letters
        letters = await eventually(dead_lettered, timeout=60)
        assert [(d.event_id, d.consumer, d.original_topic) for d in letters] == [
            (str(poison.event_id), GROUP, APPLICATIONS_ERASED)]
        assert "failed 5 times" in letters[0].error
        assert await pool.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", poison.event_id) == 0
        counts = await operations.dead_letter_counts(servers)
        assert counts[APPLICATIONS_ERASED] == {"total": 1, "not_replayed": 1}

        # A dry run sends nothing and marks nothing.
        assert [d.event_id for d in await operations.replay_dead_letters(servers, APPLICATIONS_ERASED,
                                                                         dry_run=True)] == [str(poison.event_id)]
        assert (await operations.dead_letter_counts(servers))[APPLICATIONS_ERASED]["not_replayed"] == 1

        fixed = True
        replayed = await operations.replay_dead_letters(servers, f"{APPLICATIONS_ERASED}.dlq", dry_run=False)
        assert [d.event_id for d in replayed] == [str(poison.event_id)]
        await eventually(lambda: _contains(applied, poison.event_id), timeout=30)
        assert await operations.replay_dead_letters(servers, APPLICATIONS_ERASED, dry_run=False) == []
        assert (await operations.dead_letter_counts(servers))[APPLICATIONS_ERASED] == {"total": 1, "not_replayed": 0}
        # Sent back twice by hand (say, an operator's replay from another tool): applied still once.
        await operations.replay_dead_letters(servers, APPLICATIONS_ERASED, dry_run=False)
        producer = make_producer(servers, "test")
        await producer.start()
        await producer.send_and_wait(APPLICATIONS_ERASED, poison.to_json().encode(), key=poison.kafka_key().encode())
        await producer.stop()
        await eventually(lambda: _consumer_caught_up(servers), timeout=30)
        assert applied.count(poison.event_id) == 1
        assert await pool.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", poison.event_id) == 1
    finally:
        await broker.stop()


async def _contains(items, item) -> bool:
    return item in items


async def _consumer_caught_up(servers: str) -> bool:
    return sum((await operations.consumer_lag(servers))[GROUP].values()) == 0


async def test_an_unknown_topic_is_refused(stack) -> None:
    with pytest.raises(ValueError, match="unknown topic"):
        await operations.replay_dead_letters(stack.kafka_bootstrap_servers, "applications.lost", dry_run=True)
