"""The gauges' readings on the real broker and PostgreSQL: the outbox backlog and its oldest row's age,
the pool, a group's lag, and the dead letters of its topics, waiting until `recruit dlq discard` deals
with them."""

from __future__ import annotations

import uuid

import pytest

from shared import db
from shared.broker import ensure_topics, make_producer
from shared.events import SCREENING_COMPLETED, dead_letter_topic
from shared.measurements import KafkaReadings, measure_outbox, measure_pool
from shared.metrics import (
    CONSUMER_LAG,
    DB_POOL_CONNECTIONS,
    DB_POOL_IN_USE,
    DB_POOL_MAX,
    DEAD_LETTERS,
    DEAD_LETTERS_WAITING,
    OUTBOX_OLDEST_AGE,
    OUTBOX_UNPUBLISHED,
)
from shared.runtime import operations

SCHEMA = "placement"  # a schema with an outbox; these tests write their own rows into it


def value(gauge, *labels: str) -> float:
    return gauge.labels(*labels)._value.get()


@pytest.fixture(scope="module")
async def pool(stack):
    await db.migrate(stack.database_url, SCHEMA)
    await ensure_topics(stack.kafka_bootstrap_servers, 2)
    pool = await db.create_pool(stack.database_url, SCHEMA, max_size=4)
    yield pool
    await pool.close()


async def add_outbox_row(pool, seconds_old: float) -> None:
    await pool.execute(
        "INSERT INTO outbox (event_id, event_type, topic, key, payload, created_at)"
        " VALUES ($1, 'placement.changed', 'placement.changed', 'k', '{}', now() - make_interval(secs => $2))",
        uuid.uuid4(), seconds_old)


async def test_outbox_backlog_counts_unpublished_rows_and_ages_the_oldest(pool) -> None:
    await measure_outbox(pool, SCHEMA)
    assert value(OUTBOX_UNPUBLISHED, SCHEMA) == 0 and value(OUTBOX_OLDEST_AGE, SCHEMA) == 0
    await add_outbox_row(pool, 90)
    await add_outbox_row(pool, 5)
    await measure_outbox(pool, SCHEMA)
    assert value(OUTBOX_UNPUBLISHED, SCHEMA) == 2
    assert 90 <= value(OUTBOX_OLDEST_AGE, SCHEMA) < 120
    await pool.execute("DELETE FROM outbox_pending")
    await measure_outbox(pool, SCHEMA)
    assert value(OUTBOX_UNPUBLISHED, SCHEMA) == 0 and value(OUTBOX_OLDEST_AGE, SCHEMA) == 0


async def test_pool_gauges_count_connections_in_use(pool) -> None:
    async with pool.acquire(), pool.acquire():
        measure_pool(pool, SCHEMA)
        assert value(DB_POOL_IN_USE, SCHEMA) == 2
        assert value(DB_POOL_CONNECTIONS, SCHEMA) >= 2
    measure_pool(pool, SCHEMA)
    assert value(DB_POOL_IN_USE, SCHEMA) == 0 and value(DB_POOL_MAX, SCHEMA) == 4


async def test_lag_and_dead_letters_until_discarded(stack, pool) -> None:
    servers = stack.kafka_bootstrap_servers
    readings = KafkaReadings(servers, "placement", [SCREENING_COMPLETED])
    try:
        await readings.measure()
        assert value(CONSUMER_LAG, "placement", SCREENING_COMPLETED) == 0
        assert value(DEAD_LETTERS, SCREENING_COMPLETED) == 0
        producer = make_producer(servers, "test")
        await producer.start()
        try:
            for i in range(3):  # no placement consumer runs here: all three wait
                await producer.send_and_wait(SCREENING_COMPLETED, b"{}", key=f"k{i}".encode())
            for i in range(2):
                await producer.send_and_wait(dead_letter_topic(SCREENING_COMPLETED), b"not an event", key=b"k")
        finally:
            await producer.stop()
        await readings.measure()
        assert value(CONSUMER_LAG, "placement", SCREENING_COMPLETED) == 3
        assert value(DEAD_LETTERS, SCREENING_COMPLETED) == 2
        assert value(DEAD_LETTERS_WAITING, SCREENING_COMPLETED) == 2

        discarded = await operations.discard_dead_letters(servers, SCREENING_COMPLETED)
        assert len(discarded) == 2
        await readings.measure()
        assert value(DEAD_LETTERS, SCREENING_COMPLETED) == 2, "they stay listed"
        assert value(DEAD_LETTERS_WAITING, SCREENING_COMPLETED) == 0
        assert await operations.discard_dead_letters(servers, SCREENING_COMPLETED) == []
    finally:
        await readings.close()

