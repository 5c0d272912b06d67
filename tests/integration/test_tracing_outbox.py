"""Trace context through the outbox against the real PostgreSQL and broker: add_events keeps the writing span's
traceparent with each row (both its INSERT and its COPY paths) and the relay sends it as a Kafka header; with
tracing off the column stays NULL and no header is sent."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer
from opentelemetry.sdk.trace import TracerProvider

from shared import tracing
from shared.broker import ensure_topics, make_producer
from shared.events import APPLICATIONS_ERASED
from shared.outbox import OutboxRelay, add_events
from tests.integration.test_outbox_inbox import erased_event
from tests.support import eventually, migrated_pool

SCHEMA = "placement"  # any service schema has the outbox


@pytest.fixture(scope="module")
async def pool(stack):
    async with migrated_pool(stack.database_url, SCHEMA) as pool:
        yield pool


async def publish(stack, pool, events: list) -> dict[bytes, dict[str, bytes]]:
    """Relay the outbox and return the headers of these events' records, by value."""
    producer = make_producer(stack.kafka_bootstrap_servers, "test")
    await producer.start()
    relay = OutboxRelay(pool, producer, SCHEMA, batch_size=100, poll_seconds=0.2)
    task = asyncio.create_task(relay.run())
    try:
        ids = [e.event_id for e in events]
        await eventually(lambda: pool.fetchval(
            "SELECT count(*) = 0 FROM outbox JOIN outbox_pending USING (id) WHERE event_id = ANY($1::uuid[])", ids))
    finally:
        relay.stop()
        await task
        await producer.stop()
    values = {e.to_json().encode() for e in events}
    consumer = AIOKafkaConsumer(APPLICATIONS_ERASED, bootstrap_servers=stack.kafka_bootstrap_servers,
                                group_id=f"check-{uuid.uuid4()}", auto_offset_reset="earliest")
    await consumer.start()
    found: dict[bytes, dict[str, bytes]] = {}
    try:
        async with asyncio.timeout(15):
            while len(found) < len(values):
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    found.update((r.value, dict(r.headers)) for r in records if r.value in values)
    finally:
        await consumer.stop()
    return found


async def test_the_traceparent_travels_from_the_outbox_row_to_the_kafka_header(stack, pool) -> None:
    await ensure_topics(stack.kafka_bootstrap_servers, 3)
    tracing.use(TracerProvider())
    try:
        few, many = [erased_event() for _ in range(3)], [erased_event() for _ in range(60)]  # INSERT, then COPY
        with tracing.span("erasure request"):
            traceparent = tracing.current_traceparent()
            async with pool.acquire() as conn, conn.transaction():
                await add_events(conn, few)
                await add_events(conn, many)
        stored = await pool.fetch("SELECT traceparent FROM outbox WHERE event_id = ANY($1::uuid[])",
                                  [e.event_id for e in few + many])
        assert [row["traceparent"] for row in stored] == [traceparent] * 63
        headers = await publish(stack, pool, few + many)
        assert len(headers) == 63
        assert all(h["traceparent"] == traceparent.encode() for h in headers.values())
    finally:
        tracing.use(None)


async def test_untraced_rows_carry_no_context(stack, pool) -> None:
    await ensure_topics(stack.kafka_bootstrap_servers, 3)
    events = [erased_event() for _ in range(2)]
    async with pool.acquire() as conn, conn.transaction():
        await add_events(conn, events)
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE event_id = ANY($1::uuid[])"
                               " AND traceparent IS NULL", [e.event_id for e in events]) == 2
    headers = await publish(stack, pool, events)
    assert [sorted(h) for h in headers.values()] == [["event_type"], ["event_type"]]
