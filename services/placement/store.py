"""Placement store: every SQL statement of placement (candidates, erasures, capacities, seats, outbox events)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime

import asyncpg

from services.placement import domain
from shared.events import PlacementChanged, new_event
from shared.outbox import add_events

PRODUCER = "placement"

# Lock order, everywhere: at most one application lock, then state locks in sorted order, then the
# capacity lock. No transaction takes them the other way round, so they cannot deadlock each other.


async def lock_application(conn: asyncpg.Connection, application_id: uuid.UUID) -> None:
    """Serialise the events of one application (a result and its erasure) until the transaction ends.

    Without it an erasure could commit its `erased` row while a concurrent result, which had not
    seen it yet, inserts the candidate: an erased applicant would be placed.
    """
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('placement.application'), hashtext($1::uuid::text))",
                       application_id)


async def lock_state(conn: asyncpg.Connection, state: str) -> None:
    """Serialise every re-placement of one state, across replicas, until the transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('placement.state'), hashtext($1))", state)


async def _lock_capacities(conn: asyncpg.Connection, *, exclusive: bool) -> None:
    """Re-placements share this lock while they use the capacities; a change of the level defaults
    takes it alone. So a re-placement that read the old defaults has committed (its state is
    visible, and marked) before the change is made, and one that starts later reads the new ones.
    """
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    await conn.execute(f"SELECT {function}(hashtext('placement.capacity'), 0)")


async def is_erased(conn: asyncpg.Connection, application_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval("SELECT true FROM erased WHERE application_id = $1", application_id))


async def mark_erased(conn: asyncpg.Connection, application_id: uuid.UUID) -> None:
    """Remember the erasure for good: a result that arrives after it must never place the applicant."""
    await conn.execute("INSERT INTO erased (application_id) VALUES ($1) ON CONFLICT DO NOTHING", application_id)


async def state_of(conn: asyncpg.Connection, application_id: uuid.UUID) -> str | None:
    """The state a candidate is placed in, or None for someone who is not a candidate."""
    return await conn.fetchval("SELECT state FROM candidates WHERE application_id = $1", application_id)


async def record_selection(conn: asyncpg.Connection, application_id: uuid.UUID, *, state: str, district: str,
                           block: str | None, score: int, submitted_at: datetime, result_at: datetime,
                           result_event: uuid.UUID) -> bool:
    """Insert a selected candidate, or update one from an older result; False when this result is older.

    Of two results for one application the later (occurred_at, then event_id) wins, whichever
    arrives first; the seat columns are left alone, the re-placement that follows moves them.
    """
    status = await conn.execute(
        "INSERT INTO candidates AS c (application_id, state, district, block, score, submitted_at,"
        "                             result_at, result_event)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (application_id) DO UPDATE SET state = EXCLUDED.state, district = EXCLUDED.district,"
        "   block = EXCLUDED.block, score = EXCLUDED.score, submitted_at = EXCLUDED.submitted_at,"
        "   result_at = EXCLUDED.result_at, result_event = EXCLUDED.result_event, updated_at = now()"
        " WHERE (c.result_at, c.result_event) < (EXCLUDED.result_at, EXCLUDED.result_event)",
        application_id, state, district, block, score, submitted_at, result_at, result_event,
    )
    return status.endswith(" 1")


async def forget_candidate(conn: asyncpg.Connection, application_id: uuid.UUID) -> asyncpg.Record | None:
    """Delete an erased candidate's row; returns its last seat (for the `removed` event). Call under lock_state."""
    return await conn.fetchrow(
        "DELETE FROM candidates WHERE application_id = $1 RETURNING application_id, level, unit_id, score",
        application_id)


async def capacities(conn: asyncpg.Connection) -> domain.Capacities:
    levels = {r["level"]: r["capacity"] for r in await conn.fetch("SELECT level, capacity FROM level_capacity")}
    overrides = {r["unit_id"]: r["capacity"] for r in await conn.fetch("SELECT unit_id, capacity FROM unit_capacity")}
    return domain.Capacities(**levels, overrides=overrides)


async def replace_state(conn: asyncpg.Connection, state: str, departed: Iterable[asyncpg.Record] = ()) -> int:
    """Make the state's stored seats equal the placement rule's result; one event per changed seat.

    Call with lock_state held. `departed` are rows already deleted in this transaction (erased
    candidates): they count as seated before and as gone now. Writes only the seats that changed.
    Returns the number of changes.
    """
    # The database clock after the lock: later re-placements of a state get later timestamps,
    # whichever replica runs them, so consumers may order a candidate's events by occurred_at.
    at = await conn.fetchval("SELECT clock_timestamp()")
    # Merit order straight from the index; ids as text, since the rule keys by text and only the
    # few changed rows need them back as uuids. submitted_at is not fetched: only the order needs it.
    # (The text id is named `id`: ORDER BY application_id must mean the uuid column, the index's order.)
    rows = await conn.fetch(
        "SELECT application_id::text AS id, district, block, level, unit_id FROM candidates"
        " WHERE state = $1 ORDER BY score DESC, submitted_at, application_id", state)
    departed = list(departed)
    await _lock_capacities(conn, exclusive=False)
    changed = domain.rerank(state, rows, await capacities(conn),
                            {str(r["application_id"]): domain.Seat(r["level"], r["unit_id"]) for r in departed})
    if not changed:
        return 0
    seated = [c for c in changed if c.level != "none"]
    scores = {str(r["application_id"]): r["score"] for r in departed}
    if seated:
        scores.update(await _scores(conn, [c.application_id for c in seated]))
        await conn.execute(
            "UPDATE candidates AS c SET level = u.level, unit_id = u.unit_id, updated_at = now()"
            " FROM unnest($1::uuid[], $2::text[], $3::text[]) AS u(application_id, level, unit_id)"
            " WHERE c.application_id = u.application_id",
            [c.application_id for c in seated], [c.level for c in seated], [c.unit_id for c in seated])
    await add_events(conn, [
        new_event(PRODUCER, c.application_id, PlacementChanged(
            state=state, level=c.level, unit_id=c.unit_id, previous_level=c.previous_level,
            previous_unit_id=c.previous_unit_id, score=scores[c.application_id], reason=c.reason),
            occurred_at=at)
        for c in changed
    ])
    return len(changed)


