"""Screening domain (pure): the rubric score and outcome, a case's lifecycle (what may be booked or
decided, and the events that say so), election deferral, the queue order, interview waves and the
instants an Indian day spans (the list of scheduled interviews)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from types import MappingProxyType
from typing import Literal, NamedTuple

from shared.events import (
    RUBRIC,
    RUBRIC_MAX,
    RUBRIC_MIN,
    ApplicationSubmitted,
    InterviewScheduled,
    ScreeningCompleted,
    ScreeningQueued,
)
from shared.geography import STATES
from shared.india_time import IST

Outcome = Literal["selected", "rejected"]
WaitingStatus = Literal["queued", "deferred"]

DECIDED = ("selected", "rejected", "no_show")

SLOT_MINUTES_MIN = 5
SLOT_MINUTES_MAX = 240


def _is_int(value: object) -> bool:
    # bool is an int subclass, but True is not a score of 1.
    return isinstance(value, int) and not isinstance(value, bool)


def score(rubric: Mapping[str, int]) -> int:
    """The 0-100 score of a complete rubric: the mean of its five 0-10 items, times ten.

    With five integer items the mean times ten is exactly twice their sum, so
    the score is an exact integer and never needs rounding.
    """
    missing = [item for item in RUBRIC if item not in rubric]
    unknown = sorted(item for item in rubric if item not in RUBRIC)
    problems = []
    if missing:
        problems.append(f"missing rubric item(s): {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown rubric item(s): {', '.join(unknown)}")
    for item in RUBRIC:
        if item in rubric and not (_is_int(rubric[item]) and RUBRIC_MIN <= rubric[item] <= RUBRIC_MAX):
            problems.append(f"{item} must be an integer {RUBRIC_MIN}-{RUBRIC_MAX}, got {rubric[item]!r}")
    if problems:
        raise ValueError("; ".join(problems))
    return 2 * sum(rubric[item] for item in RUBRIC)


def outcome(score: int, threshold: int) -> Outcome:
    """`selected` when the score reaches the threshold, else `rejected`."""
    for name, value in (("score", score), ("threshold", threshold)):
        if not (_is_int(value) and 0 <= value <= 100):
            raise ValueError(f"{name} must be an integer 0-100, got {value!r}")
    return "selected" if score >= threshold else "rejected"


# --- a case's lifecycle --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Case:
    """One application's screening case, as booking and deciding see it."""

    application_id: uuid.UUID
    state: str
    district: str
    block: str | None
    status: str
    interviewer: str | None
    submitted_at: datetime


class CaseNotFound(Exception):
    """No case for that application, or its case was erased."""


class Conflict(Exception):
    """The case (or state) is not in a status that allows the change; the message says why."""


class CaseDecided(Conflict):
    def __init__(self, status: str) -> None:
        super().__init__(f"this case is already decided ({status})")
        self.status = status


class CaseDeferred(Conflict):
    def __init__(self, state: str) -> None:
        # Points the caller at the calendar, which says when the deferral ends.
        super().__init__(f"this case is deferred until polling in {state} ends (GET /v1/election-calendar)")
        self.state = state


class NoShowUnbooked(Conflict):
    def __init__(self) -> None:
        super().__init__("a no-show needs a scheduled interview")


class StateDeferred(Conflict):
    def __init__(self, state: str, polling_ends: date) -> None:
        super().__init__(f"{state} is deferred: polling ends {polling_ends.isoformat()}")
        self.state, self.polling_ends = state, polling_ends


def open_for_interview(case: Case | None) -> Case:
    """The case, if it exists (an erased case does not); CaseNotFound otherwise."""
    if case is None or case.status == "erased":
        raise CaseNotFound
    return case


def _still_waiting(case: Case) -> None:
    # A deferred case waits for its state's election to end: no one is interviewed in it meanwhile.
    if case.status in DECIDED:
        raise CaseDecided(case.status)
    if case.status == "deferred":
        raise CaseDeferred(case.state)


