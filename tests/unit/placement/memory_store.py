"""In-memory placement Store and UnitOfWork for use-case tests: the tables as dicts, the same methods, and a
transaction that rolls back on error. Locks are no-ops: one test runs one use case at a time."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from services.placement import domain
from shared.events import Envelope
from tests import support
from tests.unit.memory_audit import MemoryAudit

CLOCK_START = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


@dataclass
class Candidate:
    state: str
    district: str
    block: str | None
    score: int
    submitted_at: datetime
    result_at: datetime
    result_event: uuid.UUID
    level: str = "none"
    unit_id: str | None = None


@dataclass
class Tables:
    candidates: dict[str, Candidate] = field(default_factory=dict)
    erased: set[str] = field(default_factory=set)
    levels: dict[str, int] = field(default_factory=lambda: {"state": 50, "district": 20, "block": 10})
    overrides: dict[str, int] = field(default_factory=dict)
    marked: set[str] = field(default_factory=set)
    outbox: list[Envelope] = field(default_factory=list)
    ticks: int = 0


class MemoryStore(MemoryAudit):
    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.audit_rows: list[dict] = []

    async def lock_application(self, application_id: uuid.UUID) -> None:
        pass

    async def lock_state(self, state: str) -> None:
        pass

    async def lock_capacities(self, *, exclusive: bool) -> None:
        pass


    async def clock(self) -> datetime:
        self.tables.ticks += 1
        return CLOCK_START + timedelta(seconds=self.tables.ticks)

    async def is_erased(self, application_id: uuid.UUID) -> bool:
        return str(application_id) in self.tables.erased

    async def mark_erased(self, application_id: uuid.UUID) -> None:
        self.tables.erased.add(str(application_id))

    async def state_of(self, application_id: uuid.UUID) -> str | None:
        row = self.tables.candidates.get(str(application_id))
        return row.state if row else None

    async def record_selection(self, application_id: uuid.UUID, *, state: str, district: str, block: str | None,
                               score: int, submitted_at: datetime, result_at: datetime,
                               result_event: uuid.UUID) -> bool:
        row = self.tables.candidates.get(str(application_id))
        if row is not None and (row.result_at, row.result_event) >= (result_at, result_event):
            return False
        seat = (row.level, row.unit_id) if row else ("none", None)
        self.tables.candidates[str(application_id)] = Candidate(state, district, block, score, submitted_at,
                                                                result_at, result_event, *seat)
        return True

    async def forget_candidate(self, application_id: uuid.UUID) -> domain.Departure | None:
        row = self.tables.candidates.pop(str(application_id), None)
        return None if row is None else domain.Departure(str(application_id), domain.Seat(row.level, row.unit_id),
                                                         row.score)

    async def ranked_seats(self, state: str) -> list[tuple]:
        # Canonical uuid text sorts as PostgreSQL sorts the uuids.
        ranked = sorted(((key, row) for key, row in self.tables.candidates.items() if row.state == state),
                        key=lambda item: (-item[1].score, item[1].submitted_at, item[0]))
        return [(key, row.district, row.block, row.level, row.unit_id) for key, row in ranked]

    async def scores(self, application_ids: Sequence[str]) -> dict[str, int]:
        return {key: self.tables.candidates[key].score for key in application_ids if key in self.tables.candidates}

    async def move_seats(self, moves: Sequence[domain.PlacementChange]) -> None:
        for move in moves:
            row = self.tables.candidates[move.application_id]
            row.level, row.unit_id = move.level, move.unit_id

    async def placement_of(self, application_id: uuid.UUID) -> dict | None:
        row = self.tables.candidates.get(str(application_id))
        if row is None:
            return None
        return {"application_id": application_id, "state": row.state, "level": row.level, "unit_id": row.unit_id,
                "score": row.score}

    async def places(self, states: Sequence[str] | None) -> list[tuple[str, str, str | None]]:
        return sorted({(row.state, row.district, row.block) for row in self.tables.candidates.values()
                       if states is None or row.state in states}, key=str)

    async def filled(self, states: Sequence[str] | None) -> dict[str, int]:
        taken: dict[str, int] = {}
        for row in self.tables.candidates.values():
            if row.unit_id is not None and (states is None or row.state in states):
                taken[row.unit_id] = taken.get(row.unit_id, 0) + 1
        return taken

    async def unit_members(self, unit_id: str) -> list[dict]:
        seated = sorted(((key, row) for key, row in self.tables.candidates.items() if row.unit_id == unit_id),
                        key=lambda item: (-item[1].score, item[1].submitted_at, item[0]))
        return [{"application_id": uuid.UUID(key), "score": row.score} for key, row in seated]

    async def seats_taken(self, unit_id: str) -> int:
        return sum(row.unit_id == unit_id for row in self.tables.candidates.values())

    async def unit_exists(self, unit_id: str) -> bool:
        state, district, block = domain.parse_unit(unit_id)
        return unit_id in self.tables.overrides or any(
            row.state == state and district in (None, row.district) and block in (None, row.block)
            for row in self.tables.candidates.values())

    async def capacities(self) -> domain.Capacities:
        return domain.Capacities(**self.tables.levels, overrides=self.tables.overrides)

    async def set_level_capacities(self, levels: Mapping[str, int]) -> None:
        self.tables.levels.update(levels)

    async def set_unit_capacity(self, unit_id: str, capacity: int) -> None:
        self.tables.overrides[unit_id] = capacity

    async def clear_unit_capacity(self, unit_id: str) -> None:
        self.tables.overrides.pop(unit_id, None)

    async def mark_states_with_candidates(self) -> None:
        self.tables.marked |= {row.state for row in self.tables.candidates.values()}

    async def marked_states(self) -> list[str]:
        return sorted(self.tables.marked)

    async def unmark_state(self, state: str) -> bool:
        if state not in self.tables.marked:
            return False
        self.tables.marked.remove(state)
        return True

    async def add_events(self, envelopes: Sequence[Envelope]) -> None:
        self.tables.outbox.extend(envelopes)


class MemoryUnitOfWork(support.MemoryUnitOfWork[MemoryStore]):
    def __init__(self, tables: Tables | None = None) -> None:
        super().__init__(MemoryStore(tables or Tables()))

    @property
    def tables(self) -> Tables:
        return self.store.tables
