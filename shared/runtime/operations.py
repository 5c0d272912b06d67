"""Operations: `recruit status` (readiness, consumer lag, outbox backlog, dead letters),
`recruit dlq list|replay|discard`, read from the running system's services, broker and database, and
`recruit purge`, which asks the running intake to do it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.events import CONSUMED_TOPICS, TOPICS, dead_letter_topic
from shared.kafka_offsets import (
    group_lag,
    group_reader,
    log_ends,
    partitions_of,
    plain_reader,
)
from shared.measurements import REPLAY_GROUP
from shared.settings import SERVICES

# An unpublished outbox row older than this means its relay is stuck (the broker is away, or the relay died).
OUTBOX_STUCK_SECONDS = 60.0


@dataclass
class Target:
    """Where the running system is: its services' URLs, its broker and its database."""

    services: dict[str, list[str]]  # service -> one URL per replica
    kafka_bootstrap_servers: str
    database_url: str


@dataclass
class Status:
    broker: str = ""  # the bootstrap servers: the embedded broker's port changes with each start
    services: dict[str, list[dict]] = field(default_factory=dict)  # service -> [{"url", "ready", ...}]
    lag: dict[str, dict[str, int]] = field(default_factory=dict)  # group -> topic -> messages behind
    lag_growing: dict[str, bool] = field(default_factory=dict)
    outbox: dict[str, dict] = field(default_factory=dict)  # schema -> {"unpublished", "oldest_seconds"}
    dead_letters: dict[str, dict[str, int]] = field(default_factory=dict)  # topic -> {"total", "not_replayed"}
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "healthy": self.healthy}, indent=2)


async def readiness(url: str) -> dict:
    try:
        async with httpx.AsyncClient(timeout=3.0) as client:
            answer = await client.get(f"{url}/readyz")
        body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
        return {"url": url, "ready": answer.status_code == 200, **{k: body.get(k) for k in ("database", "broker")}}
    except (httpx.HTTPError, ValueError) as error:
        return {"url": url, "ready": False, "error": type(error).__name__}


async def consumer_lag(servers: str) -> dict[str, dict[str, int]]:
    plain = await plain_reader(servers, "recruit-status")
    try:
        lag = {}
        for group, topics in CONSUMED_TOPICS.items():
            committed = await group_reader(servers, group, "recruit-status")
            try:
                lag[group] = await group_lag(plain, committed, topics)
            finally:
                await committed.stop()
        return lag
    finally:
        await plain.stop()


async def outbox_backlog(database_url: str) -> dict[str, dict]:
    conn = await asyncpg.connect(database_url)
    try:
        backlog = {}
        for service in SERVICES:
            row = await conn.fetchrow(
                f'SELECT count(*) AS unpublished, extract(epoch FROM now() - min(created_at)) AS oldest'
                f' FROM "{service}".outbox o JOIN "{service}".outbox_pending p USING (id)')
            backlog[service] = {"unpublished": row["unpublished"],
                                "oldest_seconds": round(float(row["oldest"]), 1) if row["oldest"] is not None else None}
        return backlog
    finally:
        await conn.close()


async def dead_letter_counts(servers: str) -> dict[str, dict[str, int]]:
    """Per topic: the messages in its dead-letter topic, and those not yet replayed."""
    plain = await plain_reader(servers, "recruit-status")
    replayed = await group_reader(servers, REPLAY_GROUP, "recruit-status")
    try:
        counts = {}
        for topic in TOPICS:
            partitions = await partitions_of(plain, [dead_letter_topic(topic)])
            ends, starts = await log_ends(plain, partitions), await plain.beginning_offsets(partitions)
            not_replayed = sum((await group_lag(plain, replayed, [dead_letter_topic(topic)])).values())
            counts[topic] = {"total": sum(ends[tp] - starts[tp] for tp in partitions), "not_replayed": not_replayed}
        return counts
    finally:
        await replayed.stop()
        await plain.stop()


