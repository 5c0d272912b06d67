"""Screening store: every SQL statement of screening (cases, the election calendar, erasures, locks, its
outbox and audit), one method per query on one connection; what to write is decided by the use cases."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timezone

import asyncpg

from services.screening.domain import Case, NewCase, Slot, WaitingCase
from shared.store import ServiceStore

# Advisory lock keys (database-wide, hence prefixed). Calendar changes take CALENDAR_LOCK exclusively;
# whatever reads the calendar to set a case's status (a new case, a wave, the release) takes it
# shared, so a case is never opened, scheduled or released against a calendar changing under it.
CALENDAR_LOCK = "screening.election-calendar"
# Waves run one at a time, so two waves never book the same interviewer into the same slot.
WAVES_LOCK = "screening.interview-waves"

# Ordered before every real (deferred, submitted_at, application_id): the queue's first page.
QUEUE_START = (False, datetime(1, 1, 1, tzinfo=timezone.utc), uuid.UUID(int=0))
# Ordered after every real (decided_at, application_id): the first page of decided cases (newest first).
DECIDED_START = (datetime(9999, 1, 1, tzinfo=timezone.utc), uuid.UUID(int=2**128 - 1))
# Ordered before every real (interview_at, application_id): the first page of scheduled interviews.
INTERVIEWS_START = (datetime(1, 1, 1, tzinfo=timezone.utc), uuid.UUID(int=0))

QUEUE_COLUMNS = "application_id, full_name, phone, state, district, status, submitted_at"
INTERVIEW_COLUMNS = "application_id, full_name, phone, state, district, interview_at, interviewer"

# New cases from one array of case_write rows (migrations/006_case_write.sql), an erased application's left out
# (Store.open_cases adds what a taken one does).
_OPENED_COLUMNS = ("application_id", "state", "district", "block", "full_name", "phone", "email", "submitted_at",
                   "status", "traceparent")
_OPEN_CASES = (
    "INSERT INTO cases (" + ", ".join(_OPENED_COLUMNS) + ")"
    " SELECT * FROM unnest($1::case_write[]) AS new"
    " WHERE NOT EXISTS (SELECT FROM erased WHERE erased.application_id = new.application_id)"
)


class Store(ServiceStore):

    # --- locks -----------------------------------------------------------------------------------

    async def lock_calendar(self, *, exclusive: bool) -> None:
        lock = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        await self.conn.execute(f"SELECT {lock}(hashtext($1))", CALENDAR_LOCK)

    async def lock_waves(self) -> None:
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", WAVES_LOCK)

    # --- the election calendar -------------------------------------------------------------------

    async def election_calendar(self) -> dict[str, date]:
        return {r["state"]: r["polling_ends"]
                for r in await self.conn.fetch("SELECT state, polling_ends FROM election_calendar ORDER BY state")}

    async def calendar_entry(self, state: str) -> dict[str, date]:
        """The calendar as far as `state` is concerned: {state: polling_ends}, or {} without an entry."""
        value = await self.conn.fetchval("SELECT polling_ends FROM election_calendar WHERE state = $1", state)
        return {} if value is None else {state: value}

    async def set_polling_ends(self, state: str, polling_ends: date) -> None:
        await self.conn.execute(
            "INSERT INTO election_calendar (state, polling_ends) VALUES ($1, $2)"
            " ON CONFLICT (state) DO UPDATE SET polling_ends = excluded.polling_ends, updated_at = now()",
            state, polling_ends,
        )

    async def clear_polling_ends(self, state: str) -> bool:
        return await self.conn.fetchval(
            "DELETE FROM election_calendar WHERE state = $1 RETURNING true", state) is not None

    async def set_waiting_status(self, state: str, status: str) -> list[uuid.UUID]:
        """Give every waiting case of `state` that status; the ids of those it changed.

        Waits for cases another transaction holds (an interview being booked or decided), so that
        under the exclusive calendar lock no waiting case of the state is missed.
        """
        rows = await self.conn.fetch(
            "UPDATE cases SET status = $2, updated_at = now()"
            " WHERE state = $1 AND status IN ('queued', 'deferred') AND status <> $2"
            " RETURNING application_id",
            state, status,
        )
        return [row["application_id"] for row in rows]

    async def release_deferred(self, states: Sequence[str], limit: int) -> list[tuple[uuid.UUID, str]]:
        """Up to `limit` deferred cases of `states` queued again: their (application_id, state).

        Cases another transaction holds, another replica's release included, are skipped (found on
        a later run), so replicas may release at once.
        """
        # The states are named positively (not "state <> ALL(deferring)") so that cases_deferred answers it.
        rows = await self.conn.fetch(
            "WITH due AS ("
            "  SELECT application_id FROM cases WHERE status = 'deferred' AND state = ANY($1::text[])"
            "  LIMIT $2 FOR UPDATE SKIP LOCKED)"
            " UPDATE cases c SET status = 'queued', updated_at = now()"
            " FROM due WHERE c.application_id = due.application_id AND c.status = 'deferred'"
            " RETURNING c.application_id, c.state",
            list(states), limit,
        )
        return [(row["application_id"], row["state"]) for row in rows]

    # --- cases -----------------------------------------------------------------------------------

    async def open_cases(self, cases: Sequence[NewCase], traceparents: Sequence[str | None] | None = None
                         ) -> set[uuid.UUID]:
        """Open each new case with the status of its event; an application that has a case or was
        erased is skipped, as is an application's second entry. The ids of the cases opened. Each case keeps
        its application's trace context (`traceparents`, in the order of `cases`; None when tracing is off)."""
        rows = [(c.application_id, c.application.state, c.application.district, c.application.block,
                 c.application.full_name, c.application.phone, c.application.email, c.application.submitted_at,
                 c.queued.status, traceparent)
                for c, traceparent in zip(cases, traceparents or [None] * len(cases), strict=True)]  # case_write rows
        # Nearly every case is new, so the batch is first inserted as it is, under a savepoint; only an
        # application that has a case (or comes twice) fails it on the primary key, and then the insert that
        # skips such rows runs instead, rather than every batch paying a check of each row for a conflict.
        try:
            async with self.conn.transaction():
                opened = await self.conn.fetch(_OPEN_CASES + " RETURNING application_id", rows)
        except asyncpg.UniqueViolationError:
            opened = await self.conn.fetch(_OPEN_CASES + " ON CONFLICT DO NOTHING RETURNING application_id",
                                          rows)
        return {row["application_id"] for row in opened}

    async def case_traceparent(self, application_id: uuid.UUID) -> str | None:
        """The trace context the case's application arrived in (shared.tracing), if it was traced."""
        return await self.conn.fetchval("SELECT traceparent FROM cases WHERE application_id = $1", application_id)

    async def remember_erased(self, application_id: uuid.UUID, erased_at: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO erased (application_id, erased_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            application_id, erased_at)

    async def erase_case(self, application_id: uuid.UUID) -> bool:
        """Drop a case's contact details and take it out of every queue; False if it has no case."""
        status = await self.conn.execute(
            "UPDATE cases SET full_name = NULL, phone = NULL, email = NULL, status = 'erased', updated_at = now()"
            " WHERE application_id = $1",
            application_id,
        )
        return status != "UPDATE 0"

    async def waiting_cases(self, states: Sequence[str] | None, limit: int,
                            after: tuple[bool, datetime, uuid.UUID] = QUEUE_START) -> list[Mapping]:
        """Up to `limit` cases of the queue in queue order, after the (deferred, submitted_at, application_id)
        `after`; every state's, or those of `states`."""
        order = "((status = 'deferred'), submitted_at, application_id)"
        if states is None:
            return await self.conn.fetch(
                f"SELECT {QUEUE_COLUMNS} FROM cases WHERE status IN ('queued', 'deferred')"
                f" AND {order} > ($2::bool, $3::timestamptz, $4::uuid)"
                f" ORDER BY (status = 'deferred'), submitted_at, application_id LIMIT $1",
                limit, *after,
            )
        # One index range per state (cases_waiting), merged: a state's page never walks other states' cases.
        return await self.conn.fetch(
            f"SELECT c.* FROM unnest($5::text[]) AS s(state), LATERAL ("
            f"  SELECT {QUEUE_COLUMNS} FROM cases WHERE status IN ('queued', 'deferred') AND state = s.state"
            f"  AND {order} > ($2::bool, $3::timestamptz, $4::uuid)"
            f"  ORDER BY (status = 'deferred'), submitted_at, application_id LIMIT $1) AS c"
            f" ORDER BY (c.status = 'deferred'), c.submitted_at, c.application_id LIMIT $1",
            limit, *after, list(states),
        )

    async def case_for_update(self, application_id: uuid.UUID) -> Case | None:
        # FOR UPDATE serialises concurrent results for one case: the second sees the first's decision.
        row = await self.conn.fetchrow(
            "SELECT application_id, state, district, block, status, interviewer, submitted_at FROM cases"
            " WHERE application_id = $1 FOR UPDATE",
            application_id)
        return None if row is None else Case(**row)

    async def schedule_interview(self, application_id: uuid.UUID, interview_at: datetime,
                                 interviewer: str | None) -> None:
        await self.conn.execute(
            "UPDATE cases SET status = 'scheduled', interview_at = $2, interviewer = $3, updated_at = now()"
            " WHERE application_id = $1",
            application_id, interview_at, interviewer,
        )

    async def record_result(self, application_id: uuid.UUID, outcome: str, score: int | None,
                            rubric: dict[str, int] | None, interviewer: str | None, decided_by: str | None) -> None:
        await self.conn.execute(
            "UPDATE cases SET status = $2, score = $3, rubric = $4, interviewer = coalesce($5, interviewer),"
            " decided_by = $6, decided_at = now(), updated_at = now() WHERE application_id = $1",
            application_id, outcome, score, rubric, interviewer, decided_by,
        )

    async def decided_by(self, fingerprint: str, states: Sequence[str] | None, limit: int,
                         before: tuple[datetime, uuid.UUID] = DECIDED_START) -> list[Mapping]:
        """Up to `limit` cases decided with the token of that fingerprint, newest first, older than the
        (decided_at, application_id) `before`; of `states` only (None: every state). Erased ones are not."""
        return await self.conn.fetch(
            "SELECT application_id, full_name, state, district, status AS outcome, score, decided_at FROM cases"
            " WHERE decided_by = $1 AND status <> 'erased' AND ($2::text[] IS NULL OR state = ANY($2))"
            " AND (decided_at, application_id) < ($3::timestamptz, $4::uuid)"
            " ORDER BY decided_at DESC, application_id DESC LIMIT $5",
            fingerprint, None if states is None else list(states), *before, limit,
        )

    async def scheduled_interviews(self, states: Sequence[str] | None, interviewer: str | None,
                                   window: tuple[datetime, datetime] | None, limit: int,
                                   after: tuple[datetime, uuid.UUID] = INTERVIEWS_START) -> list[Mapping]:
        """Up to `limit` scheduled interviews in time order, after the (interview_at, application_id) `after`;
        every state's or those of `states`, every interviewer's or one's (by name), at any time or within
        [start, end) of `window`."""
        # A filter left out is left out of the statement too (not "$n IS NULL OR ..."), so each shape keeps a
        # plan that uses its index: cases_booked for one interviewer, cases_scheduled_all for every state,
        # cases_scheduled per state.
        args: list = [limit, *after]
        where = "status = 'scheduled' AND (interview_at, application_id) > ($2::timestamptz, $3::uuid)"
        if interviewer is not None:
            args.append(interviewer)
            where += f" AND interviewer = ${len(args)}"
        if window is not None:
            args += window
            where += f" AND interview_at >= ${len(args) - 1}::timestamptz AND interview_at < ${len(args)}::timestamptz"
        if states is None or interviewer is not None:
            if states is not None:
                args.append(list(states))
                where += f" AND state = ANY(${len(args)}::text[])"
            return await self.conn.fetch(
                f"SELECT {INTERVIEW_COLUMNS} FROM cases WHERE {where} ORDER BY interview_at, application_id LIMIT $1",
                *args)
        # One index range per state (cases_scheduled), merged, as the queue's: a state's page never walks others'.
        args.append(list(states))
        return await self.conn.fetch(
            f"SELECT c.* FROM unnest(${len(args)}::text[]) AS s(state), LATERAL ("
            f"  SELECT {INTERVIEW_COLUMNS} FROM cases WHERE {where} AND state = s.state"
            f"  ORDER BY interview_at, application_id LIMIT $1) AS c"
            f" ORDER BY c.interview_at, c.application_id LIMIT $1",
            *args)

    async def contacts(self, application_ids: Sequence[uuid.UUID], states: Sequence[str] | None) -> list[Mapping]:
        """The contact details of those cases that are in `states` (None: every state) and not erased."""
        return await self.conn.fetch(
            "SELECT application_id, full_name, phone, email, state, district, block, status FROM cases"
            " WHERE application_id = ANY($1::uuid[]) AND status <> 'erased'"
            " AND ($2::text[] IS NULL OR state = ANY($2))",
            list(application_ids), None if states is None else list(states),
        )

    # --- interview waves -------------------------------------------------------------------------

    async def booked_interviews(self, interviewers: Sequence[str], start: datetime,
                                end: datetime) -> dict[str, list[datetime]]:
        """The scheduled interviews of these interviewers strictly between `start` and `end`, per interviewer."""
        booked: dict[str, list[datetime]] = {}
        for row in await self.conn.fetch(
            "SELECT interviewer, interview_at FROM cases WHERE status = 'scheduled' AND interviewer = ANY($1::text[])"
            " AND interview_at > $2 AND interview_at < $3",
            list(interviewers), start, end,
        ):
            booked.setdefault(row["interviewer"], []).append(row["interview_at"])
        return booked

    async def queued_for_wave(self, state: str, limit: int) -> list[WaitingCase]:
        """The head of a state's queue, locked; rows another transaction holds are skipped, not waited for."""
        rows = await self.conn.fetch(
            "SELECT application_id, state, status, submitted_at FROM cases WHERE state = $1 AND status = 'queued'"
            " ORDER BY submitted_at, application_id LIMIT $2 FOR UPDATE SKIP LOCKED",
            state, limit,
        )
        return [WaitingCase(str(r["application_id"]), r["state"], r["status"], r["submitted_at"]) for r in rows]

    async def schedule_wave(self, slots: Sequence[Slot]) -> None:
        if not slots:
            return
        await self.conn.execute(
            "UPDATE cases c SET status = 'scheduled', interview_at = s.interview_at, interviewer = s.interviewer,"
            "   updated_at = now()"
            " FROM unnest($1::uuid[], $2::timestamptz[], $3::text[]) AS s(application_id, interview_at, interviewer)"
            " WHERE c.application_id = s.application_id",
            [uuid.UUID(s.application_id) for s in slots], [s.interview_at for s in slots],
            [s.interviewer for s in slots],
        )
