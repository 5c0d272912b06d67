"""An in-memory intake store and unit of work for use-case tests: what services.intake.store.Store does, without SQL."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from services.intake.store import BulkBatch
from shared.events import Envelope
from tests import support
from tests.unit.memory_audit import MemoryAudit

PERSONAL = ("phone", "full_name", "email", "block", "age", "details", "source")


class MemoryStore(MemoryAudit):
    def __init__(self) -> None:
        self.audit_rows: list[dict[str, Any]] = []
        self.applications: dict[uuid.UUID, dict[str, Any]] = {}
        self.outbox: list[dict[str, Any]] = []  # in id order: {"id", "event_id", "event_type", "key", "payload"}
        self.case_outcomes: dict[uuid.UUID, tuple[str, datetime]] = {}
        self.now = datetime.now(timezone.utc)  # the database's now(), which tests may move

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy(self.__dict__)

    def restore(self, snapshot: dict[str, Any]) -> None:
        self.__dict__ = snapshot

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """The outbox's envelopes (parsed), in order."""
        return [json.loads(row["payload"]) for row in self.outbox
                if event_type is None or row["event_type"] == event_type]

    def _phone_taken(self, phone_hash: str) -> bool:
        return any(row["phone_hash"] == phone_hash for row in self.applications.values())

    def _outbox_row(self, event_id: uuid.UUID, event_type: str, key: str, payload: str) -> None:
        self.outbox.append({"id": len(self.outbox) + 1, "event_id": event_id, "event_type": event_type, "key": key,
                            "payload": payload})

    # --- the Store's methods ---

    async def insert_application(self, event: Envelope, phone_hash: str, traceparent: str | None) -> bool:
        if self._phone_taken(phone_hash):
            return False
        self._outbox_row(event.event_id, event.event_type, event.kafka_key(), event.to_json())
        data = event.data
        self.applications[event.application_id] = {
            "application_id": event.application_id, "phone_hash": phone_hash, "phone": data["phone"],
            "full_name": data["full_name"], "email": data["email"], "state": data["state"],
            "district": data["district"], "block": data["block"], "age": data["age"],
            "details": {name: data[name] for name in ("languages", "skills", "social", "followers", "hours_per_week")},
            "source": data["source"], "submitted_at": datetime.fromisoformat(data["submitted_at"]),
            "submitted_event_id": event.event_id, "erased_at": None}
        return True

    async def application_id_of(self, phone_hash: str) -> uuid.UUID | None:
        return next((id_ for id_, row in self.applications.items() if row["phone_hash"] == phone_hash), None)

    async def application(self, application_id: uuid.UUID) -> dict[str, Any] | None:
        row = self.applications.get(application_id)
        return None if row is None else {k: v for k, v in row.items() if k not in ("phone_hash", "submitted_event_id")}

    async def phone_hash_of(self, application_id: uuid.UUID) -> str | None:
        row = self.applications.get(application_id)
        return None if row is None else row["phone_hash"]

    async def is_known(self, application_id: uuid.UUID) -> bool:
        return application_id in self.applications

    async def erase_personal_data(self, application_id: uuid.UUID, erased_at: datetime) -> uuid.UUID | None:
        row = self.applications.get(application_id)
        if row is None or row["erased_at"] is not None:
            return None
        row.update(dict.fromkeys(PERSONAL), erased_at=erased_at)
        return row["submitted_event_id"]

    async def outbox_payload_for_update(self, event_id: uuid.UUID) -> tuple[int, str] | None:
        return next(((row["id"], row["payload"]) for row in self.outbox if row["event_id"] == event_id), None)

    async def replace_outbox_payload(self, outbox_id: int, payload: str) -> None:
        next(row for row in self.outbox if row["id"] == outbox_id)["payload"] = payload

    async def add_events(self, events: Sequence[Envelope]) -> None:
        for event in events:
            self._outbox_row(event.event_id, event.event_type, event.kafka_key(), event.to_json())

    async def record_outcomes(self, outcomes: Sequence[tuple[uuid.UUID, str, datetime]]) -> None:
        assert len({application_id for application_id, _, _ in outcomes}) == len(outcomes), "one per id, as SQL needs"
        for application_id, outcome, ended_at in outcomes:
            known = self.case_outcomes.get(application_id)
            if known is None or ended_at > known[1]:
                self.case_outcomes[application_id] = (outcome, ended_at)

    def _purgeable(self, older_than: timedelta) -> list[uuid.UUID]:
        ended = sorted((ended_at, application_id) for application_id, (outcome, ended_at) in self.case_outcomes.items()
                       if outcome in ("rejected", "no_show") and ended_at < self.now - older_than
                       and application_id in self.applications and self.applications[application_id]["erased_at"] is None)
        return [application_id for _, application_id in ended]

    async def count_purgeable(self, older_than: timedelta) -> int:
        return len(self._purgeable(older_than))

    async def lock_purgeable(self, older_than: timedelta, limit: int) -> list[uuid.UUID]:
        return self._purgeable(older_than)[:limit]

    async def create_bulk_staging(self) -> None:
        pass

    async def add_bulk_rows(self, batch: BulkBatch, traceparent: str | None = None) -> int:
        accepted = 0
        for (_, application_id, event_id, phone_hash, phone, full_name, email, state, district, block, age, details,
             source, submitted_at, payload) in sorted(batch.rows, key=lambda row: row[0]):
            if self._phone_taken(phone_hash):  # the first row of a phone wins, as DISTINCT ON ... ORDER BY row_no
                continue
            self.applications[uuid.UUID(application_id)] = {
                "application_id": uuid.UUID(application_id), "phone_hash": phone_hash, "phone": phone,
                "full_name": full_name, "email": email, "state": state, "district": district, "block": block,
                "age": age, "details": json.loads(details), "source": source, "submitted_at": submitted_at,
                "submitted_event_id": uuid.UUID(event_id), "erased_at": None}
            self._outbox_row(uuid.UUID(event_id), "application.submitted", application_id, payload)
            accepted += 1
        return accepted


class MemoryUnitOfWork(support.MemoryUnitOfWork[MemoryStore]):
    def __init__(self, store: MemoryStore | None = None) -> None:
        super().__init__(store or MemoryStore())
