"""Measurements: the readings behind the operator's gauges (shared.metrics): outbox backlog, database pool,
and, for a consumer, its group's lag and its topics' dead letters. shared.service.measure takes them
every METRICS_POLL_SECONDS; each reading is cheap enough for that."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import asyncpg
from aiokafka import AIOKafkaConsumer

from shared.events import dead_letter_topic
from shared.kafka_offsets import behind, group_reader, log_ends, partitions_of, plain_reader
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

# The consumer group whose committed offsets on each dead-letter topic mark the dead letters an operator
# has dealt with (`recruit dlq replay` or `recruit dlq discard`).
REPLAY_GROUP = "recruit-dlq-replay"
# The backlog is counted up to this many rows: a bulk import's hundred thousand rows need no exact
# figure, only the oldest row's age.
BACKLOG_COUNT_LIMIT = 100_000


async def measure_outbox(pool: asyncpg.Pool, service: str) -> None:
    """Unpublished rows (capped count) and the age of the oldest: both from the relay's work list,
    outbox_pending (ids rise with created_at, so the lowest pending id is the oldest row)."""
    row = await pool.fetchrow(
        "SELECT (SELECT count(*) FROM (SELECT FROM outbox_pending LIMIT $1) AS waiting) AS unpublished,"
        " (SELECT extract(epoch FROM now() - o.created_at) FROM outbox o"
        "  WHERE o.id = (SELECT min(id) FROM outbox_pending)) AS oldest_seconds",
        BACKLOG_COUNT_LIMIT)
    OUTBOX_UNPUBLISHED.labels(service).set(row["unpublished"])
    OUTBOX_OLDEST_AGE.labels(service).set(max(0.0, float(row["oldest_seconds"] or 0)))


def measure_pool(pool: asyncpg.Pool, service: str) -> None:
    DB_POOL_CONNECTIONS.labels(service).set(pool.get_size())
    DB_POOL_IN_USE.labels(service).set(pool.get_size() - pool.get_idle_size())
    DB_POOL_MAX.labels(service).set(pool.get_max_size())


class KafkaReadings:
    """A consumer group's lag on its topics and the dead letters of those topics, read by consumers that
    never join a group (shared.kafka_offsets). The two committed-offset readers stay open between readings
    (opened again after a failure); the log-end reader is new each time, since a consumer's metadata keeps
    only the topics it was last assigned (shared.kafka_offsets.partitions_of)."""

    def __init__(self, servers: str, group: str, topics: Sequence[str]) -> None:
        self.servers, self.group, self.topics = servers, group, list(topics)
        self.client_id = f"recruit-{group}-metrics"
        self._committed: tuple[AIOKafkaConsumer, AIOKafkaConsumer] | None = None

    async def measure(self) -> None:
        try:
            committed, replayed = await self._open()
            plain = await plain_reader(self.servers, self.client_id)
        except BaseException:
            await self.close()
            raise
        try:
            dead_letters = {dead_letter_topic(topic): topic for topic in self.topics}
            # One metadata lookup and one reading of log ends for the topics and their dead-letter topics.
            partitions = await partitions_of(plain, [*self.topics, *dead_letters])
            ends, starts = await log_ends(plain, partitions), await plain.beginning_offsets(partitions)
            consumed = [tp for tp in partitions if tp.topic not in dead_letters]
            dlq = [tp for tp in partitions if tp.topic in dead_letters]
            for topic, messages in (await behind(committed, consumed, ends, starts)).items():
                CONSUMER_LAG.labels(self.group, topic).set(messages)
            waiting = await behind(replayed, dlq, ends, starts)
            for name, topic in dead_letters.items():
                DEAD_LETTERS.labels(topic).set(sum(ends[tp] - starts[tp] for tp in dlq if tp.topic == name))
                DEAD_LETTERS_WAITING.labels(topic).set(waiting.get(name, 0))
        except BaseException:
            await self.close()
            raise
        finally:
            with contextlib.suppress(Exception):
                await plain.stop()

    async def _open(self) -> tuple[AIOKafkaConsumer, AIOKafkaConsumer]:
        if self._committed is None:
            group = await group_reader(self.servers, self.group, self.client_id)
            try:
                replayed = await group_reader(self.servers, REPLAY_GROUP, self.client_id)
            except BaseException:
                with contextlib.suppress(Exception):
                    await group.stop()
                raise
            self._committed = (group, replayed)
        return self._committed

    async def close(self) -> None:
        readers, self._committed = self._committed or (), None
        for reader in readers:
            with contextlib.suppress(Exception):
                await reader.stop()
