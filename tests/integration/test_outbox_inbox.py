"""Outbox relay and inbox against the real broker and PostgreSQL: order, batching, outage, dedupe."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timezone

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.partitioner import DefaultPartitioner

from shared import db, inbox
from shared.broker import ensure_topics, make_producer
from shared.events import APPLICATIONS_ERASED, ApplicationErased, new_event
from shared.outbox import OutboxRelay, add_events, notify_channel
from shared.runtime.infra import EmbeddedKafka
from tests.support import eventually, migrated_pool

SCHEMA = "intake"  # any service schema has the outbox and inbox tables


@pytest.fixture(scope="module")
async def pool(stack):
    async with migrated_pool(stack.database_url, SCHEMA) as pool:
        yield pool


def erased_event():
    return new_event("intake", uuid.uuid4(), ApplicationErased(erased_at=datetime.now(timezone.utc)))


async def consume_all(servers: str, topic: str, expected: int, timeout: float = 15.0) -> list:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=servers, group_id=f"check-{uuid.uuid4()}",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    got = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(got) < expected and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                got.extend(records)
    finally:
        await consumer.stop()
    return got


async def test_relay_publishes_in_order_and_marks_rows(stack, pool) -> None:
    await ensure_topics(stack.kafka_bootstrap_servers, 3)
    producer = make_producer(stack.kafka_bootstrap_servers, "test")
    await producer.start()
    relay = OutboxRelay(pool, producer, SCHEMA, batch_size=100, poll_seconds=0.2)
    task = asyncio.create_task(relay.run())
    try:
        app_id = uuid.uuid4()
        events = [new_event("intake", app_id, ApplicationErased(erased_at=datetime(2026, 1, 1, 0, 0, i, tzinfo=timezone.utc)))
                  for i in range(5)] + [erased_event() for _ in range(245)]
        async with pool.acquire() as conn, conn.transaction():
            await add_events(conn, events)
        await eventually(lambda: _unpublished_is(pool, 0))
        records = await consume_all(stack.kafka_bootstrap_servers, APPLICATIONS_ERASED, 250)
        ids = [r.value for r in records]
        assert len(ids) == 250
        same_key = [r for r in records if r.key == str(app_id).encode()]
        # One key, one partition, outbox order.
        assert [r.value for r in same_key] == [e.to_json().encode() for e in events[:5]]
        assert {r.headers[0] for r in records} == {("event_type", b"application.erased")}
        # Every record sits where a keyed send by any Kafka client would have put it.
        assert all(r.partition == DefaultPartitioner()(r.key, [0, 1, 2], [0, 1, 2]) for r in records)
        assert len({r.partition for r in records}) == 3
    finally:
        relay.stop()
        await task
        await producer.stop()


# What no relay ran for here must not wait for the next test's relay and broker.
DROP_UNRELAYED = ("WITH gone AS (DELETE FROM outbox_pending RETURNING id)"
                  " DELETE FROM outbox WHERE id IN (SELECT id FROM gone)")


async def _unpublished_is(pool: asyncpg.Pool, n: int) -> bool:
    return await pool.fetchval("SELECT count(*) FROM outbox_pending") == n


async def test_rolled_back_transaction_publishes_nothing(pool) -> None:
    before = await pool.fetchval("SELECT count(*) FROM outbox")
    with pytest.raises(RuntimeError):
        async with pool.acquire() as conn, conn.transaction():
            await add_events(conn, [erased_event()])
            raise RuntimeError("the state change failed")
    assert await pool.fetchval("SELECT count(*) FROM outbox") == before


async def test_every_event_written_waits_in_the_work_list_until_relayed(pool) -> None:
    """The outbox trigger puts every row a statement adds, by INSERT or COPY, on the relay's work list
    (outbox_pending) in the writer's transaction: a rollback leaves neither."""
    pending_before = await pool.fetchval("SELECT count(*) FROM outbox_pending")
    try:
        async with pool.acquire() as conn, conn.transaction():
            await add_events(conn, [erased_event()])
            await add_events(conn, [erased_event() for _ in range(60)])
        with pytest.raises(RuntimeError):
            async with pool.acquire() as conn, conn.transaction():
                await add_events(conn, [erased_event() for _ in range(60)])
                raise RuntimeError("the state change failed")
        assert await pool.fetchval("SELECT count(*) FROM outbox_pending") == pending_before + 61
        assert await pool.fetchval("SELECT count(*) FROM outbox_pending p WHERE NOT EXISTS"
                                   " (SELECT FROM outbox o WHERE o.id = p.id)") == 0
    finally:
        await pool.execute(DROP_UNRELAYED)


