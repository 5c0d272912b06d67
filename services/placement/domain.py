"""Placement domain: the pure merit placement rule, unit ids, capacities, placement changes and their events."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Literal

from shared.events import Level, PlacementChanged, ScreeningCompleted, UnitLevel

Reason = Literal["placed", "promoted", "displaced", "removed"]

# Higher is better; "none" (not placed at all, e.g. erased) is the bottom so
# that leaving the pipeline reads as the worst possible move.
_LEVEL_RANK: Mapping[str, int] = MappingProxyType(
    {"state": 4, "district": 3, "block": 2, "waitlist": 1, "none": 0}
)
_UNIT_LEVELS: tuple[UnitLevel, ...] = ("state", "district", "block")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A selected, not-erased applicant of one state, as placement sees them."""

    application_id: str
    score: int
    submitted_at: datetime
    district: str
    block: str | None = None


@dataclass(frozen=True)
class Capacities:
    """Seats per unit: a default per level, and per-unit overrides that win over it."""

    state: int = 50
    district: int = 20
    block: int = 10
    # hash=False keeps the dataclass hashable although a mapping is not.
    overrides: Mapping[str, int] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        for level in _UNIT_LEVELS:
            _check_capacity(level, getattr(self, level))
        for unit_id, capacity in self.overrides.items():
            level_of_unit(unit_id)
            _check_capacity(unit_id, capacity)
        # A private read-only copy, so that a caller mutating its dict later
        # cannot change a placement that was already computed with this value.
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides)))

    def for_unit(self, unit_id: str, level: UnitLevel | None = None) -> int:
        """Capacity of one unit; `level` defaults to the one its id implies."""
        if level is None:
            level = level_of_unit(unit_id)
        if level not in _UNIT_LEVELS:
            raise ValueError(f"level {level!r} has no capacity; expected state, district or block")
        override = self.overrides.get(unit_id)
        return override if override is not None else getattr(self, level)


def _check_capacity(name: str, capacity: object) -> None:
    # bool is an int subclass; True seats would be a bug upstream, not a capacity.
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 0:
        raise ValueError(f"capacity of {name!r} must be an integer >= 0, got {capacity!r}")


@dataclass(frozen=True, slots=True)
class Seat:
    """Where one candidate sits: a unit, or the state's waitlist (unit_id None)."""

    level: Level
    unit_id: str | None


WAITLIST = Seat("waitlist", None)
NOWHERE = Seat("none", None)


@dataclass(frozen=True, slots=True)
class Departure:
    """A candidate gone from their state (erased), with the seat and score they left with."""

    application_id: str
    seat: Seat
    score: int


def places_a_candidate(result: ScreeningCompleted) -> bool:
    """Only a selection with a score makes a candidate; rejected and no_show place and remove nobody."""
    return result.outcome == "selected" and result.score is not None


def _segment(kind: str, value: str) -> str:
    # '/' separates unit id segments, so a name containing it would make
    # level_of_unit ambiguous; intake must reject it before it gets here.
    if not value or "/" in value:
        raise ValueError(f"{kind} {value!r} cannot be part of a unit id: it must be non-empty and contain no '/'")
    return value


def state_unit(state: str) -> str:
    """Unit id of a state, e.g. "RJ"."""
    return _segment("state", state)


def district_unit(state: str, district: str) -> str:
    """Unit id of a district, e.g. "RJ/Jaipur"."""
    return f"{_segment('state', state)}/{_segment('district', district)}"


def block_unit(state: str, district: str, block: str) -> str:
    """Unit id of a block, e.g. "RJ/Jaipur/Sanganer"."""
    return f"{_segment('state', state)}/{_segment('district', district)}/{_segment('block', block)}"


def level_of_unit(unit_id: str) -> UnitLevel:
    """The level a unit id denotes, from its number of '/'-separated segments."""
    segments = unit_id.split("/")
    if len(segments) > len(_UNIT_LEVELS) or not all(segments):
        raise ValueError(f"{unit_id!r} is not a unit id; expected STATE, STATE/DISTRICT or STATE/DISTRICT/BLOCK")
    return _UNIT_LEVELS[len(segments) - 1]


