"""Bench: single applications from 50 concurrent clients through the whole pipeline, against a raw pipeline in the same run.

Runs `recruit up` (its own processes, on infrastructure this script starts and hands in by environment:
DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS if set, else embedded) and drives intake's POST /v1/applications
with wrk (Debian's `apt-get install wrk`; C, one event loop per thread) over 50 keep-alive connections on
2 threads, with bench/intake_single.lua building a fresh application with a unique phone per request.
intake's per-key rate limit is raised for the bench (INTAKE_RATE_PER_SECOND, INTAKE_RATE_BURST) so
that no request is refused with 429; the key is the bench's own source (INTAKE_API_KEYS), not the
public form's, which has bot checks. Figures per run: applications accepted (201) per second while wrk
ran, p50/p99 of the responses (every one must be a 201), and end to end: the seconds from wrk's start
until reporting's summary counts every accepted application, and the applications/s that makes.

The raw pipeline, measured in the same run the same way: a bare FastAPI endpoint in one uvicorn process
(intake runs one too) that parses the body as intake does and validates it with the same model
(services.intake.domain.validation), then does one INSERT into a plain table and one aiokafka send,
awaited; and three plain aiokafka consumers (three processes, like the three services that consume
intake's events), each in its own group, each writing every batch with one INSERT and committing.
Its end to end is until all three consumers have written every accepted application.

With --profile DIR, `py-spy record` samples every service during the first pipeline run (one raw
collapsed-stack file per service, as `pipeline_lag.py --profile` writes).

Printed after each run: the CPU seconds each process used (wrk's own too: it must not be the
bottleneck) and the resident memory (RSS) of every process. Medians of --runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import shutil
import signal
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
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from fastapi import FastAPI, Request  # module level: the route's annotations are resolved from here
from fastapi.responses import JSONResponse
from intake_bulk import API_KEY  # bench/ is on the path when run as a script
from pipeline_lag import cpu_seconds, free_port_base, print_rss, processes, start_profiles, start_recruit_up

from shared.runtime.infra import free_port, start_infrastructure

CONNECTIONS = 50
THREADS = 2
LUA = Path(__file__).with_suffix(".lua")
RAW_TOPIC = "bench.raw_single"  # its own topic: no service consumes it
RAW_CONSUMERS = 3
RAW_BATCH = 500
WARMUP_BLOCKS = (38, 39)  # phone blocks of the warm-up (pipeline, raw); a run r uses 2r and 2r + 1


def run_wrk(url: str, seconds: float, block: int) -> dict[str, float]:
    """wrk's RESULT line (created, other, seconds, p50_ms, p99_ms, max_ms, socket_errors) and its CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--timeout", "10s",
                           "-s", str(LUA), url, "--", API_KEY, str(block)], capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    result = json.loads(lines[0].removeprefix("RESULT "))
    assert result["other"] == 0 and result["socket_errors"] == 0, (result, done.stderr[-1000:])
    result["cpu"] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return result


def wait_for(count: Callable[[], int], expected: int, started: float, timeout: float = 600) -> float:
    """Seconds from `started` until count() >= expected, polled every 50 ms."""
    deadline = time.perf_counter() + timeout
    while (seen := count()) < expected:
        assert time.perf_counter() < deadline, f"only {seen} of {expected} after {timeout} s"
        time.sleep(0.05)
    return time.perf_counter() - started


# The raw pipeline: what any design must at least do per application, with nothing of the pipeline's own.