async def test_a_commit_that_adds_events_notifies_its_schemas_relay_once(pool) -> None:
    """The outbox table's trigger notifies the relay of its own schema, at commit only and once a
    transaction, whether the rows came by INSERT (a few) or COPY (many); another service's relay,
    listening in the same database, hears nothing."""
    notified: list[str] = []
    channels = (notify_channel(SCHEMA), notify_channel("placement"))

    def on_notify(_connection, _pid, channel: str, _payload: str) -> None:
        notified.append(channel)

    listener = await pool.acquire()
    for channel in channels:
        await listener.add_listener(channel, on_notify)
    try:
        async with pool.acquire() as conn, conn.transaction():
            await add_events(conn, [erased_event()])
            await add_events(conn, [erased_event() for _ in range(60)])
            await listener.execute("SELECT 1")  # a round trip on the listener: nothing has arrived yet
            assert notified == []
        await eventually(lambda: _true(len(notified) == 1))
        with pytest.raises(RuntimeError):
            async with pool.acquire() as conn, conn.transaction():
                await add_events(conn, [erased_event()])
                raise RuntimeError("the state change failed")
        async with pool.acquire() as conn, conn.transaction():
            await add_events(conn, [erased_event() for _ in range(60)])
        await eventually(lambda: _true(len(notified) == 2))
        await asyncio.sleep(0.3)
        assert notified == [notify_channel(SCHEMA)] * 2, "the rolled-back transaction notified nobody"
    finally:
        for channel in channels:
            await listener.remove_listener(channel, on_notify)
        await pool.release(listener)
        await pool.execute(DROP_UNRELAYED)


async def _true(value: bool) -> bool:
    return value


async def test_relay_survives_a_broker_outage(stack, pool, tmp_path) -> None:
    broker = EmbeddedKafka(tmp_path)
    broker.start()
    producer = make_producer(broker.bootstrap_servers, "test")
    await producer.start()
    relay = OutboxRelay(pool, producer, SCHEMA, batch_size=50, poll_seconds=0.2)
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: _unpublished_is(pool, 0))
        broker.stop()
        async with pool.acquire() as conn, conn.transaction():
            await add_events(conn, [erased_event() for _ in range(20)])
        await asyncio.sleep(3)
        assert await pool.fetchval("SELECT count(*) FROM outbox_pending") == 20
        assert not task.done(), "the relay must keep retrying, not die"
        broker.start()  # same port, an empty broker
        await ensure_topics(broker.bootstrap_servers, 3)
        await eventually(lambda: _unpublished_is(pool, 0), timeout=40)
        assert len(await consume_all(broker.bootstrap_servers, APPLICATIONS_ERASED, 20)) >= 20
    finally:
        relay.stop()
        await asyncio.wait_for(task, 15)
        await producer.stop()
        broker.stop()


async def test_inbox_claims_an_event_once_even_concurrently(pool) -> None:
    envelope = erased_event()
    event = (envelope, envelope.payload())

    async def deliver() -> bool:
        async with inbox.first_deliveries(pool, "test-consumer", [event, event]) as (_, new):
            await asyncio.sleep(0.2)  # hold the transaction so the three deliveries overlap
            return len(new)

    results = await asyncio.gather(deliver(), deliver(), deliver())
    assert sorted(results) == [0, 0, 1], "one delivery applies it, once although it came twice in its batch"
    async with pool.acquire() as conn, conn.transaction():
        assert await inbox.claim_many(conn, "test-consumer", [envelope]) == set()
        assert await inbox.claim_many(conn, "another-consumer", [envelope]) == {envelope.event_id}


async def test_a_batch_partly_delivered_before_claims_only_its_new_events_and_goes_on(pool) -> None:
    """The claim writes a batch by COPY and falls back to skipping claimed rows on a conflict: the
    fallback claims exactly the new events, and the transaction goes on to commit what follows."""
    old, new_one, new_two = erased_event(), erased_event(), erased_event()
    async with pool.acquire() as conn, conn.transaction():
        assert await inbox.claim_many(conn, "test-consumer", [old]) == {old.event_id}
    async with pool.acquire() as conn, conn.transaction():
        claimed = await inbox.claim_many(conn, "test-consumer", [new_one, old, new_two, new_one])
        assert claimed == {new_one.event_id, new_two.event_id}
        # the use case's own write, after the fallback
        await conn.execute("INSERT INTO outbox (event_id, event_type, topic, key, payload)"
                           " VALUES ($1, 't', 't', 'k', '{}')", new_one.event_id)
    async with pool.acquire() as conn:
        assert await conn.fetchval(
            "SELECT count(*) FROM inbox WHERE consumer = 'test-consumer' AND event_id = ANY($1)",
            [old.event_id, new_one.event_id, new_two.event_id]) == 3
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE event_id = $1", new_one.event_id) == 1
    # Two overlapping batches at once: each event is claimed by exactly one of them.
    first, shared, last = erased_event(), erased_event(), erased_event()

    async def deliver(batch) -> set:
        async with inbox.first_deliveries(pool, "test-consumer", [(e, e.payload()) for e in batch]) as (_, fresh):
            await asyncio.sleep(0.2)
            return {envelope.event_id for envelope, _ in fresh}

    one, other = await asyncio.gather(deliver([first, shared]), deliver([shared, last]))
    assert not one & other and one | other == {first.event_id, shared.event_id, last.event_id}


async def test_migrations_are_safe_twice_and_concurrently(stack) -> None:
    first, second = await asyncio.gather(db.migrate(stack.database_url, "placement"),
                                         db.migrate(stack.database_url, "placement"))
    assert sorted([len(first), len(second)])[0] == 0, "only one runner applies the files"
    applied = first or second
    shared_files = sorted(db.SHARED_MIGRATIONS.glob("*.sql"))
    own_files = sorted(db.SERVICES_DIR.joinpath("placement", "migrations").glob("*.sql"))
    assert applied == [f"shared/{p.name}" for p in shared_files] + [f"placement/{p.name}" for p in own_files]
    assert await db.migrate(stack.database_url, "placement") == []
