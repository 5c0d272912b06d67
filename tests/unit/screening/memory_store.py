"""An in-memory screening Store and unit of work, for the use-case tests: the same methods as
services/screening/store.py over dicts, and transactions that roll back on an exception."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta, timezone

from services.screening.domain import Case, NewCase, Slot, WaitingCase
from services.screening.store import DECIDED_START, INTERVIEWS_START, QUEUE_START
from shared.events import Envelope
from tests import support
from tests.unit.memory_audit import MemoryAudit

DECIDED_CLOCK = datetime(2026, 11, 20, 6, 0, tzinfo=timezone.utc)

WAITING = ("queued", "deferred")


class MemoryStore(MemoryAudit):
    def __init__(self) -> None:
        self.audit_rows: list[dict] = []
        self.decisions = 0
        self.cases: dict[uuid.UUID, dict] = {}
        self.calendar: dict[str, date] = {}
        self.erased: dict[uuid.UUID, datetime] = {}
        self.outbox: list[Envelope] = []
        self.inbox: set[tuple[str, uuid.UUID]] = set()
        self.locks: list[str] = []

    def events(self, event_type: str | None = None) -> list[Envelope]:
        return [e for e in self.outbox if event_type is None or e.event_type == event_type]

    async def add_events(self, envelopes: Sequence[Envelope]) -> None:
        self.outbox.extend(envelopes)

    async def lock_calendar(self, *, exclusive: bool) -> None:
        self.locks.append("calendar" if exclusive else "calendar-shared")

    async def lock_waves(self) -> None:
        self.locks.append("waves")

    async def election_calendar(self) -> dict[str, date]:
        return dict(sorted(self.calendar.items()))

    async def calendar_entry(self, state: str) -> dict[str, date]:
        return {state: self.calendar[state]} if state in self.calendar else {}

    async def set_polling_ends(self, state: str, polling_ends: date) -> None:
        self.calendar[state] = polling_ends

    async def clear_polling_ends(self, state: str) -> bool:
        return self.calendar.pop(state, None) is not None

    async def set_waiting_status(self, state: str, status: str) -> list[uuid.UUID]:
        changed = [i for i, c in self.cases.items() if c["state"] == state and c["status"] in WAITING
                   and c["status"] != status]
        for application_id in changed:
            self.cases[application_id]["status"] = status
        return changed

    async def release_deferred(self, states: Sequence[str], limit: int) -> list[tuple[uuid.UUID, str]]:
        due = [(i, c["state"]) for i, c in self.cases.items() if c["status"] == "deferred" and c["state"] in states]
        for application_id, _ in due[:limit]:
            self.cases[application_id]["status"] = "queued"
        return due[:limit]

    async def open_cases(self, cases: Sequence[NewCase], traceparents: Sequence[str | None] | None = None
                         ) -> set[uuid.UUID]:
        opened = set()
        for new in cases:
            if new.application_id in self.cases or new.application_id in self.erased:
                continue
            a = new.application
            self.cases[new.application_id] = dict(
                application_id=new.application_id, state=a.state, district=a.district, block=a.block,
                full_name=a.full_name, phone=a.phone, email=a.email, submitted_at=a.submitted_at,
                status=new.queued.status, interview_at=None, interviewer=None, score=None, rubric=None,
                decided_at=None, decided_by=None)
            opened.add(new.application_id)
        return opened

    async def remember_erased(self, application_id: uuid.UUID, erased_at: datetime) -> None:
        self.erased.setdefault(application_id, erased_at)

    async def erase_case(self, application_id: uuid.UUID) -> bool:
        case = self.cases.get(application_id)
        if case is None:
            return False
        case.update(full_name=None, phone=None, email=None, status="erased")
        return True

    async def waiting_cases(self, states: Sequence[str] | None, limit: int,
                            after: tuple[bool, datetime, uuid.UUID] = QUEUE_START) -> list[Mapping]:
        def position(c: dict) -> tuple[bool, datetime, uuid.UUID]:
            return c["status"] == "deferred", c["submitted_at"], c["application_id"]

        waiting = sorted((c for c in self.cases.values() if c["status"] in WAITING
                          and (states is None or c["state"] in states) and position(c) > after), key=position)
        columns = ("application_id", "full_name", "phone", "state", "district", "status", "submitted_at")
        return [{k: c[k] for k in columns} for c in waiting[:limit]]

    async def case_for_update(self, application_id: uuid.UUID) -> Case | None:
        c = self.cases.get(application_id)
        return None if c is None else Case(c["application_id"], c["state"], c["district"], c["block"], c["status"],
                                           c["interviewer"], c["submitted_at"])

    async def schedule_interview(self, application_id: uuid.UUID, interview_at: datetime,
                                 interviewer: str | None) -> None:
        self.cases[application_id].update(status="scheduled", interview_at=interview_at, interviewer=interviewer)

    async def record_result(self, application_id: uuid.UUID, outcome: str, score: int | None,
                            rubric: dict[str, int] | None, interviewer: str | None, decided_by: str | None) -> None:
        case = self.cases[application_id]
        self.decisions += 1
        case.update(status=outcome, score=score, rubric=rubric, interviewer=interviewer or case["interviewer"],
                    decided_by=decided_by, decided_at=DECIDED_CLOCK + timedelta(minutes=self.decisions))

    async def decided_by(self, fingerprint: str, states: Sequence[str] | None, limit: int,
                         before: tuple[datetime, uuid.UUID] = DECIDED_START) -> list[Mapping]:
        def position(c: dict) -> tuple[datetime, uuid.UUID]:
            return c["decided_at"], c["application_id"]

        mine = sorted((c for c in self.cases.values() if c["decided_by"] == fingerprint and c["status"] != "erased"
                       and (states is None or c["state"] in states) and position(c) < before),
                      key=position, reverse=True)
        return [{"application_id": c["application_id"], "full_name": c["full_name"], "state": c["state"],
                 "district": c["district"], "outcome": c["status"], "score": c["score"], "decided_at": c["decided_at"]}
                for c in mine[:limit]]

    async def scheduled_interviews(self, states: Sequence[str] | None, interviewer: str | None,
                                   window: tuple[datetime, datetime] | None, limit: int,
                                   after: tuple[datetime, uuid.UUID] = INTERVIEWS_START) -> list[Mapping]:
        def position(c: dict) -> tuple[datetime, uuid.UUID]:
            return c["interview_at"], c["application_id"]

        booked = sorted((c for c in self.cases.values() if c["status"] == "scheduled" and position(c) > after
                         and (states is None or c["state"] in states)
                         and (interviewer is None or c["interviewer"] == interviewer)
                         and (window is None or window[0] <= c["interview_at"] < window[1])), key=position)
        columns = ("application_id", "full_name", "phone", "state", "district", "interview_at", "interviewer")
        return [{k: c[k] for k in columns} for c in booked[:limit]]

    async def contacts(self, application_ids: Sequence[uuid.UUID], states: Sequence[str] | None) -> list[Mapping]:
        columns = ("application_id", "full_name", "phone", "email", "state", "district", "block", "status")
        return [{k: c[k] for k in columns} for i in application_ids if (c := self.cases.get(i)) is not None
                and c["status"] != "erased" and (states is None or c["state"] in states)]

    async def booked_interviews(self, interviewers: Sequence[str], start: datetime,
                                end: datetime) -> dict[str, list[datetime]]:
        booked: dict[str, list[datetime]] = {}
        for c in self.cases.values():
            if c["status"] == "scheduled" and c["interviewer"] in interviewers and start < c["interview_at"] < end:
                booked.setdefault(c["interviewer"], []).append(c["interview_at"])
        return booked

    async def queued_for_wave(self, state: str, limit: int) -> list[WaitingCase]:
        queued = sorted((c for c in self.cases.values() if c["state"] == state and c["status"] == "queued"),
                        key=lambda c: (c["submitted_at"], c["application_id"]))
        return [WaitingCase(str(c["application_id"]), c["state"], c["status"], c["submitted_at"])
                for c in queued[:limit]]

    async def schedule_wave(self, slots: Sequence[Slot]) -> None:
        for slot in slots:
            self.cases[uuid.UUID(slot.application_id)].update(
                status="scheduled", interview_at=slot.interview_at, interviewer=slot.interviewer)


class MemoryUnitOfWork(support.MemoryUnitOfWork[MemoryStore]):
    def __init__(self, store: MemoryStore | None = None) -> None:
        super().__init__(store or MemoryStore())
