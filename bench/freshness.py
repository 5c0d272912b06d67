"""Bench: freshness, the delay from intake's 201 until reporting's summary counts the application, at a steady rate.

Runs `recruit up` (its own processes, on infrastructure this script starts and hands in by environment:
DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS if set, else embedded) and posts single applications (unique
phones) to intake's POST /v1/applications at a steady --rate for --seconds: an aiohttp client in this
process (httpx, used first, needed more CPU per request than intake itself and could offer only about
100/s on 2 cores), each request started on its own schedule (request i at start + i / rate, open loop, at
most --concurrency in flight), so a slow answer does not slow the offered rate. The achieved rate and
how late requests started are printed: they show whether the client kept up. intake's per-key rate
limit is raised for the bench (INTAKE_RATE_PER_SECOND, INTAKE_RATE_BURST) and the key is the bench's
own source, not the public form's (bot checks).

Meanwhile reporting's GET /v1/stats/summary is polled every 50 ms. The summary is a count, so the
application with the k-th 201 counts as counted at the first poll, after its 201, that shows at least
k more applications than before the run; its delay is that poll's answer time minus its 201's
arrival. Both times are taken in this process when the answers arrive, so a busy client can only
make delays look longer. Printed: p50/p95/p99/max delay (goal: p95 <= 1 s at 500/s for 60 s), and the
resident memory (RSS) of every process after each run. Medians of --runs.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import httpx
from intake_bulk import API_KEY  # bench/ is on the path when run as a script
from pipeline_lag import cpu_seconds, free_port_base, print_rss, processes, start_recruit_up

from shared.runtime.infra import start_infrastructure

POLL_SECONDS = 0.05
PLACES = [("RJ", "Ajmer"), ("RJ", "Alwar"), ("UP", "Lucknow"), ("MH", "Pune"), ("BR", "Patna"), ("KA", "Mysuru")]
WARMUP_BLOCK = 39  # phones of the warm-up; run r uses block r (each block is 100,000,000 phones)


def application(block: int, number: int, rng: random.Random) -> bytes:
    """A fresh application whose phone no other request of this bench uses: ten digits starting 6-9."""
    phone = str(6_000_000_000 + block * 100_000_000 + number)
    state, district = rng.choice(PLACES)
    return json.dumps({"full_name": rng.choice(["Asha Meena", "Ravi Sharma", "आशा मीणा"]), "phone": phone,
                       "email": f"user{phone}@example.com", "state": state, "district": district,
                       "age": rng.randint(18, 60), "languages": ["Hindi"], "skills": ["content_writing"],
                       "hours_per_week": rng.randint(1, 40), "consent": True}, ensure_ascii=False).encode()


@dataclass
class Load:
    accepted_at: list[float] = field(default_factory=list)  # perf_counter of each 201's arrival
    refused: list[str] = field(default_factory=list)
    lateness: list[float] = field(default_factory=list)  # how long after its due time each request started
    started: float = 0.0  # perf_counter when the first request was due
    last_start: float = 0.0  # perf_counter when the last request started

    def achieved_rate(self, rate: float) -> float:
        """Requests per second actually started (the offered rate is their count over the time it should take)."""
        return len(self.lateness) / (self.last_start - self.started + 1 / rate)


async def drive(url: str, rate: float, seconds: float, concurrency: int, block: int) -> Load:
    load, rng = Load(), random.Random(block)
    in_flight = asyncio.Semaphore(concurrency)
    headers = {"X-Api-Key": API_KEY, "Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency),
                                     timeout=aiohttp.ClientTimeout(total=30)) as client:

        async def post(body: bytes, due: float) -> None:
            async with in_flight:
                load.last_start = time.perf_counter()
                load.lateness.append(load.last_start - due)
                async with client.post(url, data=body, headers=headers) as response:
                    answer = await response.read()
                    answered = time.perf_counter()
            if response.status == 201:
                load.accepted_at.append(answered)
            else:
                load.refused.append(f"{response.status} {answer[:200]!r}")

        tasks = []
        load.started = time.perf_counter()
        for number in range(int(rate * seconds)):
            due = load.started + number / rate
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(post(application(block, number, rng), due)))
        await asyncio.gather(*tasks)
    return load


async def poll(url: str, seen: list[tuple[float, int]], stop: asyncio.Event) -> None:
    """Append (answer time, applications) to `seen` every POLL_SECONDS until `stop` is set."""
    async with httpx.AsyncClient(timeout=10) as client:
        while not stop.is_set():
            applications = (await client.get(url)).json()["applications"]
            seen.append((time.perf_counter(), applications))
            await asyncio.sleep(POLL_SECONDS)


async def measure(port_base: int, rate: float, seconds: float, concurrency: int, block: int,
                  timeout: float = 300) -> tuple[Load, list[float]]:
    """The load, and each accepted application's delay until the summary counted it (seconds; inf: never)."""
    summary_url = f"http://127.0.0.1:{port_base + 3}/v1/stats/summary"
    async with httpx.AsyncClient(timeout=10) as client:
        before = (await client.get(summary_url)).json()["applications"]
    seen: list[tuple[float, int]] = []
    stop = asyncio.Event()
    polling = asyncio.create_task(poll(summary_url, seen, stop))
    load = await drive(f"http://127.0.0.1:{port_base}/v1/applications", rate, seconds, concurrency, block)
    expected, deadline = before + len(load.accepted_at), time.perf_counter() + timeout
    while not (seen and seen[-1][1] >= expected) and time.perf_counter() < deadline:
        if polling.done():
            polling.result()  # the poller failed: raise its error
        await asyncio.sleep(POLL_SECONDS)
    stop.set()
    await polling
    times, counts = [t for t, _ in seen], [c for _, c in seen]
    delays = []
    for rank, accepted in enumerate(sorted(load.accepted_at), 1):
        first = max(bisect.bisect_left(counts, before + rank), bisect.bisect_right(times, accepted))
        delays.append(times[first] - accepted if first < len(times) else float("inf"))
    return load, delays


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=500, help="applications per second offered")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=200, help="most requests in flight at once")
    parser.add_argument("--warmup", type=float, default=5, help="seconds at --rate before the runs, not measured")
    args = parser.parse_args()
    assert args.runs <= 39 and args.rate * args.seconds < 100_000_000, "phone blocks run out"
    print(f"freshness: {args.rate:g} applications/s for {args.seconds:g} s, {args.runs} run(s),"
          f" at most {args.concurrency} in flight, {os.cpu_count()} CPUs, load average"
          f" {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    figures = []
    with tempfile.TemporaryDirectory(prefix="bench-freshness-") as tmp:
        infra = start_infrastructure(Path(tmp) / "infra")
        port_base = free_port_base()
        env = {**os.environ, **infra.env(), "INTAKE_API_KEYS": f"bench:{API_KEY}", "LOG_LEVEL": "WARNING",
               # intake's per-key token bucket (50/s, burst 200 by default) would answer most requests 429
               "INTAKE_RATE_PER_SECOND": "1000000", "INTAKE_RATE_BURST": "1000000"}
        up = start_recruit_up(env, Path(tmp) / "recruit", port_base)
        try:
            named = processes(up, infra)
            if args.warmup > 0:
                asyncio.run(measure(port_base, args.rate, args.warmup, args.concurrency, WARMUP_BLOCK))
            for run in range(args.runs):
                cpu_before, client_before = cpu_seconds(named), time.process_time()
                load, delays = asyncio.run(measure(port_base, args.rate, args.seconds, args.concurrency, run))
                cpu_after, client_cpu = cpu_seconds(named), time.process_time() - client_before
                assert not load.refused, f"{len(load.refused)} not accepted, e.g. {load.refused[:3]}"
                achieved = load.achieved_rate(args.rate)
                uncounted = sum(1 for d in delays if d == float("inf"))
                figures.append({"achieved": achieved, "p50": percentile(delays, 50), "p95": percentile(delays, 95),
                                "p99": percentile(delays, 99), "max": max(delays)})
                print(f"  run {run + 1}: {len(delays):,} accepted, offered {achieved:,.0f}/s (target {args.rate:g});"
                      f" requests started late by p99 {percentile(load.lateness, 99) * 1000:.1f} ms, max"
                      f" {max(load.lateness) * 1000:.1f} ms; delay 201 -> counted p50 {figures[-1]['p50']:.3f} s,"
                      f" p95 {figures[-1]['p95']:.3f} s, p99 {figures[-1]['p99']:.3f} s, max {figures[-1]['max']:.3f} s"
                      + (f"; {uncounted} never counted" if uncounted else ""), flush=True)
                print(f"    CPU seconds: this client {client_cpu:.1f}, " + ", ".join(
                    f"{name} {cpu_after[name] - cpu_before.get(name, 0):.1f}" for name in cpu_after), flush=True)
                named = processes(up, infra)
                print_rss(named)
        finally:
            up.terminate()
            up.wait(60)
            infra.stop()

    def median(key: str) -> float:
        return statistics.median(f[key] for f in figures)

    print(f"freshness at {args.rate:g} applications/s for {args.seconds:g} s, median of {args.runs} run(s),"
          f" {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"  offered rate achieved by the client: {median('achieved'):,.0f}/s")
    print(f"  delay from intake's 201 to reporting's summary counting it: p50 {median('p50'):.3f} s,"
          f" p95 {median('p95'):.3f} s (goal <= 1 s), p99 {median('p99'):.3f} s, max {median('max'):.3f} s")


if __name__ == "__main__":
    main()
