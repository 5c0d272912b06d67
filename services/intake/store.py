"""Intake store: every SQL statement of intake (applications, bulk staging, erasure, and their outbox events)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from services.intake import domain
from shared.events import APPLICATIONS_SUBMITTED, ApplicationErased, Envelope, new_event
from shared.outbox import NOTIFY_CHANNEL, add_events

# An application's row is read from its application.submitted event, in SQL, so the stored row
# and the published event cannot differ and a bulk import's rows never pass through Python
# again once prepared. `e` is the envelope (jsonb), `d` its data, `h` the keyed phone hash; they
# come from a MATERIALIZED CTE, else PostgreSQL would parse the JSON once per reference.
COLUMNS = ("application_id", "phone_hash", "phone", "full_name", "email", "state", "district", "block", "age",
           "details", "source", "submitted_at", "submitted_event_id")
ROW_FROM_EVENT = """
    (e->>'application_id')::uuid, h, d->>'phone', d->>'full_name', d->>'email', d->>'state', d->>'district',
    d->>'block', (d->>'age')::integer,
    jsonb_build_object('languages', d->'languages', 'skills', d->'skills', 'social', d->'social',
                       'followers', d->'followers', 'hours_per_week', d->'hours_per_week'),
    d->>'source', (d->>'submitted_at')::timestamptz, (e->>'event_id')::uuid"""
DETAILS = domain.DETAILS
# A bulk import's staged columns, in the order of domain.PreparedRow after its row number.
BULK_COLUMNS = ("application_id", "event_id", "phone_hash", "phone", "full_name", "email", "state", "district",
                "block", "age", "details", "source", "submitted_at", "payload")


async def submit_application(pool: asyncpg.Pool, event: Envelope, phone_hash: str) -> tuple[uuid.UUID, bool]:
    """Insert the application and its event in one transaction; returns (id, duplicate).

    The unique phone_hash decides races: of concurrent posts of one phone exactly one insert
    wins, the others wait for its commit, find the row and report a duplicate (no event).
    """
    async with pool.acquire() as conn, conn.transaction():
        # $1::text::jsonb: the text goes to the server as it is (the pool's jsonb codec would quote it)
        inserted = await conn.fetchval(
            "WITH parsed AS MATERIALIZED (SELECT $1::text::jsonb AS e),"
            " submitted AS MATERIALIZED (SELECT e, e->'data' AS d, $2::text AS h FROM parsed)"
            f" INSERT INTO applications ({', '.join(COLUMNS)}) SELECT {ROW_FROM_EVENT} FROM submitted"
            " ON CONFLICT (phone_hash) DO NOTHING RETURNING application_id",
            event.to_json(), phone_hash,
        )
        if inserted is None:
            existing = await conn.fetchval("SELECT application_id FROM applications WHERE phone_hash = $1",
                                           phone_hash)
            return existing, True
        await add_events(conn, [event])
    return event.application_id, False


class BulkImport:
    """One bulk import, one transaction: each batch of prepared rows (domain.PreparedRow: the
    application's columns and its application.submitted JSON) is COPYed into a staging table and
    moved by one statement: a set-based INSERT ... ON CONFLICT (phone_hash) DO NOTHING into
    applications, and the accepted rows' events into the outbox. Nothing is visible, and nothing
    is published, until it commits.

    The columns come ready from the workers rather than being read out of the event JSON in SQL
    (as ROW_FROM_EVENT does for a single post): parsing 100,000 envelopes as jsonb and picking them
    apart was half of PostgreSQL's time in an import. The workers make both from the same validated
    values (domain.prepare_rows). The events are written INSERT ... SELECT from staging rather than
    with add_events: they are already in the database. The rows are the ones add_events writes
    (Envelope.to_json, key = the application id), and the NOTIFY too.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._conn: asyncpg.Connection | None = None
        self._transaction = None
        self.staged = 0  # rows written to the outbox so far

    async def __aenter__(self) -> BulkImport:
        self._conn = await self.pool.acquire()
        try:
            # Created outside the transaction and kept for the connection's life (pool resets do not
            # drop temporary tables): a table dropped at commit would invalidate asyncpg's cached
            # statements on it. ON COMMIT DELETE ROWS leaves it empty for the next import.
            await self._conn.execute(
                "CREATE TEMPORARY TABLE IF NOT EXISTS bulk_staged_rows ("
                " row_no integer NOT NULL, application_id uuid NOT NULL, event_id uuid NOT NULL,"
                " phone_hash text NOT NULL, phone text NOT NULL, full_name text NOT NULL, email text,"
                " state text NOT NULL, district text NOT NULL, block text, age integer NOT NULL,"
                " details text NOT NULL, source text, submitted_at timestamptz NOT NULL, payload text NOT NULL)"
                " ON COMMIT DELETE ROWS"
            )
            self._transaction = self._conn.transaction()
            await self._transaction.start()
        except BaseException:
            await self.pool.release(self._conn)
            raise
        return self

    async def __aexit__(self, exc_type, exc, traceback) -> None:
        try:
            if exc_type is None:
                if self.staged:
                    # The relay's "unpublished, by id" query is planned from outbox statistics taken
                    # when nearly every row was published: with 100,000 new rows it sorted all of them
                    # on disk for every batch of 2,000 (0.5-0.9 s each) until autovacuum's ANALYZE
                    # came round. One quick ANALYZE of that column here (it counts this transaction's
                    # own rows) makes it walk the partial index from the first batch. A small sample
                    # is enough to learn the NULL fraction; autovacuum refines it later.
                    await self._conn.execute("SET LOCAL default_statistics_target = 10")
                    await self._conn.execute("ANALYZE outbox (published_at)")
                await self._conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")  # delivered at commit, as add_events does
                await self._transaction.commit()
            else:
                await self._transaction.rollback()
        finally:
            await self.pool.release(self._conn)

    async def add(self, rows: Sequence[domain.PreparedRow]) -> int:
        """Stage prepared rows; returns how many were new.

        The first row of a phone wins; a phone already in applications (committed, or from an
        earlier batch of this import) makes a duplicate. Events keep the file's order.
        """
        conn = self._conn
        await conn.copy_records_to_table("bulk_staged_rows", columns=("row_no", *BULK_COLUMNS), records=rows)
        status = await conn.execute(
            "WITH accepted AS ("
            f"  INSERT INTO applications ({', '.join(COLUMNS)})"
            "   SELECT DISTINCT ON (phone_hash) application_id, phone_hash, phone, full_name, email, state, district,"
            "    block, age, details::jsonb, source, submitted_at, event_id"
            "   FROM bulk_staged_rows ORDER BY phone_hash, row_no"
            "   ON CONFLICT (phone_hash) DO NOTHING RETURNING application_id)"
            " INSERT INTO outbox (event_id, event_type, topic, key, payload)"
            "  SELECT event_id, $1, $2, application_id::text, payload"
            "  FROM bulk_staged_rows JOIN accepted USING (application_id) ORDER BY row_no",
            domain.SUBMITTED, APPLICATIONS_SUBMITTED,
        )
        await conn.execute("TRUNCATE bulk_staged_rows")
        accepted = int(status.split()[-1])
        self.staged += accepted
        return accepted


async def application(pool: asyncpg.Pool, application_id: uuid.UUID) -> asyncpg.Record | None:
    return await pool.fetchrow(
        "SELECT application_id, full_name, phone, email, state, district, block, age, details, source,"
        " submitted_at, erased_at FROM applications WHERE application_id = $1",
        application_id,
    )


async def phone_hash_of(pool: asyncpg.Pool, application_id: uuid.UUID) -> str | None:
    """The keyed phone hash of an application (kept after erasure, so the applicant can still prove it)."""
    return await pool.fetchval("SELECT phone_hash FROM applications WHERE application_id = $1", application_id)


async def erase_application(pool: asyncpg.Pool, application_id: uuid.UUID, erased_at: datetime) -> bool | None:
    """Remove an application's personal data and publish application.erased, in one transaction.

    True when erased now, False when it was erased before (nothing changes, no second event),
    None when there is no such application. Its application.submitted outbox row is scrubbed
    too, published or not: intake's tables keep nothing personal of an erased applicant.
    """
    async with pool.acquire() as conn, conn.transaction():
        # Row lock: of two concurrent erasures the second waits and then finds erased_at set.
        erased = await conn.fetchrow(
            "UPDATE applications SET phone = NULL, full_name = NULL, email = NULL, block = NULL, age = NULL,"
            " details = NULL, source = NULL, erased_at = $2"
            " WHERE application_id = $1 AND erased_at IS NULL RETURNING submitted_event_id",
            application_id, erased_at,
        )
        if erased is None:
            known = await conn.fetchval("SELECT true FROM applications WHERE application_id = $1", application_id)
            return False if known else None
        submitted = await conn.fetch(
            "SELECT id, payload FROM outbox WHERE event_type = 'application.submitted'"
            " AND (event_id = $1 OR ($1 IS NULL AND key = $2)) FOR UPDATE",
            erased["submitted_event_id"], str(application_id),
        )
        for row in submitted:
            envelope = json.loads(row["payload"])
            envelope["data"] = domain.scrubbed_submission(envelope["data"])
            await conn.execute("UPDATE outbox SET payload = $2 WHERE id = $1", row["id"],
                               json.dumps(envelope, ensure_ascii=False, separators=(",", ":")))
        await add_events(conn, [new_event(domain.PRODUCER, application_id, ApplicationErased(erased_at=erased_at))])
    return True
