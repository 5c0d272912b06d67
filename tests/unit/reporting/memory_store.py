"""Reporting's store and unit of work in memory, for the use-case tests: the same methods as store.Store, no SQL."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Collection, Sequence
from datetime import datetime, timezone

from services.reporting.domain import (
    PLACE_COLUMNS,
    SUMMARY_COLUMNS,
    CounterMoves,
    Projection,
)
from shared.unit_of_work import ConcurrentChange
from tests import support


class MemoryStore:
    """Projections and phone hashes by application, and the counters as cells
    (table, key, column) -> count, as the SQL tables hold them."""

    def __init__(self) -> None:
        self.projections: dict[uuid.UUID, Projection] = {}
        self.phone_hashes: dict[uuid.UUID, str | None] = {}
        self.counters: Counter = Counter()
        self.version = 0

    async def lock_projections(self, application_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Projection]:
        return {application_id: self.projections[application_id] for application_id in set(application_ids)
                if application_id in self.projections}

    async def save_projections(self, projections: Sequence[tuple[uuid.UUID, Projection, str | None]],
                               counters: CounterMoves, created: Collection[uuid.UUID]) -> None:
        if any(application_id in self.projections for application_id, _, _ in projections if application_id in created):
            raise ConcurrentChange("created meanwhile")
        for application_id, projection, phone_hash in projections:
            self.projections[application_id] = projection
            self.phone_hashes.setdefault(application_id, None)
            # As the SQL: erasure (on request or by retention) drops the hash for good; None keeps the one stored.
            if projection.erased or projection.purged:
                self.phone_hashes[application_id] = None
            elif phone_hash is not None:
                self.phone_hashes[application_id] = phone_hash
        for (table, key), columns in counters.items():
            for column, change in columns.items():
                self.counters[table, key, column] += change
        if any(any(columns.values()) for columns in counters.values()):
            self.version += 1

    async def summary_version(self) -> int:
        return self.version


    async def summary(self) -> dict:
        return {**{c: self.counters["summary", (), c] for c in SUMMARY_COLUMNS}, "version": self.version,
                "updated_at": datetime.now(timezone.utc)}

    async def state_rows(self) -> list[dict]:
        states = {key[0] for table, key, _ in self.counters if table == "state"}
        rows = [{"state": state, **{c: self.counters["state", (state,), c] for c in PLACE_COLUMNS}} for state in states]
        return sorted((r for r in rows if r["applications"] > 0), key=lambda r: (-r["applications"], r["state"]))

    async def applicant(self, application_id: uuid.UUID) -> tuple[Projection, str] | None:
        projection = self.projections.get(application_id)
        phone_hash = self.phone_hashes.get(application_id)
        if projection is None or phone_hash is None or projection.erased or projection.purged:
            return None
        return projection, phone_hash


class MemoryUnitOfWork(support.MemoryUnitOfWork[MemoryStore]):
    def __init__(self, store: MemoryStore | None = None) -> None:
        super().__init__(store or MemoryStore())
