"""Reporting domain: one application's projection, how each event moves it, what it adds to the counters. Pure."""

from __future__ import annotations

import hmac
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, NamedTuple

from shared.events import (
    ApplicationErased,
    ApplicationSubmitted,
    EventData,
    InterviewScheduled,
    PlacementChanged,
    ScreeningCompleted,
    ScreeningQueued,
)
from shared.india_time import local_date
from shared.phone import normalize_phone, phone_hash

STAGES = ("submitted", "queued", "deferred", "scheduled", "selected", "rejected", "no_show", "placed", "waitlisted")

# Events can arrive in any order across topics; a stage only moves forward in this ranking, and
# within one rank (queued <-> deferred, one seat to another) the later event wins.
STAGE_RANK = {
    "submitted": 0,
    "queued": 1, "deferred": 1,
    "scheduled": 2,
    "selected": 3, "rejected": 3, "no_show": 3,
    "placed": 4, "waitlisted": 4,
}
SEATED_LEVELS = ("state", "district", "block")
NEVER = datetime.min.replace(tzinfo=timezone.utc)

# The columns of each counter table (migrations/002_counters.sql); every name is a count.
SUMMARY_COLUMNS = ("applications", "erased", "scheduled", "interviewed", "selected", "rejected", "no_show",
                   "queued", "deferred", "awaiting_result", "placed", "waitlisted",
                   "level_state", "level_district", "level_block")
PLACE_COLUMNS = ("applications", "interviewed", "selected", "placed")  # per state and per district
DAY_COLUMNS = ("applications", "selected", "placed")

# The stage an application is in now -> its bucket in the summary's "current".
CURRENT_BUCKET = {"queued": "queued", "deferred": "deferred", "scheduled": "awaiting_result",
                  "placed": "placed", "waitlisted": "waitlisted"}