def serve_raw(port: int, dsn: str, servers: str) -> None:
    """A bare FastAPI endpoint: parse, validate with intake's model, one INSERT, one awaited aiokafka send."""
    from contextlib import asynccontextmanager

    import uvicorn

    from services.intake.domain.validation import validate_application
    from shared import json_input
    from shared.broker import make_producer

    state = {}

    @asynccontextmanager
    async def lifespan(_app):
        state["pool"] = await asyncpg.create_pool(dsn, min_size=2, max_size=10)
        state["producer"] = producer = make_producer(servers, "bench-raw")
        await producer.start()
        yield
        await producer.stop()
        await state["pool"].close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/v1/applications", status_code=201)
    async def submit(request: Request) -> JSONResponse:
        try:
            application = validate_application(json_input.loads(await request.body()))
        except ValueError as error:
            return JSONResponse({"detail": [{"field": "_root", "message": str(error)}]}, 422)
        if isinstance(application, list):
            return JSONResponse({"detail": [{"field": e.field, "message": e.code} for e in application]}, 422)
        application_id = uuid.uuid4()
        data = application.model_dump_json()
        await state["pool"].execute("INSERT INTO bench_raw_applications (id, phone, data) VALUES ($1, $2, $3)",
                                    application_id, application.phone, data)
        await state["producer"].send_and_wait(RAW_TOPIC, key=str(application_id).encode(),
                                              value=json.dumps({"application_id": str(application_id),
                                                                "data": data}).encode())
        return JSONResponse({"application_id": str(application_id), "status": "received", "duplicate": False}, 201)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def consume_raw(number: int, dsn: str, servers: str, group: str, written) -> None:
    """A plain batched consumer: getmany, one INSERT of the batch, commit; `written` counts what it wrote."""

    async def consume() -> None:
        conn = await asyncpg.connect(dsn)
        consumer = AIOKafkaConsumer(RAW_TOPIC, bootstrap_servers=servers, group_id=group,
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=100, max_records=RAW_BATCH)
                records = [json.loads(record.value) for batch in batches.values() for record in batch]
                if not records:
                    continue
                await conn.execute(f"INSERT INTO bench_raw_consumed_{number} (id, data)"
                                   " SELECT * FROM unnest($1::uuid[], $2::jsonb[])",
                                   [r["application_id"] for r in records], [r["data"] for r in records])
                await consumer.commit()
                with written.get_lock():
                    written.value += len(records)
        finally:
            await consumer.stop()
            await conn.close()

    asyncio.run(consume())


async def prepare_raw(dsn: str, servers: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        if RAW_TOPIC in await admin.list_topics():
            await admin.delete_topics([RAW_TOPIC])
        await admin.create_topics([NewTopic(RAW_TOPIC, 6, 1)])
    finally:
        await admin.close()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP TABLE IF EXISTS bench_raw_applications;"
                           " CREATE TABLE bench_raw_applications (id uuid PRIMARY KEY, phone text, data jsonb)")
        for number in range(1, RAW_CONSUMERS + 1):
            await conn.execute(f"DROP TABLE IF EXISTS bench_raw_consumed_{number};"
                               f" CREATE TABLE bench_raw_consumed_{number} (id uuid PRIMARY KEY, data jsonb)")
    finally:
        await conn.close()


