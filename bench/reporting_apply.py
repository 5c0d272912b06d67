"""Bench: events/s that reporting applies (usecases.apply_events: inbox claim, projection + counters, one
transaction) against the same shared Consumer with a use case that only claims the events in the inbox,
in the same run on the same events.

Each application brings two events, as in a campaign: applications.submitted, then screening.queued.
The ratio is what reporting's own work costs on top of the consume loop (batch, parse, inbox claim,
commit). Medians of several runs. Uses DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS if set, else embedded.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import tempfile
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaProducer
from consumer_throughput import (
    events_per_second,  # bench/ is on the path when run as a script
)

from services.reporting import usecases
from services.reporting.store import Store
from shared import db
from shared.broker import ensure_topics
from shared.events import (
    APPLICATIONS_SUBMITTED,
    SCREENING_QUEUED,
    ApplicationSubmitted,
    ScreeningQueued,
    new_event,
)
from shared.geography import STATES
from shared.runtime.infra import start_infrastructure
from shared.unit_of_work import UnitOfWork

SCHEMA = "reporting"
TOPICS = [APPLICATIONS_SUBMITTED, SCREENING_QUEUED]
PHONE_HASH_KEY = b"bench-hash-key"  # a running reporting always has one (`recruit service` insists)


def reporting_apply(inbox_name: str):
    """Reporting's consumer use case as consumer_throughput's `apply`, under an inbox name of its own
    per run: the runs replay the same events, and a name already used would turn them all away."""
    async def apply(pool, events) -> None:
        await usecases.apply_events(UnitOfWork(pool, Store), events, PHONE_HASH_KEY, consumer=inbox_name)
    return apply


async def publish(servers: str, applications: int) -> int:
    rng = random.Random(7)
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    producer = AIOKafkaProducer(bootstrap_servers=servers, linger_ms=5)
    await producer.start()
    sends = []
    for i in range(applications):
        state = rng.choice(list(STATES))
        district = rng.choice(STATES[state].districts)
        application_id = uuid.uuid4()
        at = start + timedelta(seconds=20 * i)
        submitted = new_event("bench", application_id, ApplicationSubmitted(
            full_name="Asha Meena", phone=f"+9198{i:08d}", state=state, district=district, age=30,
            submitted_at=at))
        queued = new_event("bench", application_id, ScreeningQueued(state=state, status="queued", reason="bench"))
        for event, topic in ((submitted, APPLICATIONS_SUBMITTED), (queued, SCREENING_QUEUED)):
            sends.append(await producer.send(topic, event.to_json().encode(), key=event.kafka_key().encode()))
    await asyncio.gather(*sends)
    await producer.stop()
    return len(sends)


async def reset_projection(dsn: str) -> None:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": SCHEMA})
    try:
        await conn.execute("TRUNCATE applications, state_counts, district_counts, daily_counts;"
                           " UPDATE summary SET applications = 0, erased = 0, scheduled = 0, interviewed = 0,"
                           " selected = 0, rejected = 0, no_show = 0, queued = 0, deferred = 0,"
                           " awaiting_result = 0, placed = 0, waitlisted = 0, level_state = 0,"
                           " level_district = 0, level_block = 0")
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("faststream").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-reporting-") as tmp:
        infra = start_infrastructure(Path(tmp))
        try:
            dsn, servers = infra.database_url, infra.kafka_bootstrap_servers
            asyncio.run(db.migrate(dsn, SCHEMA))
            asyncio.run(ensure_topics(servers, 6))
            expected = asyncio.run(publish(servers, args.applications))
            reporting, bare = [], []
            for _ in range(args.runs):
                asyncio.run(reset_projection(dsn))
                apply = reporting_apply(f"bench-reporting-{uuid.uuid4()}")
                reporting.append(asyncio.run(events_per_second(dsn, servers, TOPICS, expected, apply=apply)))
                bare.append(asyncio.run(events_per_second(dsn, servers, TOPICS, expected)))
                print(f"  run: reporting {reporting[-1]:,.0f} events/s, bare consumer {bare[-1]:,.0f} events/s",
                      flush=True)
        finally:
            infra.stop()
    r, b = statistics.median(reporting), statistics.median(bare)
    print(f"reporting apply, {args.applications:,} applications ({expected:,} events on 6 partitions),"
          f" median of {args.runs} runs")
    print(f"  reporting (inbox claim, projection, counters):        {r:8,.0f} events/s")
    print(f"  same consumer, inbox claim only (baseline):           {b:8,.0f} events/s")
    print(f"  ratio: {r / b:.2f}")


if __name__ == "__main__":
    main()
