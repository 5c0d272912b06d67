"""Test helpers every tier shares: credentials, in-process and subprocess services, `recruit up`,
polling, and the events tests publish and read. Fixtures live in tests/conftest.py and use these."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Generic, TypeVar

import asyncpg
import httpx
import psutil

from shared.broker import make_producer
from shared.events import ApplicationSubmitted, Envelope, Event, new_event
from shared.india_time import today_in_india

TEST_API_KEY = "test-form-key"
TEST_SIMULATOR_KEY = "test-simulator-key"
ADMIN_TOKEN = "test-admin-token"
INTERVIEWER_TOKEN = "test-interviewer-token"
RJ_INTERVIEWER_TOKEN = "test-rj-interviewer-token"
PHONE_HASH_KEY = "test-phone-hash-key"

BASE_ENV = {
    "INTAKE_API_KEYS": f"web-form:{TEST_API_KEY},simulator:{TEST_SIMULATOR_KEY}",
    "STAFF_TOKENS": f"{ADMIN_TOKEN}:admin,{INTERVIEWER_TOKEN}:interviewer,{RJ_INTERVIEWER_TOKEN}:interviewer:RJ",
    "PHONE_HASH_KEY": PHONE_HASH_KEY,
    "OUTBOX_POLL_SECONDS": "0.2",
    # The tests post as upstream systems do, many times a second from one address, and mostly with the
    # web form's key: the public form's per-address limit and bot check are set aside here and tested
    # with their defaults on their own (test_intake_form_guard.py, test_intake_form_browser.py).
    "INTAKE_FORM_MIN_FILL_SECONDS": "0",
    "INTAKE_FORM_ADDRESS_BURST": "100000",
}


S = TypeVar("S")


def docker_requested() -> bool:
    if os.environ.get("RECRUIT_TEST_DOCKER") != "1":
        return False
    try:
        import docker

        docker.from_env().ping()
        return True
    except Exception:
        return False


@contextlib.asynccontextmanager
async def running(app_factory) -> AsyncIterator[httpx.AsyncClient]:
    """Start a service app in-process (its lifespan: migrations, relay, consumers) and talk to it over ASGI."""
    app = app_factory()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@contextlib.asynccontextmanager
async def running_all_services() -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    """The four services in-process, as `running` starts one: (intake, screening, placement, reporting)."""
    from services.intake.app import create_app as intake_app
    from services.placement.app import create_app as placement_app
    from services.reporting.app import create_app as reporting_app
    from services.screening.app import create_app as screening_app

    async with contextlib.AsyncExitStack() as services:
        yield tuple([await services.enter_async_context(running(create_app))
                     for create_app in (intake_app, screening_app, placement_app, reporting_app)])


@contextlib.asynccontextmanager
async def migrated_pool(database_url: str, schema: str, **pool_options) -> AsyncIterator[asyncpg.Pool]:
    """A service schema, migrated, and a pool on it (search_path = the schema)."""
    from shared import db

    await db.migrate(database_url, schema)
    pool = await db.create_pool(database_url, schema, **pool_options)
    try:
        yield pool
    finally:
        await pool.close()


async def eventually(check, timeout: float = 15.0, interval: float = 0.1):
    """Poll an async check until it returns a truthy value; fail with its last value."""
    deadline = asyncio.get_running_loop().time() + timeout
    last = None
    while asyncio.get_running_loop().time() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")


def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def form_key_headers() -> dict[str, str]:
    return {"X-Api-Key": TEST_API_KEY}


class RecruitUp:
    """`recruit up` as an operator runs it: a subprocess on a data dir, stopped with SIGTERM."""

    def __init__(self, data_dir: Path, port_base: int, env: dict[str, str] | None = None,
                 args: tuple[str, ...] = ()) -> None:
        self.data_dir, self.port_base, self.args = data_dir, port_base, args
        self.env = {k: v for k, v in os.environ.items()
                    # Without XDG_RUNTIME_DIR, as under a service account or in a container.
                    if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "XDG_RUNTIME_DIR")} | (env or {})
        self.process: subprocess.Popen | None = None
        self.output = data_dir / "recruit-up.out"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.port_base + ['intake', 'screening', 'placement', 'reporting'].index(service)}"

    def start(self, timeout: float = 90.0) -> "RecruitUp":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        recruit = Path(sys.executable).parent / "recruit"
        with open(self.output, "ab") as out:
            self.process = subprocess.Popen(
                [str(recruit), "up", "--data-dir", str(self.data_dir), "--port-base", str(self.port_base), *self.args],
                stdout=out, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"recruit up exited:\n{self.output.read_text()}"
            if "recruit is running" in self.output.read_text() and all(
                    self._ready(s) for s in ("intake", "screening", "placement", "reporting")):
                return self
            time.sleep(0.5)
        raise AssertionError(f"recruit up not ready in {timeout}s:\n{self.output.read_text()}")

    def _ready(self, service: str) -> bool:
        try:
            return httpx.get(self.url(service) + "/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def credentials(self) -> dict[str, str]:
        import json

        return json.loads((self.data_dir / "credentials.json").read_text())

    def api_key(self) -> str:
        """The simulator's key: an upstream's, which the public form's bot check does not apply to."""
        keys = dict(item.split(":", 1) for item in self.credentials()["INTAKE_API_KEYS"].split(","))
        return keys["simulator"]

    def admin_token(self) -> str:
        return next(item.split(":")[0] for item in self.credentials()["STAFF_TOKENS"].split(",")
                    if item.split(":")[1] == "admin")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, as Ctrl-C or an init system would; returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"recruit up did not stop within {timeout}s")

    def kill(self) -> None:
        """Last resort in teardown: kill the supervisor and everything it started."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for proc in psutil.process_iter(["cmdline"]):
            cmdline = " ".join(proc.info["cmdline"] or [])
            # The four services, and replicas on the ports after them (recruit up --replicas).
            if str(self.data_dir) in cmdline or any(f"--port {self.port_base + i} " in cmdline + " "
                                                    for i in range(16)):
                with contextlib.suppress(psutil.Error):
                    # intake=N's uvicorn workers carry no port in their command line: their parent's does.
                    for child in proc.children(recursive=True):
                        child.kill()
                    proc.kill()


def free_port_base(count: int = 12) -> int:
    """Consecutive free ports: the four services' and, after them, room for replicas (--replicas)."""
    import socket

    for _ in range(50):
        base = 20000 + (uuid.uuid4().int % 20000)
        sockets = []
        try:
            for offset in range(count):
                s = socket.socket()
                s.bind(("127.0.0.1", base + offset))
                sockets.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError(f"no {count} consecutive free ports")