def schedule(case: Case, interview_at: datetime, interviewer: str | None) -> InterviewScheduled:
    """Book (or re-book) a queued or scheduled case's interview; a Conflict once decided or while deferred."""
    _still_waiting(case)
    # Events carry instants in UTC, like occurred_at; the API answers in the caller's or India's zone.
    return InterviewScheduled(state=case.state, interview_at=interview_at.astimezone(timezone.utc),
                              interviewer=interviewer)


@dataclass(frozen=True, slots=True)
class Decision:
    """A case's result: what the case records and the screening.completed that says so."""

    outcome: Literal["selected", "rejected", "no_show"]
    score: int | None
    rubric: dict[str, int] | None
    completed: ScreeningCompleted


def decide(case: Case, rubric: Mapping[str, int] | None, threshold: int, interviewer: str | None) -> Decision:
    """The result of a queued or scheduled case: scored against `threshold`, or a no-show (rubric None),
    which needs a booked interview. A Conflict once decided or while deferred."""
    _still_waiting(case)
    if rubric is None:
        if case.status != "scheduled":
            raise NoShowUnbooked
        result, points, items = "no_show", None, None
    else:
        points, items = score(rubric), dict(rubric)
        result = outcome(points, threshold)
    return Decision(result, points, items, ScreeningCompleted(
        state=case.state, district=case.district, block=case.block, outcome=result, score=points, rubric=items,
        interviewer=interviewer or case.interviewer, submitted_at=case.submitted_at))


# --- election deferral ---------------------------------------------------------------------------


def is_deferred(state: str, today: date, calendar: Mapping[str, date]) -> bool:
    """Whether a state's cases wait because its polling has not ended.

    Polling ends at the end of the `polling_ends` day, so that day itself is
    still deferred and the cases are released on the day after. `today` is a
    calendar day in India (shared.india_time), since polling days are.
    """
    polling_ends = calendar.get(state)
    return polling_ends is not None and today <= polling_ends


def waiting_status(state: str, today: date, calendar: Mapping[str, date]) -> tuple[WaitingStatus, str]:
    """The status a waiting case of `state` has on `today`, and the reason its event gives."""
    polling_ends = calendar.get(state)
    if is_deferred(state, today, calendar):
        return "deferred", f"election in {state}: polling ends {polling_ends.isoformat()}"
    if polling_ends is not None:
        return "queued", f"polling in {state} ended {polling_ends.isoformat()}"
    return "queued", f"no election under way in {state}"


def waiting(state: str, today: date, calendar: Mapping[str, date]) -> ScreeningQueued:
    """The screening.queued a waiting case of `state` gets when it opens or its status changes on `today`."""
    status, reason = waiting_status(state, today, calendar)
    return ScreeningQueued(state=state, status=status, reason=reason)


def queue_reason(status: str, state: str, today: date, calendar: Mapping[str, date]) -> str | None:
    """What the queue says of a waiting case: nothing for a queued one; for a deferred one, until when.

    A deferred case whose polling has ended (or whose entry was cleared) is about to be released by
    the release job; the queue says so rather than naming a day already past.
    """
    if status != "deferred":
        return None
    polling_ends = calendar.get(state)
    if polling_ends is None:
        return f"deferred for the election in {state}; released shortly"
    if is_deferred(state, today, calendar):
        return f"polling in {state} ends {polling_ends.isoformat()}"
    return f"polling in {state} ended {polling_ends.isoformat()}; released shortly"


def released_states(today: date, calendar: Mapping[str, date]) -> list[str]:
    """The states whose deferred cases are due to be queued again on `today`: every state not deferred."""
    return [state for state in STATES if not is_deferred(state, today, calendar)]


def ensure_not_deferred(state: str, today: date, calendar: Mapping[str, date]) -> None:
    """StateDeferred while `state` is in an election: no wave is booked in it."""
    if is_deferred(state, today, calendar):
        raise StateDeferred(state, calendar[state])


