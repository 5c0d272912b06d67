"""The relay's partitioner: the partition aiokafka's (Kafka's) default partitioner gives a key."""

from __future__ import annotations

import uuid

from aiokafka.partitioner import DefaultPartitioner, murmur2 as aiokafka_murmur2
from hypothesis import given, settings, strategies as st

from shared.outbox import murmur2, partition_for


@settings(max_examples=2000)
@given(key=st.binary(max_size=80))
def test_murmur2_is_kafkas(key: bytes) -> None:
    assert murmur2(key) == aiokafka_murmur2(key)


@given(count=st.integers(1, 12))
def test_keys_land_where_a_keyed_send_would_put_them(count: int) -> None:
    partitions = list(range(count))
    for _ in range(200):
        key = str(uuid.uuid4()).encode()
        assert partition_for(key, partitions) == DefaultPartitioner()(key, partitions, partitions)
