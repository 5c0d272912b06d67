"""Unit tests of the screening use cases on an in-memory store: what a case's status refuses, who may
act on it, the events that come out, election deferral and release, and redelivered events."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone

import pytest

from services.screening import domain, usecases
from shared.auth import Staff
from shared.events import (
    RUBRIC,
    ApplicationErased,
    ApplicationSubmitted,
    Envelope,
    new_event,
)
from shared.india_time import IST
from tests.unit.screening.memory_store import MemoryUnitOfWork

TODAY = date(2026, 11, 20)
SUBMITTED = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)
AT = datetime(2026, 12, 1, 10, 0, tzinfo=IST)
ADMIN = Staff("admin", None)
RJ_ONLY = Staff("interviewer", frozenset({"RJ"}))


def submitted(application_id: uuid.UUID, state: str = "RJ", minutes: int = 0) -> Envelope:
    return new_event("intake", application_id, ApplicationSubmitted(
        full_name="Asha Meena", phone="+919810000001", state=state, district="Jaipur", block="Sanganer", age=30,
        submitted_at=SUBMITTED + timedelta(minutes=minutes)))


def erased(application_id: uuid.UUID) -> Envelope:
    return new_event("intake", application_id, ApplicationErased(erased_at=SUBMITTED + timedelta(days=1)))


async def deliver(uow: MemoryUnitOfWork, *envelopes: Envelope, today: date = TODAY) -> None:
    """One consumer batch."""
    await usecases.apply_events(uow, [(e, e.payload()) for e in envelopes], today=today)


async def open_case(uow: MemoryUnitOfWork, state: str = "RJ", minutes: int = 0) -> uuid.UUID:
    application_id = uuid.uuid4()
    await deliver(uow, submitted(application_id, state, minutes))
    return application_id


def status(uow: MemoryUnitOfWork, application_id: uuid.UUID) -> str:
    return uow.store.cases[application_id]["status"]


def rubric(value: int) -> dict[str, int]:
    return dict.fromkeys(RUBRIC, value)


# --- what a case's status refuses ----------------------------------------------------------------


async def test_a_decided_case_is_neither_booked_nor_decided_again() -> None:
    uow = MemoryUnitOfWork()
    application_id = await open_case(uow)
    await usecases.record_result(uow, ADMIN, application_id, rubric(8), None, threshold=60)
    written = len(uow.store.outbox)

    with pytest.raises(domain.CaseDecided, match=r"already decided \(selected\)"):
        await usecases.schedule_interview(uow, ADMIN, application_id, AT, "asha")
    with pytest.raises(domain.CaseDecided):
        await usecases.record_result(uow, ADMIN, application_id, rubric(2), None, threshold=60)
    assert status(uow, application_id) == "selected"
    assert len(uow.store.outbox) == written, "a refused change writes no event"


async def test_a_deferred_case_is_neither_booked_nor_decided() -> None:
    uow = MemoryUnitOfWork()
    await usecases.set_polling_ends(uow, ADMIN, "KA", TODAY + timedelta(days=3), today=TODAY)
    application_id = await open_case(uow, "KA")
    assert status(uow, application_id) == "deferred"

    with pytest.raises(domain.CaseDeferred, match="until polling in KA ends"):
        await usecases.schedule_interview(uow, ADMIN, application_id, AT, None)
    with pytest.raises(domain.CaseDeferred):
        await usecases.record_result(uow, ADMIN, application_id, rubric(8), None, threshold=60)
    with pytest.raises(domain.CaseDeferred):
        await usecases.record_result(uow, ADMIN, application_id, None, None, threshold=60)
    assert status(uow, application_id) == "deferred"


async def test_a_no_show_needs_a_booked_interview() -> None:
    uow = MemoryUnitOfWork()
    walk_in = await open_case(uow)
    with pytest.raises(domain.NoShowUnbooked):
        await usecases.record_result(uow, ADMIN, walk_in, None, None, threshold=60)
    assert status(uow, walk_in) == "queued"

    await usecases.schedule_interview(uow, ADMIN, walk_in, AT, "ravi")
    decision = await usecases.record_result(uow, ADMIN, walk_in, None, None, threshold=60)
    assert (decision.outcome, decision.score, decision.rubric) == ("no_show", None, None)
    [completed] = uow.store.events("screening.completed")
    assert completed.data | {"submitted_at": None} == {
        "state": "RJ", "district": "Jaipur", "block": "Sanganer", "outcome": "no_show", "score": None,
        "rubric": None, "interviewer": "ravi", "submitted_at": None}


async def test_an_unknown_or_erased_case_is_not_found_whoever_asks() -> None:
    uow = MemoryUnitOfWork()
    application_id = await open_case(uow, "PB")
    await deliver(uow, erased(application_id))
    for case in (application_id, uuid.uuid4()):
        with pytest.raises(domain.CaseNotFound):
            await usecases.schedule_interview(uow, RJ_ONLY, case, AT, None)
        with pytest.raises(domain.CaseNotFound):
            await usecases.record_result(uow, ADMIN, case, rubric(5), None, threshold=60)


# --- results -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "threshold", "expected"), [(6, 60, "selected"), (6, 61, "rejected"),
                                                              (10, 100, "selected"), (0, 0, "selected")])
async def test_a_result_is_one_screening_completed_scored_against_the_threshold(value, threshold, expected) -> None:
    uow = MemoryUnitOfWork()
    application_id = await open_case(uow)
    await usecases.schedule_interview(uow, ADMIN, application_id, AT, "meena")
    decision = await usecases.record_result(uow, ADMIN, application_id, rubric(value), None, threshold=threshold)

    assert (decision.outcome, decision.score) == (expected, 10 * value)
    [completed] = uow.store.events("screening.completed")
    assert completed.application_id == application_id
    data = completed.payload()
    assert (data.outcome, data.score, data.rubric) == (expected, 10 * value, rubric(value))
    assert data.interviewer == "meena", "the booked interviewer when the result names none"
    assert (data.state, data.district, data.block) == ("RJ", "Jaipur", "Sanganer")
    assert data.submitted_at == SUBMITTED
    assert status(uow, application_id) == expected


async def test_the_interviewer_a_result_names_is_the_one_its_event_gives() -> None:
    uow = MemoryUnitOfWork()
    application_id = await open_case(uow)
    await usecases.record_result(uow, ADMIN, application_id, rubric(7), "zoya", threshold=60)
    assert uow.store.events("screening.completed")[0].payload().interviewer == "zoya"


# --- scope ---------------------------------------------------------------------------------------


async def test_an_interviewer_acts_only_on_cases_of_their_states() -> None:
    uow = MemoryUnitOfWork()
    punjab, rajasthan = await open_case(uow, "PB"), await open_case(uow, "RJ")
    written = len(uow.store.outbox)

    with pytest.raises(usecases.OutOfScope) as refused:
        await usecases.schedule_interview(uow, RJ_ONLY, punjab, AT, None)
    assert refused.value.state == "PB"
    with pytest.raises(usecases.OutOfScope):
        await usecases.record_result(uow, RJ_ONLY, punjab, rubric(9), None, threshold=60)
    assert status(uow, punjab) == "queued" and len(uow.store.outbox) == written

    await usecases.schedule_interview(uow, RJ_ONLY, rajasthan, AT, None)
    assert status(uow, rajasthan) == "scheduled"


# --- booking -------------------------------------------------------------------------------------


async def test_booking_and_rebooking_each_write_one_interview_scheduled_in_utc() -> None:
    uow = MemoryUnitOfWork()
    application_id = await open_case(uow)
    await usecases.schedule_interview(uow, ADMIN, application_id, AT, "asha")
    await usecases.schedule_interview(uow, ADMIN, application_id, AT + timedelta(hours=1), None)
    scheduled = [e.payload() for e in uow.store.events("screening.interview-scheduled")]
    assert [(s.interview_at, s.interviewer) for s in scheduled] == [
        (datetime(2026, 12, 1, 4, 30, tzinfo=timezone.utc), "asha"),
        (datetime(2026, 12, 1, 5, 30, tzinfo=timezone.utc), None)]
    assert all(s.interview_at.tzinfo == timezone.utc for s in scheduled)


async def test_a_wave_books_the_head_of_the_queue_once() -> None:
    uow = MemoryUnitOfWork()
    ids = [await open_case(uow, "RJ", minutes) for minutes in range(5)]
    day = TODAY + timedelta(days=1)
    wave = await usecases.schedule_wave(uow, ADMIN, "RJ", day, time(10), time(11), 30, ["asha", "ravi"],
                                        today=TODAY)
    assert wave.capacity == 4
    assert [uuid.UUID(s.application_id) for s in wave.slots] == ids[:4]
    assert len(uow.store.events("screening.interview-scheduled")) == 4
    again = await usecases.schedule_wave(uow, ADMIN, "RJ", day, time(10), time(11), 30, ["asha", "ravi"],
                                         today=TODAY)
    assert again.slots == [], "the same wave twice books nobody the second time"


async def test_a_wave_in_the_past_or_during_an_election_is_refused() -> None:
    uow = MemoryUnitOfWork()
    await open_case(uow, "RJ")
    with pytest.raises(domain.InvalidWave) as past:
        await usecases.schedule_wave(uow, ADMIN, "RJ", TODAY - timedelta(days=1), time(10), time(11), 30, ["a"],
                                     today=TODAY)
    assert past.value.field == "date"
    with pytest.raises(domain.InvalidWave) as window:
        await usecases.schedule_wave(uow, ADMIN, "RJ", TODAY, time(10), time(10, 20), 30, ["a"], today=TODAY)
    assert window.value.field == "start"

    await usecases.set_polling_ends(uow, ADMIN, "RJ", TODAY, today=TODAY)
    with pytest.raises(domain.StateDeferred, match=f"RJ is deferred: polling ends {TODAY}"):
        await usecases.schedule_wave(uow, ADMIN, "RJ", TODAY, time(10), time(11), 30, ["a"], today=TODAY)


# --- the scheduled interviews --------------------------------------------------------------------


async def every_interview(uow: MemoryUnitOfWork, states=None, interviewer=None, day=None, limit=2) -> list[dict]:
    """Every page of the scheduled interviews, following the last item's keyset position."""
    items, after = [], None
    while True:
        page = await usecases.interviews_page(uow, states, interviewer, day, limit, after)
        assert len(page.items) <= limit
        items += page.items
        if not page.more:
            return items
        after = (page.items[-1]["interview_at"], page.items[-1]["application_id"])


