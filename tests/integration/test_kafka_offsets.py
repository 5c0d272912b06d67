"""Log ends and group lag on the real broker: exact even where the broker answers ListOffsets with
the last batch's base offset + 1 (the embedded one does)."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.broker import make_producer
from shared.kafka_offsets import group_lag, group_reader, log_ends, plain_reader

TOPIC = "offsets-probe"


async def _six_messages(servers: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    await admin.create_topics([NewTopic(TOPIC, 1, 1)])
    await admin.close()
    producer = make_producer(servers, "test")
    await producer.start()
    try:
        await producer.send_and_wait(TOPIC, b"one", partition=0)
        await asyncio.gather(*[await producer.send(TOPIC, b"batched", partition=0) for _ in range(5)])
    finally:
        await producer.stop()


async def test_log_ends_count_every_message_of_a_batch_and_lag_follows_the_group(stack) -> None:
    servers = stack.kafka_bootstrap_servers
    await _six_messages(servers)
    tp = TopicPartition(TOPIC, 0)
    reader = AIOKafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
    await reader.start()
    try:
        assert await log_ends(reader, [tp]) == {tp: 6}
    finally:
        await reader.stop()

    plain = await plain_reader(servers, "test-lag")
    lag_reader = await group_reader(servers, "offsets-group", "test-lag")
    try:
        assert await group_lag(plain, lag_reader, [TOPIC]) == {TOPIC: 6}, "nothing committed: all six behind"
        member = AIOKafkaConsumer(bootstrap_servers=servers, group_id="offsets-group", enable_auto_commit=False)
        await member.start()
        try:
            member.assign([tp])
            await member.commit({tp: 4})
        finally:
            await member.stop()
        assert await group_lag(plain, lag_reader, [TOPIC]) == {TOPIC: 2}
    finally:
        await lag_reader.stop()
        await plain.stop()
