"""Transactional outbox: events written with the state change that caused them, and the relay to Kafka."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta

import asyncpg
from aiokafka import AIOKafkaProducer
from murmurhash2 import murmurhash2

from shared import tracing
from shared.events import Envelope
from shared.metrics import OUTBOX_PUBLISHED

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 10.0
KAFKA_MURMUR2_SEED = 0x9747B28C
COLUMNS = ("event_id", "event_type", "topic", "key", "payload")


def notify_channel(schema: str) -> str:
    """The channel the outbox table's trigger of `schema` notifies at each commit that adds rows
    (shared/migrations/006_outbox_pending.sql): the relay of that schema, and no other, listens on it."""
    return f"outbox.{schema}"


def kafka_partition(key: bytes, partition_count: int) -> int:
    """The partition Kafka's default partitioner (Java's and aiokafka's) gives a keyed record.

    Same murmur2 and seed, positive, modulo the partition count; from a C library because
    aiokafka's pure-Python murmur2 was the relay's largest cost (about 6 µs a record).
    """
    return (murmurhash2(key, KAFKA_MURMUR2_SEED) & 0x7FFFFFFF) % partition_count


async def add_events(conn: asyncpg.Connection, events: Sequence[Envelope]) -> None:
    """Write events into the caller's transaction; they reach Kafka only if it commits."""
    await add_rows(conn, [(e.event_id, e.event_type, e.topic, e.kafka_key(), e.to_json()) for e in events],
                   tracing.traceparents_of(events))


async def add_rows(conn: asyncpg.Connection, rows: Sequence[tuple], traceparents: Sequence[str | None] | None
                   ) -> None:
    """Write outbox rows (COLUMNS: event id, event type, topic, key, the envelope's JSON) into the caller's
    transaction, each with its traceparent; None, and no column, when tracing is off. For a producer that
    has its events' rows at hand (a bulk import) rather than Envelopes; add_events writes through it."""
    if not rows:
        return
    columns = COLUMNS
    if traceparents is not None:
        rows, columns = [(*row, tp) for row, tp in zip(rows, traceparents)], (*COLUMNS, "traceparent")
    if len(rows) > 50:
        # COPY is several times faster than INSERT for bulk imports.
        await conn.copy_records_to_table("outbox", records=rows, columns=columns)
    else:
        await conn.executemany(
            f"INSERT INTO outbox ({', '.join(columns)})"
            f" VALUES ({', '.join(f'${n}' for n in range(1, len(columns) + 1))})",
            rows,
        )


async def queue_unapplied(conn: asyncpg.Connection, consumed_topics: Mapping[str, Sequence[str]],
                          within: timedelta) -> int:
    """Queue again the published events of this schema's outbox that some consumer has not applied.

    For a fresh (memory-only) broker, which lacks everything sent before: an event one of its
    consumers (service name -> topics, each with an inbox in the schema of that name, in this
    database) has not claimed is sent again; one every consumer has applied stays published, so a
    restart costs what was in flight, not the whole history. Consumers are idempotent, so a
    replayed event they did apply in the meantime changes nothing.

    Only events created `within` the inbox retention are considered: an older event's inbox rows
    may have been pruned (shared.inbox.prune), and "no row" would then not mean "not applied".
    """
    args: list = [within]
    unapplied = []
    for consumer, topics in consumed_topics.items():
        args += [list(topics), consumer]
        unapplied.append(
            f"(o.topic = ANY(${len(args) - 1}::text[]) AND NOT EXISTS ("
            f'SELECT FROM "{consumer}".inbox i WHERE i.consumer = ${len(args)} AND i.event_id = o.event_id))')
    if not unapplied:
        return 0
    status = await conn.execute(
        "INSERT INTO outbox_pending SELECT o.id FROM outbox o WHERE o.created_at >= now() - $1::interval"
        " AND (" + " OR ".join(unapplied) + ") ON CONFLICT (id) DO NOTHING",
        *args,
    )
    return int(status.split()[-1])


