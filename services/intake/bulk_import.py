"""Intake bulk import orchestration: the body streamed into batches, prepared in worker processes, stored in order.

The event loop only splits the body into records (domain.bulk.BulkReader); batches of records are read,
validated and turned into rows and events in worker processes, one per CPU (domain.bulk.prepare_rows),
so an import uses every core and the service keeps answering meanwhile; the prepared batches go, in
file order, to the use case that stores them in one transaction (usecases.import_applications).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import datetime, timezone
from typing import Literal

from services.intake import usecases
from services.intake.domain.bulk import (
    RANDOM_BYTES_PER_RECORD,
    BulkReader,
    BulkRecord,
    BulkRejected,
    BulkSummary,
    prepare_rows,
)
from services.intake.store import BulkBatch, Store
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# Rows per batch (prepared by one worker, then staged and inserted in one round trip): large
# enough that COPY dominates, small enough that a batch stays a few MB.
BATCH_ROWS = 2_000
# Batches handed to the workers ahead of the one being stored: enough to keep every worker busy.
IN_FLIGHT = 2 * (os.cpu_count() or 1)


def start_workers() -> ProcessPoolExecutor:
    """The bulk workers, one per CPU, started on first use and ending with the service however it stops.

    "spawn", as forking a process that runs an event loop and client threads is unsafe.
    """
    return ProcessPoolExecutor(max_workers=os.cpu_count() or 1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=end_with_parent, initargs=(os.getpid(),))


def end_with_parent(parent: int) -> None:
    """In each bulk worker: exit when the service is gone, even killed with SIGKILL. A worker
    otherwise waits for work for ever (its siblings hold the task queue open)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def prepare_batch(fmt: str, header: tuple[str, ...] | None, records: list[BulkRecord], source: str,
                  hash_key: bytes) -> tuple[BulkBatch, list]:
    """In a worker: one batch prepared, with its random ids (one os.urandom call) and the time it was received,
    as the store takes it; and its rejected rows (PreparedRows.rejected)."""
    random = os.urandom(RANDOM_BYTES_PER_RECORD * len(records))
    prepared = prepare_rows(fmt, header, records, source, hash_key, random=random,
                            submitted_at=datetime.now(timezone.utc))
    return BulkBatch.of(prepared.accepted), prepared.rejected


async def import_body(uow: UnitOfWork[Store], workers: Executor, fmt: Literal["csv", "ndjson"],
                      body: AsyncIterable[bytes], source: str, hash_key: bytes, lang: str) -> BulkSummary:
    """A bulk body, all or nothing: the summary of its rows, or BulkRejected (413/422) with nothing imported."""
    loop = asyncio.get_running_loop()
    reader, summary = BulkReader(fmt), BulkSummary()
    # Batches being prepared, in file order.
    preparing: deque[asyncio.Future[tuple[BulkBatch, list]]] = deque()

    def prepare(batch: list[BulkRecord]) -> None:
        preparing.append(loop.run_in_executor(workers, prepare_batch, fmt, reader.header, batch, source, hash_key))

    async def next_prepared() -> BulkBatch:
        batch, rejected = await preparing.popleft()
        summary.reject(rejected, lang)
        return batch

    async def prepared_batches() -> AsyncIterator[BulkBatch]:
        records: list[BulkRecord] = []
        try:
            async for chunk in body:
                records += reader.feed(chunk)
                while len(records) >= BATCH_ROWS:
                    prepare(records[:BATCH_ROWS])
                    del records[:BATCH_ROWS]
                    while len(preparing) > IN_FLIGHT:
                        yield await next_prepared()
            records += reader.close()
            if records:
                prepare(records)
            while preparing:
                yield await next_prepared()
        finally:
            for future in preparing:
                future.cancel()

    started = time.perf_counter()
    try:
        async with contextlib.aclosing(prepared_batches()) as batches:
            stored = await usecases.import_applications(uow, batches)
    except BulkRejected as refused:
        log.info("bulk import from %s refused after %d rows: %s", source, reader.rows, refused.detail)
        raise
    summary.record(stored.valid, stored.accepted)
    log.info("bulk import from %s: %d accepted, %d duplicates, %d rejected in %.1f s", source, summary.accepted,
             summary.duplicates, summary.rejected, time.perf_counter() - started)
    return summary