async def test_scheduled_interviews_are_listed_soonest_first_in_pages_of_the_given_states() -> None:
    uow = MemoryUnitOfWork()
    ids = [await open_case(uow, state) for state in ("RJ", "RJ", "UP", "RJ", "RJ")]
    at = [AT + timedelta(hours=2), AT, AT, AT + timedelta(hours=1), AT]  # three at AT: by application_id
    for application_id, moment in zip(ids, at):
        await usecases.schedule_interview(uow, ADMIN, application_id, moment, "asha")
    decided, waiting = await open_case(uow), await open_case(uow)
    await usecases.schedule_interview(uow, ADMIN, decided, AT, "asha")
    await usecases.record_result(uow, ADMIN, decided, rubric(8), None, threshold=60)

    everyone = await every_interview(uow)
    expected = sorted(zip(at, ids))
    assert [i["application_id"] for i in everyone] == [application_id for _, application_id in expected]
    assert decided not in {i["application_id"] for i in everyone} and waiting not in {
        i["application_id"] for i in everyone}, "a decided or waiting case has no interview to hold"
    assert set(everyone[0]) == {"application_id", "full_name", "phone", "state", "district", "interview_at",
                                "interviewer"}
    rajasthan = await every_interview(uow, states=["RJ"])
    assert [i["application_id"] for i in rajasthan] == [i for _, i in expected if i != ids[2]]


