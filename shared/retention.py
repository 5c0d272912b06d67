"""Outbox retention (SPEC "Operations"): published outbox rows older than OUTBOX_RETENTION_DAYS keep their
envelope (event_id, event_type, occurred_at, producer, application_id; the row's topic and key) and lose
their data, which is where names, phones and interviewers are; run by every service's Runtime."""

from __future__ import annotations

import asyncio
import itertools
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

import asyncpg

if TYPE_CHECKING:
    from shared.service import Runtime

log = logging.getLogger(__name__)

# Rows trimmed per transaction: short ones, so trimming never holds up the relay or a use case.
TRIM_BATCH = 1_000


async def trim_published_outbox(pool: asyncpg.Pool, older_than: timedelta, batch: int = TRIM_BATCH) -> int:
    """Replace the `data` of published outbox rows created more than `older_than` ago with `{}`, oldest
    first, `batch` rows a transaction; returns how many were trimmed.

    Rows are taken in id order from where the last round stopped (`outbox_trimmed`), up to the first row
    that is unpublished or too young, so a round reads only what it trims. Nothing with a lower id can
    still appear: the rows passed are older than `older_than` (days), and no transaction holding an
    outbox id stays open that long. Concurrent replicas take turns on the `outbox_trimmed` row.
    A trimmed row is no longer a valid event of its type; Settings makes sure it is older than any
    event a fresh broker is replayed (OUTBOX_RETENTION_DAYS >= INBOX_RETENTION_DAYS).
    """
    trimmed = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            through = await conn.fetchval("SELECT through_id FROM outbox_trimmed FOR UPDATE")
            rows = await conn.fetch(
                "SELECT id, created_at < now() - $2::interval"
                " AND NOT EXISTS (SELECT FROM outbox_pending p WHERE p.id = o.id) AS due"
                " FROM outbox o WHERE id > $1 ORDER BY id LIMIT $3", through, older_than, batch)
            due = [row["id"] for row in itertools.takewhile(lambda row: row["due"], rows)]
            if due:
                # The conditions again: a row committed since the SELECT is never trimmed by mistake.
                await conn.execute(
                    "UPDATE outbox SET payload = jsonb_set(payload::jsonb, '{data}', '{}'::jsonb)::text"
                    " WHERE id = ANY($1::bigint[]) AND created_at < now() - $2::interval"
                    " AND NOT EXISTS (SELECT FROM outbox_pending p WHERE p.id = outbox.id)", due, older_than)
                await conn.execute("UPDATE outbox_trimmed SET through_id = $1", due[-1])
        trimmed += len(due)
        if len(due) < batch:
            return trimmed


async def trim_outbox_payloads(runtime: Runtime) -> None:
    """Every OUTBOX_TRIM_SECONDS, trim the published outbox rows past OUTBOX_RETENTION_DAYS."""
    retention = timedelta(days=runtime.settings.outbox_retention_days)
    while True:
        try:
            trimmed = await trim_published_outbox(runtime.db(), retention)
            if trimmed:
                log.info("%s: trimmed the data of %d published outbox rows older than %s",
                         runtime.service, trimmed, retention)
        except Exception as error:  # the database may be away; the next round tries again
            log.warning("%s: trimming the outbox failed (%s: %s)", runtime.service, type(error).__name__, error)
        await asyncio.sleep(runtime.settings.outbox_trim_seconds)
