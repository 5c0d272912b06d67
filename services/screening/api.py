"""Screening API: FastAPI routes — auth -> validate -> domain -> store."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from services.screening import domain, store
from shared.auth import Staff, require_admin, require_staff
from shared.geography import resolve_state
from shared.web import pool_of, runtime_of

router = APIRouter(prefix="/v1")

DECIDED = ("selected", "rejected", "no_show")


def _today() -> dt.date:
    return domain.local_date(dt.datetime.now(dt.timezone.utc))


def _invalid(field: str, message: str) -> HTTPException:
    return HTTPException(422, [{"field": field, "message": message}])


def _state_code(text: str, field: str = "state") -> str:
    code = resolve_state(text)
    if code is None:
        raise _invalid(field, f"not a state or union territory of India: {text!r}")
    return code


def _require_scope(staff: Staff, state: str) -> None:
    if not staff.may_act_in(state):
        raise HTTPException(403, f"your token does not cover {state}")


# --- the queue -----------------------------------------------------------------------------------


class QueueItem(BaseModel):
    application_id: uuid.UUID
    full_name: str | None
    phone: str | None
    state: str
    district: str
    status: str
    submitted_at: dt.datetime


class Queue(BaseModel):
    items: list[QueueItem]
    next_cursor: str | None = Field(None, description="pass as ?cursor= for the next page; null on the last page")


def _cursor(row: asyncpg.Record) -> str:
    # Opaque to clients; it is the keyset position (deferred, submitted_at, application_id) of the last item.
    position = [row["status"] == "deferred", row["submitted_at"].isoformat(), str(row["application_id"])]
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def _position(cursor: str) -> tuple[bool, dt.datetime, uuid.UUID]:
    try:
        deferred, submitted_at, application_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        moment = dt.datetime.fromisoformat(submitted_at)
        if not isinstance(deferred, bool) or moment.tzinfo is None:
            raise ValueError
        return deferred, moment, uuid.UUID(application_id)
    except (ValueError, TypeError, binascii.Error):
        raise _invalid("cursor", "not a cursor this queue gave out") from None


@router.get("/queue", response_model=Queue, tags=["interviews"])
async def queue(state: str | None = Query(None, max_length=60), limit: int = Query(50, ge=1, le=200),
                cursor: str | None = Query(None, max_length=300),
                staff: Staff = Depends(require_staff), pool: asyncpg.Pool = Depends(pool_of)) -> Queue:
    """Cases waiting for an interview: not deferred first, then oldest submitted_at, then application_id."""
    if state is not None:
        state = _state_code(state)
        _require_scope(staff, state)
        states = [state]
    else:
        states = None if staff.is_admin or staff.states is None else sorted(staff.states)
    after = _position(cursor) if cursor else store.QUEUE_START
    rows = await store.waiting_cases(pool, states, limit + 1, after)
    page = rows[:limit]
    return Queue(items=[QueueItem(**dict(r)) for r in page],
                 next_cursor=_cursor(page[-1]) if len(rows) > limit else None)


# --- interviews ----------------------------------------------------------------------------------


class ScheduleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    application_id: uuid.UUID
    interview_at: AwareDatetime
    interviewer: str | None = Field(None, min_length=1, max_length=100)


async def _locked_case(conn: asyncpg.Connection, application_id: uuid.UUID, staff: Staff) -> asyncpg.Record:
    case = await store.case_for_update(conn, application_id)
    if case is None or case["status"] == "erased":
        raise HTTPException(404, "no such case")
    _require_scope(staff, case["state"])
    if case["status"] in DECIDED:
        raise HTTPException(409, f"this case is already decided ({case['status']})")
    if case["status"] == "deferred":
        raise HTTPException(409, f"this case is deferred until polling in {case['state']} ends"
                                 " (GET /v1/election-calendar)")
    return case


@router.post("/interviews", status_code=201, tags=["interviews"])
async def schedule_interview(body: ScheduleRequest, staff: Staff = Depends(require_staff),
                             pool: asyncpg.Pool = Depends(pool_of)) -> dict:
    """Book (or re-book) one case's interview. 409 when decided or deferred."""
    async with pool.acquire() as conn, conn.transaction():
        case = await _locked_case(conn, body.application_id, staff)
        await store.schedule_interview(conn, case, body.interview_at, body.interviewer)
    return {"application_id": str(body.application_id), "status": "scheduled",
            "interview_at": body.interview_at.isoformat(), "interviewer": body.interviewer}


