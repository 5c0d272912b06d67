"""Unit of work: how a use case opens its transaction and reaches its service's store.

A service's store is a class built on one connection (`Store(conn)`, every SQL statement a
method). Use cases never see a pool or a connection: they ask this object for a transaction
(writes), a connection without one (reads, or writes that are one statement each), or a consumer
batch's first deliveries, and get the store. Use-case tests hand them an in-memory one instead
(tests/unit/<service>/)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Generic, TypeVar

import asyncpg

from shared import inbox
from shared.events import Event

S = TypeVar("S")


class ConcurrentChange(Exception):
    """Another transaction changed what this one read (a row it meant to create was created meanwhile):
    this transaction rolls back and is tried again whole (a consumer retries the batch)."""


class UnitOfWork(Generic[S]):
    def __init__(self, pool: asyncpg.Pool, store: Callable[[asyncpg.Connection], S]) -> None:
        self.pool, self.store = pool, store

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[S]:
        """One transaction: everything the store does in it, its outbox rows included, commits together."""
        async with self.pool.acquire() as conn, conn.transaction():
            yield self.store(conn)

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[S]:
        """A read-only transaction whose reads all see one moment (REPEATABLE READ): for answers
        assembled from several queries, such as a state's units or the live summary."""
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            yield self.store(conn)

    @contextlib.asynccontextmanager
    async def one_statement_at_a_time(self) -> AsyncIterator[S]:
        """A connection without an explicit transaction, for a use case each of whose writes is one
        statement (atomic on its own, its outbox rows in the same statement): no BEGIN and COMMIT
        round trips. Whatever a later statement does, an earlier one has committed."""
        async with self.pool.acquire() as conn:
            yield self.store(conn)

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[S]:
        """A connection for reads that need no transaction of their own."""
        async with self.pool.acquire() as conn:
            yield self.store(conn)

    @contextlib.asynccontextmanager
    async def first_deliveries(self, consumer: str, events: Sequence[Event]) -> AsyncIterator[tuple[S, list[Event]]]:
        """The transaction a consumer batch is applied in, and the events not applied before (shared.inbox)."""
        async with inbox.first_deliveries(self.pool, consumer, events) as (conn, new):
            yield self.store(conn), new