def wait_ready(url: str, alive: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert alive(), f"{url}: the server exited"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer")


def summary_count(port_base: int) -> Callable[[], int]:
    url = f"http://127.0.0.1:{port_base + 3}/v1/stats/summary"
    return lambda: httpx.get(url, timeout=10).json()["applications"]


def measure(url: str, seconds: float, block: int, count: Callable[[], int],
            named: dict[str, psutil.Process]) -> dict[str, float]:
    """One wrk run against `url`, then the wait until count() has grown by every accepted application."""
    before, cpu_before = count(), cpu_seconds(named)
    started = time.perf_counter()
    result = run_wrk(url, seconds, block)
    result["end_to_end"] = wait_for(count, before + int(result["created"]), started)
    cpu_after = cpu_seconds(named)
    result["cpu_by_process"] = {name: cpu_after[name] - cpu_before.get(name, 0) for name in cpu_after}
    return result


def describe(label: str, r: dict) -> str:
    return (f"{label}: {r['created'] / r['seconds']:7,.0f} accepted/s, p50 {r['p50_ms']:6.1f} ms, p99"
            f" {r['p99_ms']:6.1f} ms; all {r['created']:,.0f} through in {r['end_to_end']:5.1f} s"
            f" ({r['created'] / r['end_to_end']:,.0f}/s end to end); CPU s: wrk {r['cpu']:.1f}, "
            + ", ".join(f"{name} {used:.1f}" for name, used in r["cpu_by_process"].items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20, help="how long wrk drives each target per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=3, help="seconds of wrk on each target before the runs")
    parser.add_argument("--profile", type=Path,
                        help="directory for py-spy profiles of the services during the first pipeline run")
    args = parser.parse_args()
    assert args.runs <= 19, "phone blocks run out after 19 runs (see intake_single.lua)"
    if shutil.which("wrk") is None:
        sys.exit("intake_single.py drives the load with wrk: apt-get install wrk")
    print(f"intake single requests: wrk -t{THREADS} -c{CONNECTIONS}, {args.runs} x {args.seconds:g} s per target,"
          f" {os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    spawn = multiprocessing.get_context("spawn")
    ours, raw = [], []
    with tempfile.TemporaryDirectory(prefix="bench-single-") as tmp:
        infra = start_infrastructure(Path(tmp) / "infra")
        port_base, raw_port = free_port_base(), free_port()
        env = {**os.environ, **infra.env(), "INTAKE_API_KEYS": f"bench:{API_KEY}", "LOG_LEVEL": "WARNING",
               # intake's per-key token bucket (50/s, burst 200 by default) would answer most requests 429
               "INTAKE_RATE_PER_SECOND": "1000000", "INTAKE_RATE_BURST": "1000000"}
        up = start_recruit_up(env, Path(tmp) / "recruit", port_base)
        dsn, servers = infra.database_url, infra.kafka_bootstrap_servers
        asyncio.run(prepare_raw(dsn, servers))
        written = [spawn.Value("q", 0) for _ in range(RAW_CONSUMERS)]
        group = f"bench-raw-{uuid.uuid4()}"
        raw_processes = [spawn.Process(target=serve_raw, args=(raw_port, dsn, servers), daemon=True)]
        raw_processes += [spawn.Process(target=consume_raw, args=(n + 1, dsn, servers, f"{group}-{n + 1}", written[n]),
                                        daemon=True) for n in range(RAW_CONSUMERS)]
        try:
            for process in raw_processes:
                process.start()
            wait_ready(f"http://127.0.0.1:{raw_port}/readyz", raw_processes[0].is_alive)
            named = processes(up, infra)
            infra_named = {name: p for name, p in named.items() if name in ("broker", "postgres (all backends)")}
            raw_named = {"raw endpoint": psutil.Process(raw_processes[0].pid),
                         **{f"raw consumer {n}": psutil.Process(p.pid) for n, p in enumerate(raw_processes[1:], 1)},
                         **infra_named}
            ours_url, raw_url = (f"http://127.0.0.1:{port_base}/v1/applications",
                                f"http://127.0.0.1:{raw_port}/v1/applications")
            ours_count = summary_count(port_base)

            def raw_count() -> int:
                return min(w.value for w in written)  # every consumer wrote it

            # Warm-up: connection pools filled, consumer groups joined, and everything drained before run 1.
            measure(ours_url, args.warmup, WARMUP_BLOCKS[0], ours_count, named)
            measure(raw_url, args.warmup, WARMUP_BLOCKS[1], raw_count, raw_named)
            for run in range(args.runs):
                profiles = start_profiles(named, args.profile) if args.profile and run == 0 else []
                ours.append(measure(ours_url, args.seconds, 2 * run, ours_count, named))
                for profile in profiles:
                    profile.send_signal(signal.SIGINT)
                    profile.wait(60)
                print("  " + describe(f"run {run + 1} pipeline", ours[-1]), flush=True)
                raw.append(measure(raw_url, args.seconds, 2 * run + 1, raw_count, raw_named))
                print("  " + describe(f"run {run + 1} raw     ", raw[-1]), flush=True)
                print_rss({**processes(up, infra), **{n: p for n, p in raw_named.items() if n.startswith("raw")}})
        finally:
            for process in raw_processes:
                if process.is_alive():
                    process.terminate()
                    process.join(10)
            up.terminate()
            up.wait(60)
            infra.stop()

    def median(results: list[dict], figure: Callable[[dict], float]) -> float:
        return statistics.median(figure(r) for r in results)

    accepted, end_to_end = (lambda r: r["created"] / r["seconds"]), (lambda r: r["created"] / r["end_to_end"])
    p50, p99 = (lambda r: r["p50_ms"]), (lambda r: r["p99_ms"])
    print(f"intake single requests, wrk -t{THREADS} -c{CONNECTIONS} for {args.seconds:g} s, median of {args.runs} runs,"
          f" {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for label, results in (("pipeline (recruit up)", ours), ("raw pipeline         ", raw)):
        print(f"  {label}: {median(results, accepted):7,.0f} accepted/s, p50 {median(results, p50):6.1f} ms,"
              f" p99 {median(results, p99):6.1f} ms; end to end {median(results, end_to_end):7,.0f}/s")
    print(f"  pipeline / raw: accepted/s {median(ours, accepted) / median(raw, accepted):.2f}, end to end"
          f" {median(ours, end_to_end) / median(raw, end_to_end):.2f} (goal >= 0.8); pipeline p99"
          f" {median(ours, p99):.1f} ms (goal <= 100 ms)")


if __name__ == "__main__":
    main()