class NewCase(NamedTuple):
    """A case to open for a submission, and the event that queues it."""

    application_id: uuid.UUID
    application: ApplicationSubmitted
    queued: ScreeningQueued


def new_cases(submissions: Iterable[tuple[uuid.UUID, ApplicationSubmitted]], today: date,
              calendar: Mapping[str, date]) -> list[NewCase]:
    """Each submission's case, waiting as the election calendar says on `today`; a state's queued event
    is made once, as every case of that state in the batch gets the same."""
    queued: dict[str, ScreeningQueued] = {}
    cases = []
    for application_id, application in submissions:
        state = application.state
        if state not in queued:
            queued[state] = waiting(state, today, calendar)
        cases.append(NewCase(application_id, application, queued[state]))
    return cases


def opened_events(cases: Sequence[NewCase], opened: Collection[uuid.UUID]) -> list[tuple[uuid.UUID, ScreeningQueued]]:
    """One screening.queued per case that did open, in the given order, even if its application came twice."""
    left = set(opened)
    events = []
    for case in cases:
        if case.application_id in left:
            left.discard(case.application_id)
            events.append((case.application_id, case.queued))
    return events


# --- the queue and interview waves ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WaitingCase:
    """A screening case waiting for an interview, as the queue and waves see it."""

    application_id: str
    state: str
    status: WaitingStatus
    submitted_at: datetime

    def __post_init__(self) -> None:
        if self.status not in ("queued", "deferred"):
            raise ValueError(f"a waiting case is queued or deferred, got {self.status!r}")


def queue_key(case: WaitingCase) -> tuple[bool, datetime, str]:
    """Sort key of the queue: not deferred first, then oldest submitted_at, then application_id.

    Accepts any object with `status`, `submitted_at` and `application_id`.
    """
    return (case.status == "deferred", case.submitted_at, case.application_id)


class Slot(NamedTuple):
    """One planned interview: who, when (aware, in the wave's zone) and with whom."""

    application_id: str
    interview_at: datetime
    interviewer: str


def _window_problems(start: time, end: time, slot_minutes: int) -> list[str]:
    problems = []
    if start.tzinfo is not None or end.tzinfo is not None:
        problems.append("start and end are wall-clock times without a zone; the zone is tz")
    elif end <= start:
        problems.append(f"end {end.isoformat()} must be after start {start.isoformat()}")
    if not (_is_int(slot_minutes) and SLOT_MINUTES_MIN <= slot_minutes <= SLOT_MINUTES_MAX):
        problems.append(f"slot_minutes must be an integer {SLOT_MINUTES_MIN}-{SLOT_MINUTES_MAX}, got {slot_minutes!r}")
    return problems


def _interviewer_problems(interviewers: Sequence[str]) -> list[str]:
    if not interviewers:
        return ["at least one interviewer is needed"]
    if any(not isinstance(name, str) or not name.strip() for name in interviewers):
        return ["interviewer names must be non-empty strings"]
    repeated = sorted({name for name in interviewers if interviewers.count(name) > 1})
    return [f"duplicate interviewer(s): {', '.join(repeated)}"] if repeated else []


def _slot_starts(day: date, start: time, end: time, slot_minutes: int, tz: tzinfo) -> list[datetime]:
    # Step in UTC so that slots are slot_minutes of real time apart even on a
    # day when tz changes its offset; IST has none since 1945, other zones may.
    first = datetime.combine(day, start, tzinfo=tz).astimezone(timezone.utc)
    last = datetime.combine(day, end, tzinfo=tz).astimezone(timezone.utc)
    step = timedelta(minutes=slot_minutes)
    n_slots = (last - first) // step
    if n_slots <= 0:
        raise ValueError(
            f"the window {start.isoformat()}-{end.isoformat()} holds no {slot_minutes}-minute slot"
        )
    return [(first + index * step).astimezone(tz) for index in range(n_slots)]


