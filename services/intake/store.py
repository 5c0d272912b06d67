"""Intake store: every SQL statement of intake (applications, bulk staging, erasure, ended cases and the retention
purge, the outbox, the audit), on one connection."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from services.intake.domain.bulk import PreparedRow
from shared import outbox
from shared.events import (
    APPLICATIONS_SUBMITTED,
    EVENT_TYPE_OF,
    ApplicationSubmitted,
    Envelope,
)
from shared.store import ServiceStore

# An application's row is read from its application.submitted event, in SQL, so the stored row
# and the published event cannot differ. `e` is the envelope (jsonb), `d` its data, `h` the keyed
# phone hash; they come from a MATERIALIZED CTE, else PostgreSQL would parse the JSON once per reference.
COLUMNS = ("application_id", "phone_hash", "phone", "full_name", "email", "state", "district", "block", "age",
           "details", "source", "submitted_at", "submitted_event_id")
ROW_FROM_EVENT = """
    (e->>'application_id')::uuid, h, d->>'phone', d->>'full_name', d->>'email', d->>'state', d->>'district',
    d->>'block', (d->>'age')::integer,
    jsonb_build_object('languages', d->'languages', 'skills', d->'skills', 'social', d->'social',
                       'followers', d->'followers', 'hours_per_week', d->'hours_per_week'),
    d->>'source', (d->>'submitted_at')::timestamptz, (e->>'event_id')::uuid"""
# A bulk import's staged columns, in the order of domain.bulk.PreparedRow after its row number.
BULK_COLUMNS = ("application_id", "event_id", "phone_hash", "phone", "full_name", "email", "state", "district",
                "block", "age", "details", "source", "submitted_at", "payload")
SUBMITTED = EVENT_TYPE_OF[ApplicationSubmitted]


# COPY's text format: a tab between columns, a newline after each row, \N for NULL, and a backslash,
# tab, newline or carriage return escaped.
def _copy_value(value: str | None) -> str:
    if value is None:
        return "\\N"
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def applications_copy_text(rows: Sequence[PreparedRow]) -> bytes:
    """Prepared bulk rows as applications rows (COLUMNS) in COPY's text format."""
    lines = [
        "\t".join((application_id, phone_hash, _copy_value(phone), _copy_value(full_name), _copy_value(email),
                   _copy_value(state), _copy_value(district), _copy_value(block), str(age), _copy_value(details),
                   _copy_value(source), submitted_at.isoformat(), event_id))
        for (_, application_id, event_id, phone_hash, phone, full_name, email, state, district, block, age, details,
             source, submitted_at, _) in rows]
    return "".join(line + "\n" for line in lines).encode()


@dataclass(frozen=True)
class BulkBatch:
    """A batch of prepared bulk rows, in row order, with the same rows as applications_copy_text made them: a
    bulk worker makes both, so the event loop hands PostgreSQL the text as it is instead of encoding every value."""

    rows: Sequence[PreparedRow]
    applications_text: bytes

    @classmethod
    def of(cls, rows: Sequence[PreparedRow]) -> BulkBatch:
        return cls(rows, applications_copy_text(rows))


