"""Screening API (routes): auth, parse, call one use case, answer; the use cases' refusals become
404, 403, 409 or 422 here. The queue and the scheduled interviews, interviews, waves, the calendar; also the
staff console's JSON: who am I, my decided cases, contact look-up,
/console/config (the page itself is console.py's)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Query, Response
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    create_model,
    field_validator,
)

from services.screening import domain, usecases
from services.screening.store import Store
from shared.audit import Actor, actor_of
from shared.auth import Staff, out_of_scope, require_admin, require_scope, require_staff
from shared.errors import error_responses, invalid, state_code
from shared.events import RUBRIC, RUBRIC_MAX, RUBRIC_MIN
from shared.india_time import IST
from shared.service import Runtime
from shared.unit_of_work import UnitOfWork
from shared.web import runtime_of, service_router, unit_of_work

router = service_router(prefix="/v1")
# The console's JSON beside its page (GET /console is console.py's), outside /v1.
console_api = service_router(prefix="/console", tags=["console"])

screening_uow = unit_of_work(Store)


@contextlib.contextmanager
def refusals_as_http() -> Iterator[None]:
    """A use case's refusal as its HTTP answer: 404 no case, 403 out of scope, 409 conflict, 422 a bad wave."""
    try:
        yield
    except domain.CaseNotFound:
        raise HTTPException(404, "no such case") from None
    except usecases.OutOfScope as error:
        raise out_of_scope(error.state) from None
    except domain.Conflict as error:
        raise HTTPException(409, str(error)) from None
    except domain.InvalidWave as error:
        raise invalid(error.field, str(error)) from None


# --- the queue -----------------------------------------------------------------------------------


class QueueItem(BaseModel):
    application_id: uuid.UUID
    full_name: str | None
    phone: str | None
    state: str
    district: str
    status: str
    submitted_at: dt.datetime
    reason: str | None = Field(description="for a deferred case, until when, e.g. 'polling in RJ ends 2026-12-10'")


class Queue(BaseModel):
    items: list[QueueItem]
    next_cursor: str | None = Field(None, description="pass as ?cursor= for the next page; null on the last page")


def _encode(position: list) -> str:
    # Cursors are opaque to clients: the keyset position of a page's last item, as base64 JSON.
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def _decode(cursor: str) -> list:
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


def _moment(text: object) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)  # a TypeError for anything but text
    if moment.tzinfo is None:
        raise ValueError
    try:
        return moment.astimezone(dt.timezone.utc)  # as the database can hold it: 0001-01-01T00:00+05:30 is not
    except OverflowError:
        raise ValueError from None


def _cursor(row: Mapping) -> str:
    # The queue's keyset position: (deferred, submitted_at, application_id).
    return _encode([row["status"] == "deferred", row["submitted_at"].isoformat(), str(row["application_id"])])


def _position(cursor: str) -> tuple[bool, dt.datetime, uuid.UUID]:
    try:
        deferred, submitted_at, application_id = _decode(cursor)
        if not isinstance(deferred, bool):
            raise ValueError
        return deferred, _moment(submitted_at), uuid.UUID(application_id)
    except (ValueError, TypeError, AttributeError, binascii.Error):
        raise invalid("cursor", "not a cursor this queue gave out") from None


def _states_in_view(staff: Staff, state: str | None) -> list[str] | None:
    # A list's state filter: a named state must be the token's (403), no state is every state the token sees.
    if state is None:
        return staff.visible_states()
    state = state_code(state)
    require_scope(staff, state)
    return [state]


@router.get("/queue", response_model=Queue, tags=["interviews"],
            responses=error_responses(401, (403, "the state named is outside the token's states")))
