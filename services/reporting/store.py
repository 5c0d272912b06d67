"""Reporting store: every SQL statement of reporting (the per-application projection and the counters it feeds)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from functools import lru_cache

import asyncpg

from services.reporting.domain import (
    DAY_COLUMNS,
    PLACE_COLUMNS,
    STAGE_RANK,
    SUMMARY_COLUMNS,
    CounterMoves,
    Projection,
)
from shared.unit_of_work import ConcurrentChange

_PROJECTION_COLUMNS = Projection._fields  # the columns of the same names, so a row is read into one by position

# A projection's columns as Projection's fields, in its order: 001 gives a new row stage_at '-infinity', which
# asyncpg reads as a naive datetime.min, so it is read as the earliest aware time, Projection's NEVER.
_PROJECTION_SELECT = ", ".join("greatest(stage_at, '0001-01-01 00:00:00+00') AS stage_at" if c == "stage_at" else c
                               for c in _PROJECTION_COLUMNS)
# Only what a projection holds: a batch reads thousands of rows, and the hash and row times are not needed.
_LOCK_PROJECTIONS = ("SELECT application_id, " + _PROJECTION_SELECT + " FROM applications"
                     " WHERE application_id = ANY($1::uuid[]) ORDER BY application_id FOR UPDATE")

_COUNTER_TABLES = {
    "state": ("state_counts", ("state",), PLACE_COLUMNS),
    "district": ("district_counts", ("state", "district"), PLACE_COLUMNS),
    "day": ("daily_counts", ("day", "state"), DAY_COLUMNS),
}

# The columns a save writes, and after them whether the row is new: the fields of one projection_write row
# (migrations/005_projection_write.sql), in the order save_projections builds them.
_SAVED_COLUMNS = ("application_id", *_PROJECTION_COLUMNS, "stage_rank", "phone_hash")
_SAVE = (
    "WITH n AS (SELECT * FROM unnest($1::projection_write[])),"
    # The hash serves only the applicant's own status look-up; erasure (on request or by retention) removes it.
    " created AS (INSERT INTO applications (" + ", ".join(_SAVED_COLUMNS) + ")"
    "  SELECT " + ", ".join(f"n.{c}" for c in _SAVED_COLUMNS[:-1])
    + ", CASE WHEN n.erased OR n.purged THEN NULL ELSE n.phone_hash END FROM n WHERE n.new"
    "  ORDER BY n.application_id),"
    " projections AS ("
    " UPDATE applications a SET state = n.state, district = n.district, submitted_at = n.submitted_at,"
    "  stage = n.stage, stage_rank = n.stage_rank, stage_at = n.stage_at, level = n.level, unit_id = n.unit_id,"
    "  ever_scheduled = n.ever_scheduled, outcome = n.outcome, selected_at = n.selected_at,"
    "  placed_at = n.placed_at, erased = n.erased, purged = n.purged,"
    "  phone_hash = CASE WHEN n.erased OR n.purged THEN NULL ELSE coalesce(n.phone_hash, a.phone_hash) END,"
    "  updated_at = now()"
    " FROM n WHERE NOT n.new AND a.application_id = n.application_id),"
    " summary_moved AS (UPDATE summary SET "
    + "".join(f"{c} = {c} + ${2 + i}, " for i, c in enumerate(SUMMARY_COLUMNS))
    + f"version = version + 1, updated_at = now() WHERE ${2 + len(SUMMARY_COLUMNS)})"
)

_STATE_ROWS = ("SELECT state, applications, interviewed, selected, placed FROM state_counts"
               " WHERE applications > 0 ORDER BY applications DESC, state")


def _upsert(table: str, key_columns: tuple[str, ...], counted: tuple[str, ...], first: int) -> str:
    """Add arrays of (key, counts) rows to a counter table, from parameter $first on."""
    columns = (*key_columns, *counted)
    arrays = ", ".join(f"${first + i}::{'bigint' if c in counted else 'text' if c != 'day' else 'date'}[]"
                       for i, c in enumerate(columns))
    updates = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in counted)
    return (f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"
            f" ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {updates}")


@lru_cache(maxsize=1)
def _save_statement() -> str:
    statement, parameter = _SAVE, 3 + len(SUMMARY_COLUMNS)
    for kind, (table, key_columns, counted) in _COUNTER_TABLES.items():
        statement += f", {kind}_moved AS ({_upsert(table, key_columns, counted, parameter)})"
        parameter += len(key_columns) + len(counted)
    return statement + " SELECT 1"


class Store:
    """Reporting's tables on one connection (the unit of work's)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def lock_projections(self, application_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Projection]:
        """The stored projections of these applications, locked for this transaction, so two transactions
        touching one application (two replicas) take turns; an application with none yet is left out
        (save_projections creates it). Locked in id order, so overlapping batches wait rather than deadlock."""
        rows = await self.conn.fetch(_LOCK_PROJECTIONS, list(set(application_ids)))
        return {row[0]: Projection._make(row[1:]) for row in rows}

    async def save_projections(self, projections: Sequence[tuple[uuid.UUID, Projection, str | None]],
                               counters: CounterMoves, created: Collection[uuid.UUID]) -> None:
        """Store each (application_id, projection, phone hash or None to keep the one stored), at least one,
        creating the rows of `created` (those lock_projections did not find), and add `counters` to the counter
        tables, in one statement (its text never changes, so it is prepared once). The summary's version moves when
        any count does. ConcurrentChange when another transaction created one of `created` meanwhile: its
        projection was moved from a blank one, so the whole batch must be tried again."""
        created = set(created)
        rows = [(application_id, *projection, STAGE_RANK[projection.stage], phone_hash, application_id in created)
                for application_id, projection, phone_hash in projections]  # projection_write rows
        args: list = [rows]
        summary = counters.get(("summary", ()), {})
        args += [summary.get(c, 0) for c in SUMMARY_COLUMNS]
        args.append(any(any(columns.values()) for columns in counters.values()))
        for kind, (_, key_columns, counted) in _COUNTER_TABLES.items():
            # Rows in one order every time, so two replicas' upserts wait for each other rather than deadlock.
            rows = [(key, columns) for (table, key), columns in sorted(counters.items(), key=lambda m: str(m[0]))
                    if table == kind and any(columns.values())]
            for k in range(len(key_columns)):
                args.append([key[k] for key, _ in rows])
            for c in counted:
                args.append([columns.get(c, 0) for _, columns in rows])
        try:
            # A plain INSERT, no ON CONFLICT: lock_projections found none of `created`, so only a concurrent
            # creation can collide, and checking every new row for a conflict costs more than the rare retry.
            await self.conn.execute(_save_statement(), *args)
        except asyncpg.UniqueViolationError as error:
            raise ConcurrentChange("an application's projection was created by another transaction") from error

    async def summary_version(self) -> int:
        return await self.conn.fetchval("SELECT version FROM summary")


    async def summary(self) -> asyncpg.Record:
        return await self.conn.fetchrow("SELECT * FROM summary")

    async def state_rows(self) -> list[asyncpg.Record]:
        return await self.conn.fetch(_STATE_ROWS)

    async def state_row(self, state: str) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            "SELECT state, applications, interviewed, selected, placed FROM state_counts WHERE state = $1", state)

    async def district_rows(self, state: str) -> list[asyncpg.Record]:
        return await self.conn.fetch(
            "SELECT district, applications, interviewed, selected, placed FROM district_counts"
            " WHERE state = $1 AND applications > 0 ORDER BY applications DESC, district",
            state,
        )

    async def daily_rows(self, state: str | None) -> list[asyncpg.Record]:
        return await self.conn.fetch(
            "SELECT day, sum(applications)::bigint AS applications, sum(selected)::bigint AS selected,"
            " sum(placed)::bigint AS placed FROM daily_counts"
            " WHERE $1::text IS NULL OR state = $1 GROUP BY day ORDER BY day",
            state,
        )

    async def applicant(self, application_id: uuid.UUID) -> tuple[Projection, str] | None:
        """A submitted, not erased (nor purged) application's projection and phone hash (only such have a hash)."""
        row = await self.conn.fetchrow(
            "SELECT phone_hash, " + _PROJECTION_SELECT + " FROM applications"
            " WHERE application_id = $1 AND phone_hash IS NOT NULL AND NOT erased AND NOT purged",
            application_id,
        )
        return (Projection._make(row[1:]), row[0]) if row is not None else None