class Rubric(BaseModel):
    model_config = ConfigDict(extra="forbid")
    communication: int = Field(ge=0, le=10, strict=True)
    content_creation: int = Field(ge=0, le=10, strict=True)
    social_media_reach: int = Field(ge=0, le=10, strict=True)
    political_awareness: int = Field(ge=0, le=10, strict=True)
    commitment: int = Field(ge=0, le=10, strict=True)


class ResultRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scores: Rubric | None = None
    outcome: Literal["no_show"] | None = None
    interviewer: str | None = Field(None, min_length=1, max_length=100)


@router.post("/interviews/{application_id}/result", tags=["interviews"])
async def record_result(application_id: uuid.UUID, body: ResultRequest, staff: Staff = Depends(require_staff),
                        pool: asyncpg.Pool = Depends(pool_of), runtime=Depends(runtime_of)) -> dict:
    """The result of a queued or scheduled case's interview; a no-show only for a scheduled one. 409 once decided."""
    if (body.scores is None) == (body.outcome is None):
        raise _invalid("scores", "send either scores or outcome: no_show")
    async with pool.acquire() as conn, conn.transaction():
        case = await _locked_case(conn, application_id, staff)
        if body.scores is not None:
            rubric = body.scores.model_dump()
            score = domain.score(rubric)
            outcome = domain.outcome(score, runtime.settings.selection_threshold)
        else:
            if case["status"] != "scheduled":
                raise HTTPException(409, "a no-show needs a scheduled interview")
            rubric, score, outcome = None, None, "no_show"
        await store.record_result(conn, case, outcome, score, rubric, body.interviewer)
    return {"application_id": str(application_id), "outcome": outcome, "score": score}


# --- interview waves -----------------------------------------------------------------------------

InterviewerName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class WaveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: str = Field(max_length=60)
    date: dt.date
    start: dt.time = Field(description="wall-clock time in India (IST), e.g. 10:00")
    end: dt.time = Field(description="wall-clock time in India (IST); the last slot ends by then")
    slot_minutes: int = Field(ge=domain.SLOT_MINUTES_MIN, le=domain.SLOT_MINUTES_MAX, strict=True)
    interviewers: list[InterviewerName] = Field(min_length=1, max_length=100)

    @field_validator("interviewers")
    @classmethod
    def _distinct(cls, names: list[str]) -> list[str]:
        if len(set(names)) != len(names):
            raise ValueError("each interviewer once")
        return names


class WaveInterview(BaseModel):
    application_id: uuid.UUID
    interview_at: dt.datetime
    interviewer: str


class Wave(BaseModel):
    state: str
    date: dt.date
    capacity: int = Field(description="slots x interviewers")
    scheduled: int
    interviews: list[WaveInterview]


