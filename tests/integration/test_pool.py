"""The services' pool (shared.db.create_pool) against the real PostgreSQL: a connection goes back to the
pool without asyncpg's reset round trip, and still comes out clean for what our code does on it."""

from __future__ import annotations

import pytest

from shared.outbox import notify_channel
from tests.support import migrated_pool

SCHEMA = "reporting"


@pytest.fixture
async def pool(stack):
    async with migrated_pool(stack.database_url, SCHEMA, min_size=1, max_size=1) as pool:  # one connection, reused
        yield pool


async def test_release_sends_no_reset_query(pool) -> None:
    sent: list[str] = []

    def log_query(logged) -> None:
        sent.append(logged.query)

    async with pool.acquire() as conn:
        raw = conn._con  # the pool hands out a proxy; the logger belongs to the connection itself
        raw.add_query_logger(log_query)
        await conn.fetchval("SELECT 1")
    async with pool.acquire() as conn:
        await conn.fetchval("SELECT 2")
    raw.remove_query_logger(log_query)
    assert sent == ["SELECT 1", "SELECT 2"], "nothing between the two: no RESET ALL on release"


async def test_a_released_connection_comes_back_clean(pool) -> None:
    """A transaction left open is rolled back (asyncpg does that itself); SET LOCAL ends with its
    transaction; the one LISTEN our code makes is removed by remove_listener, which asyncpg UNLISTENs."""
    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("SET LOCAL statement_timeout = '1234ms'")
        await conn.execute("CREATE TABLE left_uncommitted (id int)")
    async with pool.acquire() as conn:
        assert not conn.is_in_transaction()
        assert await conn.fetchval("SELECT to_regclass('left_uncommitted')") is None
        assert await conn.fetchval("SHOW statement_timeout") == "0"
        assert await conn.fetchval("SHOW search_path") == SCHEMA

        def on_notify(*_args) -> None:
            pass

        await conn.add_listener(notify_channel(SCHEMA), on_notify)
        await conn.remove_listener(notify_channel(SCHEMA), on_notify)
        assert await conn.fetchval("SELECT count(*) FROM pg_listening_channels()") == 0
