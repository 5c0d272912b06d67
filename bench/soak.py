"""Bench: a soak, 30 minutes at a steady 300 applications/s through all four services, with interviews.

Runs `recruit up` (its own processes; DATABASE_URL if set, else an embedded PostgreSQL this script
starts; the broker is always the one `recruit up` embeds, so it is recycled at BROKER_MAX_RSS_MB as in
production, 1024 MB by default: a run this long passes it), posts applications at a steady rate
(realistic applicants from the simulator; the share to be interviewed one by one through the form's
endpoint, the rest in a small NDJSON bulk request every --tick-seconds, because a Python client posting
300 a second one by one takes a core of the two this machine has), and interviews that share as
screening queues them (scheduled then recorded with a staff token, the simulator's scores and
no-shows), so results, placements and every topic flow all the time.

Every --report-seconds it prints one line: elapsed time, applications accepted and the rate held,
interviews recorded, reporting's counts, each consumer group's lag (messages behind, all its topics),
each service's outbox backlog (unpublished rows) and the resident memory (RSS) of every process
(PostgreSQL with all its backends; the process list is read again each time, so a recycled broker
shows with its new pid).

At the end, each series (lag per group, backlog per service, RSS per process) is judged: it grew
without bound when the average of the run's last third is above the middle third's by more than 10%
plus an allowance for noise (lag and backlog: one second of traffic, i.e. --rate messages; RSS: 25 MB).
A series that levels off after warming up passes; one that keeps climbing fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import tempfile
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from intake_bulk import API_KEY  # bench/ is on the path when run as a script
from pipeline_lag import free_port_base, processes, rss_mb, start_database, start_recruit_up

from shared.runtime.operations import consumer_lag, outbox_backlog
from shared.runtime.simulate import NO_SHOW_SHARE, Applicants, _send

STAFF_TOKEN = "bench-admin"
QUEUED_AFTER_SECONDS = 5.0  # an interview is first tried this long after its application was accepted


class Soak:
    """What the run did so far, and the series sampled each report."""

    def __init__(self) -> None:
        self.accepted = self.refused = self.interviewed = 0
        self.waiting: deque[tuple[float, str]] = deque()  # (accepted at, application id) to interview
        self.series: dict[str, list[float]] = {}

    def sample(self, name: str, value: float) -> None:
        self.series.setdefault(name, []).append(value)


async def post_steadily(client: httpx.AsyncClient, intake_url: str, rate: float, until: float, share: float,
                        soak: Soak, seed: int, tick: float, single: bool) -> None:
    """`rate` applications a second, sent every `tick` s. The share picked for interview comes through the
    form's endpoint one by one (its 201 gives the id to interview); the rest, as an upstream form system
    sends them, in one NDJSON bulk request per tick (or one by one too with --single). A semaphore bounds
    the requests in flight: if intake falls behind, the rate printed falls, the script does not pile up."""
    applicants, rng = Applicants(seed), random.Random(seed)
    in_flight = asyncio.Semaphore(128)
    headers = {"X-Api-Key": API_KEY}
    started, sent = time.monotonic(), 0

    async def post(application: dict, interview: bool) -> None:
        try:
            response = await _send(client, "POST", f"{intake_url}/v1/applications", json=application,
                                   headers=headers)
            if response.status_code == 201:
                soak.accepted += 1
                if interview:
                    soak.waiting.append((time.monotonic(), response.json()["application_id"]))
            else:
                soak.refused += 1
        except httpx.HTTPError:
            soak.refused += 1
        finally:
            in_flight.release()

    async def post_bulk(applications: list[dict]) -> None:
        body = "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in applications).encode()
        try:
            response = await _send(client, "POST", f"{intake_url}/v1/applications/bulk", content=body,
                                   headers={**headers, "Content-Type": "application/x-ndjson"})
            if response.status_code == 200:
                soak.accepted += response.json()["accepted"]
                soak.refused += len(applications) - response.json()["accepted"]
            else:
                soak.refused += len(applications)
        except httpx.HTTPError:
            soak.refused += len(applications)
        finally:
            in_flight.release()

    async def start(request) -> None:
        await in_flight.acquire()
        task = asyncio.create_task(request)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    tasks: set[asyncio.Task] = set()
    while time.monotonic() < until:
        await asyncio.sleep(max(0.0, started + sent / rate - time.monotonic()))
        due = max(1, round(rate * tick))
        bulk = []
        for _ in range(due):
            application, interview = applicants.one()[0], rng.random() < share
            if interview or single:
                await start(post(application, interview))
            else:
                bulk.append(application)
        if bulk:
            await start(post_bulk(bulk))
        sent += due
    await asyncio.gather(*tasks)


async def interview_steadily(client: httpx.AsyncClient, screening_url: str, until: float, soak: Soak,
                             seed: int, workers: int = 8) -> None:
    """Schedule and record interviews of the applications picked to be interviewed, oldest first; a case
    screening has not queued yet (404) is tried again a little later."""
    headers = {"Authorization": f"Bearer {STAFF_TOKEN}"}
    applicants = Applicants(seed + 1)  # scores only
    when = (datetime.now(timezone.utc) + timedelta(days=1)).replace(microsecond=0).isoformat()

    async def worker() -> None:
        while time.monotonic() < until:
            if not soak.waiting or time.monotonic() - soak.waiting[0][0] < QUEUED_AFTER_SECONDS:
                await asyncio.sleep(0.2)
                continue
            _, application_id = soak.waiting.popleft()
            try:
                scheduled = await _send(client, "POST", f"{screening_url}/v1/interviews", headers=headers, json={
                    "application_id": application_id, "interview_at": when, "interviewer": "soak"})
                if scheduled.status_code == 404:
                    soak.waiting.append((time.monotonic(), application_id))
                    continue
                if scheduled.status_code != 201:
                    continue
                body = {"outcome": "no_show"} if applicants.rng.random() < NO_SHOW_SHARE else applicants.scores()
                result = await _send(client, "POST", f"{screening_url}/v1/interviews/{application_id}/result",
                                     headers=headers, json=body)
                soak.interviewed += result.status_code == 200
            except httpx.HTTPError:
                soak.waiting.append((time.monotonic(), application_id))

    await asyncio.gather(*(worker() for _ in range(workers)))


async def report_steadily(client: httpx.AsyncClient, up, up_dir: Path, infra, reporting_url: str, every: float,
                          until: float, soak: Soak) -> None:
    started = time.monotonic()
    broker_pid = None
    while time.monotonic() < until:
        await asyncio.sleep(min(every, max(0.0, until - time.monotonic())))
        elapsed = time.monotonic() - started
        summary = (await client.get(f"{reporting_url}/v1/stats/summary")).json()
        servers = json.loads((up_dir / "run.json").read_text())["kafka_bootstrap_servers"]
        lag = {group: sum(topics.values()) for group, topics in (await consumer_lag(servers)).items()}
        backlog = {service: found["unpublished"] for service, found in
                   (await outbox_backlog(infra.database_url)).items()}
        named = await asyncio.to_thread(processes, up, infra)
        rss = {name: rss_mb(process, name.startswith("postgres")) for name, process in named.items()}
        if "broker" in named and broker_pid not in (None, named["broker"].pid):
            print(f"  broker recycled: pid {broker_pid} -> {named['broker'].pid}")
        broker_pid = named["broker"].pid if "broker" in named else None
        for group, behind in lag.items():
            soak.sample(f"lag {group}", behind)
        for service, rows in backlog.items():
            soak.sample(f"outbox {service}", rows)
        for name, megabytes in rss.items():
            soak.sample(f"RSS {name}", megabytes)
        funnel = summary["funnel"]
        print(f"{elapsed / 60:5.1f} min  accepted {soak.accepted:,} ({soak.accepted / elapsed:.0f}/s), refused"
              f" {soak.refused}, interviewed {soak.interviewed:,} | reporting: {summary['applications']:,}"
              f" applications, {funnel['interviewed'] + funnel['no_show']:,} interviewed, {funnel['selected']:,}"
              f" selected, {summary['current'].get('placed', 0):,} placed"
              f" | lag " + " ".join(f"{g} {n}" for g, n in lag.items())
              + " | outbox " + " ".join(f"{s} {n}" for s, n in backlog.items())
              + " | RSS MB " + ", ".join(f"{n} {m:.0f}" for n, m in rss.items()), flush=True)


def grew_without_bound(values: list[float], allowance: float) -> tuple[bool, float, float]:
    """(grew, middle third's average, last third's average)."""
    third = len(values) // 3
    middle = statistics.fmean(values[third:2 * third])
    last = statistics.fmean(values[2 * third:])
    return last > middle * 1.10 + allowance, middle, last


def verdict(soak: Soak, rate: float) -> bool:
    print("growth (average of the last third of the samples against the middle third's; grew = above it by"
          f" more than 10% + {rate:.0f} messages or rows for lag and backlog, + 25 MB for RSS):")
    steady = True
    for name, values in soak.series.items():
        if len(values) < 3:
            print(f"  {name}: {len(values)} samples, too few to judge")
            continue
        grew, middle, last = grew_without_bound(values, 25.0 if name.startswith("RSS") else rate)
        steady &= not grew
        print(f"  {name:32} middle {middle:10.1f}  last {last:10.1f}  {'GREW' if grew else 'bounded'}")
    return steady


async def soak_run(up, up_dir: Path, infra, port_base: int, args: argparse.Namespace) -> Soak:
    soak = Soak()
    until = time.monotonic() + args.minutes * 60
    limits = httpx.Limits(max_connections=160, max_keepalive_connections=160)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        await asyncio.gather(
            post_steadily(client, f"http://127.0.0.1:{port_base}", args.rate, until, args.interview_share, soak,
                          args.seed, args.tick_seconds, args.single),
            interview_steadily(client, f"http://127.0.0.1:{port_base + 1}", until, soak, args.seed),
            report_steadily(client, up, up_dir, infra, f"http://127.0.0.1:{port_base + 3}", args.report_seconds,
                            until, soak))
    return soak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=float, default=300, help="applications per second")
    parser.add_argument("--report-seconds", type=float, default=60)
    parser.add_argument("--interview-share", type=float, default=0.1,
                        help="share of accepted applications interviewed (each: two requests to screening)")
    parser.add_argument("--tick-seconds", type=float, default=0.2,
                        help="applications are sent every this often (rate x tick of them)")
    parser.add_argument("--single", action="store_true",
                        help="post every application one by one (the load generator, not intake, then limits "
                             "the rate on 2 cores)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        infra = start_database(Path(tmp) / "infra")
        port_base = free_port_base()
        env = {**{k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"},
               "DATABASE_URL": infra.database_url, "INTAKE_API_KEYS": f"bench:{API_KEY}",
               "STAFF_TOKENS": f"{STAFF_TOKEN}:admin", "LOG_LEVEL": "WARNING",
               # one key sends the whole campaign: its token bucket must not be the limit measured
               "INTAKE_RATE_PER_SECOND": str(args.rate * 4), "INTAKE_RATE_BURST": str(args.rate * 8)}
        up = start_recruit_up(env, Path(tmp) / "recruit", port_base)
        try:
            print(f"soak: {args.minutes:g} min at {args.rate:g} applications/s, {args.interview_share:.0%} interviewed,"
                  f" {os.cpu_count()} CPUs", flush=True)
            soak = asyncio.run(soak_run(up, Path(tmp) / "recruit", infra, port_base, args))
        finally:
            up.send_signal(signal.SIGTERM)
            up.wait(60)
            infra.stop()
    steady = verdict(soak, args.rate)
    print(f"{soak.accepted:,} applications accepted, {soak.refused} refused, {soak.interviewed:,} interviewed;"
          f" {'nothing grew without bound' if steady else 'SOMETHING GREW WITHOUT BOUND'}"
          f" (load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