def parse_unit(unit_id: str) -> tuple[str, str | None, str | None]:
    """(state, district, block) of a unit id; the parts below its level are None."""
    level_of_unit(unit_id)
    segments = unit_id.split("/")
    state, district, block = segments + [None] * (3 - len(segments))
    return state, district, block


@dataclass(frozen=True, slots=True)
class Unit:
    """One unit as operators see it: its seats and how many are taken."""

    unit_id: str
    level: UnitLevel
    capacity: int
    filled: int


def units(places: Iterable[tuple[str, str, str | None]], filled: Mapping[str, int], capacities: Capacities,
          states: Collection[str] | None = None) -> list[Unit]:
    """The units that exist in `states` (None: all), sorted by segments (a state, its districts, their blocks).

    A unit exists when some candidate could be placed in it: the state, district and block
    (if any) of every (state, district, block) in `places`. A unit with a capacity override is
    listed too, so an override never hides from the operator who set it.
    """
    ids = {unit_id for unit_id in capacities.overrides if states is None or parse_unit(unit_id)[0] in states}
    for state, district, block in places:
        if states is not None and state not in states:
            continue
        ids.add(state_unit(state))
        ids.add(district_unit(state, district))
        if block:
            ids.add(block_unit(state, district, block))
    return [Unit(unit_id, level_of_unit(unit_id), capacities.for_unit(unit_id), filled.get(unit_id, 0))
            for unit_id in sorted(ids, key=lambda unit_id: unit_id.split("/"))]


def _merit_key(candidate: Candidate) -> tuple[int, datetime, str]:
    return (-candidate.score, candidate.submitted_at, candidate.application_id)


