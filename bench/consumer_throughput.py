"""Bench: events/s through the shared Consumer (batch, inbox claim, handler, commit) against a raw
baseline in the same run (plain aiokafka getmany + one asyncpg INSERT per batch, auto-commit off,
commit per batch). Medians of several runs. DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS if set, else embedded.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared import db, inbox
from shared.broker import Consumer, ensure_topics, make_broker
from shared.events import SCREENING_QUEUED, ScreeningQueued, new_event
from shared.runtime.infra import start_infrastructure

SCHEMA = "reporting"


async def publish(servers: str, n: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=servers, linger_ms=5)
    await producer.start()
    events = [new_event("bench", uuid.uuid4(), ScreeningQueued(state="RJ", status="queued", reason="bench"))
              for _ in range(n)]
    sends = [await producer.send(SCREENING_QUEUED, e.to_json().encode(), key=e.kafka_key().encode()) for e in events]
    await asyncio.gather(*sends)
    await producer.stop()


async def events_per_second(dsn: str, servers: str, topics: list[str], expected: int, apply=None) -> float:
    """Events/s through the shared Consumer in a new group, from the start of `topics` until
    `expected` were handled: by `apply(pool, events)` (a service's consumer use case) or, without
    it, by a use case that only claims the events in the inbox and counts them."""
    pool = await db.create_pool(dsn, SCHEMA)
    done = 0
    group = f"bench-{uuid.uuid4()}"

    async def handle(events) -> None:
        nonlocal done
        if apply is not None:
            await apply(pool, events)
        else:
            async with inbox.first_deliveries(pool, group, events):
                pass
        done += len(events)

    broker = make_broker(servers, "bench")
    Consumer(broker, group=group, topics=topics, handle=handle)
    await broker.start()
    while done == 0:  # the clock starts at the first event: group join time is not throughput
        await asyncio.sleep(0.01)
    started, first = time.perf_counter(), done
    while done < expected:
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    await broker.stop()
    await pool.close()
    return (expected - first) / elapsed


async def raw_baseline(dsn: str, servers: str, n: int) -> float:
    pool = await db.create_pool(dsn, SCHEMA)
    consumer = AIOKafkaConsumer(SCREENING_QUEUED, bootstrap_servers=servers, group_id=f"raw-{uuid.uuid4()}",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    done, started, first = 0, None, 0
    while done < n:
        batches = await consumer.getmany(timeout_ms=200, max_records=500)
        records = [r for rs in batches.values() for r in rs]
        if not records:
            continue
        if started is None:
            started, first = time.perf_counter(), len(records)
        await pool.execute("INSERT INTO inbox (consumer, event_id, topic) SELECT 'raw', gen_random_uuid(), 'x'"
                           " FROM generate_series(1, $1)", len(records))
        await consumer.commit()
        done += len(records)
    elapsed = time.perf_counter() - started
    await consumer.stop()
    await pool.close()
    return (n - first) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("faststream").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-consumer-") as tmp:
        infra = start_infrastructure(Path(tmp))
        try:
            dsn, servers = infra.database_url, infra.kafka_bootstrap_servers
            asyncio.run(db.migrate(dsn, SCHEMA))
            asyncio.run(ensure_topics(servers, 6))
            asyncio.run(publish(servers, args.events))
            ours = [asyncio.run(events_per_second(dsn, servers, [SCREENING_QUEUED], args.events)) for _ in range(args.runs)]
            raw = [asyncio.run(raw_baseline(dsn, servers, args.events)) for _ in range(args.runs)]
        finally:
            infra.stop()
    o, r = statistics.median(ours), statistics.median(raw)
    print(f"consumer throughput, {args.events} events on 6 partitions, median of {args.runs} runs")
    print(f"  shared Consumer (FastStream batch, envelope parse, inbox claim, commit): {o:8,.0f} events/s")
    print(f"  raw aiokafka getmany + one INSERT per batch + commit:                    {r:8,.0f} events/s")
    print(f"  ratio: {o / r:.2f}")


if __name__ == "__main__":
    main()