async def system_status(target: Target, lag_interval: float = 2.0) -> Status:
    """One look at everything. Lag is measured twice, `lag_interval` apart: lag that is there and
    growing means consumers are not keeping up (or are down)."""
    status = Status(broker=target.kafka_bootstrap_servers)
    checks = [readiness(url) for urls in target.services.values() for url in urls]
    answers = iter(await asyncio.gather(*checks))
    for name, urls in target.services.items():
        status.services[name] = [next(answers) for _ in urls]
        for replica in status.services[name]:
            if not replica["ready"]:
                status.problems.append(f"{name} at {replica['url']} is not ready")
    try:
        first = await consumer_lag(target.kafka_bootstrap_servers)
        await asyncio.sleep(lag_interval)
        status.lag = await consumer_lag(target.kafka_bootstrap_servers)
        for group, topics in status.lag.items():
            behind, before = sum(topics.values()), sum(first[group].values())
            status.lag_growing[group] = behind > 0 and behind > before
            if status.lag_growing[group]:
                status.problems.append(f"{group} is {behind} messages behind and falling further behind")
        status.dead_letters = await dead_letter_counts(target.kafka_bootstrap_servers)
        for topic, count in status.dead_letters.items():
            if count["not_replayed"]:
                status.problems.append(f"{count['not_replayed']} dead letter(s) of {topic} not replayed "
                                       f"(recruit dlq list {topic})")
    except Exception as error:  # the broker is away
        status.problems.append(f"the broker at {target.kafka_bootstrap_servers} did not answer: {error!r}")
    try:
        status.outbox = await outbox_backlog(target.database_url)
        for service, backlog in status.outbox.items():
            if backlog["oldest_seconds"] is not None and backlog["oldest_seconds"] > OUTBOX_STUCK_SECONDS:
                status.problems.append(f"{service}'s outbox has {backlog['unpublished']} unpublished events, "
                                       f"the oldest {backlog['oldest_seconds']:.0f} s old")
    except (OSError, asyncpg.PostgresError) as error:
        status.problems.append(f"the database did not answer: {type(error).__name__}")
    return status


# --- dead letters --------------------------------------------------------------------------------


@dataclass
class DeadLetter:
    """What an operator may see of a dead letter: where it came from and why; no personal data."""

    dlq_partition: int
    dlq_offset: int
    original_topic: str
    original_partition: str
    original_offset: str
    consumer: str
    event_id: str | None
    event_type: str | None
    error: str


def _dead_letter(record) -> DeadLetter:
    headers = {key: value.decode(errors="replace") for key, value in record.headers or ()}
    event_id = event_type = None
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        document = json.loads(record.value)
        event_id, event_type = str(document.get("event_id")), str(document.get("event_type"))
    return DeadLetter(record.partition, record.offset, headers.get("x-original-topic", "?"),
                      headers.get("x-original-partition", "?"), headers.get("x-original-offset", "?"),
                      headers.get("x-consumer", "?"), event_id, event_type, headers.get("x-error", ""))


def dead_letter_topic_of(topic: str) -> str:
    """`applications.submitted` or `applications.submitted.dlq` -> `applications.submitted.dlq`."""
    original = topic.removesuffix(".dlq")
    if original not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}; one of: {', '.join(TOPICS)}")
    return dead_letter_topic(original)


async def _read(servers: str, dlq: str, *, from_committed: bool) -> tuple[list, dict[TopicPartition, int]]:
    """The dead letters of `dlq` (from the replay group's committed offsets, or from the start) up
    to the log end now, and that end per partition."""
    reader = await plain_reader(servers, "recruit-dlq")
    replayed = await group_reader(servers, REPLAY_GROUP, "recruit-dlq")
    try:
        partitions = await partitions_of(reader, [dlq])
        if not partitions:
            return [], {}
        ends = await log_ends(reader, partitions)
        starts = await reader.beginning_offsets(partitions)
        reader.assign(partitions)
        for tp in partitions:
            committed = await replayed.committed(tp) if from_committed else None
            reader.seek(tp, committed if committed is not None else starts[tp])
        records, pending = [], {tp for tp in partitions if (await reader.position(tp)) < ends[tp]}
        deadline = asyncio.get_running_loop().time() + 10.0
        while pending and asyncio.get_running_loop().time() < deadline:
            for tp, batch in (await reader.getmany(*pending, timeout_ms=500)).items():
                records += [r for r in batch if r.offset < ends[tp]]
                if batch and batch[-1].offset + 1 >= ends[tp]:
                    pending.discard(tp)
        return sorted(records, key=lambda r: (r.partition, r.offset)), ends
    finally:
        await replayed.stop()
        await reader.stop()


async def list_dead_letters(servers: str, topics: list[str]) -> dict[str, list[DeadLetter]]:
    found = {}
    for topic in topics:
        records, _ = await _read(servers, dead_letter_topic_of(topic), from_committed=False)
        found[topic.removesuffix(".dlq")] = [_dead_letter(record) for record in records]
    return found


