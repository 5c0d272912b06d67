"""Placement store: every SQL statement of placement (locks, candidates, erasures, capacities, seats, marks, outbox,
audit)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

import asyncpg

from services.placement import domain
from shared.store import ServiceStore


class Store(ServiceStore):
    """Placement's tables through one connection; the use case decides the transaction around it."""

    # --- locks: transaction-scoped advisory locks, taken in the order usecases.py gives ---------

    async def lock_application(self, application_id: uuid.UUID) -> None:
        """Serialise the events of one application (a result and its erasure) until the transaction ends."""
        await self.conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('placement.application'), hashtext($1::uuid::text))",
            application_id)

    async def lock_state(self, state: str) -> None:
        """Serialise every re-placement of one state, across replicas, until the transaction ends."""
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext('placement.state'), hashtext($1))", state)

    async def lock_capacities(self, *, exclusive: bool) -> None:
        """Shared by re-placements while they use the capacities; exclusive for a change of the level defaults."""
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        await self.conn.execute(f"SELECT {function}(hashtext('placement.capacity'), 0)")

    async def clock(self) -> datetime:
        """The database clock now (not the transaction's start)."""
        return await self.conn.fetchval("SELECT clock_timestamp()")

    # --- erasures and candidates --------------------------------------------------------------------

    async def is_erased(self, application_id: uuid.UUID) -> bool:
        return bool(await self.conn.fetchval("SELECT true FROM erased WHERE application_id = $1", application_id))

    async def mark_erased(self, application_id: uuid.UUID) -> None:
        await self.conn.execute("INSERT INTO erased (application_id) VALUES ($1) ON CONFLICT DO NOTHING",
                                application_id)

    async def state_of(self, application_id: uuid.UUID) -> str | None:
        """The state a candidate is placed in, or None for someone who is not a candidate."""
        return await self.conn.fetchval("SELECT state FROM candidates WHERE application_id = $1", application_id)

    async def record_selection(self, application_id: uuid.UUID, *, state: str, district: str, block: str | None,
                               score: int, submitted_at: datetime, result_at: datetime,
                               result_event: uuid.UUID) -> bool:
        """Insert a candidate, or update one whose stored result is older by (result_at, result_event);
        False when the stored result is the newer one (then nothing is written). The seat columns
        are left alone: the re-placement that follows moves them."""
        status = await self.conn.execute(
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

    async def forget_candidate(self, application_id: uuid.UUID) -> domain.Departure | None:
        """Delete a candidate's row; returns the seat and score they leave with."""
        row = await self.conn.fetchrow(
            "DELETE FROM candidates WHERE application_id = $1 RETURNING application_id::text, level, unit_id, score",
            application_id)
        if row is None:
            return None
        return domain.Departure(row[0], domain.Seat(row["level"], row["unit_id"]), row["score"])

    async def ranked_seats(self, state: str) -> list[asyncpg.Record]:
        """Every candidate of a state in merit order as (id, district, block, level, unit_id), for domain.rerank.

        Straight from the index candidates_merit; ids as text, since the rule keys by text and only
        the few changed rows need them back as uuids. submitted_at is not fetched: only the order
        needs it. (The text id is named `id`: ORDER BY application_id must mean the uuid column.)
        """
        return await self.conn.fetch(
            "SELECT application_id::text AS id, district, block, level, unit_id FROM candidates"
            " WHERE state = $1 ORDER BY score DESC, submitted_at, application_id", state)

    async def scores(self, application_ids: Sequence[str]) -> dict[str, int]:
        rows = await self.conn.fetch(
            "SELECT application_id::text, score FROM candidates WHERE application_id = ANY($1::uuid[])",
            list(application_ids))
        return {r[0]: r[1] for r in rows}

    async def move_seats(self, moves: Sequence[domain.PlacementChange]) -> None:
        """Store the new seat of each candidate that moved (one statement, whatever their number)."""
        await self.conn.execute(
            "UPDATE candidates AS c SET level = u.level, unit_id = u.unit_id, updated_at = now()"
            " FROM unnest($1::uuid[], $2::text[], $3::text[]) AS u(application_id, level, unit_id)"
            " WHERE c.application_id = u.application_id",
            [m.application_id for m in moves], [m.level for m in moves], [m.unit_id for m in moves])

    async def placement_of(self, application_id: uuid.UUID) -> dict | None:
        row = await self.conn.fetchrow(
            "SELECT application_id, state, level, unit_id, score FROM candidates WHERE application_id = $1",
            application_id)
        return None if row is None else dict(row)

    async def places(self, states: Sequence[str] | None) -> list[tuple[str, str, str | None]]:
        """The distinct (state, district, block) of the candidates of `states` (None: every state)."""
        rows = await self.conn.fetch(
            "SELECT DISTINCT state, district, block FROM candidates WHERE $1::text[] IS NULL OR state = ANY($1)",
            None if states is None else list(states))
        return [tuple(r) for r in rows]

    async def filled(self, states: Sequence[str] | None) -> dict[str, int]:
        """Seats taken per unit in `states` (None: every state)."""
        rows = await self.conn.fetch(
            "SELECT unit_id, count(*) AS filled FROM candidates"
            " WHERE unit_id IS NOT NULL AND ($1::text[] IS NULL OR state = ANY($1)) GROUP BY unit_id",
            None if states is None else list(states))
        return {r["unit_id"]: r["filled"] for r in rows}

    async def unit_members(self, unit_id: str) -> list[asyncpg.Record]:
        """The candidates seated in a unit, in merit order (as the state's: score, then submitted_at, then id)."""
        return await self.conn.fetch(
            "SELECT application_id, score FROM candidates WHERE unit_id = $1"
            " ORDER BY score DESC, submitted_at, application_id", unit_id)

    async def seats_taken(self, unit_id: str) -> int:
        return await self.conn.fetchval("SELECT count(*) FROM candidates WHERE unit_id = $1", unit_id)

    async def unit_exists(self, unit_id: str) -> bool:
        """Whether some candidate could sit in the unit, or it has an override."""
        state, district, block = domain.parse_unit(unit_id)
        return await self.conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM candidates WHERE state = $1"
            "               AND ($2::text IS NULL OR district = $2) AND ($3::text IS NULL OR block = $3))"
            "    OR EXISTS (SELECT 1 FROM unit_capacity WHERE unit_id = $4)",
            state, district, block, unit_id)

    # --- capacities ----------------------------------------------------------------------------------

    async def capacities(self) -> domain.Capacities:
        levels = {r["level"]: r["capacity"]
                  for r in await self.conn.fetch("SELECT level, capacity FROM level_capacity")}
        overrides = {r["unit_id"]: r["capacity"]
                     for r in await self.conn.fetch("SELECT unit_id, capacity FROM unit_capacity")}
        return domain.Capacities(**levels, overrides=overrides)

    async def set_level_capacities(self, levels: Mapping[str, int]) -> None:
        await self.conn.executemany("UPDATE level_capacity SET capacity = $2 WHERE level = $1", list(levels.items()))

    async def set_unit_capacity(self, unit_id: str, capacity: int) -> None:
        await self.conn.execute(
            "INSERT INTO unit_capacity (unit_id, capacity) VALUES ($1, $2)"
            " ON CONFLICT (unit_id) DO UPDATE SET capacity = EXCLUDED.capacity", unit_id, capacity)

    async def clear_unit_capacity(self, unit_id: str) -> None:
        await self.conn.execute("DELETE FROM unit_capacity WHERE unit_id = $1", unit_id)

    # --- states left to re-place after a change of the level capacities -----------------------------

    async def mark_states_with_candidates(self) -> None:
        await self.conn.execute(
            "INSERT INTO states_to_re_place (state) SELECT DISTINCT state FROM candidates ORDER BY state"
            " ON CONFLICT (state) DO UPDATE SET marked_at = now()")

    async def marked_states(self) -> list[str]:
        return [r["state"] for r in await self.conn.fetch("SELECT state FROM states_to_re_place ORDER BY state")]

    async def unmark_state(self, state: str) -> bool:
        """Remove a state's mark; False when it had none (another replica re-placed it already)."""
        return bool(await self.conn.fetchval("DELETE FROM states_to_re_place WHERE state = $1 RETURNING true",
                                             state))
