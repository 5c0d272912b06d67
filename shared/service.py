"""Service runtime: what one running service holds (settings, pool, broker, outbox relay, consumer,
background jobs) and the order it starts and stops them in. Each service's app.py wires it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg
from faststream.kafka import KafkaBroker

from shared import db, inbox, tracing
from shared.broker import BatchHandler, Consumer, ensure_topics, make_broker, make_producer
from shared.events import CONSUMED_TOPICS, EVENT_TYPE_OF, EVENTS, EventData
from shared.measurements import KafkaReadings, measure_outbox, measure_pool
from shared.metrics import READY
from shared.outbox import OutboxRelay
from shared.retention import trim_outbox_payloads
from shared.settings import Settings

log = logging.getLogger(__name__)

# How long stopping waits for the consumers (their batch in hand, the group's leave and commit). A
# consumer caught re-joining its group, as when another member was killed, can otherwise wait for
# ever; a batch it did not commit comes again and the inbox skips what was applied.
CONSUMER_STOP_SECONDS = 8.0

# A background job runs for the life of the process (screening's release of deferred cases,
# placement's re-placement of marked states, reporting's live summary); see each service's jobs.py.
Job = Callable[["Runtime"], Awaitable[None]]


@dataclass
class Runtime:
    """One service's running parts; routes reach it as request.app.state.runtime."""

    service: str
    settings: Settings
    broker: KafkaBroker = field(init=False)
    pool: asyncpg.Pool | None = None
    relay: OutboxRelay | None = None
    tasks: list[asyncio.Task] = field(default_factory=list)

    def __post_init__(self) -> None:
        # aiokafka logs whole message values at DEBUG, and those carry names and phones: even
        # LOG_LEVEL=DEBUG must not put them in a log.
        aiokafka_log = logging.getLogger("aiokafka")
        aiokafka_log.setLevel(max(logging.INFO, aiokafka_log.getEffectiveLevel()))
        self.broker = make_broker(self.settings.kafka_bootstrap_servers or "localhost:9092", self.service)
        tracing.setup(self.service, self.settings.otel_exporter_otlp_endpoint, self.settings.trace_file)

    def db(self) -> asyncpg.Pool:
        assert self.pool is not None, "the pool exists once the service has started"
        return self.pool

    def consume(self, handle: BatchHandler) -> Consumer:
        """Subscribe this service's consumer group to the topics SPEC gives it (CONSUMED_TOPICS)."""
        return Consumer(self.broker, group=self.service, topics=CONSUMED_TOPICS[self.service], handle=handle)

    def publishes(self, *events: type[EventData]) -> None:
        """Document the topics this service's outbox relay publishes to (the relay sends with plain
        aiokafka; these declarations are the channels /asyncapi.json shows, shared.asyncapi their messages)."""
        for event in events:
            event_type = EVENT_TYPE_OF[event]
            topic = EVENTS[event_type][0]
            self.broker.publisher(topic, title=f"{self.service}:{topic}",
                                  description=f"{event_type} events inside the SPEC envelope")

    async def readiness(self) -> dict[str, bool]:
        """Whether the database and the broker answer (within 2 and 3 s); /readyz answers it and the
        measuring job exports it as recruit_ready."""
        checks = {"database": False, "broker": False}
        with contextlib.suppress(Exception):
            checks["database"] = await asyncio.wait_for(self.db().fetchval("SELECT true"), 2)
        with contextlib.suppress(Exception):
            checks["broker"] = await asyncio.wait_for(self.broker.ping(timeout=2), 3)
        READY.labels(self.service).set(all(checks.values()))
        return checks

    async def start(self, jobs: Sequence[Job] = ()) -> None:
        """Database (created, migrated, pooled), topics, the outbox relay, jobs, then consumers."""
        dsn = self.settings.database_dsn()
        servers = self.settings.kafka_servers()
        await db.ensure_database(dsn)
        await db.migrate(dsn, self.service)
        self.pool = await db.create_pool(dsn, self.service, max_size=self.settings.db_pool_max)
        await ensure_topics(servers, self.settings.kafka_topic_partitions)
        self._producer = make_producer(servers, self.service)
        await self._producer.start()
        self.relay = OutboxRelay(self.pool, self._producer, self.service, batch_size=self.settings.outbox_batch_size,
                                 poll_seconds=self.settings.outbox_poll_seconds)
        self._relay_task = asyncio.create_task(self.relay.run(), name=f"{self.service}-outbox-relay")
        jobs = [*jobs, trim_outbox_payloads, measure]  # every service's outbox and gauges
        if self.service in CONSUMED_TOPICS:
            jobs = [*jobs, prune_inbox]
        for job in jobs:
            self.tasks.append(asyncio.create_task(job(self), name=f"{self.service}-{job.__name__}"))
        await self.broker.start()
        log.info("%s started", self.service)

    async def stop(self) -> None:
        """Consumers first (their batch in hand finishes and commits), then jobs, then the relay
        (its current batch completes or rolls back), then connections."""
        try:
            await asyncio.wait_for(self.broker.stop(), CONSUMER_STOP_SECONDS)
        except asyncio.TimeoutError:
            log.warning("%s: the consumers did not stop within %.0f s; stopping without them", self.service,
                        CONSUMER_STOP_SECONDS)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.relay is not None:
            self.relay.stop()
            with contextlib.suppress(asyncio.TimeoutError, Exception):
                await asyncio.wait_for(self._relay_task, 10)
            await self._producer.stop()
        if self.pool is not None:
            await self.pool.close()
        tracing.flush()
        log.info("%s stopped", self.service)


async def prune_inbox(runtime: Runtime) -> None:
    """Every INBOX_PRUNE_SECONDS, forget the inbox rows no redelivery can need any more (shared.inbox.prune)."""
    retention = timedelta(days=runtime.settings.inbox_retention_days)
    while True:
        try:
            pruned = await inbox.prune(runtime.db(), retention)
            if pruned:
                log.info("%s: pruned %d inbox rows older than %s", runtime.service, pruned, retention)
        except Exception as error:  # the database may be away; the next round tries again
            log.warning("%s: pruning the inbox failed (%s: %s)", runtime.service, type(error).__name__, error)
        await asyncio.sleep(runtime.settings.inbox_prune_seconds)


async def measure(runtime: Runtime) -> None:
    """Every METRICS_POLL_SECONDS, the gauges of shared.metrics: readiness, the pool, the outbox backlog and,
    for a consumer, its group's lag and its topics' dead letters. A reading that fails (the database or
    the broker is away) leaves its gauges at their last values and is said once, not every round."""
    service = runtime.service
    kafka = None
    if service in CONSUMED_TOPICS:
        kafka = KafkaReadings(runtime.settings.kafka_servers(), service, CONSUMED_TOPICS[service])
    failing: set[str] = set()

    async def reading(name: str, read: Awaitable[None]) -> None:
        try:
            await read
            failing.discard(name)
        except Exception as error:
            if name not in failing:
                log.warning("%s: %s unavailable for /metrics (%s: %s)", service, name, type(error).__name__, error)
            failing.add(name)

    try:
        while True:
            # First wait: the service is still starting (its consumers not yet), and an absent gauge says
            # "not measured yet" where a first reading would say "not ready".
            await asyncio.sleep(runtime.settings.metrics_poll_seconds)
            await runtime.readiness()
            measure_pool(runtime.db(), service)
            await reading("outbox backlog", measure_outbox(runtime.db(), service))
            if kafka is not None:
                await reading("consumer lag and dead letters", kafka.measure())
    finally:
        if kafka is not None:
            await kafka.close()
