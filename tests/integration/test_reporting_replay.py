"""Replaying every topic from the start moves no reporting number: into a fresh consumer group (each
event's effect is idempotent by itself), and into reporting's own group (its inbox turns every
redelivered event away)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import datetime, timedelta, timezone

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.intake.app import create_app as intake_app
from services.placement.app import create_app as placement_app
from services.reporting import usecases
from services.reporting.app import create_app as reporting_app
from services.reporting.store import Store
from services.screening.app import create_app as screening_app
from shared.broker import Consumer, make_broker, make_producer
from shared.events import TOPICS
from shared.metrics import CONSUMER_LAG, EVENTS_CONSUMED
from shared.settings import get_settings
from shared.unit_of_work import UnitOfWork
from tests.support import (
    PHONE_HASH_KEY,
    admin_headers,
    eventually,
    form_key_headers,
    running,
)

STATES = ["Rajasthan", "RJ", "राजस्थान", "UP", "MH", "Bihar", "RJ", "GJ", "KL", "RJ", "UP", "TN"]
DISTRICTS = ["Jaipur", "Kota", "Ajmer", "Lucknow", "Pune", "Patna", "Jodhpur", "Ahmedabad", "Ernakulam",
             "Jaipur", "Varanasi", "Coimbatore"]
HIGH = {"communication": 9, "content_creation": 8, "social_media_reach": 7, "political_awareness": 8, "commitment": 9}
LOW = {"communication": 3, "content_creation": 2, "social_media_reach": 4, "political_awareness": 3, "commitment": 2}


async def snapshot(reporting) -> dict:
    """Every number reporting shows (the summary without its as_of)."""
    summary = (await reporting.get("/v1/stats/summary")).json()
    summary.pop("as_of")
    states = (await reporting.get("/v1/stats/states")).json()
    return {
        "summary": summary, "states": states,
        "details": [(await reporting.get(f"/v1/stats/states/{s['state']}")).json() for s in states],
        "timeseries": (await reporting.get("/v1/stats/timeseries")).json(),
        "csv": (await reporting.get("/v1/stats/export.csv")).text,
        "version": reporting.app.state.live.version,
    }


def consumed(group: str, result: str) -> int:
    return sum(EVENTS_CONSUMED.labels(group, topic, result)._value.get() for topic in TOPICS)


async def count_messages(servers: str) -> dict[TopicPartition, int]:
    """Messages in each partition of every topic, counted by reading them all (not by asking the
    broker for offsets, which the embedded broker answers short: see shared.kafka_offsets.log_ends)."""
    reader = AIOKafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
    await reader.start()
    try:
        await reader.topics()
        partitions = [TopicPartition(t, p) for t in TOPICS for p in reader.partitions_for_topic(t)]
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        counts = dict.fromkeys(partitions, 0)
        idle = 0
        while idle < 3:
            batch = await reader.getmany(timeout_ms=300)
            idle = 0 if batch else idle + 1
            for tp, records in batch.items():
                counts[tp] += len(records)
        return counts
    finally:
        await reader.stop()


LAG_POLL_SECONDS = 1.0  # the lag gauge tells when reporting is done


def lag() -> float:
    return sum(CONSUMER_LAG.labels("reporting", topic)._value.get() for topic in TOPICS)


async def quiescent(servers: str, apps) -> dict[TopicPartition, int]:
    """Wait until no outbox holds an unsent event, the topics stop growing and reporting reports no
    lag (its /metrics gauge); returns the messages per partition then: the history replays repeat."""
    async def settled():
        if any([await app.state.runtime.relay.pending() for app in apps]):
            return False
        first = await count_messages(servers)
        await asyncio.sleep(LAG_POLL_SECONDS + 1)  # one more lag reading after the last message
        return lag() == 0 and await count_messages(servers) == first and first
    return await eventually(settled, timeout=60, interval=0.5)


async def publish_again(servers: str) -> int:
    """Every message of every topic sent again, same partition, key and value: what a producer's
    retries or an outbox replayed onto a fresh broker (`recruit up` does that) deliver. Returns
    how many."""
    reader = AIOKafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
    producer = make_producer(servers, "test-replay")
    await reader.start()
    await producer.start()
    try:
        await reader.topics()
        partitions = [TopicPartition(t, p) for t in TOPICS for p in reader.partitions_for_topic(t)]
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        history, idle = [], 0  # all read first: what is sent again must not be read again
        while idle < 3:
            batch = await reader.getmany(timeout_ms=300)
            idle = 0 if batch else idle + 1
            history += [(tp, r) for tp, records in batch.items() for r in records]
        sent = [await producer.send(tp.topic, r.value, key=r.key, partition=tp.partition) for tp, r in history]
        await asyncio.gather(*sent)
        return len(sent)
    finally:
        await producer.stop()
        await reader.stop()


async def test_replaying_every_topic_moves_no_number(stack) -> None:
    async with contextlib.AsyncExitStack() as services:
        intake = await services.enter_async_context(running(intake_app))
        screening = await services.enter_async_context(running(screening_app))
        placement = await services.enter_async_context(running(placement_app))

        applied_before = consumed("reporting", "applied")  # counters are per process: other modules count too
        async with running(lambda: reporting_app(get_settings().model_copy(
                update={"metrics_poll_seconds": LAG_POLL_SECONDS}))) as reporting:
            ids = []
            for i, (state, district) in enumerate(zip(STATES, DISTRICTS)):
                created = await intake.post("/v1/applications", headers=form_key_headers(), json={
                    "full_name": f"Test Applicant {i}", "phone": f"98290{i:05d}", "state": state,
                    "district": district, "age": 20 + i, "consent": True})
                assert created.status_code == 201, created.text
                ids.append(created.json()["application_id"])

            async def all_queued():
                items = (await screening.get("/v1/queue?limit=200", headers=admin_headers())).json()["items"]
                return len(items) == len(ids)
            await eventually(all_queued, timeout=30)
            at = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
            for i, application_id in enumerate(ids[:9]):
                scheduled = await screening.post("/v1/interviews", headers=admin_headers(),
                                                 json={"application_id": application_id, "interview_at": at})
                assert scheduled.status_code == 201, scheduled.text
                body = {"outcome": "no_show"} if i == 8 else {"scores": LOW if i in (6, 7) else HIGH}
                result = await screening.post(f"/v1/interviews/{application_id}/result", json=body,
                                              headers=admin_headers())
                assert result.status_code == 200, result.text

            async def settled():
                s = (await reporting.get("/v1/stats/summary")).json()
                # The no-show is the last result posted: wait for it too, not only for the seats.
                return (s["applications"] == 12 and s["funnel"]["interviewed"] == 8 and s["funnel"]["no_show"] == 1
                        and s["current"]["placed"] + s["current"]["waitlisted"] == 6 and s)
            summary = await eventually(settled, timeout=40)
            assert summary["funnel"] == {"submitted": 12, "scheduled": 9, "interviewed": 8, "selected": 6,
                                         "rejected": 2, "no_show": 1}
            assert summary["current"]["queued"] == 3
            messages = await quiescent(stack.kafka_bootstrap_servers,
                                   [c.app for c in (intake, screening, placement, reporting)])
            await asyncio.sleep(0.5)  # one poll of the live view after the last event
            before = await snapshot(reporting)
            assert before["states"][0]["state"] == "RJ" and before["states"][0]["applications"] == 5

            # 1. A fresh consumer group reads every topic from the start into the same database.
            # Its inbox name is new, so nothing is turned away: each event's effect must be
            # idempotent by itself.
            total = sum(messages.values())
            group = f"reporting-replay-{uuid.uuid4().hex[:8]}"
            broker = make_broker(stack.kafka_bootstrap_servers, "reporting-replay")
            uow = UnitOfWork(reporting.app.state.runtime.db(), Store)

            async def apply_under_the_group_name(events) -> None:
                await usecases.apply_events(uow, events, PHONE_HASH_KEY.encode(), consumer=group)
            Consumer(broker, group=group, topics=TOPICS, handle=apply_under_the_group_name)
            await broker.start()
            try:
                async def replayed():
                    return consumed(group, "applied") >= total
                await eventually(replayed, timeout=40)
            finally:
                await broker.stop()
            assert consumed(group, "applied") == total
            await asyncio.sleep(0.5)  # one poll of the live view, were anything to have changed
            assert await snapshot(reporting) == before

            # 2. Every message delivered again to reporting's own group, the other services stopped:
            # the inbox turns every one away.
            await services.aclose()
            duplicates = consumed("reporting", "duplicate")
            assert await publish_again(stack.kafka_bootstrap_servers) == total

            async def redelivered():
                return consumed("reporting", "duplicate") - duplicates >= total
            await eventually(redelivered, timeout=40)
            await asyncio.sleep(0.5)
            assert consumed("reporting", "duplicate") - duplicates == total
            assert consumed("reporting", "applied") - applied_before == total
            assert await snapshot(reporting) == before