def wait_for(check, timeout: float = 60.0, what: str = "condition"):
    """Poll a sync check (HTTP against a subprocess) until it returns a truthy value."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except httpx.HTTPError as error:
            last = error
        time.sleep(0.3)
    raise AssertionError(f"{what} not met in {timeout}s; last: {last!r}")


@contextlib.contextmanager
def service_process(name: str, env: dict[str, str], log: Path) -> Iterator[str]:
    """`recruit service NAME` as its own process on a free port (real HTTP, its own memory);
    yields its URL once /readyz answers, and stops it with SIGTERM afterwards."""
    from shared.runtime.infra import free_port

    port = free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    recruit = Path(sys.executable).parent / "recruit"
    with open(log, "ab") as out:
        process = subprocess.Popen([str(recruit), "service", name, "--host", "127.0.0.1", "--port", str(port)],
                                   env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(20)


async def topic_envelopes(servers: str, topic: str, settle: float = 1.0) -> list[dict]:
    """Every envelope on `topic` from its start, read until the topic has been quiet for `settle`
    seconds (a module has a broker of its own, so this is the module's history)."""
    import json

    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=servers, group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    found: list[dict] = []
    try:
        quiet_since = asyncio.get_running_loop().time()
        while asyncio.get_running_loop().time() - quiet_since < settle:
            batch = await consumer.getmany(timeout_ms=200)
            found += [json.loads(r.value) for records in batch.values() for r in records]
            if batch:
                quiet_since = asyncio.get_running_loop().time()
    finally:
        await consumer.stop()
    return found


def run_simulate(up, *args: str, timeout: float = 120) -> dict:
    """The command as an operator types it, reading credentials from `recruit up`'s data dir."""
    out = up.data_dir / f"simulate-{time.monotonic_ns()}.json"
    recruit = Path(sys.executable).parent / "recruit"
    env = {k: v for k, v in up.env.items() if k not in ("INTAKE_API_KEYS", "STAFF_TOKENS")}
    done = subprocess.run(
        [str(recruit), "simulate", *args, "--data-dir", str(up.data_dir), "--port-base", str(up.port_base),
         "--json-out", str(out)],
        capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "simulated campaign" in done.stdout, done.stdout
    return json.loads(out.read_text())


# --- screening: submissions as intake writes them, and what screening made of them ---------------

T0 = datetime(2026, 1, 5, 4, 30, tzinfo=timezone.utc)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ADMIN, INTERVIEWER, RJ_INTERVIEWER = bearer(ADMIN_TOKEN), bearer(INTERVIEWER_TOKEN), bearer(RJ_INTERVIEWER_TOKEN)


def today() -> datetime.date:
    return today_in_india()


def submission(state: str = "RJ", minutes: float = 0, application_id: uuid.UUID | None = None) -> Envelope:
    """An applications.submitted event as intake writes it."""
    return new_event("intake", application_id or uuid.uuid4(), ApplicationSubmitted(
        full_name="आशा मीणा", phone=f"+919{random.randrange(10**9):09d}", email="asha@example.org", state=state,
        district="Jaipur", block="Sanganer", age=30, submitted_at=T0 + timedelta(minutes=minutes)))


async def publish(servers: str, *envelopes: Envelope) -> None:
    producer = make_producer(servers, "screening-test")
    await producer.start()
    try:
        for envelope in envelopes:
            await producer.send_and_wait(envelope.topic, envelope.to_json().encode(),
                                         key=envelope.kafka_key().encode())
    finally:
        await producer.stop()


async def submit(stack, db: asyncpg.Connection, *envelopes: Envelope) -> list[str]:
    """Publish submissions and wait until screening has applied every one of them."""
    await publish(stack.kafka_bootstrap_servers, *envelopes)
    ids = list({e.event_id for e in envelopes})
    await eventually(lambda: db.fetchval(
        "SELECT count(*) = $2 FROM screening.inbox WHERE event_id = ANY($1)", ids, len(ids)))
    return [str(e.application_id) for e in envelopes]


async def events(db: asyncpg.Connection, application_id: str, event_type: str = "screening.queued") -> list[dict]:
    """The data of the events screening wrote for one application, oldest first."""
    # By the envelope's application_id, not the Kafka key: screening.completed is keyed by state.
    rows = await db.fetch("SELECT payload FROM screening.outbox"
                          " WHERE payload::jsonb ->> 'application_id' = $1 AND event_type = $2 ORDER BY id",
                          str(application_id), event_type)
    return [json.loads(r["payload"])["data"] for r in rows]


async def every_page(client, path: str, headers: dict, limit: int = 200, **params) -> list[dict]:
    """Every item of a paged list (the queue, interviews, decided cases), following next_cursor."""
    items, cursor = [], None
    for _ in range(1000):
        response = await client.get(path, headers=headers,
                                    params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursor never ended")


async def whole_queue(client, headers: dict, query: str = "", limit: int = 200) -> list[dict]:
    """Every page of the queue; `query` as "&state=RJ"."""
    from urllib.parse import parse_qsl

    return await every_page(client, "/v1/queue", headers, limit, **dict(parse_qsl(query.lstrip("&"))))


# --- use cases without a database -------------------------------------------------------------------


class MemoryUnitOfWork(Generic[S]):
    """shared.unit_of_work.UnitOfWork on an in-memory store, for use-case tests: a transaction that
    raises leaves the store and the inbox as it found them, and first_deliveries keeps an inbox."""

    def __init__(self, store: S) -> None:
        self.store = store
        self.inbox: set[tuple[str, uuid.UUID]] = set()
        self.transactions = 0

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[S]:
        self.transactions += 1
        before = copy.deepcopy((self.store.__dict__, self.inbox))
        try:
            yield self.store
        except BaseException:
            self.store.__dict__, self.inbox = before
            raise

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[S]:
        yield self.store

    @contextlib.asynccontextmanager
    async def one_statement_at_a_time(self) -> AsyncIterator[S]:
        yield self.store

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[S]:
        yield self.store

    @contextlib.asynccontextmanager
    async def first_deliveries(self, consumer: str, events: Sequence[Event]) -> AsyncIterator[tuple[S, list[Event]]]:
        async with self.transaction() as store:
            new = []
            for envelope, data in events:
                if (consumer, envelope.event_id) not in self.inbox:
                    self.inbox.add((consumer, envelope.event_id))
                    new.append((envelope, data))
            yield store, new


# --- pages in a real browser ----------------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
# Screenshots of every browser test, kept as artifacts (CI keeps the folder; git ignores it).
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
AXE = Path(__file__).resolve().parent / "e2e" / "vendor" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator:
    """Debian's headless Chromium through Playwright (it cannot download a browser of its own here)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            yield browser
        finally:
            await browser.close()


async def axe_violations(page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """axe-core's WCAG 2.x A/AA violations of the page as it is now, of those impacts:
    [{"id", "impact", "help", "targets"}]; an empty list is a pass."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(content=AXE.read_text())
    result = await page.evaluate("""() => axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})""")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "targets": [node["target"] for node in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in impacts]


async def screenshot(page, name: str) -> Path:
    """A full-page PNG in test-artifacts/ (look at it: a screenshot nobody opens proves nothing)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def no_sideways_scroll(page) -> bool:
    return await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


# --- Prometheus ----------------------------------------------------------------------------------------------

PROMETHEUS = Path("/usr/bin/prometheus")  # Debian's `prometheus` package, which brings promtool too
PROMTOOL = Path("/usr/bin/promtool")


def promql_metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression reads (parsed by promql-parser, Prometheus's own grammar)."""
    import promql_parser

    names: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            assert node.name, f"a selector without a metric name in {expression!r}"
            names.add(node.name)
            return
        for attribute in ("lhs", "rhs", "expr", "param", "vector_selector"):
            if (child := getattr(node, attribute, None)) is not None:
                walk(child)
        for child in getattr(node, "args", None) or ():
            walk(child)

    walk(promql_parser.parse(expression))
    return names


def exported_metric_names(metrics_text: str) -> set[str]:
    """Every series name a /metrics page can carry: each family's samples' names, and for counters and
    histograms the names their samples take (_total, _bucket, _count, _sum, _created)."""
    from prometheus_client.parser import text_string_to_metric_families

    suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"),
                "summary": ("_count", "_sum", "_created")}
    names: set[str] = set()
    for family in text_string_to_metric_families(metrics_text):
        names |= {sample.name for sample in family.samples}
        names |= {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
    return names