async def test_scheduled_interviews_of_one_interviewer_on_one_indian_day() -> None:
    uow = MemoryUnitOfWork()
    day = date(2026, 12, 1)
    # The Indian day 1 Dec runs from 30 Nov 18:30 UTC to 1 Dec 18:30 UTC.
    moments = {"first minute": datetime(2026, 12, 1, 0, 0, tzinfo=IST),
               "last minute": datetime(2026, 12, 1, 23, 59, tzinfo=IST),
               "the day before": datetime(2026, 11, 30, 23, 59, tzinfo=IST),
               "the day after": datetime(2026, 12, 2, 0, 0, tzinfo=IST)}
    ids = {}
    for name, moment in moments.items():
        ids[name] = await open_case(uow)
        await usecases.schedule_interview(uow, ADMIN, ids[name], moment, "asha")
    ravi = await open_case(uow)
    await usecases.schedule_interview(uow, ADMIN, ravi, datetime(2026, 12, 1, 12, 0, tzinfo=IST), "ravi")

    on_the_day = await every_interview(uow, day=day)
    assert [i["application_id"] for i in on_the_day] == [ids["first minute"], ravi, ids["last minute"]]
    ashas = await every_interview(uow, interviewer="asha", day=day, limit=1)
    assert [i["application_id"] for i in ashas] == [ids["first minute"], ids["last minute"]]
    assert [i["application_id"] for i in await every_interview(uow, interviewer="ravi")] == [ravi]
    assert await every_interview(uow, interviewer="Asha") == [], "a name as it was booked"
    assert await every_interview(uow, states=["UP"], day=day) == []