class Store(ServiceStore):

    # --- one application ---

    async def insert_application(self, event: Envelope, phone_hash: str, traceparent: str | None) -> bool:
        """The application row, read from its application.submitted event, and the event's outbox row, in one
        statement; False, and neither row, when the phone hash is taken.

        One statement is atomic on its own, so the two rows commit together without an explicit transaction
        (a single application is then one round trip, not BEGIN, two INSERTs and COMMIT). The outbox row is
        the one shared.outbox.add_events writes: the envelope's JSON as payload, the application id as key,
        and it wakes the relay by the outbox table's trigger. The unique phone_hash decides races: of
        concurrent inserts of one phone exactly one wins, the others wait for its commit and insert nothing.
        """
        # $1::text::jsonb: the text goes to the server as it is (the pool's jsonb codec would quote it)
        inserted = await self.conn.fetchval(
            "WITH parsed AS MATERIALIZED (SELECT $1::text::jsonb AS e),"
            " submitted AS MATERIALIZED (SELECT e, e->'data' AS d, $2::text AS h FROM parsed),"
            f" inserted AS (INSERT INTO applications ({', '.join(COLUMNS)}) SELECT {ROW_FROM_EVENT} FROM submitted"
            "  ON CONFLICT (phone_hash) DO NOTHING RETURNING application_id, submitted_event_id),"
            " published AS (INSERT INTO outbox (event_id, event_type, topic, key, payload, traceparent)"
            "  SELECT submitted_event_id, $3, $4, application_id::text, $1, $5 FROM inserted)"
            " SELECT application_id FROM inserted",
            event.to_json(), phone_hash, SUBMITTED, APPLICATIONS_SUBMITTED, traceparent,
        )
        return inserted is not None

    async def application_id_of(self, phone_hash: str) -> uuid.UUID | None:
        return await self.conn.fetchval("SELECT application_id FROM applications WHERE phone_hash = $1", phone_hash)

    async def application(self, application_id: uuid.UUID) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            "SELECT application_id, full_name, phone, email, state, district, block, age, details, source,"
            " submitted_at, erased_at FROM applications WHERE application_id = $1",
            application_id,
        )

    async def phone_hash_of(self, application_id: uuid.UUID) -> str | None:
        """The keyed phone hash of an application (kept after erasure, so the applicant can still prove it)."""
        return await self.conn.fetchval("SELECT phone_hash FROM applications WHERE application_id = $1",
                                        application_id)

    async def is_known(self, application_id: uuid.UUID) -> bool:
        return bool(await self.conn.fetchval("SELECT true FROM applications WHERE application_id = $1",
                                             application_id))

    # --- erasure ---

    async def erase_personal_data(self, application_id: uuid.UUID, erased_at: datetime) -> uuid.UUID | None:
        """Blank the personal columns of a not yet erased application; its application.submitted event id, or
        None when there is no such application or it was erased before.

        The row lock of the UPDATE serialises concurrent erasures: the second waits, then finds erased_at set.
        """
        return await self.conn.fetchval(
            "UPDATE applications SET phone = NULL, full_name = NULL, email = NULL, block = NULL, age = NULL,"
            " details = NULL, source = NULL, erased_at = $2"
            " WHERE application_id = $1 AND erased_at IS NULL RETURNING submitted_event_id",
            application_id, erased_at,
        )

    async def outbox_payload_for_update(self, event_id: uuid.UUID) -> tuple[int, str] | None:
        """(outbox row id, envelope JSON) of an event, locked until the transaction ends."""
        row = await self.conn.fetchrow("SELECT id, payload FROM outbox WHERE event_id = $1 FOR UPDATE", event_id)
        return (row["id"], row["payload"]) if row else None

    async def replace_outbox_payload(self, outbox_id: int, payload: str) -> None:
        await self.conn.execute("UPDATE outbox SET payload = $2 WHERE id = $1", outbox_id, payload)

    # --- ended cases and the retention purge ---

    async def record_outcomes(self, outcomes: Sequence[tuple[uuid.UUID, str, datetime]]) -> None:
        """(application id, outcome, ended at) of ended cases, one per id; a later end replaces an earlier."""
        await self.conn.execute(
            "INSERT INTO case_outcomes (application_id, outcome, ended_at)"
            " SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[])"
            " ON CONFLICT (application_id) DO UPDATE SET outcome = EXCLUDED.outcome, ended_at = EXCLUDED.ended_at"
            " WHERE EXCLUDED.ended_at > case_outcomes.ended_at",
            *map(list, zip(*outcomes)))

    async def count_purgeable(self, older_than: timedelta) -> int:
        """How many not yet erased applications ended rejected or no_show more than `older_than` ago."""
        return await self.conn.fetchval(
            "SELECT count(*) FROM case_outcomes c JOIN applications a USING (application_id)"
            " WHERE c.outcome IN ('rejected', 'no_show') AND c.ended_at < now() - $1::interval"
            " AND a.erased_at IS NULL", older_than)

    async def lock_purgeable(self, older_than: timedelta, limit: int) -> list[uuid.UUID]:
        """Up to `limit` of them, longest ended first, locked; rows another purge holds are skipped."""
        return [row["application_id"] for row in await self.conn.fetch(
            "SELECT a.application_id FROM case_outcomes c JOIN applications a USING (application_id)"
            " WHERE c.outcome IN ('rejected', 'no_show') AND c.ended_at < now() - $1::interval"
            " AND a.erased_at IS NULL ORDER BY c.ended_at, a.application_id LIMIT $2"
            " FOR UPDATE OF a SKIP LOCKED", older_than, limit)]

    # --- bulk import ---

    async def create_bulk_staging(self) -> None:
        """The staging table of this connection's bulk imports, emptied at every commit.

        Once an import that created it commits, it stays for the connection's life (pool resets do not
        drop temporary tables): a table dropped at every commit would invalidate asyncpg's cached
        statements on it at every import.
        """
        await self.conn.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS bulk_staged_rows ("
            " row_no integer NOT NULL, application_id uuid NOT NULL, event_id uuid NOT NULL,"
            " phone_hash text NOT NULL, phone text NOT NULL, full_name text NOT NULL, email text,"
            " state text NOT NULL, district text NOT NULL, block text, age integer NOT NULL,"
            " details text NOT NULL, source text, submitted_at timestamptz NOT NULL, payload text NOT NULL)"
            " ON COMMIT DELETE ROWS"
        )

    async def add_bulk_rows(self, batch: BulkBatch, traceparent: str | None = None) -> int:
        """Add a batch of prepared rows: the new ones into applications, and their application.submitted events
        into the outbox, in row order; returns how many were new.

        The first row of a phone wins; a phone already in applications (committed, or from an earlier batch
        of this transaction) makes a duplicate. Nearly every batch has none, so its rows are first written
        by COPY, from the text the bulk worker made, under a savepoint: only a duplicate phone fails the
        COPY on the unique phone_hash, and then the savepoint is rolled back and the batch goes through
        staging, one statement picking the rows that are new (add_staged_rows). The events are the rows
        shared.outbox.add_events writes (Envelope.to_json, key = the application id), all carrying the
        batch's `traceparent` (shared.tracing; None when tracing is off).
        """
        try:
            async with self.conn.transaction():
                await self.conn.copy_to_table("applications", source=memoryview(batch.applications_text),
                                              columns=COLUMNS, format="text")
            accepted = batch.rows
        except asyncpg.UniqueViolationError:
            accepted = await self.add_staged_rows(batch.rows)
        await outbox.add_rows(
            self.conn,
            [(event_id, SUBMITTED, APPLICATIONS_SUBMITTED, application_id, payload)
             for _, application_id, event_id, *_, payload in accepted],
            None if traceparent is None else [traceparent] * len(accepted))
        return len(accepted)

    async def add_staged_rows(self, rows: Sequence[PreparedRow]) -> list[PreparedRow]:
        """COPY rows into staging and insert the new ones into applications by one statement; returns those,
        in row order. The columns come ready from the bulk workers rather than being read out of the event
        JSON (as ROW_FROM_EVENT does for a single post): parsing the envelopes as jsonb was half of
        PostgreSQL's time in an import."""
        await self.conn.copy_records_to_table("bulk_staged_rows", columns=("row_no", *BULK_COLUMNS), records=rows)
        new = await self.conn.fetch(
            f"INSERT INTO applications ({', '.join(COLUMNS)})"
            " SELECT DISTINCT ON (phone_hash) application_id, phone_hash, phone, full_name, email, state, district,"
            "  block, age, details::jsonb, source, submitted_at, event_id"
            " FROM bulk_staged_rows ORDER BY phone_hash, row_no"
            " ON CONFLICT (phone_hash) DO NOTHING RETURNING application_id::text")
        await self.conn.execute("TRUNCATE bulk_staged_rows")
        accepted = {row[0] for row in new}
        return [row for row in rows if row[1] in accepted]