def rank(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Candidates in merit order: score desc, then submitted_at asc, then application_id asc.

    submitted_at must be timezone-aware: naive and aware datetimes cannot be
    ordered against each other, and a naive one has no meaning across services.
    """
    ranked = list(candidates)
    for candidate in ranked:
        if candidate.submitted_at.tzinfo is None:
            raise ValueError(f"submitted_at of {candidate.application_id!r} must be timezone-aware")
    ranked.sort(key=_merit_key)
    return ranked


def place_state(state: str, candidates: Iterable[Candidate], capacities: Capacities) -> dict[str, Seat]:
    """Seat of every candidate of one state, by the merit rule in SPEC "placement :8003".

    The result depends only on the set of candidates and the capacities, never
    on their order: ranking is total because application ids are unique. A
    duplicate application_id raises ValueError rather than picking one, since
    two different records for one application mean the caller's state is wrong
    and any silent choice would make the result order-dependent.
    A candidate with an empty block ("") is treated as having no block.
    """
    ranked = rank(candidates)
    return place_ranked(state, [(c.application_id, c.district, c.block) for c in ranked], capacities)


def place_ranked(state: str, ranked: Sequence[tuple[str, str, str | None]], capacities: Capacities) -> dict[str, Seat]:
    """place_state for candidates already in merit order, given as (application_id, district, block).

    A caller whose order is not the merit order gets a wrong placement, not an error.
    """
    seats = {entry[0]: seat for entry, seat in zip(ranked, _assign(state, ranked, capacities))}
    if len(seats) != len(ranked):
        raise ValueError(f"duplicate application_id(s) in the candidates of {state!r}: {_duplicates(ranked)}")
    return seats


def rerank(state: str, ranked: Sequence[tuple[str, str, str | None, Level, str | None]], capacities: Capacities,
           departed: Mapping[str, Seat] = MappingProxyType({})) -> list[PlacementChange]:
    """changes(previous, place_state(...)) in one pass, for the service's re-placement of a state.

    `ranked` is every candidate in merit order with their stored seat, as (application_id,
    district, block, level, unit_id); `departed` are candidates gone since (erased) with their
    last seat. The service loads a state in merit order from its index, so it skips re-sorting
    10^5 candidates, and compares seats as it assigns them, so only the few that moved are
    materialised. Same order caveat as place_ranked.
    """
    before: dict[str, Seat] = dict(departed)
    after: dict[str, Seat] = {}
    for entry, seat in zip(ranked, _assign(state, ranked, capacities)):
        if seat.level != entry[3] or seat.unit_id != entry[4]:
            before[entry[0]] = Seat(entry[3], entry[4])
            after[entry[0]] = seat
    return changes(before, after)


def _assign(state: str, ranked: Iterable[Sequence], capacities: Capacities) -> Iterator[Seat]:
    """The seat of each candidate in merit order; an entry starts with (application_id, district, block)."""
    top = state_unit(state)
    state_seat = Seat("state", top)
    room_at_state = capacities.for_unit(top, "state")
    # Unit ids are built and validated once per unit, not once per candidate:
    # a large state has ~10^5 candidates but only ~10^3 units.
    districts: dict[str, _Unit] = {}
    blocks: dict[tuple[str, str], _Unit] = {}
    for entry in ranked:
        if room_at_state:
            room_at_state -= 1
            yield state_seat
            continue
        district_name = entry[1]
        district = districts.get(district_name)
        if district is None:
            unit_id = district_unit(state, district_name)
            district = districts[district_name] = _Unit(Seat("district", unit_id),
                                                        capacities.for_unit(unit_id, "district"))
        if district.room:
            district.room -= 1
            yield district.seat
            continue
        block_name = entry[2]
        if not block_name:
            yield WAITLIST
            continue
        block = blocks.get((district_name, block_name))
        if block is None:
            unit_id = block_unit(state, district_name, block_name)
            block = blocks[district_name, block_name] = _Unit(Seat("block", unit_id),
                                                              capacities.for_unit(unit_id, "block"))
        if block.room:
            block.room -= 1
            yield block.seat
        else:
            yield WAITLIST


class _Unit:
    """Running room of one unit during a placement, and the one Seat all its members share."""

    __slots__ = ("seat", "room")

    def __init__(self, seat: Seat, room: int) -> None:
        self.seat = seat
        self.room = room


def _duplicates(ranked: Sequence[Sequence]) -> list[str]:
    seen: set[str] = set()
    repeated: set[str] = set()
    for application_id, *_ in ranked:
        (repeated if application_id in seen else seen).add(application_id)
    return sorted(repeated)


@dataclass(frozen=True, slots=True)
class PlacementChange:
    """One candidate's move between two placements; the data of one placement.changed event."""

    application_id: str
    level: Level
    unit_id: str | None
    previous_level: Level
    previous_unit_id: str | None
    reason: Reason


def changes(previous: Mapping[str, Seat], current: Mapping[str, Seat]) -> list[PlacementChange]:
    """Every candidate whose seat differs between two placements, sorted by application_id.

    A candidate missing from `current` moves to level "none" ("removed"); one
    missing from `previous` comes from "none" ("placed"). Otherwise the move is
    "promoted" to a better level (state > district > block > waitlist) or
    "displaced" to a worse one. A move to another unit of the same level cannot
    happen under the rule (a candidate's district and block are fixed) but is
    reported as "placed" so the function stays total.
    """
    # Find the few that moved before sorting: a state has ~10^5 candidates and an event moves a handful.
    moved = [application_id for application_id, after in current.items()
             if previous.get(application_id, NOWHERE) != after]
    moved += [application_id for application_id in previous if application_id not in current]
    result: list[PlacementChange] = []
    for application_id in sorted(moved):
        before = previous.get(application_id, NOWHERE)
        after = current.get(application_id, NOWHERE)
        if before.level == after.level and before.unit_id == after.unit_id:
            continue
        if after.level == "none":
            reason: Reason = "removed"
        elif before.level == "none":
            reason = "placed"
        elif _LEVEL_RANK[after.level] > _LEVEL_RANK[before.level]:
            reason = "promoted"
        elif _LEVEL_RANK[after.level] < _LEVEL_RANK[before.level]:
            reason = "displaced"
        else:
            reason = "placed"
        result.append(
            PlacementChange(
                application_id=application_id,
                level=after.level,
                unit_id=after.unit_id,
                previous_level=before.level,
                previous_unit_id=before.unit_id,
                reason=reason,
            )
        )
    return result


def placement_changed(state: str, change: PlacementChange, score: int | None) -> PlacementChanged:
    """The data of the placement.changed event of one move; `score` is the candidate's current one."""
    return PlacementChanged(state=state, level=change.level, unit_id=change.unit_id,
                            previous_level=change.previous_level, previous_unit_id=change.previous_unit_id,
                            score=score, reason=change.reason)
