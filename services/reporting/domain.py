"""Reporting domain: one application's projection, how each event moves it, and what it adds to the counters. Pure."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone

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

# Days are Indian days: an application sent at 01:00 IST on the 2nd counts on the 2nd, not on the
# 1st as UTC would have it. India has one zone and no daylight saving, so a fixed offset is exact.
IST = timezone(timedelta(hours=5, minutes=30), "IST")
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


def ist_day(moment: datetime) -> date:
    return aware(moment).astimezone(IST).date()


def stage_for_placement(level: str) -> str:
    if level in SEATED_LEVELS:
        return "placed"
    if level == "waitlist":
        return "waitlisted"
    return "selected"  # level none: no longer seated (only erasure does that; counted as erased)


@dataclass(frozen=True)
class Projection:
    """What reporting knows of one application: places, stage and times; never a name, phone or e-mail."""

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
    erased: bool = False

    @property
    def stage_rank(self) -> int:
        return STAGE_RANK[self.stage]

    def submitted(self, state: str, district: str, submitted_at: datetime) -> Projection:
        # The application's own event is the authority on where it comes from.
        return replace(self, state=state, district=district, submitted_at=submitted_at)

    def moved(self, state: str, stage: str, at: datetime, *, level: str | None = None,
              unit_id: str | None = None) -> Projection:
        """The projection after a stage event, whatever order events arrive in."""
        new = replace(self, state=self.state or state)
        if (STAGE_RANK[stage], at) > (self.stage_rank, self.stage_at):
            new = replace(new, stage=stage, stage_at=at, level=level, unit_id=unit_id)
        return new

    def scheduled(self, state: str, at: datetime) -> Projection:
        return replace(self.moved(state, "scheduled", at), ever_scheduled=True)

    def completed(self, state: str, district: str, outcome: str, at: datetime) -> Projection:
        new = self.moved(state, outcome, at)
        if new.district is None:
            new = replace(new, district=district)
        if new.outcome is None:  # one result per case (screening answers 409 to a second)
            new = replace(new, outcome=outcome, selected_at=at if outcome == "selected" else None)
        return new

    def placement(self, state: str, level: str, unit_id: str | None, at: datetime) -> Projection:
        new = self.moved(state, stage_for_placement(level), at, level=level, unit_id=unit_id)
        if level in SEATED_LEVELS and (new.placed_at is None or at < new.placed_at):
            new = replace(new, placed_at=at)
        return new

    def erasure(self) -> Projection:
        return replace(self, erased=True)


# A counter cell: (table, key, column), e.g. ("state", ("RJ",), "selected") or ("summary", (), "placed").
Cell = tuple[str, tuple, str]


def tallies(p: Projection) -> Counter[Cell]:
    """What one application adds to every counter. The counters are the sum of this over all
    applications; the handlers keep them so by adding tallies(new) - tallies(old) per event.

    Nothing is counted before application.submitted arrives, so no count ever runs ahead of
    `applications` (a result can arrive before the application it is about).
    """
    cells: Counter[Cell] = Counter()
    if p.submitted_at is None:
        return cells
    ever = ["applications"]
    # An interview result means an interview was held, scheduled through the API or not.
    if p.ever_scheduled or p.outcome is not None:
        ever.append("scheduled")
    if p.outcome in ("selected", "rejected"):
        ever.append("interviewed")
    if p.outcome is not None:
        ever.append(p.outcome)
    if p.erased:
        ever.append("erased")
    now: list[str] = []  # where a non-erased application is now
    if not p.erased and p.stage in CURRENT_BUCKET:
        now.append(CURRENT_BUCKET[p.stage])
        if p.stage == "placed" and p.level in SEATED_LEVELS:
            now.append(f"level_{p.level}")
    for column in ever + now:
        cells["summary", (), column] += 1
    places = [("state", (p.state,))]
    if p.district is not None:
        places.append(("district", (p.state, p.district)))
    for table, key in places:
        for column in ever + now:
            if column in PLACE_COLUMNS:
                cells[table, key, column] += 1
    cells["day", (ist_day(p.submitted_at), p.state), "applications"] += 1
    if p.selected_at is not None:
        cells["day", (ist_day(p.selected_at), p.state), "selected"] += 1
    if p.placed_at is not None:
        cells["day", (ist_day(p.placed_at), p.state), "placed"] += 1
    return cells


def delta(old: Projection, new: Projection) -> dict[tuple[str, tuple], dict[str, int]]:
    """The change to each counter row, {(table, key): {column: +n/-n}}, zero changes left out."""
    before, after = tallies(old), tallies(new)
    rows: dict[tuple[str, tuple], dict[str, int]] = {}
    for cell in before.keys() | after.keys():
        change = after[cell] - before[cell]
        if change:
            table, key, column = cell
            rows.setdefault((table, key), {})[column] = change
    return rows
