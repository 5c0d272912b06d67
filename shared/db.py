"""Database: the asyncpg pool of a service (its own schema) and the migrations runner."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

log = logging.getLogger(__name__)

SHARED_MIGRATIONS = Path(__file__).parent / "migrations"
SERVICES_DIR = Path(__file__).parent.parent / "services"


def service_migrations(service: str) -> list[Path]:
    """The outbox/inbox tables first, then the service's own files, each in name order."""
    shared = sorted(SHARED_MIGRATIONS.glob("*.sql"))
    own = sorted((SERVICES_DIR / service / "migrations").glob("*.sql"))
    return shared + own


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """What a connection needs on its way back to the pool beyond asyncpg's own step (which rolls back a
    transaction left open and forgets listeners): nothing. asyncpg's default sends `SELECT
    pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` instead, a round trip on every release,
    so on every request and consumer batch. Our connections keep no session state for it to undo:
    settings are `SET LOCAL`, advisory locks are transaction-scoped, the relay's one LISTEN is removed
    before its connection goes back, and the temporary bulk staging table is meant to stay."""


async def create_pool(dsn: str, schema: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections see the service's schema first, so store.py SQL names tables plainly."""
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": schema, "application_name": f"recruit-{schema}",
                         "timezone": "UTC"},
        init=_init_connection,
        reset=_keep_session,
    )


async def migrate(dsn: str, schema: str) -> list[str]:
    """Apply the service's pending migrations; returns the names applied.

    Safe to run twice and from several replicas at once: a session advisory lock per schema
    serialises runners, and each file is applied and recorded in one transaction.
    """
    conn = await asyncpg.connect(dsn, server_settings={"timezone": "UTC"})
    applied: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock(hashtext('recruit-migrate:' || $1))", schema)
        try:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            await conn.execute(f'SET search_path TO "{schema}"')
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row["name"] for row in await conn.fetch("SELECT name FROM schema_migrations")}
            for path in service_migrations(schema):
                name = f"{path.parent.parent.name}/{path.name}" if path.parent != SHARED_MIGRATIONS \
                    else f"shared/{path.name}"
                if name in done:
                    continue
                async with conn.transaction():
                    await conn.execute(path.read_text())
                    await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
                applied.append(name)
                log.info("migration applied", extra={"schema": schema, "migration": name})
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext('recruit-migrate:' || $1))", schema)
    finally:
        await conn.close()
    return applied


def with_database(dsn: str, database: str) -> str:
    """The same server and credentials, another database name."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


async def ensure_database(dsn: str) -> None:
    """Create the database named in `dsn` if the server lacks it (an embedded server starts empty)."""
    database = urlsplit(dsn).path.lstrip("/")
    try:
        conn = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        admin = await asyncpg.connect(with_database(dsn, "postgres"))
        try:
            await admin.execute(f'CREATE DATABASE "{database}"')
        except asyncpg.DuplicateDatabaseError:
            pass  # another process won the race
        finally:
            await admin.close()
    else:
        await conn.close()
