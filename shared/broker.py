"""Broker wiring: the FastStream broker, topic creation, the relay's producer, and the consume loop
(decode -> dead-letter or inbox claim -> handler, one transaction, offset committed after it)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from shared import tracing
from shared.events import TOPICS, Event, InvalidEvent, dead_letter_topic, parse_event
from shared.metrics import EVENTS_CONSUMED
from shared.unit_of_work import ConcurrentChange

log = logging.getLogger(__name__)

# A consumer hands each batch of valid events, in delivery order, to one use case, which applies
# them in its own transaction with their inbox rows (shared.inbox.first_deliveries).
BatchHandler = Callable[[Sequence[Event]], Awaitable[None]]

# Failures worth waiting out (the database or network is away, or another transaction was in the
# way): retried without limit.
TRANSIENT_ERRORS = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.TooManyConnectionsError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.CannotConnectNowError,
    ConcurrentChange,
)
# Any other failure of a valid-looking event is retried this many times, then dead-lettered,
# so one poison message cannot stall its partition for ever.
MAX_ATTEMPTS = 5
# Events per transaction and offset commit: one commit per message caps a consumer near 150/s here.
BATCH_RECORDS = 2000
BATCH_TIMEOUT_MS = 100


def make_broker(bootstrap_servers: str, service: str) -> KafkaBroker:
    # Tansu has no idempotent producer, and the relay does its own batching anyway. FastStream's
    # per-message "Received/Processed" lines go to DEBUG: at lakhs of events they drown the log.
    return KafkaBroker(bootstrap_servers, client_id=f"recruit-{service}", enable_idempotence=False,
                       graceful_timeout=20.0, log_level=logging.DEBUG)


def make_producer(bootstrap_servers: str, service: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers, client_id=f"recruit-{service}-relay",
        acks="all", enable_idempotence=False, linger_ms=5, max_batch_size=512 * 1024,
        request_timeout_ms=10_000,
    )


async def ensure_topics(bootstrap_servers: str, partitions: int) -> None:
    """Create every topic and its dead-letter topic if missing (idempotent, any replica may run it)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="recruit-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [NewTopic(t, partitions, 1) for t in TOPICS if t not in existing]
        wanted += [NewTopic(dead_letter_topic(t), 1, 1) for t in TOPICS if dead_letter_topic(t) not in existing]
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass  # a replica created them between our list and create
    finally:
        await admin.close()


