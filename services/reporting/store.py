"""Reporting store: every SQL statement of reporting (the per-application projection and the counters it feeds)."""

from __future__ import annotations

import uuid
import asyncpg

from services.reporting.domain import (DAY_COLUMNS, NEVER, PLACE_COLUMNS, SUMMARY_COLUMNS, Projection, aware,
                                       delta)

_PROJECTION_COLUMNS = ("state", "district", "submitted_at", "stage", "stage_at", "level", "unit_id",
                       "ever_scheduled", "outcome", "selected_at", "placed_at", "erased")


def _projection(row: asyncpg.Record) -> Projection:
    values = {name: row[name] for name in _PROJECTION_COLUMNS}
    # 001 gives a new row stage_at '-infinity'; asyncpg reads it as a naive datetime.min.
    values["stage_at"] = aware(values["stage_at"]) if values["stage_at"].year > 1 else NEVER
    return Projection(**values)


async def lock_application(conn: asyncpg.Connection, application_id: uuid.UUID) -> Projection:
    """The application's projection, locked for this transaction; a blank one if it is new.

    The no-op DO UPDATE locks an existing row in the same round trip that creates a missing one,
    so two events of one application (on two topics, maybe two replicas) take turns.
    """
    row = await conn.fetchrow(
        "INSERT INTO applications (application_id, state) VALUES ($1, '')"
        " ON CONFLICT (application_id) DO UPDATE SET application_id = EXCLUDED.application_id"
        " RETURNING *",
        application_id,
    )
    return _projection(row)


async def save_application(conn: asyncpg.Connection, application_id: uuid.UUID, old: Projection,
                           new: Projection, phone_hash: str | None = None) -> bool:
    """Store the new projection and move every counter by its difference from the old, in one
    statement (one round trip per event); False if the event changed nothing (a stale stage)."""
    if new == old and phone_hash is None:
        return False
    args: list = [application_id, new.state, new.district, new.submitted_at, new.stage, new.stage_rank,
                  new.stage_at, new.level, new.unit_id, new.ever_scheduled, new.outcome, new.selected_at,
                  new.placed_at, new.erased, phone_hash]
    statements = [
        "UPDATE applications SET state = $2, district = $3, submitted_at = $4, stage = $5, stage_rank = $6,"
        " stage_at = $7, level = $8, unit_id = $9, ever_scheduled = $10, outcome = $11, selected_at = $12,"
        " placed_at = $13, erased = $14,"
        # The hash serves only the applicant's own status look-up; erasure removes it for good.
        " phone_hash = CASE WHEN $14 THEN NULL ELSE coalesce($15, phone_hash) END, updated_at = now()"
        " WHERE application_id = $1"
    ]
    changes = delta(old, new)
    if changes:
        statements += _counter_moves(changes, args)
    # Data-modifying CTEs all run, each to completion, as one statement; no two of them touch the
    # same row (delta gives one entry per counter row).
    await conn.execute("WITH " + ", ".join(f"m{i} AS ({sql})" for i, sql in enumerate(statements)) + " SELECT 1",
                       *args)
    return True


def _counter_moves(changes: dict[tuple[str, tuple], dict[str, int]], args: list) -> list[str]:
    """One statement per counter row that moves, its parameters appended to `args`. Every column
    of a table is named (zero where it does not move), so few distinct statements get prepared."""

    def param(value) -> str:
        args.append(value)
        return f"${len(args)}"

    summary = changes.get(("summary", ()), {})
    sets = "".join(f"{c} = {c} + {param(summary.get(c, 0))}, " for c in SUMMARY_COLUMNS)
    statements = [f"UPDATE summary SET {sets}version = version + 1, updated_at = now()"]
    for (table, key), columns in sorted(changes.items(), key=lambda item: (item[0][0], str(item[0][1]))):
        if table == "summary":
            continue
        name, key_columns, counted = _COUNTER_TABLES[table]
        assert set(columns) <= set(counted)
        values = [param(k) for k in key] + [param(columns.get(c, 0)) for c in counted]
        updates = ", ".join(f"{c} = {name}.{c} + EXCLUDED.{c}" for c in counted)
        statements.append(f"INSERT INTO {name} ({', '.join((*key_columns, *counted))}) VALUES ({', '.join(values)})"
                          f" ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {updates}")
    return statements


_COUNTER_TABLES = {
    "state": ("state_counts", ("state",), PLACE_COLUMNS),
    "district": ("district_counts", ("state", "district"), PLACE_COLUMNS),
    "day": ("daily_counts", ("day", "state"), DAY_COLUMNS),
}


async def summary_version(pool: asyncpg.Pool) -> int:
    return await pool.fetchval("SELECT version FROM summary")


_STATE_ROWS = ("SELECT state, applications, interviewed, selected, placed FROM state_counts"
               " WHERE applications > 0 ORDER BY applications DESC, state")


async def state_rows(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch(_STATE_ROWS)


async def counters_snapshot(pool: asyncpg.Pool) -> tuple[asyncpg.Record, list[asyncpg.Record]]:
    """The summary row and the per-state rows as of one moment (one repeatable-read snapshot)."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        return await conn.fetchrow("SELECT * FROM summary"), await conn.fetch(_STATE_ROWS)


async def state_row(pool: asyncpg.Pool, state: str) -> asyncpg.Record | None:
    return await pool.fetchrow(
        "SELECT state, applications, interviewed, selected, placed FROM state_counts WHERE state = $1", state)


async def district_rows(pool: asyncpg.Pool, state: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT district, applications, interviewed, selected, placed FROM district_counts"
        " WHERE state = $1 AND applications > 0 ORDER BY applications DESC, district",
        state,
    )


async def daily_rows(pool: asyncpg.Pool, state: str | None) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT day, sum(applications)::bigint AS applications, sum(selected)::bigint AS selected,"
        " sum(placed)::bigint AS placed FROM daily_counts"
        " WHERE $1::text IS NULL OR state = $1 GROUP BY day ORDER BY day",
        state,
    )


async def application_status(pool: asyncpg.Pool, application_id: uuid.UUID) -> asyncpg.Record | None:
    """The row a status look-up answers from; only a submitted, not-erased application has a hash."""
    return await pool.fetchrow(
        "SELECT application_id, stage, level, unit_id, stage_at, submitted_at, updated_at, phone_hash"
        " FROM applications WHERE application_id = $1 AND phone_hash IS NOT NULL AND NOT erased",
        application_id,
    )