async def _scores(conn: asyncpg.Connection, application_ids: list[str]) -> dict[str, int]:
    rows = await conn.fetch("SELECT application_id::text, score FROM candidates WHERE application_id = ANY($1::uuid[])",
                            application_ids)
    return {r[0]: r[1] for r in rows}


async def set_level_capacities(pool: asyncpg.Pool, levels: Mapping[str, int]) -> None:
    """Change level defaults and mark every state with candidates for re-placement, in one transaction."""
    async with pool.acquire() as conn, conn.transaction():
        await _lock_capacities(conn, exclusive=True)
        await conn.executemany("UPDATE level_capacity SET capacity = $2 WHERE level = $1", list(levels.items()))
        await conn.execute(
            "INSERT INTO states_to_replace (state) SELECT DISTINCT state FROM candidates ORDER BY state"
            " ON CONFLICT (state) DO UPDATE SET marked_at = now()")


async def replace_marked_states(pool: asyncpg.Pool) -> int:
    """Re-place every state marked by set_level_capacities, each in its own transaction; returns changes.

    One state per transaction keeps each lock short (results of other states flow meanwhile)
    and any replica may run this at the same time: the mark is taken under the state's lock,
    so each marked state is re-placed once.
    """
    total = 0
    for state in [r["state"] for r in await pool.fetch("SELECT state FROM states_to_replace ORDER BY state")]:
        async with pool.acquire() as conn, conn.transaction():
            await lock_state(conn, state)
            if await conn.fetchval("DELETE FROM states_to_replace WHERE state = $1 RETURNING true", state):
                total += await replace_state(conn, state)
    return total


async def set_unit_capacity(pool: asyncpg.Pool, unit_id: str, capacity: int | None) -> int | None:
    """Set (or with None clear) one unit's override and re-place its state, in one transaction.

    Returns the number of placement changes, or None when the unit does not exist (no candidate
    could be placed in it and it has no override).
    """
    state, district, block = domain.parse_unit(unit_id)
    async with pool.acquire() as conn, conn.transaction():
        await lock_state(conn, state)
        exists = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM candidates WHERE state = $1"
            "               AND ($2::text IS NULL OR district = $2) AND ($3::text IS NULL OR block = $3))"
            "    OR EXISTS (SELECT 1 FROM unit_capacity WHERE unit_id = $4)",
            state, district, block, unit_id)
        if not exists:
            return None
        if capacity is None:
            await conn.execute("DELETE FROM unit_capacity WHERE unit_id = $1", unit_id)
        else:
            await conn.execute(
                "INSERT INTO unit_capacity (unit_id, capacity) VALUES ($1, $2)"
                " ON CONFLICT (unit_id) DO UPDATE SET capacity = EXCLUDED.capacity", unit_id, capacity)
        return await replace_state(conn, state)


async def current_capacities(pool: asyncpg.Pool) -> domain.Capacities:
    async with pool.acquire() as conn:
        return await capacities(conn)


async def placement_of(pool: asyncpg.Pool, application_id: uuid.UUID) -> asyncpg.Record | None:
    return await pool.fetchrow(
        "SELECT application_id, state, level, unit_id, score FROM candidates WHERE application_id = $1",
        application_id)


async def unit_listing(pool: asyncpg.Pool, states: list[str] | None
                       ) -> tuple[list[asyncpg.Record], dict[str, int], domain.Capacities]:
    """What the unit list is built from: the candidates' distinct places, seats taken per unit, capacities.

    `states` None means every state. One snapshot (repeatable read), so `filled` and the places agree.
    """
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        places = await conn.fetch(
            "SELECT DISTINCT state, district, block FROM candidates"
            " WHERE $1::text[] IS NULL OR state = ANY($1)", states)
        filled = {r["unit_id"]: r["filled"] for r in await conn.fetch(
            "SELECT unit_id, count(*) AS filled FROM candidates"
            " WHERE unit_id IS NOT NULL AND ($1::text[] IS NULL OR state = ANY($1)) GROUP BY unit_id", states)}
        return places, filled, await capacities(conn)