# The oldest pending rows, deleted from the work list (shared/migrations/006_outbox_pending.sql), with
# what the relay sends of each. Both look-ups are arrays computed once: with `IN (SELECT ... LIMIT)` a
# planner that believed the work list empty (statistics from a quiet moment) re-ran the subquery for
# every row, seconds a batch.
_TAKE_PENDING = (
    "WITH taken AS (DELETE FROM outbox_pending"
    " WHERE id = ANY (ARRAY(SELECT id FROM outbox_pending ORDER BY id LIMIT $1)) RETURNING id)"
    " SELECT id, topic, key, payload, event_type, traceparent FROM outbox"
    " WHERE id = ANY (ARRAY(SELECT id FROM taken)) ORDER BY id"
)


class OutboxRelay:
    """Publishes pending outbox rows in id order, in batches, taking them off the work list (outbox_pending).

    One relay per schema publishes at a time (a transaction-scoped advisory lock), so several
    replicas never interleave and a key's events keep their order. A broker outage rolls the
    batch back; the relay retries with exponential backoff and nothing is lost. A crash between
    the send and the commit re-sends the batch: delivery is at least once, consumers dedupe.
    """

    def __init__(self, pool: asyncpg.Pool, producer: AIOKafkaProducer, schema: str, *,
                 batch_size: int = 1000, poll_seconds: float = 0.5) -> None:
        self.pool = pool
        self.producer = producer
        self.schema = schema
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._stopping = False

    async def publish_batch(self) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || '.outbox'))"):
                return 0
            # Taken off the work list as they are read: this transaction commits only once Kafka has
            # acknowledged every row, so a failed send rolls the deletion back and they stay pending.
            rows = await conn.fetch(_TAKE_PENDING, self.batch_size)
            if not rows:
                return 0
            acks = await self.send(rows)
            await acks
        OUTBOX_PUBLISHED.labels(self.schema).inc(len(rows))
        return len(rows)

    async def send(self, rows: Sequence[asyncpg.Record]) -> asyncio.Future:
        """Send rows as one record batch per partition; returns what to await for every ack.

        One producer.send() per message costs about twice the Python time of filling batches
        directly. Partitions come from the key with Kafka's default partitioner (murmur2), as a
        keyed send() would choose; rows are appended in id order and aiokafka keeps one batch in
        flight per partition, so a key's events keep their order.
        """
        traced = tracing.enabled()  # the row's W3C context rides along as a `traceparent` header
        partition_counts: dict[str, int] = {}
        open_batches: dict[tuple[str, int], object] = {}
        sends = []
        for row in rows:
            topic, key = row["topic"], row["key"].encode()
            if topic not in partition_counts:
                partition_counts[topic] = len(await self.producer.partitions_for(topic))
            partition = kafka_partition(key, partition_counts[topic])
            value, headers = row["payload"].encode(), [("event_type", row["event_type"].encode())]
            if traced and row["traceparent"]:
                headers.append((tracing.TRACEPARENT, row["traceparent"].encode()))
            batch = open_batches.get((topic, partition))
            if batch is None or batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                if batch is not None:  # full: send it and start the next one
                    sends.append(await self.producer.send_batch(batch, topic, partition=partition))
                batch = open_batches[(topic, partition)] = self.producer.create_batch()
                batch.append(key=key, value=value, timestamp=None, headers=headers)
        for (topic, partition), batch in open_batches.items():
            sends.append(await self.producer.send_batch(batch, topic, partition=partition))
        return asyncio.gather(*sends)

    async def pending(self) -> int:
        return await self.pool.fetchval("SELECT count(*) FROM outbox_pending")

    def _on_notify(self, *_args: object) -> None:
        self._wake.set()

    async def run(self) -> None:
        listener = await self.pool.acquire()
        await listener.add_listener(notify_channel(self.schema), self._on_notify)
        backoff = 0.5
        try:
            while not self._stopping:
                try:
                    published = await self.publish_batch()
                    backoff = 0.5
                except Exception as error:  # any failure leaves the rows unpublished for the next try
                    if self._stopping:
                        break
                    log.warning("outbox relay: publish failed (%s); retrying in %.1fs",
                                type(error).__name__, backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                    continue
                if published >= self.batch_size:
                    continue  # more is waiting: no pause between full batches
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
                except asyncio.TimeoutError:
                    pass
        finally:
            try:
                await listener.remove_listener(notify_channel(self.schema), self._on_notify)
            finally:
                await self.pool.release(listener)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