async def replay_dead_letters(servers: str, topic: str, *, dry_run: bool) -> list[DeadLetter]:
    """Send the dead letters of `topic` not replayed yet back to the topic they came from (same key
    and value), then mark them replayed: a second replay sends none again. Consumers are
    idempotent, so a replayed event that was applied meanwhile changes nothing."""
    dlq = dead_letter_topic_of(topic)
    records, ends = await _read(servers, dlq, from_committed=True)
    letters = [_dead_letter(record) for record in records]
    if dry_run or not ends:
        return letters
    producer = AIOKafkaProducer(bootstrap_servers=servers, client_id="recruit-dlq-replay", acks="all",
                                enable_idempotence=False)
    await producer.start()
    try:
        original = dlq.removesuffix(".dlq")
        sends = []
        for record in records:
            where = f"{dlq}/{record.partition}@{record.offset}".encode()
            sends.append(await producer.send(original, record.value, key=record.key,
                                             headers=[("x-replayed-from", where)]))
        await asyncio.gather(*sends)
    finally:
        await producer.stop()
    await _mark_handled(servers, ends)
    return letters


async def discard_dead_letters(servers: str, topic: str) -> list[DeadLetter]:
    """Mark the dead letters of `topic` not replayed yet as dealt with, sending nothing: for messages no fix
    makes applicable (not an event at all). They stay in the .dlq topic for `recruit dlq list`."""
    records, ends = await _read(servers, dead_letter_topic_of(topic), from_committed=True)
    if ends:
        await _mark_handled(servers, ends)
    return [_dead_letter(record) for record in records]


async def _mark_handled(servers: str, ends: dict[TopicPartition, int]) -> None:
    """The replay group's offsets moved to `ends`: what is before them is replayed or discarded."""
    committer = AIOKafkaConsumer(bootstrap_servers=servers, group_id=REPLAY_GROUP, enable_auto_commit=False)
    await committer.start()
    try:
        committer.assign(list(ends))
        await committer.commit(dict(ends))
    finally:
        await committer.stop()


# --- where the running system is -------------------------------------------------------------------


RUN_FILE = "run.json"


def load_target(data_dir: Path, environ: Mapping[str, str]) -> Target:
    """The system `recruit up` runs from `data_dir` (its run.json), else the environment's
    KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL with the services on their default ports."""
    path = data_dir / RUN_FILE
    if path.exists():
        run = json.loads(path.read_text())
        return Target(services=run["services"], kafka_bootstrap_servers=run["kafka_bootstrap_servers"],
                      database_url=run["database_url"])
    servers, database_url = environ.get("KAFKA_BOOTSTRAP_SERVERS"), environ.get("DATABASE_URL")
    if not servers or not database_url:
        raise FileNotFoundError(f"no {path} (is `recruit up` running with this --data-dir?), and "
                                "KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL are not both set")
    from shared.settings import SERVICE_PORTS

    return Target(services={name: [f"http://127.0.0.1:{port}"] for name, port in SERVICE_PORTS.items()},
                  kafka_bootstrap_servers=servers, database_url=database_url)


# --- the retention purge -----------------------------------------------------------------------------


def days_of(text: str) -> int:
    """`90d` (or `90`) -> 90; ValueError for anything else."""
    found = re.fullmatch(r"\s*(\d{1,5})\s*d?\s*", text)
    if found is None:
        raise ValueError(f"{text!r} is not a number of days such as 90d")
    return int(found.group(1))


def intake_url_of(data_dir: Path) -> str:
    """Where intake listens: `recruit up`'s run.json in `data_dir`, else its default port on this machine."""
    path = data_dir / RUN_FILE
    if path.exists():
        return json.loads(path.read_text())["services"]["intake"][0]
    from shared.settings import SERVICE_PORTS

    return f"http://127.0.0.1:{SERVICE_PORTS['intake']}"


async def purge(intake_url: str, admin_token: str, older_than_days: int, *, dry_run: bool) -> dict:
    """POST /v1/admin/purge on the running intake; its answer, or RuntimeError with the server's words."""
    async with httpx.AsyncClient(timeout=600) as client:
        response = await client.post(f"{intake_url.rstrip('/')}/v1/admin/purge",
                                     json={"older_than_days": older_than_days, "dry_run": dry_run},
                                     headers={"Authorization": f"Bearer {admin_token}"})
    if response.status_code != 200:
        raise RuntimeError(f"intake answered {response.status_code}: {response.text[:500]}")
    return response.json()
