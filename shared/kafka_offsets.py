"""Kafka offsets: where each partition's log ends, and how far a consumer group is behind it (its lag)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition


async def log_ends(reader: AIOKafkaConsumer, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
    """The offset after each partition's last message.

    ListOffsets answers this on Apache Kafka. Tansu, the embedded broker, answers its last batch's
    base offset + 1 instead, short by the rest of that batch; so the last batch is read back (one
    fetch of the partitions) and its last offset wins when larger.
    """
    ends = await reader.end_offsets(list(partitions))
    starts = await reader.beginning_offsets(list(partitions))
    tail = {tp: ends[tp] - 1 for tp in partitions if ends[tp] > starts[tp]}
    reader.assign(list(tail))
    for tp, offset in tail.items():
        reader.seek(tp, offset)
    deadline = asyncio.get_running_loop().time() + 2.0
    while tail and asyncio.get_running_loop().time() < deadline:
        for tp, records in (await reader.getmany(*tail, timeout_ms=500)).items():
            if records:
                ends[tp] = max(ends[tp], records[-1].offset + 1)
                tail.pop(tp, None)
    for tp in starts:
        ends[tp] = max(ends[tp], starts[tp])
    return ends


async def plain_reader(servers: str, client_id: str) -> AIOKafkaConsumer:
    """A started consumer in no group, for log ends and reading records by assignment."""
    reader = AIOKafkaConsumer(bootstrap_servers=servers, client_id=client_id, group_id=None,
                              enable_auto_commit=False, auto_offset_reset="earliest")
    await reader.start()
    return reader


async def group_reader(servers: str, group: str, client_id: str) -> AIOKafkaConsumer:
    """A started consumer that names `group` only to read its committed offsets: it is never
    assigned or subscribed, so it never joins the group or moves a partition away from a member."""
    reader = AIOKafkaConsumer(bootstrap_servers=servers, client_id=client_id, group_id=group,
                              enable_auto_commit=False, auto_offset_reset="earliest")
    await reader.start()
    return reader


async def partitions_of(reader: AIOKafkaConsumer, topics: Sequence[str]) -> list[TopicPartition]:
    """The partitions of `topics`; on a reader that has not been assigned partitions yet (once assigned, its
    metadata keeps only those topics: ask for every topic needed in one call, before log_ends)."""
    await reader.topics()  # refreshes metadata, so partitions_for_topic knows every topic
    return [TopicPartition(topic, p) for topic in topics for p in sorted(reader.partitions_for_topic(topic) or ())]


async def group_lag(plain: AIOKafkaConsumer, group: AIOKafkaConsumer, topics: Sequence[str]) -> dict[str, int]:
    """Lag of `group`'s consumer group per topic, as kafka-consumer-groups.sh computes it: log end
    offset minus the group's committed offset, summed over partitions; a partition the group has
    not committed yet counts from its start. `plain` (plain_reader) reads the log ends."""
    partitions = await partitions_of(plain, topics)
    ends = await log_ends(plain, partitions)
    starts = await plain.beginning_offsets(partitions)
    return dict.fromkeys(topics, 0) | await behind(group, partitions, ends, starts)


async def behind(group: AIOKafkaConsumer, partitions: Sequence[TopicPartition], ends: dict[TopicPartition, int],
                 starts: dict[TopicPartition, int]) -> dict[str, int]:
    """group_lag from log ends and starts already read (one reading for several groups)."""
    lag = {tp.topic: 0 for tp in partitions}
    for tp in partitions:
        committed = await group.committed(tp)
        lag[tp.topic] += max(0, ends[tp] - (committed if committed is not None else starts[tp]))
    return lag
