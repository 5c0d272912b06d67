"""Unit tests of the placement use cases on an in-memory store: which events place or remove whom, redelivery
and outdated results, capacity changes, and the placement.changed events that come out."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.placement import domain, usecases
from shared.auth import Staff
from shared.events import (
    ApplicationErased,
    Envelope,
    PlacementChanged,
    ScreeningCompleted,
    new_event,
)
from tests.unit.placement.memory_store import CLOCK_START, MemoryUnitOfWork, Tables

T0 = datetime(2026, 2, 1, 10, 0, tzinfo=timezone.utc)
ADMIN = Staff("admin", None, fingerprint="0123456789ab")


def result(application_id: uuid.UUID, score: int | None, *, outcome: str = "selected", state: str = "RJ",
           district: str = "Jaipur", block: str | None = "Sanganer", minutes: int = 0,
           hours: int = 1) -> Envelope:
    """A screening.completed that occurred `hours` after T0, for an application submitted `minutes` after it."""
    return new_event("screening", application_id, ScreeningCompleted(
        state=state, district=district, block=block, outcome=outcome, score=score,
        submitted_at=T0 + timedelta(minutes=minutes)), occurred_at=T0 + timedelta(hours=hours))


def erasure(application_id: uuid.UUID) -> Envelope:
    return new_event("intake", application_id, ApplicationErased(erased_at=T0))


async def deliver(uow: MemoryUnitOfWork, *envelopes: Envelope) -> None:
    """One consumer batch."""
    await usecases.apply_events(uow, [(envelope, envelope.payload()) for envelope in envelopes])


def seats(uow: MemoryUnitOfWork) -> dict[str, tuple[str, str | None]]:
    return {key: (row.level, row.unit_id) for key, row in uow.tables.candidates.items()}


def moves(uow: MemoryUnitOfWork) -> list[tuple[str, str, str, str]]:
    """(application_id, previous_level, level, reason) of every placement.changed in the outbox."""
    found = []
    for envelope in uow.tables.outbox:
        data = envelope.payload()
        assert isinstance(data, PlacementChanged)
        found.append((str(envelope.application_id), data.previous_level, data.level, data.reason))
    return found


def by_the_rule(uow: MemoryUnitOfWork) -> dict[str, tuple[str, str | None]]:
    """What domain.place_state gives for the stored candidates and capacities."""
    tables = uow.tables
    capacities = domain.Capacities(**tables.levels, overrides=tables.overrides)
    expected = {}
    for state in {row.state for row in tables.candidates.values()}:
        candidates = [domain.Candidate(key, row.score, row.submitted_at, row.district, row.block)
                      for key, row in tables.candidates.items() if row.state == state]
        expected.update({key: (seat.level, seat.unit_id)
                         for key, seat in domain.place_state(state, candidates, capacities).items()})
    return expected


@pytest.fixture
def uow() -> MemoryUnitOfWork:
    # One seat a unit, so that every newcomer moves somebody.
    return MemoryUnitOfWork(Tables(levels={"state": 1, "district": 1, "block": 1}))


def ids(count: int) -> list[uuid.UUID]:
    return sorted(uuid.uuid4() for _ in range(count))


# --- results ---------------------------------------------------------------------------------------------

async def test_a_selection_places_the_candidate_with_one_stamped_event(uow) -> None:
    [a] = ids(1)
    await deliver(uow, result(a, 80))
    assert seats(uow) == {str(a): ("state", "RJ")}
    [event] = uow.tables.outbox
    assert (event.producer, event.event_type, event.application_id) == ("placement", "placement.changed", a)
    assert event.occurred_at > CLOCK_START, "stamped with the store's clock, read after the lock"
    assert event.payload() == PlacementChanged(state="RJ", level="state", unit_id="RJ", previous_level="none",
                                               previous_unit_id=None, score=80, reason="placed")


@pytest.mark.parametrize("outcome, score", [("rejected", 40), ("no_show", None)])
async def test_a_rejected_or_no_show_result_places_nobody_and_removes_nobody(uow, outcome, score) -> None:
    placed, other = ids(2)
    await deliver(uow, result(placed, 80))
    outbox = list(uow.tables.outbox)
    await deliver(uow, result(other, score, outcome=outcome))
    # A later rejection of a placed candidate (only a bug upstream would send one) removes nobody either.
    await deliver(uow, result(placed, score, outcome=outcome, hours=2))
    assert seats(uow) == {str(placed): ("state", "RJ")}
    assert uow.tables.outbox == outbox


async def test_an_erasure_before_the_result_means_never_placed(uow) -> None:
    [a] = ids(1)
    await deliver(uow, erasure(a))
    await deliver(uow, result(a, 90))
    assert seats(uow) == {}
    assert uow.tables.outbox == []


async def test_an_erasure_after_the_result_removes_the_candidate_and_re_places_the_state(uow) -> None:
    a, b = ids(2)
    await deliver(uow, result(a, 90), result(b, 80, minutes=1))
    assert seats(uow) == {str(a): ("state", "RJ"), str(b): ("district", "RJ/Jaipur")}
    uow.tables.outbox.clear()
    await deliver(uow, erasure(a))
    assert seats(uow) == {str(b): ("state", "RJ")}
    assert sorted(moves(uow)) == sorted([(str(a), "state", "none", "removed"),
                                         (str(b), "district", "state", "promoted")])
    removed = next(e.payload() for e in uow.tables.outbox if e.application_id == a)
    assert removed.score == 90, "the removed event carries the score the candidate left with"
    # A replayed result (the same event, or a new one for the application) never places them again.
    uow.tables.outbox.clear()
    await deliver(uow, result(a, 95, hours=3))
    assert str(a) not in seats(uow)
    assert uow.tables.outbox == []


async def test_an_older_result_than_the_stored_one_changes_nothing(uow) -> None:
    a, b = ids(2)
    await deliver(uow, result(b, 85, minutes=1))
    newer = result(a, 80, hours=3)
    older = result(a, 95, hours=2)
    await deliver(uow, newer)
    before, outbox = seats(uow), list(uow.tables.outbox)
    await deliver(uow, older)
    assert seats(uow) == before and uow.tables.outbox == outbox
    assert uow.tables.candidates[str(a)].score == 80


async def test_a_newer_result_wins_whichever_arrives_first(uow) -> None:
    a, b = ids(2)
    await deliver(uow, result(b, 85, minutes=1))
    await deliver(uow, result(a, 80, hours=2))
    assert seats(uow)[str(a)] == ("district", "RJ/Jaipur")
    await deliver(uow, result(a, 95, hours=3))
    assert seats(uow) == {str(a): ("state", "RJ"), str(b): ("district", "RJ/Jaipur")}
    assert uow.tables.candidates[str(a)].score == 95


async def test_a_corrected_result_in_another_state_re_places_both_states(uow) -> None:
    a, b = ids(2)
    await deliver(uow, result(a, 90), result(b, 80, minutes=1))
    uow.tables.outbox.clear()
    await deliver(uow, result(a, 90, state="UP", district="Lucknow", block=None, hours=2))
    assert seats(uow) == {str(a): ("state", "UP"), str(b): ("state", "RJ")}
    assert sorted(moves(uow)) == sorted([(str(a), "state", "state", "placed"),
                                         (str(b), "district", "state", "promoted")])


async def test_a_redelivered_event_changes_nothing(uow) -> None:
    a, b = ids(2)
    first, second = result(a, 90), result(b, 80, minutes=1)
    await deliver(uow, first, second, first)  # twice in one batch
    before, outbox = seats(uow), list(uow.tables.outbox)
    await deliver(uow, second)  # and in a later batch
    gone = erasure(a)
    await deliver(uow, gone)
    after_erasure, outbox_after_erasure = seats(uow), list(uow.tables.outbox)
    await deliver(uow, gone, first)
    assert len(outbox) == 2 and before == {str(a): ("state", "RJ"), str(b): ("district", "RJ/Jaipur")}
    assert seats(uow) == after_erasure and uow.tables.outbox == outbox_after_erasure


async def test_a_batch_that_fails_leaves_nothing_behind(uow) -> None:
    a, b = ids(2)
    broken = result(b, 80, district="Jai/pur")  # a name that cannot form a unit id: the rule raises
    with pytest.raises(ValueError):
        await deliver(uow, result(a, 90), broken)
    assert seats(uow) == {} and uow.tables.outbox == [] and uow.inbox == set()


# --- capacities ---------------------------------------------------------------------------------------------

async def four_in_a_block(uow: MemoryUnitOfWork) -> list[uuid.UUID]:
    cast = ids(4)
    await deliver(uow, *(result(a, 90 - 10 * i, minutes=i) for i, a in enumerate(cast)))
    assert [seats(uow)[str(a)][0] for a in cast] == ["state", "district", "block", "waitlist"]
    uow.tables.outbox.clear()
    return cast


async def test_a_level_capacity_change_re_places_with_one_event_per_moved_candidate(uow) -> None:
    a, b, c, d = await four_in_a_block(uow)
    capacities, changed = await usecases.set_level_capacities(uow, ADMIN, {"state": 2})
    assert (capacities.state, capacities.district, capacities.block) == (2, 1, 1)
    assert seats(uow) == by_the_rule(uow)
    assert sorted(moves(uow)) == sorted([(str(b), "district", "state", "promoted"),
                                         (str(c), "block", "district", "promoted"),
                                         (str(d), "waitlist", "block", "promoted")])
    assert changed == 3 and uow.tables.marked == set()
    # The same capacities again move nobody.
    assert (await usecases.set_level_capacities(uow, ADMIN, {"state": 2}))[1] == 0
    assert len(uow.tables.outbox) == 3


async def test_marked_states_are_re_placed_once_each(uow) -> None:
    await four_in_a_block(uow)
    await deliver(uow, result(uuid.uuid4(), 70, state="UP", district="Lucknow", block=None))
    uow.tables.outbox.clear()
    # As if the replica that changed the capacities died before re-placing: the marks remain.
    uow.tables.levels["district"] = 0
    uow.tables.marked = {"RJ", "UP"}
    assert await usecases.re_place_marked_states(uow) == 2  # RJ: b and c move down a step; UP: nobody
    assert seats(uow) == by_the_rule(uow) and uow.tables.marked == set()
    assert await usecases.re_place_marked_states(uow) == 0
    assert len(uow.tables.outbox) == 2


async def test_a_unit_override_re_places_its_state_and_clearing_it_takes_the_seats_back(uow) -> None:
    a, b, c, d = await four_in_a_block(uow)
    unit, changed = await usecases.set_unit_capacity(uow, ADMIN, "RJ/Jaipur", 2)
    assert (unit, changed) == (domain.Unit("RJ/Jaipur", "district", 2, 2), 2)
    assert sorted(moves(uow)) == sorted([(str(c), "block", "district", "promoted"),
                                         (str(d), "waitlist", "block", "promoted")])
    assert seats(uow) == by_the_rule(uow)
    uow.tables.outbox.clear()
    unit, changed = await usecases.clear_unit_capacity(uow, ADMIN, "RJ/Jaipur")
    assert (unit, changed) == (domain.Unit("RJ/Jaipur", "district", 1, 1), 2)
    assert sorted(moves(uow)) == sorted([(str(c), "district", "block", "displaced"),
                                         (str(d), "block", "waitlist", "displaced")])
    assert seats(uow) == by_the_rule(uow) and uow.tables.overrides == {}


async def test_an_override_of_a_unit_nobody_could_sit_in_is_unknown_and_changes_nothing(uow) -> None:
    await four_in_a_block(uow)
    with pytest.raises(usecases.UnknownUnit):
        await usecases.set_unit_capacity(uow, ADMIN, "RJ/Ajmer", 5)
    with pytest.raises(usecases.UnknownUnit):
        await usecases.clear_unit_capacity(uow, ADMIN, "RJ/Jaipur/Amber")
    assert uow.tables.overrides == {} and uow.tables.outbox == []


async def test_a_cleared_override_on_a_unit_nobody_can_sit_in_still_answers_empty(uow) -> None:
    uow.tables.overrides["RJ/Ajmer"] = 4  # set while a candidate of Ajmer existed, since erased
    unit, changed = await usecases.clear_unit_capacity(uow, ADMIN, "RJ/Ajmer")
    assert (unit, changed) == (domain.Unit("RJ/Ajmer", "district", 1, 0), 0)
    assert await usecases.units(uow, ["RJ"]) == []


# --- reads ------------------------------------------------------------------------------------------------

async def test_reads_show_the_candidate_and_the_units_that_exist(uow) -> None:
    a, b, c, d = await four_in_a_block(uow)
    assert await usecases.placement_of(uow, a) == {"application_id": a, "state": "RJ", "level": "state",
                                                  "unit_id": "RJ", "score": 90}
    assert await usecases.placement_of(uow, uuid.uuid4()) is None
    assert await usecases.units(uow, None) == [domain.Unit("RJ", "state", 1, 1),
                                               domain.Unit("RJ/Jaipur", "district", 1, 1),
                                               domain.Unit("RJ/Jaipur/Sanganer", "block", 1, 1)]
    assert await usecases.units(uow, ["RJ"], "block") == [domain.Unit("RJ/Jaipur/Sanganer", "block", 1, 1)]
    assert await usecases.units(uow, ["UP"]) == []
    assert (await usecases.capacities(uow)).state == 1
