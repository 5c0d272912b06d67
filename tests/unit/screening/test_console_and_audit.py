"""Unit tests of screening's console reads and audit on an in-memory store: the queue's reasons, "my decided
cases" by token fingerprint, the contact look-up's scope, and one audit row per staff write in its transaction."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest

from services.screening import domain, usecases
from shared.auth import Staff, parse_staff_tokens
from shared.events import RUBRIC
from tests.unit.screening.memory_store import MemoryUnitOfWork
from tests.unit.screening.test_usecases import AT, TODAY, deliver, erased, open_case

TOKENS = parse_staff_tokens("admin-token:admin,asha-token:interviewer:RJ,ravi-token:interviewer")
ADMIN, ASHA, RAVI = TOKENS["admin-token"], TOKENS["asha-token"], TOKENS["ravi-token"]


def rubric(value: int) -> dict[str, int]:
    return dict.fromkeys(RUBRIC, value)


# --- the queue's reasons -------------------------------------------------------------------------


async def test_a_deferred_case_says_until_when_and_a_queued_one_says_nothing() -> None:
    uow = MemoryUnitOfWork()
    ends = TODAY + timedelta(days=3)
    await usecases.set_polling_ends(uow, ADMIN, "KA", ends, today=TODAY)
    waiting = await open_case(uow, "RJ")
    deferred = await open_case(uow, "KA")
    page = await usecases.queue_page(uow, None, 10, today=TODAY)
    assert [(i["application_id"], i["status"], i["reason"]) for i in page.items] == [
        (waiting, "queued", None), (deferred, "deferred", f"polling in KA ends {ends.isoformat()}")]
    # The day after polling ends, before the release job has run.
    later = await usecases.queue_page(uow, ["KA"], 10, today=ends + timedelta(days=1))
    assert later.items[0]["reason"] == f"polling in KA ended {ends.isoformat()}; released shortly"


def test_the_queue_reason_covers_a_cleared_entry() -> None:
    assert domain.queue_reason("queued", "KA", TODAY, {"KA": TODAY}) is None
    assert domain.queue_reason("deferred", "KA", TODAY, {"KA": TODAY}) == f"polling in KA ends {TODAY.isoformat()}"
    assert domain.queue_reason("deferred", "KA", TODAY, {}) == "deferred for the election in KA; released shortly"


# --- my decided cases ------------------------------------------------------------------------------


async def test_decided_cases_are_the_tokens_own_newest_first_in_pages() -> None:
    uow = MemoryUnitOfWork()
    mine = [await open_case(uow, "RJ", minutes) for minutes in range(5)]
    others = await open_case(uow, "RJ", 9)
    for application_id in mine:
        await usecases.record_result(uow, ASHA, application_id, rubric(7), None, threshold=60)
    await usecases.record_result(uow, RAVI, others, rubric(2), None, threshold=60)
    assert uow.store.cases[mine[0]]["decided_by"] == ASHA.fingerprint

    first = await usecases.decided_page(uow, ASHA, 3)
    assert [i["application_id"] for i in first.items] == mine[::-1][:3] and first.more
    last = first.items[-1]
    second = await usecases.decided_page(uow, ASHA, 3, (last["decided_at"], last["application_id"]))
    assert [i["application_id"] for i in second.items] == mine[1::-1] and not second.more
    assert first.items[0] | {"decided_at": None} == {
        "application_id": mine[-1], "full_name": "Asha Meena", "state": "RJ", "district": "Jaipur",
        "outcome": "selected", "score": 70, "decided_at": None}
    assert [i["application_id"] for i in (await usecases.decided_page(uow, RAVI, 10)).items] == [others]
    assert (await usecases.decided_page(uow, ADMIN, 10)).items == []

    await deliver(uow, erased(mine[-1]))
    assert mine[-1] not in [i["application_id"] for i in (await usecases.decided_page(uow, ASHA, 10)).items]


async def test_decided_cases_keep_to_the_tokens_states() -> None:
    uow = MemoryUnitOfWork()
    up = await open_case(uow, "UP")
    # Decided while the token still covered every state; it has covered only RJ since.
    await usecases.record_result(uow, Staff("interviewer", None, ASHA.fingerprint), up, rubric(7), None, threshold=60)
    assert (await usecases.decided_page(uow, ASHA, 10)).items == []


# --- the contact look-up ----------------------------------------------------------------------------


async def test_a_look_up_gives_the_cases_in_the_callers_states_in_the_order_asked() -> None:
    uow = MemoryUnitOfWork()
    rj, up, gone = await open_case(uow, "RJ"), await open_case(uow, "UP"), await open_case(uow, "RJ")
    await deliver(uow, erased(gone))
    unknown = uuid.uuid4()
    everyone = await usecases.contacts(uow, None, [up, unknown, rj, gone, up])
    assert [c["application_id"] for c in everyone] == [up, rj]
    assert everyone[1] == {"application_id": rj, "full_name": "Asha Meena", "phone": "+919810000001", "email": None,
                           "state": "RJ", "district": "Jaipur", "block": "Sanganer", "status": "queued"}
    assert [c["application_id"] for c in await usecases.contacts(uow, ["RJ"], [up, rj, gone])] == [rj]


# --- the audit ----------------------------------------------------------------------------------------


async def test_every_staff_write_leaves_one_audit_row_with_who_and_what() -> None:
    uow = MemoryUnitOfWork()
    booked, scored, _ = await open_case(uow), await open_case(uow, minutes=1), await open_case(uow, minutes=2)
    await usecases.schedule_interview(uow, ASHA, booked, AT, "asha")
    await usecases.record_result(uow, ASHA, scored, rubric(5), "asha", threshold=60)
    day = TODAY + timedelta(days=1)
    await usecases.schedule_wave(uow, ASHA, "RJ", day, AT.time().replace(tzinfo=None), (AT + timedelta(hours=1))
                                 .time().replace(tzinfo=None), 30, ["asha", "ravi"], today=TODAY)
    await usecases.set_polling_ends(uow, ADMIN, "KA", date(2027, 1, 5), today=TODAY)
    await usecases.clear_polling_ends(uow, ADMIN, "KA", today=TODAY)

    rows = uow.store.audit_rows
    assert [(r["action"], r["target"]) for r in rows] == [
        ("interview.scheduled", str(booked)), ("interview.result", str(scored)), ("wave.scheduled", "RJ"),
        ("calendar.set", "KA"), ("calendar.cleared", "KA")]
    assert rows[0]["actor"] == {"role": "interviewer", "states": ["RJ"], "fingerprint": ASHA.fingerprint}
    assert rows[3]["actor"] == {"role": "admin", "states": None, "fingerprint": ADMIN.fingerprint}
    assert (rows[0]["before"], rows[0]["after"]) == (
        {"state": "RJ", "status": "queued"},
        {"state": "RJ", "status": "scheduled", "interview_at": "2026-12-01T04:30:00Z"})
    assert rows[1]["after"] == {"state": "RJ", "status": "rejected", "score": 50, "rubric": rubric(5),
                                "threshold": 60}
    assert rows[2]["after"] == {"date": day.isoformat(), "start": "10:00:00", "end": "11:00:00", "slot_minutes": 30,
                                "interviewers": 2, "capacity": 4, "scheduled": 1}
    assert (rows[3]["before"], rows[3]["after"]) == ({"polling_ends": None},
                                                    {"polling_ends": "2027-01-05", "changed": 0})
    assert (rows[4]["before"], rows[4]["after"]) == ({"polling_ends": "2027-01-05"},
                                                    {"polling_ends": None, "changed": 0})
    text = json.dumps(rows, default=str)
    for personal in ("Asha Meena", "+919810000001", "asha", "ravi", "admin-token"):
        assert personal not in text.replace(ASHA.fingerprint, ""), personal


async def test_a_refused_write_leaves_no_audit_row() -> None:
    uow = MemoryUnitOfWork()
    application_id, punjab = await open_case(uow), await open_case(uow, "PB")
    await usecases.record_result(uow, ASHA, application_id, rubric(8), None, threshold=60)
    with pytest.raises(domain.CaseDecided):
        await usecases.record_result(uow, ASHA, application_id, rubric(2), None, threshold=60)
    with pytest.raises(usecases.OutOfScope):
        await usecases.schedule_interview(uow, ASHA, punjab, AT, None)
    with pytest.raises(usecases.OutOfScope):
        await usecases.schedule_wave(uow, ASHA, "PB", TODAY, AT.time(), AT.time(), 30, ["a"], today=TODAY)
    with pytest.raises(domain.InvalidWave):
        await usecases.schedule_wave(uow, ASHA, "RJ", TODAY - timedelta(days=1), AT.time(), AT.time(), 30, ["a"],
                                     today=TODAY)
    assert [r["action"] for r in uow.store.audit_rows] == ["interview.result"]