class Consumer:
    """Subscribes one consumer group to topics and hands each batch of valid events to its use case.

    Messages come in batches (up to BATCH_RECORDS). The use case applies a batch in one transaction
    with its inbox rows, so a redelivered event changes nothing. Any failure raises: the subscriber
    runs with NACK_ON_ERROR, so FastStream seeks every partition of the batch back to its first
    record and the batch comes again; offsets are committed only after this method returned, so
    after the use case's transaction committed.
    tests/integration/test_ack_semantics.py checks both against the real broker.

    When a batch fails for a reason other than an outage, which event is at fault is unknown: the
    batch comes again and its events are then handed over one at a time, so a poison event is
    retried and, after MAX_ATTEMPTS, dead-lettered alone, with no inbox row (a replay of the dead
    letter, once its cause is fixed, applies it).
    """

    def __init__(self, broker: KafkaBroker, *, group: str, topics: Sequence[str], handle: BatchHandler,
                 description: str = "") -> None:
        self.broker = broker
        self.group = group
        self.handle = handle
        self._attempts: dict[tuple[str, int, int], int] = {}
        self._one_at_a_time: set[tuple[str, int, int]] = set()  # positions of a batch that failed
        broker.subscriber(
            *topics, group_id=group, auto_offset_reset="earliest", batch=True,
            max_records=BATCH_RECORDS, batch_timeout_ms=BATCH_TIMEOUT_MS,
            ack_policy=AckPolicy.NACK_ON_ERROR, decoder=_undecoded, title=group,
            description=description or f"{group} consumes {', '.join(topics)}",
        )(self.on_batch)

    async def on_batch(self, message: KafkaMessage) -> None:
        records = message.raw_message if isinstance(message.raw_message, tuple) else (message.raw_message,)
        valid, rejected = [], []
        for record in records:
            try:
                envelope, data = parse_event(record.value)
                if envelope.topic != record.topic:
                    raise InvalidEvent(f"{envelope.event_type} does not belong on {record.topic}")
                valid.append((record, (envelope, data)))
            except InvalidEvent as error:
                rejected.append((record, str(error)))
        try:
            if any(_position(record) in self._one_at_a_time for record, _ in valid):
                for record, event in valid:
                    await self.apply_one(record, event, rejected)
            elif valid:
                await self.apply_batch(valid)
            self._one_at_a_time.difference_update(_position(record) for record, _ in valid)
        except TRANSIENT_ERRORS as error:
            EVENTS_CONSUMED.labels(self.group, records[0].topic, "failed").inc()
            log.warning("%s: %s, batch of %d will be retried: %s", self.group, type(error).__name__,
                        len(records), error)
            await asyncio.sleep(1.0)
            raise
        # Dead letters go out only once the batch was applied, so a retried batch sends none twice;
        # together, so a flood of bad messages costs one round trip a batch, not one a message.
        await asyncio.gather(*(self.dead_letter(record, reason) for record, reason in rejected))

    async def apply_batch(self, valid: Sequence[tuple[object, Event]]) -> None:
        try:
            with tracing.consuming(self.group, valid):
                await self.handle([event for _, event in valid])
        except TRANSIENT_ERRORS:
            raise
        except Exception as error:
            self._one_at_a_time.update(_position(record) for record, _ in valid)
            EVENTS_CONSUMED.labels(self.group, valid[0][0].topic, "failed").inc()
            log.warning("%s: a batch of %d events failed (%r); it comes again, one event at a time",
                        self.group, len(valid), error)
            raise

    async def apply_one(self, record, event: Event, rejected: list) -> None:
        position = _position(record)
        if self._attempts.get(position, 0) >= MAX_ATTEMPTS:
            self._attempts.pop(position)
            rejected.append((record, f"handler failed {MAX_ATTEMPTS} times"))
            return
        try:
            with tracing.consuming(self.group, [(record, event)]):
                await self.handle([event])
        except TRANSIENT_ERRORS:
            raise
        except Exception as error:
            attempts = self._attempts[position] = self._attempts.get(position, 0) + 1
            EVENTS_CONSUMED.labels(self.group, record.topic, "failed").inc()
            log.warning("%s: event %s failed (attempt %d of %d): %r", self.group, event[0].event_id,
                        attempts, MAX_ATTEMPTS, error)
            await asyncio.sleep(0.1 * 2 ** attempts)
            raise
        self._attempts.pop(position, None)

    async def dead_letter(self, record, reason: str) -> None:
        EVENTS_CONSUMED.labels(self.group, record.topic, "dead_lettered").inc()
        log.warning("%s: message %s/%d@%d dead-lettered: %s", self.group, record.topic, record.partition,
                    record.offset, reason[:300])
        await self.broker.publish(
            record.value or b"", topic=dead_letter_topic(record.topic), key=record.key,
            headers={
                "x-error": reason[:2000],
                "x-original-topic": record.topic,
                "x-original-partition": str(record.partition),
                "x-original-offset": str(record.offset),
                "x-consumer": self.group,
            },
        )


def _undecoded(message: KafkaMessage) -> object:
    """The batch as it came: on_batch decodes and validates each value once (shared.events.parse_event),
    where FastStream's own decoder would first parse every value as JSON for nothing."""
    return message.body


def _position(record) -> tuple[str, int, int]:
    return record.topic, record.partition, record.offset
