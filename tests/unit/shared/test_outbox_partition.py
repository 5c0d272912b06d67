"""The relay's partition choice is Kafka's default partitioner, so keyed events land where any client would put them."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from shared.outbox import kafka_partition


@given(key=st.binary(max_size=64), partition_count=st.integers(min_value=1, max_value=64))
def test_same_partition_as_aiokafkas_default_partitioner(key: bytes, partition_count: int) -> None:
    partitions = list(range(partition_count))
    assert kafka_partition(key, partition_count) == DefaultPartitioner()(key, partitions, partitions)


def test_known_kafka_values() -> None:
    # murmur2 values from Kafka's own UtilsTest (org.apache.kafka.common.utils.UtilsTest#testMurmur2).
    assert kafka_partition(b"21", 2**31 - 1) == (-973932308 & 0x7FFFFFFF) % (2**31 - 1)