@router.post("/interview-waves", status_code=201, response_model=Wave, tags=["interviews"])
async def schedule_wave(body: WaveRequest, staff: Staff = Depends(require_staff),
                        pool: asyncpg.Pool = Depends(pool_of)) -> Wave:
    """Book the head of a state's queue into a day's slots, interviewers in turn, never double-booking one."""
    state = _state_code(body.state)
    _require_scope(staff, state)
    today = _today()
    if body.date < today:
        raise _invalid("date", f"{body.date.isoformat()} is in the past (today in India is {today.isoformat()})")
    try:
        starts = domain.wave_slots(body.date, body.start, body.end, body.slot_minutes)
    except ValueError as error:
        raise _invalid("start", str(error)) from None
    step = dt.timedelta(minutes=body.slot_minutes)
    async with pool.acquire() as conn, conn.transaction():
        await store.lock_waves(conn)
        await store.lock_calendar(conn, exclusive=False)
        calendar = await store.calendar_entry(conn, state)
        if domain.is_deferred(state, today, calendar):
            raise HTTPException(409, f"{state} is deferred: polling ends {calendar[state].isoformat()}")
        busy = await store.booked_interviews(conn, body.interviewers, starts[0] - step, starts[-1] + step)
        cases = await store.queued_for_wave(conn, state, len(starts) * len(body.interviewers))
        slots = domain.plan_wave(body.date, body.start, body.end, body.slot_minutes, body.interviewers, cases,
                                 busy=busy)
        await store.schedule_wave(conn, state, slots)
    return Wave(state=state, date=body.date, capacity=len(starts) * len(body.interviewers), scheduled=len(slots),
                interviews=[WaveInterview(**s._asdict()) for s in slots])


# --- the election calendar -----------------------------------------------------------------------


class CalendarEntry(BaseModel):
    state: str
    polling_ends: dt.date
    deferring: bool = Field(description="whether the state's waiting cases are deferred today")


class Calendar(BaseModel):
    today: dt.date = Field(description="today in India: polling days are Indian days")
    items: list[CalendarEntry]


@router.get("/election-calendar", response_model=Calendar, tags=["election calendar"])
async def election_calendar(staff: Staff = Depends(require_staff), pool: asyncpg.Pool = Depends(pool_of)) -> Calendar:
    today = _today()
    calendar = await store.election_calendar(pool)
    return Calendar(today=today, items=[
        CalendarEntry(state=state, polling_ends=ends, deferring=domain.is_deferred(state, today, calendar))
        for state, ends in calendar.items()
    ])


class PollingEnds(BaseModel):
    model_config = ConfigDict(extra="forbid")
    polling_ends: dt.date = Field(description="YYYY-MM-DD, the last polling day (an Indian day)")

    @field_validator("polling_ends", mode="before")
    @classmethod
    def _iso_day(cls, value: object) -> object:
        # pydantic alone would also take a Unix timestamp or a midnight datetime for a date.
        if not (isinstance(value, str) and len(value) == 10):
            raise ValueError("a day as YYYY-MM-DD")
        return value


class CalendarChange(CalendarEntry):
    changed: int = Field(description="waiting cases of the state whose status this change moved")


@router.put("/election-calendar/{state}", response_model=CalendarChange, tags=["election calendar"])
async def set_polling_ends(state: str, body: PollingEnds, staff: Staff = Depends(require_admin),
                           pool: asyncpg.Pool = Depends(pool_of)) -> CalendarChange:
    """Set a state's last polling day: its waiting cases are deferred through that day, released after it."""
    state = _state_code(state)
    today = _today()
    async with pool.acquire() as conn, conn.transaction():
        await store.lock_calendar(conn, exclusive=True)
        await store.set_polling_ends(conn, state, body.polling_ends)
        changed = await store.apply_calendar_to_state(conn, state, today)
    return CalendarChange(state=state, polling_ends=body.polling_ends, changed=len(changed),
                          deferring=domain.is_deferred(state, today, {state: body.polling_ends}))


@router.delete("/election-calendar/{state}", status_code=204, tags=["election calendar"])
async def clear_polling_ends(state: str, staff: Staff = Depends(require_admin),
                             pool: asyncpg.Pool = Depends(pool_of)) -> Response:
    """Clear a state's entry (no election): its deferred cases are released. 204 whether or not it had one."""
    state = _state_code(state)
    async with pool.acquire() as conn, conn.transaction():
        await store.lock_calendar(conn, exclusive=True)
        await store.clear_polling_ends(conn, state)
        await store.apply_calendar_to_state(conn, state, _today())
    return Response(status_code=204)