async def queue(state: str | None = Query(None, max_length=60), limit: int = Query(50, ge=1, le=200),
                cursor: str | None = Query(None, max_length=300),
                staff: Staff = Depends(require_staff), uow: UnitOfWork = Depends(screening_uow)) -> Queue:
    """Cases waiting for an interview: not deferred first, then oldest submitted_at, then application_id."""
    states = _states_in_view(staff, state)
    page = await usecases.queue_page(uow, states, limit, _position(cursor) if cursor else None)
    return Queue(items=[QueueItem(**dict(r)) for r in page.items],
                 next_cursor=_cursor(page.items[-1]) if page.more else None)


# --- interviews ----------------------------------------------------------------------------------


class ScheduleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    application_id: uuid.UUID
    interview_at: AwareDatetime
    interviewer: str | None = Field(None, min_length=1, max_length=100)


@router.post("/interviews", status_code=201, tags=["interviews"],
             responses=error_responses(401, (403, "the case's state is outside the token's states"),
                                       (404, "no such case"), (409, "the case is decided or deferred")))
async def schedule_interview(body: ScheduleRequest, staff: Staff = Depends(require_staff),
                             uow: UnitOfWork = Depends(screening_uow)) -> dict:
    """Book (or re-book) one case's interview. 409 when decided or deferred."""
    with refusals_as_http():
        await usecases.schedule_interview(uow, staff, body.application_id, body.interview_at, body.interviewer)
    return {"application_id": str(body.application_id), "status": "scheduled",
            "interview_at": body.interview_at.isoformat(), "interviewer": body.interviewer}


class ScheduledInterview(BaseModel):
    application_id: uuid.UUID
    full_name: str | None
    phone: str | None
    state: str
    district: str
    interview_at: dt.datetime = Field(description="in India's time (+05:30)")
    interviewer: str | None


class Interviews(BaseModel):
    items: list[ScheduledInterview]
    next_cursor: str | None = Field(None, description="pass as ?cursor= for the next page; null on the last page")


