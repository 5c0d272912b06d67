"""What the installed FastStream really does with offsets, checked against the real broker:
a failed handler's message is redelivered, and nothing after it is committed before it succeeds."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timezone

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared import db, inbox
from shared.broker import Consumer, make_broker
from shared.events import (
    APPLICATIONS_ERASED,
    ApplicationErased,
    dead_letter_topic,
    new_event,
)
from tests.support import eventually

GROUP = "ack-test"


@pytest.fixture(scope="module")
async def pool(stack):
    await db.migrate(stack.database_url, "reporting")
    pool = await db.create_pool(stack.database_url, "reporting")
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap_servers)
    await admin.start()
    # One partition, so "later" is well defined.
    await admin.create_topics([NewTopic(APPLICATIONS_ERASED, 1, 1), NewTopic(dead_letter_topic(APPLICATIONS_ERASED), 1, 1)])
    await admin.close()
    yield pool
    await pool.close()


async def publish(servers: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=servers)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(APPLICATIONS_ERASED, value)
    finally:
        await producer.stop()


async def committed_offset(servers: str) -> int | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, group_id=GROUP, enable_auto_commit=False)
    await consumer.start()
    try:
        return await consumer.committed(TopicPartition(APPLICATIONS_ERASED, 0))
    finally:
        await consumer.stop()


async def test_failed_message_is_redelivered_and_not_skipped(stack, pool) -> None:
    events = [new_event("test", uuid.uuid4(), ApplicationErased(erased_at=datetime.now(timezone.utc)))
              for _ in range(3)]
    seen: list[tuple[str, str]] = []
    failures = {events[0].event_id: 2}  # the first event fails twice, then succeeds

    async def handle(batch):
        async with inbox.first_deliveries(pool, GROUP, batch) as (conn, new):
            for envelope, _ in new:
                if failures.get(envelope.event_id, 0) > 0:
                    failures[envelope.event_id] -= 1
                    # The effect is written, then the error rolls it back with the inbox row.
                    await conn.execute("INSERT INTO inbox (consumer, event_id, topic) VALUES ('effect', $1, 'x')",
                                       envelope.event_id)
                    seen.append(("fail", str(envelope.event_id)))
                    raise RuntimeError("handler failed")
                seen.append(("ok", str(envelope.event_id)))

    broker = make_broker(stack.kafka_bootstrap_servers, "ack-test")
    Consumer(broker, group=GROUP, topics=[APPLICATIONS_ERASED], handle=handle)
    await broker.start()
    try:
        await publish(stack.kafka_bootstrap_servers, [e.to_json().encode() for e in events] + [b"not json"])
        await eventually(lambda: _ok_count(seen, 3), timeout=40)
        # Nothing after the failing message ran before it succeeded.
        first, second, third = (str(e.event_id) for e in events)
        assert seen == [("fail", first), ("fail", first), ("ok", first), ("ok", second), ("ok", third)]
        # The failed attempts' effects rolled back; each event is claimed once.
        assert await pool.fetchval("SELECT count(*) FROM inbox WHERE consumer = 'effect'") == 0
        assert await pool.fetchval("SELECT count(*) FROM inbox WHERE consumer = $1", GROUP) == 3
        # The poison message went to the dead-letter topic and the consumer moved past it.
        await eventually(lambda: _committed_is(stack.kafka_bootstrap_servers, 4), timeout=20)
    finally:
        await broker.stop()

    dlq = AIOKafkaConsumer(dead_letter_topic(APPLICATIONS_ERASED), bootstrap_servers=stack.kafka_bootstrap_servers,
                           auto_offset_reset="earliest", group_id=f"check-{uuid.uuid4()}")
    await dlq.start()
    try:
        record = await asyncio.wait_for(dlq.getone(), 10)
    finally:
        await dlq.stop()
    headers = dict(record.headers)
    assert record.value == b"not json"
    assert b"not a valid envelope" in headers["x-error"]
    assert headers["x-original-topic"] == APPLICATIONS_ERASED.encode()


async def _ok_count(seen, n) -> bool:
    return sum(1 for kind, _ in seen if kind == "ok") >= n


async def _committed_is(servers: str, offset: int) -> bool:
    return await committed_offset(servers) == offset


async def test_an_event_that_always_fails_is_dead_lettered_and_the_rest_applied(stack, pool) -> None:
    poison, after = (new_event("test", uuid.uuid4(), ApplicationErased(erased_at=datetime.now(timezone.utc)))
                     for _ in range(2))
    attempts = []
    applied = []

    group = "poison-test"

    async def handle(batch):
        async with inbox.first_deliveries(pool, group, batch) as (_, new):
            for envelope, _ in new:
                if envelope.event_id == poison.event_id:
                    attempts.append(1)
                    raise ValueError("a bug, not an outage")
                applied.append(envelope.event_id)

    broker = make_broker(stack.kafka_bootstrap_servers, group)
    Consumer(broker, group=group, topics=[APPLICATIONS_ERASED], handle=handle)
    dlq = AIOKafkaConsumer(dead_letter_topic(APPLICATIONS_ERASED), bootstrap_servers=stack.kafka_bootstrap_servers,
                           auto_offset_reset="latest", group_id=f"check-{uuid.uuid4()}")
    await dlq.start()
    await broker.start()
    try:
        # This new group also reads the first test's messages (its "not json" is dead-lettered again).
        await publish(stack.kafka_bootstrap_servers, [poison.to_json().encode(), after.to_json().encode()])
        record = await asyncio.wait_for(dlq.getone(), 40)
        while record.value == b"not json":
            record = await asyncio.wait_for(dlq.getone(), 40)
        assert record.value == poison.to_json().encode()
        assert b"failed 5 times" in dict(record.headers)["x-error"]
        await eventually(lambda: _contains(applied, after.event_id), timeout=20)
        assert len(attempts) == 1 + 5  # once in its batch, then five times alone
    finally:
        await broker.stop()
        await dlq.stop()


async def _contains(items, item) -> bool:
    return item in items


async def test_a_failed_batch_comes_again_one_event_at_a_time_and_only_the_poison_is_dead_lettered(stack, pool):
    before, poison, after = (new_event("test", uuid.uuid4(), ApplicationErased(erased_at=datetime.now(timezone.utc)))
                             for _ in range(3))
    ours = [before.event_id, poison.event_id, after.event_id]
    await pool.execute("CREATE TABLE IF NOT EXISTS batch_effects (event_id uuid NOT NULL)")  # no key: doubles show
    batches, singles = [], []
    group = "batch-test"

    async def handle(batch):
        async with inbox.first_deliveries(pool, group, batch) as (conn, new):
            ids = [envelope.event_id for envelope, _ in new]
            if len(batch) == 1:
                singles.extend(ids)
            else:
                batches.append(ids)
            await conn.executemany("INSERT INTO batch_effects VALUES ($1)", [(i,) for i in ids])
            if poison.event_id in ids:
                raise ValueError("a bug somewhere in this batch")

    # Published before the consumer starts, so the three arrive in one batch.
    await publish(stack.kafka_bootstrap_servers, [e.to_json().encode() for e in (before, poison, after)])
    broker = make_broker(stack.kafka_bootstrap_servers, group)
    Consumer(broker, group=group, topics=[APPLICATIONS_ERASED], handle=handle)
    dlq = AIOKafkaConsumer(dead_letter_topic(APPLICATIONS_ERASED), bootstrap_servers=stack.kafka_bootstrap_servers,
                           auto_offset_reset="latest", group_id=f"check-{uuid.uuid4()}")
    await dlq.start()
    await broker.start()
    try:
        record = await asyncio.wait_for(dlq.getone(), 40)
        while record.value != poison.to_json().encode():  # this new group dead-letters older bad messages too
            record = await asyncio.wait_for(dlq.getone(), 40)
        assert b"failed 5 times" in dict(record.headers)["x-error"]
        await eventually(lambda: _contains(singles, after.event_id), timeout=20)
        await asyncio.sleep(0.5)
    finally:
        await broker.stop()
        await dlq.stop()
    assert any(set(ours) <= set(batch) for batch in batches), "the batch handler had the three together first"
    assert singles.count(poison.event_id) == 5
    # The failed batch's effects rolled back; the two good events took effect once each, the poison never.
    effects = await pool.fetch("SELECT event_id, count(*) AS n FROM batch_effects WHERE event_id = ANY($1::uuid[])"
                               " GROUP BY event_id", ours)
    assert {row["event_id"]: row["n"] for row in effects} == {before.event_id: 1, after.event_id: 1}
    assert await pool.fetchval("SELECT count(*) FROM inbox WHERE consumer = $1 AND event_id = ANY($2::uuid[])",
                               group, ours) == 2  # none for the poison: a replay of its dead letter applies it
