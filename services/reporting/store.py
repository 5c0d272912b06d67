"""Reporting store: every SQL statement of reporting (the per-application projection and its counts)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.reporting.domain import STAGE_RANK


async def record_submitted(conn: asyncpg.Connection, application_id: uuid.UUID, state: str, district: str,
                           phone_hash: str, submitted_at: datetime) -> None:
    await conn.execute(
        "INSERT INTO applications (application_id, state, district, phone_hash, submitted_at)"
        " VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (application_id) DO UPDATE SET state = EXCLUDED.state, district = EXCLUDED.district,"
        " submitted_at = EXCLUDED.submitted_at,"
        " phone_hash = CASE WHEN applications.erased THEN NULL ELSE EXCLUDED.phone_hash END",
        application_id, state, district, phone_hash, submitted_at,
    )


# An event moves the stage when it ranks higher, or ranks the same and happened later.
_NEWER = "(EXCLUDED.stage_rank, EXCLUDED.stage_at) > (applications.stage_rank, applications.stage_at)"


async def move_stage(conn: asyncpg.Connection, application_id: uuid.UUID, state: str, stage: str, at: datetime,
                     *, level: str | None = None, unit_id: str | None = None, scheduled: bool = False,
                     outcome: str | None = None) -> None:
    """Advance the application's stage if this event is newer in the stage order (any arrival order)."""
    rank = STAGE_RANK[stage]
    await conn.execute(
        "INSERT INTO applications (application_id, state, stage, stage_rank, stage_at, level, unit_id,"
        " ever_scheduled, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (application_id) DO UPDATE SET"
        "  ever_scheduled = applications.ever_scheduled OR EXCLUDED.ever_scheduled,"
        "  outcome = coalesce(applications.outcome, EXCLUDED.outcome),"
        f" stage = CASE WHEN {_NEWER} THEN EXCLUDED.stage ELSE applications.stage END,"
        f" stage_rank = CASE WHEN {_NEWER} THEN EXCLUDED.stage_rank ELSE applications.stage_rank END,"
        f" stage_at = CASE WHEN {_NEWER} THEN EXCLUDED.stage_at ELSE applications.stage_at END,"
        f" level = CASE WHEN {_NEWER} THEN EXCLUDED.level ELSE applications.level END,"
        f" unit_id = CASE WHEN {_NEWER} THEN EXCLUDED.unit_id ELSE applications.unit_id END,"
        "  updated_at = now()",
        application_id, state, stage, rank, at, level, unit_id, scheduled, outcome,
    )


async def record_erased(conn: asyncpg.Connection, application_id: uuid.UUID) -> None:
    await conn.execute(
        "INSERT INTO applications (application_id, state, erased) VALUES ($1, '', true)"
        " ON CONFLICT (application_id) DO UPDATE SET erased = true, phone_hash = NULL, updated_at = now()",
        application_id,
    )


async def summary_counts(pool: asyncpg.Pool) -> asyncpg.Record:
    return await pool.fetchrow(
        "SELECT count(*) FILTER (WHERE submitted_at IS NOT NULL) AS applications,"
        " count(*) FILTER (WHERE erased) AS erased,"
        " count(*) FILTER (WHERE ever_scheduled) AS scheduled,"
        " count(*) FILTER (WHERE outcome IN ('selected', 'rejected')) AS interviewed,"
        " count(*) FILTER (WHERE outcome = 'selected') AS selected,"
        " count(*) FILTER (WHERE outcome = 'rejected') AS rejected,"
        " count(*) FILTER (WHERE outcome = 'no_show') AS no_show,"
        " count(*) FILTER (WHERE NOT erased AND stage = 'queued') AS queued,"
        " count(*) FILTER (WHERE NOT erased AND stage = 'deferred') AS deferred,"
        " count(*) FILTER (WHERE NOT erased AND stage = 'scheduled') AS awaiting_result,"
        " count(*) FILTER (WHERE NOT erased AND stage = 'placed') AS placed,"
        " count(*) FILTER (WHERE NOT erased AND stage = 'waitlisted') AS waitlisted,"
        " count(*) FILTER (WHERE NOT erased AND stage = 'placed' AND level = 'state') AS level_state,"
        " count(*) FILTER (WHERE NOT erased AND stage = 'placed' AND level = 'district') AS level_district,"
        " count(*) FILTER (WHERE NOT erased AND stage = 'placed' AND level = 'block') AS level_block"
        " FROM applications"
    )