def _time_position(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    # The keyset position of a list ordered by a moment, then application_id (decided cases, interviews).
    try:
        moment, application_id = _decode(cursor)
        return _moment(moment), uuid.UUID(application_id)
    except (ValueError, TypeError, AttributeError, binascii.Error):
        raise invalid("cursor", "not a cursor this list gave out") from None


def _time_cursor(row: Mapping, moment: str) -> str:
    return _encode([row[moment].isoformat(), str(row["application_id"])])


# The first and the last day a date names have no whole span in UTC (midnight IST of 0001-01-01 is in year 0).
DAYS = (dt.date(1, 1, 2), dt.date(9999, 12, 30))


def _indian_day(text: str) -> dt.date:
    # Exactly YYYY-MM-DD: date.fromisoformat alone would also take 20261201 or 2026-W49-2.
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            raise ValueError
        day = dt.date.fromisoformat(text)
        if not DAYS[0] <= day <= DAYS[1]:
            raise ValueError
        return day
    except ValueError:
        raise invalid("day", "a day in India as YYYY-MM-DD") from None


@router.get("/interviews", response_model=Interviews, tags=["interviews"],
            responses=error_responses(401, (403, "the state named is outside the token's states")))
async def scheduled_interviews(
        state: str | None = Query(None, max_length=60),
        interviewer: str | None = Query(None, min_length=1, max_length=100, description="exactly as booked"),
        day: str | None = Query(None, max_length=10, description="YYYY-MM-DD, a day in India (IST)"),
        limit: int = Query(50, ge=1, le=200), cursor: str | None = Query(None, max_length=300),
        staff: Staff = Depends(require_staff), uow: UnitOfWork = Depends(screening_uow)) -> Interviews:
    """Booked interviews still to be held or recorded (status scheduled), soonest first (interview_at, then
    application_id): the token's states, or the one named (403 outside them); one interviewer's, one day's."""
    states = _states_in_view(staff, state)
    page = await usecases.interviews_page(uow, states, interviewer, None if day is None else _indian_day(day), limit,
                                          _time_position(cursor) if cursor else None)
    return Interviews(items=[ScheduledInterview(**{**r, "interview_at": r["interview_at"].astimezone(IST)})
                             for r in page.items],
                      next_cursor=_time_cursor(page.items[-1], "interview_at") if page.more else None)


# The five items of shared.events.RUBRIC, each a required integer RUBRIC_MIN..RUBRIC_MAX (true or 7.0 is no score).
Rubric = create_model(
    "Rubric", __config__=ConfigDict(extra="forbid"),
    **{item: (int, Field(ge=RUBRIC_MIN, le=RUBRIC_MAX, strict=True)) for item in RUBRIC},
)


class ResultRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scores: Rubric | None = None
    outcome: Literal["no_show"] | None = None
    interviewer: str | None = Field(None, min_length=1, max_length=100)


@router.post("/interviews/{application_id}/result", tags=["interviews"],
             responses=error_responses(401, (403, "the case's state is outside the token's states"),
                                       (404, "no such case"), (409, "the case is already decided")))
async def record_result(application_id: uuid.UUID, body: ResultRequest, staff: Staff = Depends(require_staff),
                        uow: UnitOfWork = Depends(screening_uow), runtime: Runtime = Depends(runtime_of)) -> dict:
    """The result of a queued or scheduled case's interview; a no-show only for a scheduled one. 409 once decided."""
    if (body.scores is None) == (body.outcome is None):
        raise invalid("scores", "send either scores or outcome: no_show")
    rubric = None if body.scores is None else body.scores.model_dump()
    with refusals_as_http():
        decision = await usecases.record_result(uow, staff, application_id, rubric, body.interviewer,
                                                runtime.settings.selection_threshold)
    return {"application_id": str(application_id), "outcome": decision.outcome, "score": decision.score}


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


@router.post("/interview-waves", status_code=201, response_model=Wave, tags=["interviews"],
             responses=error_responses(401, (403, "the state is outside the token's states"),
                                       (409, "the state's cases are deferred (polling)")))
async def schedule_wave(body: WaveRequest, staff: Staff = Depends(require_staff),
                        uow: UnitOfWork = Depends(screening_uow)) -> Wave:
    """Book the head of a state's queue into a day's slots, interviewers in turn, never double-booking one."""
    state = state_code(body.state)
    with refusals_as_http():
        wave = await usecases.schedule_wave(uow, staff, state, body.date, body.start, body.end, body.slot_minutes,
                                            body.interviewers)
    return Wave(state=state, date=body.date, capacity=wave.capacity, scheduled=len(wave.slots),
                interviews=[WaveInterview(**slot._asdict()) for slot in wave.slots])


# --- the election calendar -----------------------------------------------------------------------


class CalendarEntry(BaseModel):
    state: str
    polling_ends: dt.date
    deferring: bool = Field(description="whether the state's waiting cases are deferred today")


class Calendar(BaseModel):
    today: dt.date = Field(description="today in India: polling days are Indian days")
    items: list[CalendarEntry]


@router.get("/election-calendar", response_model=Calendar, tags=["election calendar"],
            responses=error_responses(401))
async def election_calendar(staff: Staff = Depends(require_staff),
                            uow: UnitOfWork = Depends(screening_uow)) -> Calendar:
    today, entries = await usecases.election_calendar(uow)
    return Calendar(today=today, items=[CalendarEntry(**entry._asdict()) for entry in entries])


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


@router.put("/election-calendar/{state}", response_model=CalendarChange, tags=["election calendar"],
            responses=error_responses(401, (403, "not an admin token")))
async def set_polling_ends(state: str, body: PollingEnds, staff: Staff = Depends(require_admin),
                           uow: UnitOfWork = Depends(screening_uow)) -> CalendarChange:
    """Set a state's last polling day: its waiting cases are deferred through that day, released after it."""
    state = state_code(state)
    changed, deferring = await usecases.set_polling_ends(uow, staff, state, body.polling_ends)
    return CalendarChange(state=state, polling_ends=body.polling_ends, changed=changed, deferring=deferring)


@router.delete("/election-calendar/{state}", status_code=204, tags=["election calendar"],
               responses=error_responses(401, (403, "not an admin token")))
async def clear_polling_ends(state: str, staff: Staff = Depends(require_admin),
                             uow: UnitOfWork = Depends(screening_uow)) -> Response:
    """Clear a state's entry (no election): its deferred cases are released. 204 whether or not it had one."""
    await usecases.clear_polling_ends(uow, staff, state_code(state))
    return Response(status_code=204)


# --- the staff console's JSON --------------------------------------------------------------------


@router.get("/me", response_model=Actor, tags=["console"], responses=error_responses(401))
async def me(staff: Staff = Depends(require_staff)) -> Actor:
    """Who this token is: its role, its states (null: every state) and its fingerprint (never the token).
    401 for a wrong token: the console's sign-in."""
    return Actor(**actor_of(staff))  # what the audit records of this token, too


class DecidedCase(BaseModel):
    application_id: uuid.UUID
    full_name: str | None
    state: str
    district: str
    outcome: Literal["selected", "rejected", "no_show"]
    score: int | None
    decided_at: dt.datetime


class Decided(BaseModel):
    items: list[DecidedCase]
    next_cursor: str | None = Field(None, description="pass as ?cursor= for the next page; null on the last page")


@router.get("/cases/decided", response_model=Decided, tags=["console"], responses=error_responses(401))
async def decided_cases(limit: int = Query(50, ge=1, le=200), cursor: str | None = Query(None, max_length=300),
                        staff: Staff = Depends(require_staff), uow: UnitOfWork = Depends(screening_uow)) -> Decided:
    """The cases decided with this token (by its fingerprint), newest first; erased ones and those outside
    the token's states are not listed."""
    page = await usecases.decided_page(uow, staff, limit, _time_position(cursor) if cursor else None)
    return Decided(items=[DecidedCase(**dict(r)) for r in page.items],
                   next_cursor=_time_cursor(page.items[-1], "decided_at") if page.more else None)


LOOKUP_MAX = 500


class LookupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    application_ids: list[uuid.UUID] = Field(min_length=1, max_length=LOOKUP_MAX)


class Contact(BaseModel):
    application_id: uuid.UUID
    full_name: str | None
    phone: str | None
    email: str | None
    state: str
    district: str
    block: str | None
    status: str


class Contacts(BaseModel):
    items: list[Contact]


@router.post("/cases/lookup", response_model=Contacts, tags=["console"], responses=error_responses(401))
async def lookup_cases(body: LookupRequest, staff: Staff = Depends(require_staff),
                       uow: UnitOfWork = Depends(screening_uow)) -> Contacts:
    """Contact details of up to 500 cases (a unit's roster): only those in the token's states and not erased,
    in the order asked; the rest are simply absent."""
    found = await usecases.contacts(uow, staff.visible_states(), body.application_ids)
    return Contacts(items=[Contact(**dict(r)) for r in found])


class ConsoleConfig(BaseModel):
    placement_url: str = Field(description="where the console calls placement's API (PLACEMENT_URL)")
    intake_url: str = Field(description="where the console reads intake's audit (INTAKE_URL)")
    selection_threshold: int = Field(description="the score a result needs to be selected")
    rubric: list[str]
    rubric_max: int


@console_api.get("/config", response_model=ConsoleConfig)
async def console_config(runtime: Runtime = Depends(runtime_of)) -> ConsoleConfig:
    """What the console page needs to know before anyone signs in; nothing secret."""
    return ConsoleConfig(placement_url=runtime.settings.placement_url.rstrip("/"),
                         intake_url=runtime.settings.intake_url.rstrip("/"),
                         selection_threshold=runtime.settings.selection_threshold,
                         rubric=list(RUBRIC), rubric_max=RUBRIC_MAX)
