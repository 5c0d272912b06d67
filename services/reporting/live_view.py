"""Reporting live view: the counters held in memory by one poller per process, for cheap summary reads, the SSE stream and /metrics gauges."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timezone

from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import Gauge

from services.reporting import store
from shared.events import TOPICS
from shared.geography import STATES
from shared.service import Runtime

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25  # a change reaches every SSE client and summary read within about this
LAG_POLL_SECONDS = 5.0

FUNNEL = Gauge("recruit_reporting_funnel", "Applications that ever reached each step", ["step"])
CURRENT = Gauge("recruit_reporting_current", "Non-erased applications by where they are now", ["stage"])
PLACED_BY_LEVEL = Gauge("recruit_reporting_placed_by_level", "Placed applications by unit level", ["level"])
APPLICATIONS = Gauge("recruit_reporting_applications", "Distinct applications ever accepted")
ERASED = Gauge("recruit_reporting_erased", "Applications erased on request (still counted)")
TARGET = Gauge("recruit_reporting_target", "Campaign target (CAMPAIGN_TARGET)")
STATE_COUNTS = Gauge("recruit_reporting_state", "Per-state counts", ["state", "count"])
LAST_CHANGE = Gauge("recruit_reporting_last_change_timestamp_seconds",
                    "When reporting's counters last changed (Unix time)")
CONSUMER_LAG = Gauge("recruit_consumer_lag", "Messages not yet consumed: log end offset minus the group's "
                     "committed offset, summed over partitions", ["consumer", "topic"])


def summary_document(row, target: int, as_of: datetime) -> dict:
    """SPEC's summary from the counters row."""
    return {
        "target": target,
        "applications": row["applications"],
        "progress": row["applications"] / target,
        "erased": row["erased"],
        "funnel": {"submitted": row["applications"], "scheduled": row["scheduled"],
                   "interviewed": row["interviewed"], "selected": row["selected"], "rejected": row["rejected"],
                   "no_show": row["no_show"]},
        "current": {"queued": row["queued"], "deferred": row["deferred"], "awaiting_result": row["awaiting_result"],
                    "placed": row["placed"], "waitlisted": row["waitlisted"]},
        "placed_by_level": {"state": row["level_state"], "district": row["level_district"],
                            "block": row["level_block"]},
        "as_of": as_of.isoformat().replace("+00:00", "Z"),
    }


def state_document(row) -> dict:
    state = STATES.get(row["state"])
    return {"state": row["state"], "name": state.name_en if state else row["state"],
            "name_hi": state.name_hi if state else row["state"], "applications": row["applications"],
            "interviewed": row["interviewed"], "selected": row["selected"], "placed": row["placed"]}


class LiveView:
    """The latest counters of this process. One poller reads the summary row's version every
    POLL_SECONDS and, when it moved, the counters themselves; readers never touch the database.

    `as_of` is the time of the last successful read: the numbers were true then. If the database
    is away, reads go on serving the last numbers with an as_of that stops advancing.
    """

    def __init__(self, target: int) -> None:
        self.target = target
        self.version: int | None = None
        self.summary: dict = {}
        self._counts = None
        self.summary_json = b""
        self.states: list[dict] = []
        self.ready = asyncio.Event()
        self._changed = asyncio.Event()

    async def run(self, runtime: Runtime) -> None:
        TARGET.set(self.target)
        while True:
            try:
                await self.refresh(runtime.db())
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database is away: keep serving the last numbers
                log.warning("reporting live view: refresh failed: %r", error)
                await asyncio.sleep(1.0)
            await asyncio.sleep(POLL_SECONDS)

    async def refresh(self, pool) -> None:
        version = await store.summary_version(pool)
        as_of = datetime.now(timezone.utc)
        changed = version != self.version
        if changed:
            row, state_rows = await store.counters_snapshot(pool)
            self.states = [state_document(r) for r in state_rows]
            self._counts = row
            self.version = row["version"]
            self._set_gauges(row)
        self.summary = summary_document(self._counts, self.target, as_of)
        self.summary_json = json.dumps(self.summary, separators=(",", ":")).encode()
        self.ready.set()
        if changed:
            # Wake every waiting stream at once; each then reads the new summary.
            changed_event, self._changed = self._changed, asyncio.Event()
            changed_event.set()

    def _set_gauges(self, row) -> None:
        APPLICATIONS.set(row["applications"])
        ERASED.set(row["erased"])
        for step in ("scheduled", "interviewed", "selected", "rejected", "no_show"):
            FUNNEL.labels(step).set(row[step])
        FUNNEL.labels("submitted").set(row["applications"])
        for stage in ("queued", "deferred", "awaiting_result", "placed", "waitlisted"):
            CURRENT.labels(stage).set(row[stage])
        for level in ("state", "district", "block"):
            PLACED_BY_LEVEL.labels(level).set(row[f"level_{level}"])
        for state in self.states:
            for count in ("applications", "interviewed", "selected", "placed"):
                STATE_COUNTS.labels(state["state"], count).set(state[count])
        LAST_CHANGE.set(row["updated_at"].timestamp())

    async def wait_ready(self, timeout: float = 5.0) -> bool:
        if self.ready.is_set():
            return True
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.ready.wait(), timeout)
        return self.ready.is_set()

    async def summaries(self) -> AsyncIterator[dict]:
        """The summary now, then each time the counters change (latest value only: a slow client
        skips intermediate states rather than queueing them)."""
        await self.wait_ready(timeout=30)
        seen = None
        while True:
            changed = self._changed
            if self.version != seen:
                seen = self.version
                yield self.summary
            await changed.wait()


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


async def consumer_lag(runtime: Runtime) -> None:
    """Background job: CONSUMER_LAG for the whole group (every replica), as kafka-consumer-groups.sh
    computes it: log end offset minus the group's committed offset. The reader names the group only
    to read its committed offsets; it never subscribes, so it never joins the group or moves a
    partition. A partition the group has not committed yet counts from its start."""
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