def aware(moment: datetime) -> datetime:
    """A timestamp without an offset is taken as UTC (SPEC: occurred_at is RFC 3339 UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def stage_for_placement(level: str) -> str:
    if level in SEATED_LEVELS:
        return "placed"
    if level == "waitlist":
        return "waitlisted"
    return "selected"  # level none: no longer seated (only erasure does that; counted as erased)


class Projection(NamedTuple):
    """What reporting knows of one application: places, stage and times; never a name, phone or e-mail.

    Immutable; each move returns a new one (a NamedTuple: a batch moves thousands a second, and its
    _replace costs a fraction of dataclasses.replace)."""

    state: str = ""
    district: str | None = None
    submitted_at: datetime | None = None  # None until application.submitted arrives
    stage: str = "submitted"
    stage_at: datetime = NEVER
    level: str | None = None
    unit_id: str | None = None
    ever_scheduled: bool = False
    outcome: str | None = None
    selected_at: datetime | None = None
    placed_at: datetime | None = None  # first time it was seated in a unit
    erased: bool = False  # erased on request: counted in the summary's `erased`
    # erased by the retention purge (a case that ended rejected or no_show long ago): its status look-up
    # goes as on request, but it is housekeeping, not a request, so it moves no count at all.
    purged: bool = False

    @property
    def stage_rank(self) -> int:
        return STAGE_RANK[self.stage]

    def submitted(self, state: str, district: str, submitted_at: datetime) -> Projection:
        # The application's own event is the authority on where it comes from.
        return self._replace(state=state, district=district, submitted_at=submitted_at)

    def moved(self, state: str, stage: str, at: datetime, *, level: str | None = None,
              unit_id: str | None = None, **also: Any) -> Projection:
        """The projection after a stage event, whatever order events arrive in (`also`: more changes
        the same event makes)."""
        changes: dict[str, Any] = also if self.state else {**also, "state": state}
        if (STAGE_RANK[stage], at) > (STAGE_RANK[self.stage], self.stage_at):
            changes.update(stage=stage, stage_at=at, level=level, unit_id=unit_id)
        return self._replace(**changes) if changes else self

    def scheduled(self, state: str, at: datetime) -> Projection:
        return self.moved(state, "scheduled", at, ever_scheduled=True)

    def completed(self, state: str, district: str, outcome: str, at: datetime) -> Projection:
        also: dict[str, Any] = {}
        if self.district is None:
            also["district"] = district
        if self.outcome is None:  # one result per case (screening answers 409 to a second)
            also.update(outcome=outcome, selected_at=at if outcome == "selected" else None)
        return self.moved(state, outcome, at, **also)

    def placement(self, state: str, level: str, unit_id: str | None, at: datetime) -> Projection:
        also = {"placed_at": at} if level in SEATED_LEVELS and (self.placed_at is None or at < self.placed_at) else {}
        return self.moved(state, stage_for_placement(level), at, level=level, unit_id=unit_id, **also)

    def erasure(self, reason: str = "request") -> Projection:
        return self._replace(purged=True) if reason == "retention" else self._replace(erased=True)


# How each event type moves a projection: (projection, event data, the event's occurred_at) -> projection.
Move = Callable[[Projection, Any, datetime], Projection]
MOVES: dict[type[EventData], Move] = {
    ApplicationSubmitted: lambda p, e, at: p.submitted(e.state, e.district, aware(e.submitted_at)),
    ScreeningQueued: lambda p, e, at: p.moved(e.state, e.status, aware(at)),
    InterviewScheduled: lambda p, e, at: p.scheduled(e.state, aware(at)),
    ScreeningCompleted: lambda p, e, at: p.completed(e.state, e.district, e.outcome, aware(at)),
    PlacementChanged: lambda p, e, at: p.placement(e.state, e.level, e.unit_id, aware(at)),
    ApplicationErased: lambda p, e, at: p.erasure(e.reason),
}


def move_of(event_type: type[EventData]) -> Move:
    if event_type not in MOVES:
        raise TypeError(f"reporting has no move for {event_type.__name__}")
    return MOVES[event_type]


def applicant_phone_hash(phone: str, key: bytes) -> str | None:
    """The keyed hash the applicant's status look-up matches, the one trace of a phone reporting
    keeps; None without a key or a readable number. Intake sends the normalized number;
    normalizing again costs nothing and makes the look-up accept any format the applicant types."""
    normalized = normalize_phone(phone)
    return phone_hash(normalized, key) if key and normalized else None


def same_phone(phone: str, stored_hash: str | None, key: bytes) -> bool:
    given = applicant_phone_hash(phone, key)
    return given is not None and stored_hash is not None and hmac.compare_digest(given, stored_hash)


# A counter cell: (table, key, column), e.g. ("state", ("RJ",), "selected") or ("summary", (), "placed").
Cell = tuple[str, tuple, str]
# A counter row's change: {(table, key): {column: +n/-n}}.
CounterMoves = dict[tuple[str, tuple], dict[str, int]]


def tallies(p: Projection) -> Counter[Cell]:
    """What one application adds to every counter. The counters are the sum of this over all
    applications; the use case keeps them so by adding tallies(new) - tallies(old) per event.

    Nothing is counted before application.submitted arrives, so no count ever runs ahead of
    `applications` (a result can arrive before the application it is about). Days are Indian days
    (shared.india_time): an application sent at 00:30 IST on the 2nd counts on the 2nd.
    """
    return Counter(_cells(p))


def _cells(p: Projection) -> list[Cell]:
    """The cells one application counts 1 in (tallies): never a cell twice, so a list, which a batch sums
    without building a Counter per application."""
    if p.submitted_at is None:
        return []
    counted = ["applications"]  # what happened to it ever, then where a non-erased application is now
    # An interview result means an interview was held, scheduled through the API or not.
    if p.ever_scheduled or p.outcome is not None:
        counted.append("scheduled")
    if p.outcome in ("selected", "rejected"):
        counted.append("interviewed")
    if p.outcome is not None:
        counted.append(p.outcome)
    if p.erased:
        counted.append("erased")
    if not (p.erased or p.purged) and p.stage in CURRENT_BUCKET:
        counted.append(CURRENT_BUCKET[p.stage])
        if p.stage == "placed" and p.level in SEATED_LEVELS:
            counted.append(f"level_{p.level}")
    cells: list[Cell] = [("summary", (), column) for column in counted]
    in_places = [column for column in counted if column in PLACE_COLUMNS]
    cells += [("state", (p.state,), column) for column in in_places]
    if p.district is not None:
        cells += [("district", (p.state, p.district), column) for column in in_places]
    cells.append(("day", (local_date(p.submitted_at), p.state), "applications"))
    if p.selected_at is not None:
        cells.append(("day", (local_date(p.selected_at), p.state), "selected"))
    if p.placed_at is not None:
        cells.append(("day", (local_date(p.placed_at), p.state), "placed"))
    return cells


def delta(old: Projection, new: Projection) -> CounterMoves:
    """The change to each counter row, {(table, key): {column: +n/-n}}, zero changes left out."""
    before, after = tallies(old), tallies(new)
    rows: CounterMoves = {}
    for cell in before.keys() | after.keys():
        change = after[cell] - before[cell]
        if change:
            table, key, column = cell
            rows.setdefault((table, key), {})[column] = change
    return rows


def summed_delta(moves: Iterable[tuple[Projection, Projection]]) -> CounterMoves:
    """The change to each counter row of many applications' (old, new) moves, zero sums left out.
    Per-event deltas telescope, so for a batch this is what applying its events one at a time adds."""
    cells: dict[Cell, int] = {}
    for old, new in moves:
        for cell in _cells(new):
            cells[cell] = cells.get(cell, 0) + 1
        for cell in _cells(old):
            cells[cell] = cells.get(cell, 0) - 1
    rows: CounterMoves = {}
    for (table, key, column), change in cells.items():
        if change:
            rows.setdefault((table, key), {})[column] = change
    return rows


@dataclass(frozen=True)
class ApplicantStatus:
    """What the applicant's own look-up shows (SPEC): stage, seat while seated or waitlisted, since when."""

    stage: str
    level: str | None
    unit_id: str | None
    updated_at: datetime


def applicant_status(p: Projection) -> ApplicantStatus:
    seated = p.stage in ("placed", "waitlisted")
    # A projection still at its first stage has no stage time of its own: it is the submission's.
    updated_at = p.stage_at if p.stage_at != NEVER else p.submitted_at
    return ApplicantStatus(p.stage, p.level if seated else None, p.unit_id if seated else None, updated_at)


@dataclass(frozen=True)
class DayCounts:
    day: date
    applications: int = 0
    selected: int = 0
    placed: int = 0


def every_day(days: Mapping[date, DayCounts]) -> list[DayCounts]:
    """The days from the first to the last with counts, those in between as zeros."""
    if not days:
        return []
    first, last = min(days), max(days)
    return [days.get(first + timedelta(n), DayCounts(first + timedelta(n))) for n in range((last - first).days + 1)]
