"""Unit tests of the screening domain: score, outcome, deferral, queue order, interview waves and a case's lifecycle."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.screening.domain import (
    Case,
    CaseDecided,
    CaseDeferred,
    InvalidWave,
    NewCase,
    NoShowUnbooked,
    Slot,
    WaitingCase,
    decide,
    is_deferred,
    new_cases,
    opened_events,
    outcome,
    plan_wave,
    queue_key,
    released_states,
    schedule,
    score,
    waiting,
    waiting_status,
    wave_slots,
    wave_starts,
)
from shared.events import RUBRIC
from shared.india_time import IST
from tests.support import submission

T0 = datetime(2026, 11, 1, 4, 30, tzinfo=timezone.utc)
DAY = date(2026, 12, 1)


def rubric(*values: int) -> dict[str, int]:
    return dict(zip(RUBRIC, values, strict=True))


def case(application_id: str, minutes: int = 0, status: str = "queued", state: str = "RJ") -> WaitingCase:
    return WaitingCase(application_id, state, status, T0 + timedelta(minutes=minutes))


# --- score and outcome ---------------------------------------------------------


def test_rubric_has_the_five_spec_items_in_order():
    assert RUBRIC == ("communication", "content_creation", "social_media_reach", "political_awareness", "commitment")


@pytest.mark.parametrize(
    ("values", "expected"),
    [((0, 0, 0, 0, 0), 0), ((10, 10, 10, 10, 10), 100), ((6, 6, 6, 6, 6), 60), ((6, 6, 6, 6, 5), 58),
     ((10, 0, 3, 7, 1), 42)],
)
def test_score_is_the_mean_times_ten(values, expected):
    result = score(rubric(*values))
    assert result == expected
    assert type(result) is int


@given(st.lists(st.integers(0, 10), min_size=5, max_size=5))
def test_score_equals_mean_times_ten_for_every_rubric(values):
    assert score(rubric(*values)) == round(sum(values) / len(values) * 10)


def test_a_missing_item_is_named():
    incomplete = rubric(5, 5, 5, 5, 5)
    del incomplete["commitment"]
    with pytest.raises(ValueError, match="missing rubric item\\(s\\): commitment"):
        score(incomplete)


def test_an_unknown_item_is_named():
    with pytest.raises(ValueError, match="unknown rubric item\\(s\\): charisma"):
        score({**rubric(5, 5, 5, 5, 5), "charisma": 5})


@pytest.mark.parametrize("bad", [11, -1, 5.0, True, "5", None])
def test_an_item_outside_0_to_10_integers_is_rejected(bad):
    with pytest.raises(ValueError, match="communication must be an integer 0-10"):
        score(rubric(bad, 5, 5, 5, 5))


def test_every_problem_is_reported_at_once():
    with pytest.raises(ValueError) as error:
        score({"communication": 12, "charisma": 1})
    message = str(error.value)
    assert "missing" in message and "unknown" in message and "communication must be" in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [(60, "selected"), (58, "rejected"), (62, "selected"), (100, "selected"), (0, "rejected")],
)
def test_outcome_at_the_default_threshold(value, expected):
    assert outcome(value, 60) == expected


def test_rubric_to_outcome_on_both_sides_of_the_boundary():
    assert outcome(score(rubric(6, 6, 6, 6, 6)), 60) == "selected"
    assert outcome(score(rubric(6, 6, 6, 6, 5)), 60) == "rejected"


def test_threshold_zero_selects_everyone_and_100_only_perfect():
    assert outcome(0, 0) == "selected"
    assert outcome(98, 100) == "rejected"
    assert outcome(100, 100) == "selected"


@pytest.mark.parametrize(("value", "threshold"), [(-2, 60), (102, 60), (60, 101), (60, -1), (60.0, 60), (True, 60)])
def test_outcome_rejects_values_outside_0_to_100(value, threshold):
    with pytest.raises(ValueError, match="must be an integer 0-100"):
        outcome(value, threshold)


# --- election calendar ---------------------------------------------------------


# The last polling day of West Bengal's 2021 assembly election (eight phases, 27 March to 29 April).
WB_2021 = {"WB": date(2021, 4, 29)}


@pytest.mark.parametrize(
    ("today", "deferred"),
    [(date(2021, 4, 28), True), (date(2021, 4, 29), True), (date(2021, 4, 30), False), (date(2026, 11, 26), False)],
)
def test_a_state_is_deferred_through_its_last_polling_day(today, deferred):
    assert is_deferred("WB", today, WB_2021) is deferred


def test_a_state_without_an_election_is_never_deferred():
    assert is_deferred("RJ", date(2021, 4, 1), WB_2021) is False
    assert is_deferred("RJ", date(2021, 4, 1), {}) is False


# --- queue ---------------------------------------------------------------------


def test_queue_order_is_not_deferred_then_oldest_then_id():
    cases = [
        case("d-old", 0, "deferred"),
        case("q-new", 30),
        case("q-old-b", 10),
        case("q-old-a", 10),
        case("d-new", 40, "deferred"),
        case("q-oldest", 5),
    ]
    assert [c.application_id for c in sorted(cases, key=queue_key)] == [
        "q-oldest",
        "q-old-a",
        "q-old-b",
        "q-new",
        "d-old",
        "d-new",
    ]


def test_a_waiting_case_is_queued_or_deferred():
    with pytest.raises(ValueError, match="queued or deferred"):
        case("a", status="scheduled")


# --- interview waves -----------------------------------------------------------


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 12, 1, hour, minute, tzinfo=IST)


def test_a_wave_by_hand():
    cases = [
        case("c5", 50),
        case("c1", 10),
        case("d0", 0, "deferred"),
        case("c2", 20),
        case("c3", 30),
        case("c1", 10),  # listed twice
        case("c4", 40),
        case("c6", 60),
        case("c7", 70),
    ]
    slots = plan_wave(DAY, time(10, 0), time(11, 0), 20, ["asha", "ravi"], cases)
    assert slots == [
        Slot("c1", at(10, 0), "asha"),
        Slot("c2", at(10, 0), "ravi"),
        Slot("c3", at(10, 20), "asha"),
        Slot("c4", at(10, 20), "ravi"),
        Slot("c5", at(10, 40), "asha"),
        Slot("c6", at(10, 40), "ravi"),
    ]
    assert slots[0].interview_at.utcoffset() == timedelta(hours=5, minutes=30)
    assert slots[0].interview_at == datetime(2026, 12, 1, 4, 30, tzinfo=timezone.utc)


def test_a_slot_ending_exactly_at_end_is_kept_and_one_past_it_is_not():
    cases = [case(f"c{i}", i) for i in range(10)]
    assert [s.interview_at for s in plan_wave(DAY, time(9, 0), time(10, 0), 30, ["a"], cases)] == [at(9, 0), at(9, 30)]
    assert [s.interview_at for s in plan_wave(DAY, time(9, 0), time(9, 59), 30, ["a"], cases)] == [at(9, 0)]


def test_fewer_cases_than_capacity_fill_the_earliest_slots_evenly():
    slots = plan_wave(DAY, time(9, 0), time(17, 0), 30, ["a", "b", "c"], [case("x", 1), case("y", 2)])
    assert slots == [Slot("x", at(9, 0), "a"), Slot("y", at(9, 0), "b")]


def test_only_deferred_cases_give_an_empty_wave():
    assert plan_wave(DAY, time(9, 0), time(17, 0), 30, ["a"], [case("x", status="deferred")]) == []


def test_an_id_listed_once_as_deferred_is_not_scheduled():
    slots = plan_wave(DAY, time(9, 0), time(17, 0), 30, ["a"], [case("x", 1), case("x", 2, "deferred"), case("y", 3)])
    assert [s.application_id for s in slots] == ["y"]


def test_another_zone_can_be_given():
    (slot,) = plan_wave(DAY, time(9, 0), time(10, 0), 60, ["a"], [case("x")], tz=timezone.utc)
    assert slot.interview_at == datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def test_slots_are_real_minutes_apart_across_a_clock_change():
    london = ZoneInfo("Europe/London")
    # On 2026-03-29 London jumps from 01:00 GMT to 02:00 BST: 00:30-03:00 local is 90 real minutes.
    cases = [case(f"c{i}", i) for i in range(5)]
    slots = plan_wave(date(2026, 3, 29), time(0, 30), time(3, 0), 30, ["a"], cases, tz=london)
    assert [s.interview_at.astimezone(timezone.utc).time() for s in slots] == [time(0, 30), time(1, 0), time(1, 30)]
    assert [s.interview_at.time() for s in slots] == [time(0, 30), time(2, 0), time(2, 30)]


@pytest.mark.parametrize(
    ("start", "end", "slot_minutes", "interviewers", "message"),
    [
        (time(10, 0), time(10, 0), 30, ["a"], "end 10:00:00 must be after start 10:00:00"),
        (time(11, 0), time(10, 0), 30, ["a"], "must be after start"),
        (time(10, 0), time(12, 0), 4, ["a"], "slot_minutes must be an integer 5-240"),
        (time(10, 0), time(12, 0), 241, ["a"], "slot_minutes must be an integer 5-240"),
        (time(10, 0), time(12, 0), 30.0, ["a"], "slot_minutes must be an integer 5-240"),
        (time(10, 0), time(12, 0), 30, [], "at least one interviewer"),
        (time(10, 0), time(12, 0), 30, ["a", " "], "non-empty strings"),
        (time(10, 0), time(12, 0), 30, ["a", "b", "a"], "duplicate interviewer\\(s\\): a"),
        (time(10, 0, tzinfo=timezone.utc), time(12, 0), 30, ["a"], "without a zone"),
        (time(10, 0), time(10, 20), 30, ["a"], "holds no 30-minute slot"),
    ],
)
def test_unusable_waves_are_rejected(start, end, slot_minutes, interviewers, message):
    with pytest.raises(ValueError, match=message):
        plan_wave(DAY, start, end, slot_minutes, interviewers, [case("x")])


def test_validation_reports_every_problem_at_once():
    with pytest.raises(ValueError) as error:
        plan_wave(DAY, time(12, 0), time(10, 0), 1, [], [])
    message = str(error.value)
    assert "after start" in message and "slot_minutes" in message and "interviewer" in message


@st.composite
def waves(draw):
    ids = draw(st.lists(st.text("abcdef", min_size=1, max_size=2), max_size=40))
    cases = [
        WaitingCase(i, "RJ", draw(st.sampled_from(("queued", "queued", "deferred"))),
                    T0 + timedelta(minutes=draw(st.integers(0, 5))))
        for i in ids
    ]
    names = ["asha", "ravi", "meena", "arjun", "zoya"]
    interviewers = draw(st.lists(st.sampled_from(names), min_size=1, max_size=5, unique=True))
    start_minute = draw(st.integers(8 * 60, 16 * 60))
    slot_minutes = draw(st.integers(5, 240))
    length = draw(st.integers(slot_minutes, slot_minutes * 6))
    end_minute = min(start_minute + length, 24 * 60 - 1)
    if end_minute - start_minute < slot_minutes:
        slot_minutes = end_minute - start_minute
    return cases, interviewers, time(*divmod(start_minute, 60)), time(*divmod(end_minute, 60)), slot_minutes


@given(waves())
def test_wave_properties(wave):
    cases, interviewers, start, end, slot_minutes = wave
    slots = plan_wave(DAY, start, end, slot_minutes, interviewers, cases)

    window_start = datetime.combine(DAY, start, tzinfo=IST)
    window_end = datetime.combine(DAY, end, tzinfo=IST)
    n_slots = (window_end - window_start) // timedelta(minutes=slot_minutes)
    deferred = {c.application_id for c in cases if c.status == "deferred"}
    schedulable = {c.application_id for c in cases} - deferred

    ids = [s.application_id for s in slots]
    assert len(ids) == len(set(ids)), "a case is scheduled twice"
    assert not set(ids) & deferred, "a deferred case is scheduled"
    assert len(slots) == min(n_slots * len(interviewers), len(schedulable)), "capacity not used or exceeded"

    loads = Counter(s.interviewer for s in slots)
    assert set(loads) <= set(interviewers)
    if slots:
        assert max(loads.values()) - min(loads[i] for i in interviewers) <= 1, "unbalanced interviewers"
    assert len(set((s.interview_at, s.interviewer) for s in slots)) == len(slots), "an interviewer is double-booked"

    for s in slots:
        assert s.interview_at.tzinfo is not None
        offset = s.interview_at - window_start
        assert offset % timedelta(minutes=slot_minutes) == timedelta(0), "off the slot grid"
        assert window_start <= s.interview_at
        assert s.interview_at + timedelta(minutes=slot_minutes) <= window_end, "slot runs past end"

    # The scheduled cases are the head of the queue, and earlier in the queue never means a later slot.
    first_entry = {}
    for c in sorted(cases, key=queue_key):
        if c.application_id in schedulable:
            first_entry.setdefault(c.application_id, c)
    queue = [c.application_id for c in sorted(first_entry.values(), key=queue_key)]
    assert ids == queue[: len(ids)]
    times = [s.interview_at for s in slots]
    assert times == sorted(times)


# --- waiting status, wave slots and booked interviewers ------------------------


def test_waiting_status_and_its_reason():
    calendar = {"WB": date(2026, 5, 1)}
    assert waiting_status("WB", date(2026, 5, 1), calendar) == ("deferred", "election in WB: polling ends 2026-05-01")
    assert waiting_status("WB", date(2026, 5, 2), calendar) == ("queued", "polling in WB ended 2026-05-01")
    assert waiting_status("RJ", date(2026, 5, 1), calendar) == ("queued", "no election under way in RJ")


def test_wave_slots_are_the_slot_starts_of_plan_wave():
    starts = wave_slots(DAY, time(10, 0), time(11, 45), 30)
    assert starts == [datetime.combine(DAY, time(10, m), tzinfo=IST) for m in (0, 30)] + [
        datetime.combine(DAY, time(11, 0), tzinfo=IST)]
    slots = plan_wave(DAY, time(10, 0), time(11, 45), 30, ["a"], [case(f"c{i}", i) for i in range(5)])
    assert [s.interview_at for s in slots] == starts
    with pytest.raises(ValueError, match="holds no 30-minute slot"):
        wave_slots(DAY, time(10, 0), time(10, 20), 30)
    with pytest.raises(ValueError, match="after start"):
        wave_slots(DAY, time(11, 0), time(10, 0), 30)


def test_a_busy_interviewer_is_skipped_in_the_slots_they_are_taken():
    at = lambda h, m=0: datetime.combine(DAY, time(h, m), tzinfo=IST)  # noqa: E731
    cases = [case(f"c{i}", i) for i in range(6)]
    # asha has an interview at 10:15: it overlaps the 10:00 and 10:30 slots, not the 11:00 one.
    slots = plan_wave(DAY, time(10, 0), time(11, 30), 30, ["asha", "ravi"], cases, busy={"asha": [at(10, 15)]})
    assert slots == [
        Slot("c0", at(10), "ravi"), Slot("c1", at(10, 30), "ravi"),
        Slot("c2", at(11), "asha"), Slot("c3", at(11), "ravi"),
    ]
    # An interview exactly one slot before or after does not overlap.
    free = plan_wave(DAY, time(10, 0), time(11, 0), 30, ["asha"], cases, busy={"asha": [at(9, 30), at(11)]})
    assert [s.interview_at for s in free] == [at(10), at(10, 30)]


@given(waves(), st.lists(st.tuples(st.sampled_from(["asha", "ravi", "meena"]), st.integers(0, 24 * 60)), max_size=12))
def test_a_wave_never_books_anyone_near_an_interview_they_have(wave, booked):
    cases, interviewers, start, end, slot_minutes = wave
    busy: dict[str, list[datetime]] = {}
    for name, minute in booked:
        busy.setdefault(name, []).append(datetime.combine(DAY, time(0), tzinfo=IST) + timedelta(minutes=minute))
    slots = plan_wave(DAY, start, end, slot_minutes, interviewers, cases, busy=busy)
    for s in slots:
        assert all(abs(s.interview_at - t) >= timedelta(minutes=slot_minutes) for t in busy.get(s.interviewer, []))
    ids = [s.application_id for s in slots]
    assert len(ids) == len(set(ids))
    free = plan_wave(DAY, start, end, slot_minutes, interviewers, cases)
    assert [s.application_id for s in free][: len(ids)] == ids, "still the head of the queue, in order"


# --- a case's lifecycle --------------------------------------------------------


def lifecycle_case(status: str, interviewer: str | None = None) -> Case:
    return Case(uuid.UUID(int=1), "RJ", "Jaipur", None, status, interviewer, T0)


@pytest.mark.parametrize(("status", "refusal"), [("selected", CaseDecided), ("rejected", CaseDecided),
                                                 ("no_show", CaseDecided), ("deferred", CaseDeferred)])
def test_only_a_waiting_or_booked_case_is_booked_or_decided(status, refusal):
    with pytest.raises(refusal):
        schedule(lifecycle_case(status), T0, None)
    with pytest.raises(refusal):
        decide(lifecycle_case(status), rubric(5, 5, 5, 5, 5), 60, None)


def test_a_no_show_is_for_a_booked_case_only():
    with pytest.raises(NoShowUnbooked):
        decide(lifecycle_case("queued"), None, 60, None)
    decision = decide(lifecycle_case("scheduled", "asha"), None, 60, None)
    assert (decision.outcome, decision.score, decision.completed.interviewer) == ("no_show", None, "asha")


def test_a_booking_is_an_instant_in_utc():
    event = schedule(lifecycle_case("queued"), datetime(2026, 12, 1, 10, 0, tzinfo=IST), "ravi")
    assert event.interview_at == datetime(2026, 12, 1, 4, 30, tzinfo=timezone.utc)
    assert event.interview_at.utcoffset() == timedelta(0)


def test_an_application_that_came_twice_gets_one_event():
    a, b = uuid.UUID(int=1), uuid.UUID(int=2)
    queued = waiting("RJ", DAY, {})
    cases = [NewCase(a, None, queued), NewCase(b, None, queued), NewCase(a, None, queued)]  # type: ignore[arg-type]
    assert opened_events(cases, {a, b}) == [(a, queued), (b, queued)]
    assert opened_events(cases, {b}) == [(b, queued)]


def test_new_cases_wait_as_the_calendar_says_for_their_own_state():
    calendar = {"WB": DAY + timedelta(days=3)}
    submissions = [(uuid.uuid4(), submission(state).payload()) for state in ("RJ", "WB", "RJ", "WB", "UP")]
    cases = new_cases(submissions, DAY, calendar)
    assert [(case.application_id, case.application) for case in cases] == submissions
    assert [case.queued for case in cases] == [waiting(app.state, DAY, calendar) for _, app in submissions]
    assert [case.queued.status for case in cases] == ["queued", "deferred", "queued", "deferred", "queued"]


def test_a_wave_may_not_be_on_a_past_day_nor_hold_no_slot():
    with pytest.raises(InvalidWave, match=r"2026-11-30 is in the past \(today in India is 2026-12-01\)") as past:
        wave_starts(DAY - timedelta(days=1), time(10), time(11), 30, today=DAY)
    assert past.value.field == "date"
    with pytest.raises(InvalidWave, match="holds no 30-minute slot") as window:
        wave_starts(DAY, time(10), time(10, 20), 30, today=DAY)
    assert window.value.field == "start"
    assert wave_starts(DAY, time(10), time(11), 30, today=DAY) == wave_slots(DAY, time(10), time(11), 30)


def test_released_states_are_those_not_in_an_election():
    released = released_states(date(2021, 4, 29), WB_2021)
    assert "WB" not in released and "RJ" in released
    assert "WB" in released_states(date(2021, 4, 30), WB_2021)
