"""Bench: outbox relay throughput (rows -> Kafka, marked published) against raw aiokafka baselines.

Prints, for N events: the relay's events/s; plain aiokafka batched sends of the same payloads
(the ceiling); plain aiokafka one send_and_wait at a time (the naive way); and the ratios.
Medians of several runs. Uses DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS if set, else embedded.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from aiokafka import AIOKafkaProducer

from shared import db
from shared.broker import ensure_topics, make_producer
from shared.events import ApplicationErased, new_event
from shared.outbox import OutboxRelay, add_events
from shared.runtime.infra import start_infrastructure
from shared.settings import Settings

SCHEMA = "intake"


def events(n: int):
    now = datetime.now(timezone.utc)
    return [new_event("bench", uuid.uuid4(), ApplicationErased(erased_at=now)) for _ in range(n)]


async def relay_run(dsn: str, servers: str, n: int, batch_size: int) -> float:
    pool = await db.create_pool(dsn, SCHEMA)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("TRUNCATE outbox")
        await add_events(conn, events(n))
    producer = make_producer(servers, "bench")
    await producer.start()
    relay = OutboxRelay(pool, producer, SCHEMA, batch_size=batch_size, poll_seconds=0.05)
    started = time.perf_counter()
    while await relay.publish_batch():
        pass
    elapsed = time.perf_counter() - started
    assert await pool.fetchval("SELECT count(*) FROM outbox_pending") == 0
    await producer.stop()
    await pool.close()
    return n / elapsed


async def raw_batched(servers: str, n: int) -> float:
    payloads = [(e.kafka_key().encode(), e.to_json().encode()) for e in events(n)]
    producer = make_producer(servers, "bench-raw")
    await producer.start()
    started = time.perf_counter()
    futures = [await producer.send("applications.erased", value=v, key=k) for k, v in payloads]
    await asyncio.gather(*futures)
    elapsed = time.perf_counter() - started
    await producer.stop()
    return n / elapsed


async def raw_one_at_a_time(servers: str, n: int) -> float:
    payloads = [(e.kafka_key().encode(), e.to_json().encode()) for e in events(n)]
    # No linger: the naive client sends each message as soon as it has it.
    producer = AIOKafkaProducer(bootstrap_servers=servers, linger_ms=0, acks="all")
    await producer.start()
    started = time.perf_counter()
    for k, v in payloads:
        await producer.send_and_wait("applications.erased", value=v, key=k)
    elapsed = time.perf_counter() - started
    await producer.stop()
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=Settings().outbox_batch_size)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-outbox-") as tmp:
        infra = start_infrastructure(Path(tmp))
        try:
            dsn, servers = infra.database_url, infra.kafka_bootstrap_servers
            asyncio.run(db.migrate(dsn, SCHEMA))
            asyncio.run(ensure_topics(servers, 6))
            relay = [asyncio.run(relay_run(dsn, servers, args.events, args.batch_size)) for _ in range(args.runs)]
            batched = [asyncio.run(raw_batched(servers, args.events)) for _ in range(args.runs)]
            single = [asyncio.run(raw_one_at_a_time(servers, min(args.events, 2000))) for _ in range(args.runs)]
        finally:
            infra.stop()
    r, b, s = statistics.median(relay), statistics.median(batched), statistics.median(single)
    print(f"outbox relay, {args.events} events, batch {args.batch_size}, median of {args.runs} runs")
    print(f"  relay (read rows, send batch, await acks, mark published): {r:10,.0f} events/s")
    print(f"  raw aiokafka, batched sends (ceiling):                    {b:10,.0f} events/s")
    print(f"  raw aiokafka, one send_and_wait at a time:                {s:10,.0f} events/s")
    print(f"  relay / raw batched = {r / b:.2f};  relay / one-at-a-time = {r / s:.1f}x")


if __name__ == "__main__":
    main()
