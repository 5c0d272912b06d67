"""Bench: intake bulk import, 100,000 rows in one request until every event is published, against a raw baseline.

Runs `recruit service intake` as its own process (real HTTP, its own memory), posts N fresh rows
as a streamed text/csv (or NDJSON) body, and times: the request (parse, validate, COPY into staging,
one set-based insert per batch, events into the outbox, commit) and "published" (the outbox relay
has every event acknowledged by Kafka). The baseline, measured in the same run on the same
infrastructure, is the least any design must do: plain asyncpg COPY of the same rows into a plain
table plus plain aiokafka batched sends of the same number of event-sized messages.
Peak RSS is the intake process's high-water mark (VmHWM) after a small import and after all runs
(a streamed import keeps it flat whatever the row count), and each bulk worker's. Also printed:
the CPU seconds each part used per run. Medians of several runs.
Uses DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS if set, else embedded.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import asyncpg
import httpx
import psutil
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.broker import ensure_topics, make_producer
from shared.geography import STATES
from shared.runtime.infra import free_port, start_infrastructure
from shared.settings import Settings

API_KEY = "bench-key"
COLUMNS = ["full_name", "phone", "email", "state", "district", "age", "languages", "skills", "social.twitter",
           "hours_per_week", "consent"]
FIRST = ["Asha", "Ravi", "Meera", "Arjun", "Priya", "Vikram", "Sunita", "Rahul", "आशा", "रवि", "सुनीता", "अर्जुन"]
LAST = ["Meena", "Sharma", "Verma", "Das", "Patel", "Yadav", "Singh", "Kumar", "मीणा", "शर्मा", "वर्मा", "यादव"]


def rows(n: int, run: int) -> list[list[str]]:
    rng = random.Random(run)
    codes = list(STATES)
    weights = [STATES[c].weight for c in codes]
    out = []
    for i in range(n):
        state = rng.choices(codes, weights)[0]
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        out.append([name, f"9{run:02d}{i:07d}", f"user{run}x{i}@example.com", state,
                    rng.choice(STATES[state].districts), str(rng.randint(18, 60)), "Hindi, English",
                    "content_writing;translation", f"@user{run}x{i}", str(rng.randint(1, 40)), "true"])
    return out


def csv_body(table: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(table)
    return buffer.getvalue().encode()


def ndjson_body(table: list[list[str]]) -> bytes:
    return "".join(json.dumps(dict(zip(COLUMNS, row)), ensure_ascii=False) + "\n" for row in table).encode()


async def chunks(body: bytes, size: int = 64 * 1024):
    for start in range(0, len(body), size):
        yield body[start:start + size]


def cpu_seconds(intake_pid: int, broker_pid: int | None, postmaster_pid: int | None) -> dict[str, float]:
    """CPU time used so far by each part: intake's event loop, its bulk workers, PostgreSQL, the broker
    (the embedded ones only: other PostgreSQL servers on the machine are not ours to count)."""
    def used(process: psutil.Process) -> float:
        try:
            times = process.cpu_times()
            return times.user + times.system
        except psutil.Error:
            return 0.0

    intake = psutil.Process(intake_pid)
    postgres = [psutil.Process(postmaster_pid), *psutil.Process(postmaster_pid).children()] if postmaster_pid else []
    return {"intake": used(intake), "workers": sum(used(c) for c in intake.children(recursive=True)),
            "postgres": sum(used(p) for p in postgres),
            "broker": used(psutil.Process(broker_pid)) if broker_pid else 0.0}


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def import_and_publish(url: str, dsn: str, body: bytes, content_type: str, expected: int,
                             cpu: Callable[[], dict[str, float]] = dict) -> tuple[float, float, dict[str, float]]:
    """(seconds until the response, seconds until the outbox is drained, both from the request's start;
    cpu() read when the response came)."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "intake"})
    try:
        async with httpx.AsyncClient(timeout=300) as client:
            started = time.perf_counter()
            response = await client.post(f"{url}/v1/applications/bulk", content=chunks(body),
                                         headers={"X-Api-Key": API_KEY, "Content-Type": content_type})
            answered = time.perf_counter() - started
            cpu_answered = cpu()
        assert response.status_code == 200, (response.status_code, response.text[:500])
        result = response.json()
        assert response.status_code == 200 and result["accepted"] == expected, (response.status_code, str(result)[:300])
        # EXISTS, not count(*): counting 100,000 pending rows every 20 ms kept a core of PostgreSQL busy
        # and slowed the very relay it was timing.
        while await conn.fetchval("SELECT EXISTS (SELECT FROM outbox_pending)"):
            await asyncio.sleep(0.02)
        return answered, time.perf_counter() - started, cpu_answered
    finally:
        await conn.close()


BASELINE_TOPIC = "bench.baseline"  # its own topic: services consuming applications.submitted must not see it