# --- the election calendar -----------------------------------------------------------------------


async def test_a_polling_day_defers_waiting_cases_and_the_day_after_releases_them() -> None:
    uow = MemoryUnitOfWork()
    waiting = [await open_case(uow, "KA", minutes) for minutes in range(2)]
    booked = await open_case(uow, "KA", 5)
    await usecases.schedule_interview(uow, ADMIN, booked, AT, None)
    polling_ends = TODAY + timedelta(days=2)

    assert await usecases.set_polling_ends(uow, ADMIN, "KA", polling_ends, today=TODAY) == (2, True)
    assert [status(uow, i) for i in waiting + [booked]] == ["deferred", "deferred", "scheduled"]
    assert await usecases.set_polling_ends(uow, ADMIN, "KA", polling_ends, today=TODAY) == (0, True), \
        "no change, no event"

    assert await usecases.release_due(uow, polling_ends) == 0, "still deferred on the last polling day"
    assert await usecases.release_due(uow, polling_ends + timedelta(days=1)) == 2
    for application_id in waiting:
        assert [(e.data["status"], e.data["reason"]) for e in uow.store.events("screening.queued")
                if e.application_id == application_id] == [
            ("queued", "no election under way in KA"),
            ("deferred", f"election in KA: polling ends {polling_ends}"),
            ("queued", f"polling in KA ended {polling_ends}")]


async def test_clearing_a_state_releases_its_deferred_cases() -> None:
    uow = MemoryUnitOfWork()
    await usecases.set_polling_ends(uow, ADMIN, "HP", TODAY, today=TODAY)
    application_id = await open_case(uow, "HP")
    assert status(uow, application_id) == "deferred"
    await usecases.clear_polling_ends(uow, ADMIN, "HP", today=TODAY)
    await usecases.clear_polling_ends(uow, ADMIN, "HP", today=TODAY)
    assert status(uow, application_id) == "queued"
    assert [e.data["status"] for e in uow.store.events("screening.queued")] == ["deferred", "queued"]
    assert await usecases.election_calendar(uow, today=TODAY) == (TODAY, [])


# --- consumed events -----------------------------------------------------------------------------


async def test_redelivered_submissions_open_no_second_case() -> None:
    uow = MemoryUnitOfWork()
    application_id = uuid.uuid4()
    first = submitted(application_id)
    resent = new_event("intake", application_id, first.payload())  # the same application under a new event id
    await deliver(uow, first)
    await deliver(uow, first)
    await deliver(uow, first, resent, first)
    assert list(uow.store.cases) == [application_id]
    assert [e.application_id for e in uow.store.outbox] == [application_id], "one screening.queued"


async def test_an_erasure_blanks_its_case_or_keeps_it_from_opening() -> None:
    uow = MemoryUnitOfWork()
    early, late = uuid.uuid4(), uuid.uuid4()
    await deliver(uow, submitted(early), erased(early), erased(late))
    await deliver(uow, submitted(late))
    assert late not in uow.store.cases
    case = uow.store.cases[early]
    assert (case["status"], case["full_name"], case["phone"], case["email"]) == ("erased", None, None, None)
    assert len(uow.store.outbox) == 1


async def test_a_batch_that_fails_leaves_nothing_applied() -> None:
    uow = MemoryUnitOfWork()
    application_id = uuid.uuid4()
    envelope = new_event("screening", application_id, domain.waiting("RJ", TODAY, {}))
    with pytest.raises(TypeError, match="no use case for screening.queued"):
        await deliver(uow, submitted(application_id), envelope)
    assert uow.store.cases == {} and uow.store.outbox == [] and uow.store.inbox == set()