def wave_slots(day: date, start: time, end: time, slot_minutes: int, tz: tzinfo = IST) -> list[datetime]:
    """The start of every slot of a wave's window (see `plan_wave`); ValueError for an unusable window."""
    problems = _window_problems(start, end, slot_minutes)
    if problems:
        raise ValueError("; ".join(problems))
    return _slot_starts(day, start, end, slot_minutes, tz)


class InvalidWave(ValueError):
    """A wave that cannot be planned; `field` names the part of the request at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def wave_starts(day: date, start: time, end: time, slot_minutes: int, today: date, tz: tzinfo = IST) -> list[datetime]:
    """The slot starts of a wave on `day`, which may not be before `today` (both Indian days); InvalidWave
    for a past day or an unusable window."""
    if day < today:
        raise InvalidWave("date", f"{day.isoformat()} is in the past (today in India is {today.isoformat()})")
    try:
        return wave_slots(day, start, end, slot_minutes, tz)
    except ValueError as error:
        raise InvalidWave("start", str(error)) from None


def indian_day(day: date, tz: tzinfo = IST) -> tuple[datetime, datetime]:
    """The instants a calendar day in India spans: [its midnight, the next midnight), as GET /v1/interviews?day=
    means it (an interview at 00:30 IST belongs to that day, though it is the evening before in UTC)."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def booking_horizon(starts: Sequence[datetime], slot_minutes: int) -> tuple[datetime, datetime]:
    """The instants between which an interview an interviewer already has can collide with a wave's slots."""
    step = timedelta(minutes=slot_minutes)
    return starts[0] - step, starts[-1] + step


def plan_wave(
    day: date,
    start: time,
    end: time,
    slot_minutes: int,
    interviewers: Sequence[str],
    cases: Sequence[WaitingCase],
    tz: tzinfo = IST,
    busy: Mapping[str, Collection[datetime]] = MappingProxyType({}),
) -> list[Slot]:
    """Interviews for one day: every interviewer takes one case per slot, cases in queue order.

    Slots start at `start` and follow each other every `slot_minutes` while a
    slot still ends at or before `end`; `start` and `end` are wall-clock times
    in `tz` (IST unless given). Capacity is slots x interviewers; the first
    that many schedulable cases in queue order are taken, each slot filled in
    the order `interviewers` are given, so interviewer loads differ by at most
    one. Deferred cases are never scheduled, nor is an application_id that any
    entry lists as deferred; an application_id listed twice is scheduled once.
    `busy` maps an interviewer to the instants of interviews they already
    have; a slot starting less than `slot_minutes` from one of them is not
    theirs to fill, so a wave never double-books anyone.
    Raises ValueError for an unusable window, slot length or interviewer list.
    """
    problems = _window_problems(start, end, slot_minutes) + _interviewer_problems(interviewers)
    if problems:
        raise ValueError("; ".join(problems))
    step = timedelta(minutes=slot_minutes)
    free = [
        (at, name)
        for at in _slot_starts(day, start, end, slot_minutes, tz)
        for name in interviewers
        if not any(abs(at - booked) < step for booked in busy.get(name, ()))
    ]

    deferred_ids = {case.application_id for case in cases if case.status == "deferred"}
    chosen: list[WaitingCase] = []
    seen: set[str] = set()
    for case in sorted(cases, key=queue_key):
        if len(chosen) == len(free):
            break
        if case.application_id in deferred_ids or case.application_id in seen:
            continue
        seen.add(case.application_id)
        chosen.append(case)

    return [
        Slot(application_id=case.application_id, interview_at=at, interviewer=name)
        for case, (at, name) in zip(chosen, free)
    ]


def booked(state: str, slot: Slot) -> InterviewScheduled:
    """The screening.interview-scheduled of a case a wave booked."""
    return InterviewScheduled(state=state, interview_at=slot.interview_at.astimezone(timezone.utc),
                              interviewer=slot.interviewer)
