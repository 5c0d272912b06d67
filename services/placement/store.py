"""Placement store: every SQL statement of placement (candidates, capacities, seats, outbox events)."""

from __future__ import annotations

import uuid

import asyncpg

from services.placement import domain
from shared.events import PlacementChanged, new_event
from shared.outbox import add_events

PRODUCER = "placement"


async def lock_state(conn: asyncpg.Connection, state: str) -> None:
    """Serialise every re-placement of one state, across replicas, until the transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('placement:' || $1))", state)


async def add_candidate(conn: asyncpg.Connection, application_id: uuid.UUID, state: str, district: str,
                        block: str | None, score: int, submitted_at) -> bool:
    """Record a selected candidate unless erased already; False when nothing changed."""
    if await conn.fetchval("SELECT true FROM erased WHERE application_id = $1", application_id):
        return False
    status = await conn.execute(
        "INSERT INTO candidates (application_id, state, district, block, score, submitted_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        application_id, state, district, block, score, submitted_at,
    )
    return status.endswith(" 1")


async def remove_candidate(conn: asyncpg.Connection, application_id: uuid.UUID) -> str | None:
    """Forget an erased candidate; returns their state (to re-place) or None if not a candidate."""
    await conn.execute("INSERT INTO erased (application_id) VALUES ($1) ON CONFLICT DO NOTHING", application_id)
    return await conn.fetchval("SELECT state FROM candidates WHERE application_id = $1", application_id)


async def capacities(conn: asyncpg.Connection) -> domain.Capacities:
    levels = {r["level"]: r["capacity"] for r in await conn.fetch("SELECT level, capacity FROM level_capacity")}
    overrides = {r["unit_id"]: r["capacity"] for r in await conn.fetch("SELECT unit_id, capacity FROM unit_capacity")}
    return domain.Capacities(**levels, overrides=overrides)


async def replace_state(conn: asyncpg.Connection, state: str, removed: uuid.UUID | None = None) -> int:
    """Make the state's stored seats equal the placement rule's result; one event per changed seat.

    Call with lock_state held. `removed` is an erased candidate whose row goes with this change.
    Returns the number of changes.
    """
    rows = await conn.fetch(
        "SELECT application_id, score, submitted_at, district, block, level, unit_id FROM candidates"
        " WHERE state = $1", state)
    previous = {str(r["application_id"]): domain.Seat(r["level"], r["unit_id"]) for r in rows}
    scores = {str(r["application_id"]): r["score"] for r in rows}
    candidates = [domain.Candidate(str(r["application_id"]), r["score"], r["submitted_at"], r["district"], r["block"])
                  for r in rows if removed is None or r["application_id"] != removed]
    current = domain.place_state(state, candidates, await capacities(conn))
    changed = domain.changes(previous, current)
    if removed is not None:
        await conn.execute("DELETE FROM candidates WHERE application_id = $1", removed)
    seated = [(uuid.UUID(c.application_id), c.level, c.unit_id) for c in changed if c.reason != "removed"]
    if seated:
        await conn.executemany(
            "UPDATE candidates SET level = $2, unit_id = $3, updated_at = now() WHERE application_id = $1", seated)
    await add_events(conn, [
        new_event(PRODUCER, c.application_id, PlacementChanged(
            state=state, level=c.level, unit_id=c.unit_id, previous_level=c.previous_level,
            previous_unit_id=c.previous_unit_id, score=scores.get(c.application_id), reason=c.reason))
        for c in changed
    ])
    return len(changed)


async def placement_of(pool: asyncpg.Pool, application_id: uuid.UUID) -> asyncpg.Record | None:
    return await pool.fetchrow(
        "SELECT application_id, state, level, unit_id, score FROM candidates WHERE application_id = $1",
        application_id)