async def baseline(dsn: str, servers: str, table: list[list[str]], payload_size: int) -> float:
    """Plain asyncpg COPY of the rows, then plain aiokafka batched sends of as many messages."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        if BASELINE_TOPIC not in await admin.list_topics():
            await admin.create_topics([NewTopic(BASELINE_TOPIC, 6, 1)])
    finally:
        await admin.close()
    conn = await asyncpg.connect(dsn)
    await conn.execute("DROP TABLE IF EXISTS bench_baseline; CREATE TABLE bench_baseline ("
                       + ", ".join(f'"{c}" text' for c in COLUMNS) + ")")
    producer = make_producer(servers, "bench-baseline")
    await producer.start()
    payload = b"x" * payload_size
    try:
        started = time.perf_counter()
        await conn.copy_records_to_table("bench_baseline", records=table)
        futures = [await producer.send(BASELINE_TOPIC, value=payload, key=str(uuid.uuid4()).encode())
                   for _ in table]
        await asyncio.gather(*futures)
        return time.perf_counter() - started
    finally:
        await producer.stop()
        await conn.execute("DROP TABLE bench_baseline")
        await conn.close()


def start_intake(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    recruit = Path(sys.executable).parent / "recruit"
    with open(log, "ab") as out:
        process = subprocess.Popen([str(recruit), "service", "intake", "--host", "127.0.0.1", "--port", str(port)],
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"intake did not become ready:\n{log.read_text()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--format", choices=["csv", "ndjson"], default="csv")
    parser.add_argument("--outbox-batch-size", type=int, default=Settings().outbox_batch_size,
                        help="OUTBOX_BATCH_SIZE of the intake service (its relay's batch)")
    args = parser.parse_args()
    make_body, content_type = (csv_body, "text/csv") if args.format == "csv" else (ndjson_body, "application/x-ndjson")

    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        infra = start_infrastructure(Path(tmp))
        port = free_port()
        env = {**os.environ, **infra.env(), "INTAKE_API_KEYS": f"bench:{API_KEY}",
               "PHONE_HASH_KEY": "bench-hash-key", "STAFF_TOKENS": "bench-admin:admin", "LOG_LEVEL": "WARNING",
               "OUTBOX_BATCH_SIZE": str(args.outbox_batch_size)}
        intake = start_intake(env, port, Path(tmp) / "intake.log")
        url, dsn = f"http://127.0.0.1:{port}", infra.database_url
        try:
            asyncio.run(ensure_topics(infra.kafka_bootstrap_servers, 6))
            idle_rss = peak_rss_mb(intake.pid)
            small = rows(10_000, run=99)
            asyncio.run(import_and_publish(url, dsn, make_body(small), content_type, len(small)))
            small_rss = peak_rss_mb(intake.pid)
            answered, published, raw = [], [], []
            broker_pid = infra.kafka.process.pid if infra.kafka and infra.kafka.process else None
            postmaster_pid = (int((infra.postgres.pgdata / "postmaster.pid").read_text().split()[0])
                              if infra.postgres else None)
            for run in range(args.runs):
                table = rows(args.rows, run)
                body = make_body(table)
                def cpu() -> dict[str, float]:
                    return cpu_seconds(intake.pid, broker_pid, postmaster_pid)
                before = cpu()
                a, p, at_answer = asyncio.run(import_and_publish(url, dsn, body, content_type, len(table), cpu))
                after = cpu()
                print("  cpu seconds until answered / after: "
                      + ", ".join(f"{k} {at_answer[k] - before[k]:.1f} / {after[k] - at_answer[k]:.1f}" for k in after),
                      flush=True)
                answered.append(a)
                published.append(p)
                raw.append(asyncio.run(baseline(dsn, infra.kafka_bootstrap_servers, table, payload_size=620)))
                print(f"  run {run + 1}: response {a:5.2f} s, all published {p:5.2f} s, raw baseline {raw[-1]:5.2f} s",
                      flush=True)
            big_rss = peak_rss_mb(intake.pid)
            worker_rss = [peak_rss_mb(child.pid) for child in psutil.Process(intake.pid).children(recursive=True)
                          if "spawn_main" in " ".join(child.cmdline())]
        except BaseException:
            print((Path(tmp) / "intake.log").read_text()[-3000:])
            raise
        finally:
            intake.terminate()
            intake.wait(20)
            infra.stop()

    a, p, r = statistics.median(answered), statistics.median(published), statistics.median(raw)
    megabytes = len(body) / 1e6
    print(f"intake bulk import, {args.rows:,} rows of {args.format} ({megabytes:.1f} MB), median of {args.runs} runs,"
          f" OUTBOX_BATCH_SIZE={args.outbox_batch_size}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"  request answered (parsed, validated, staged, inserted, outbox):  {a:6.2f} s  {args.rows / a:9,.0f} rows/s")
    print(f"  accepted and published (outbox drained to Kafka):                {p:6.2f} s  {args.rows / p:9,.0f} rows/s"
          f"   target <= 10 s: {'met' if p <= 10 else 'NOT met'}")
    print(f"  raw baseline (asyncpg COPY of the rows + aiokafka batched send): {r:6.2f} s")
    print(f"  pipeline / raw baseline = {p / r:.2f}")
    print(f"  intake peak RSS: {idle_rss:.0f} MB idle, {small_rss:.0f} MB after 10,000 rows, "
          f"{big_rss:.0f} MB after {args.runs} x {args.rows:,} rows; bulk workers "
          + ", ".join(f"{rss:.0f}" for rss in worker_rss) + " MB")


if __name__ == "__main__":
    main()
