"""Screening domain: the rubric score, the outcome, election deferral, the queue order and interview waves."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from types import MappingProxyType
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

Outcome = Literal["selected", "rejected"]
WaitingStatus = Literal["queued", "deferred"]

RUBRIC: tuple[str, ...] = ("communication", "content_creation", "social_media_reach", "political_awareness", "commitment")
RUBRIC_MIN = 0
RUBRIC_MAX = 10

IST = ZoneInfo("Asia/Kolkata")

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


# The March-May 2021 assembly elections, kept as history: they are the default
# seed of the election calendar, and since every date is long past they defer
# nothing today. Operators set current polling dates with
# PUT /v1/election-calendar/{state}. The last polling day per state:
# Assam 3 phases (27 Mar, 1 Apr, 6 Apr); Kerala, Tamil Nadu and Puducherry one
# phase each (6 Apr); West Bengal 8 phases (27 Mar to 29 Apr). Counting was 2 May.
ELECTIONS_2021: Mapping[str, date] = MappingProxyType(
    {
        "AS": date(2021, 4, 6),
        "KL": date(2021, 4, 6),
        "TN": date(2021, 4, 6),
        "WB": date(2021, 4, 29),
        "PY": date(2021, 4, 6),
    }
)
DEFAULT_ELECTION_CALENDAR: Mapping[str, date] = ELECTIONS_2021


def is_deferred(state: str, today: date, calendar: Mapping[str, date]) -> bool:
    """Whether a state's cases wait because its polling has not ended.

    Polling ends at the end of the `polling_ends` day, so that day itself is
    still deferred and the cases are released on the day after. `today` is a
    calendar day in India (see `local_date`), since polling days are.
    """
    polling_ends = calendar.get(state)
    return polling_ends is not None and today <= polling_ends


def local_date(moment: datetime, tz: tzinfo = IST) -> date:
    """The calendar day an aware instant falls on in `tz` (IST unless given)."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    return moment.astimezone(tz).date()


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


def waiting_status(state: str, today: date, calendar: Mapping[str, date]) -> tuple[WaitingStatus, str]:
    """The status a waiting case of `state` has on `today`, and the reason its event gives."""
    polling_ends = calendar.get(state)
    if is_deferred(state, today, calendar):
        return "deferred", f"election in {state}: polling ends {polling_ends.isoformat()}"
    if polling_ends is not None:
        return "queued", f"polling in {state} ended {polling_ends.isoformat()}"
    return "queued", f"no election under way in {state}"


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
