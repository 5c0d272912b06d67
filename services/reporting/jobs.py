"""Reporting jobs: keeping this process's live view current, and measuring the reporting group's consumer lag."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import Gauge

from services.reporting import usecases
from services.reporting.live_view import TARGET, LiveView
from services.reporting.store import Store
from shared.events import TOPICS
from shared.service import Job, Runtime
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25  # a change reaches every SSE client and summary read within about this
LAG_POLL_SECONDS = 5.0

CONSUMER_LAG = Gauge("recruit_consumer_lag", "Messages not yet consumed: log end offset minus the group's "
                     "committed offset, summed over partitions", ["consumer", "topic"])


def live_view_job(view: LiveView) -> Job:
    """The job keeping `view` current (it lives in app.state, so the job is made for it)."""

    async def refresh_live_view(runtime: Runtime) -> None:
        TARGET.set(view.target)
        while True:
            try:
                await usecases.refresh_live_view(UnitOfWork(runtime.db(), Store), view)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database is away: keep serving the last numbers
                log.warning("reporting live view: refresh failed: %r", error)
                await asyncio.sleep(1.0)
            await asyncio.sleep(POLL_SECONDS)

    return refresh_live_view


async def measure_consumer_lag(runtime: Runtime) -> None:
    """CONSUMER_LAG for the whole group (every replica), as kafka-consumer-groups.sh computes it: log
    end offset minus the group's committed offset. The reader names the group only to read its
    committed offsets; it never subscribes, so it never joins the group or moves a partition. A
    partition the group has not committed yet counts from its start. No use case: it reads Kafka only."""
    group = runtime.service
    servers = runtime.settings.kafka_servers()
    while True:
        reader = AIOKafkaConsumer(bootstrap_servers=servers, client_id=f"recruit-{group}-lag", group_id=group,
                                  enable_auto_commit=False, auto_offset_reset="earliest")
        try:
            await reader.start()
            while True:
                await reader.topics()  # refreshes metadata, so partitions_for_topic knows every topic
                partitions = [TopicPartition(topic, p) for topic in TOPICS
                              for p in sorted(reader.partitions_for_topic(topic) or ())]
                ends = await log_ends(reader, partitions)
                starts = await reader.beginning_offsets(partitions)
                lag: dict[str, int] = dict.fromkeys(TOPICS, 0)
                for tp in partitions:
                    committed = await reader.committed(tp)
                    lag[tp.topic] += max(0, ends[tp] - (committed if committed is not None else starts[tp]))
                for topic, value in lag.items():
                    CONSUMER_LAG.labels(group, topic).set(value)
                await asyncio.sleep(LAG_POLL_SECONDS)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the broker is away; the gauges keep their last values
            log.warning("reporting: consumer lag unavailable: %r", error)
            await asyncio.sleep(LAG_POLL_SECONDS)
        finally:
            with contextlib.suppress(Exception):
                await reader.stop()


async def log_ends(reader: AIOKafkaConsumer, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
    """The offset after each partition's last message.

    ListOffsets answers this on Apache Kafka. Tansu, the embedded broker, answers its last batch's
    base offset + 1 instead, short by the rest of that batch; so the last batch is read back (one
    fetch of the assigned partitions) and its last offset wins when larger.
    """
    ends = await reader.end_offsets(partitions)
    starts = await reader.beginning_offsets(partitions)
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
