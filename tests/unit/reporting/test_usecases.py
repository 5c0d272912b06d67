"""Reporting use cases on an in-memory store: idempotent on redelivery, batches count as one-at-a-time does,
erasure keeps history, nothing personal is kept."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.reporting import usecases
from services.reporting.domain import Projection, applicant_phone_hash, tallies
from services.reporting.live_view import LiveView
from shared.events import (
    ApplicationErased,
    ApplicationSubmitted,
    InterviewScheduled,
    PlacementChanged,
    ScreeningCompleted,
    ScreeningQueued,
    new_event,
)
from tests.unit.reporting.memory_store import MemoryUnitOfWork

KEY = b"test-phone-hash-key"
T0 = datetime(2025, 3, 1, 18, 0, tzinfo=timezone.utc)  # 23:30 IST: lives here cross Indian midnights


def life(application_id: uuid.UUID, phone: str, state: str = "RJ", district: str = "Jaipur",
         erased: bool = False) -> list:
    """One application through the pipeline to a district seat, as (envelope, data) events."""
    data = [
        ApplicationSubmitted(full_name="आशा मीणा", phone=phone, email="asha@example.in", state=state,
                             district=district, age=24, submitted_at=T0),
        ScreeningQueued(state=state, status="deferred", reason="election"),
        ScreeningQueued(state=state, status="queued", reason="released"),
        InterviewScheduled(state=state, interview_at=T0 + timedelta(days=2)),
        ScreeningCompleted(state=state, district=district, outcome="selected", score=80, submitted_at=T0),
        PlacementChanged(state=state, level="state", unit_id=state, previous_level="none", reason="placed"),
        PlacementChanged(state=state, level="district", unit_id=f"{state}/{district}", previous_level="state",
                         reason="displaced"),
    ]
    if erased:
        data.append(ApplicationErased(erased_at=T0 + timedelta(hours=len(data))))
    return [(new_event("test", application_id, d, occurred_at=T0 + timedelta(hours=i)), d) for i, d in enumerate(data)]


def campaign_events(size: int) -> list:
    return [event for n in range(size)
            for event in life(uuid.uuid4(), f"+91982901{n:04d}", *[("RJ", "Jaipur"), ("UP", "Lucknow")][n % 2],
                              erased=n % 3 == 2)]


def counts(uow: MemoryUnitOfWork) -> dict:
    return {cell: n for cell, n in uow.store.counters.items() if n}


@settings(max_examples=40, deadline=None)
@given(data=st.data())
async def test_a_batch_gives_the_counts_one_at_a_time_gives(data) -> None:
    events = campaign_events(4)
    order = data.draw(st.permutations(events), label="arrival order")
    one_at_a_time, batched = MemoryUnitOfWork(), MemoryUnitOfWork()
    for event in order:
        await usecases.apply_events(one_at_a_time, [event], KEY)
    start = 0
    while start < len(order):
        size = data.draw(st.integers(1, 12), label="batch size")
        await usecases.apply_events(batched, order[start:start + size], KEY)
        start += size
    assert counts(batched) == counts(one_at_a_time)
    assert batched.store.projections == one_at_a_time.store.projections
    assert batched.store.phone_hashes == one_at_a_time.store.phone_hashes
    # And the counters are what the projections add up to (domain.tallies), whatever the order.
    expected: dict = {}
    for projection in batched.store.projections.values():
        for cell, n in tallies(projection).items():
            expected[cell] = expected.get(cell, 0) + n
    assert counts(batched) == {cell: n for cell, n in expected.items() if n}


@settings(max_examples=30, deadline=None)
@given(data=st.data())
async def test_a_redelivered_event_changes_no_count(data) -> None:
    events = campaign_events(3)
    uow = MemoryUnitOfWork()
    assert await usecases.apply_events(uow, events, KEY) == len(events)
    before, version, projections = counts(uow), uow.store.version, dict(uow.store.projections)
    again = data.draw(st.lists(st.sampled_from(events), min_size=1, max_size=len(events)), label="redelivered")
    assert await usecases.apply_events(uow, again, KEY) == 0
    assert (counts(uow), uow.store.version, uow.store.projections) == (before, version, projections)


async def test_an_event_twice_in_one_batch_is_applied_once() -> None:
    events = life(uuid.uuid4(), "+919829012345")
    once, twice = MemoryUnitOfWork(), MemoryUnitOfWork()
    await usecases.apply_events(once, events, KEY)
    assert await usecases.apply_events(twice, events + events[2:5], KEY) == len(events)
    assert counts(twice) == counts(once)


async def test_a_replay_under_a_new_inbox_name_moves_nothing() -> None:
    events = campaign_events(3)
    uow = MemoryUnitOfWork()
    await usecases.apply_events(uow, events, KEY)
    before, version = counts(uow), uow.store.version
    assert await usecases.apply_events(uow, events[::-1], KEY, consumer="reporting-replay") == len(events)
    assert (counts(uow), uow.store.version) == (before, version)


async def test_erasure_keeps_funnel_counts_but_leaves_current() -> None:
    application_id = uuid.uuid4()
    events = life(application_id, "+919829012345")
    uow = MemoryUnitOfWork()
    await usecases.apply_events(uow, events, KEY)
    placed = counts(uow)
    erasure = new_event("test", application_id, ApplicationErased(erased_at=T0 + timedelta(days=3)))
    await usecases.apply_events(uow, [(erasure, erasure.payload())], KEY)
    erased = counts(uow)
    for column in ("applications", "scheduled", "interviewed", "selected"):
        assert erased["summary", (), column] == placed["summary", (), column] == 1, column
    assert erased["summary", (), "erased"] == 1
    for cell in (("summary", (), "placed"), ("summary", (), "level_district"), ("state", ("RJ",), "placed"),
                 ("district", ("RJ", "Jaipur"), "placed")):
        assert placed[cell] == 1 and cell not in erased, cell
    assert erased["state", ("RJ",), "selected"] == 1
    # The day it was first seated stays in the history.
    assert [cell for cell in erased if cell[0] == "day" and cell[2] == "placed"] == \
        [cell for cell in placed if cell[0] == "day" and cell[2] == "placed"]


async def test_no_personal_data_is_stored_only_the_phone_hash() -> None:
    application_id = uuid.uuid4()
    events = life(application_id, "+919829012345")
    uow = MemoryUnitOfWork()
    await usecases.apply_events(uow, events[:1], KEY)
    assert not set(Projection._fields) & {"full_name", "name", "phone", "email", "social", "age"}
    kept = repr(uow.store.__dict__)
    for personal in ("9829012345", "आशा", "मीणा", "asha", "example.in"):
        assert personal not in kept, personal
    assert uow.store.phone_hashes[application_id] == applicant_phone_hash("+919829012345", KEY)

    status = await usecases.applicant_status(uow, application_id, "0 98290-12345", KEY)
    assert status is not None and status.stage == "submitted" and status.updated_at == T0
    assert await usecases.applicant_status(uow, application_id, "9829012346", KEY) is None
    assert await usecases.applicant_status(uow, application_id, "9829012345", b"another key") is None

    await usecases.apply_events(uow, events[1:], KEY)
    status = await usecases.applicant_status(uow, application_id, "9829012345", KEY)
    assert (status.stage, status.level, status.unit_id) == ("placed", "district", "RJ/Jaipur")

    erasure = new_event("test", application_id, ApplicationErased(erased_at=T0))
    await usecases.apply_events(uow, [(erasure, erasure.payload())], KEY)
    assert uow.store.phone_hashes[application_id] is None
    assert await usecases.applicant_status(uow, application_id, "9829012345", KEY) is None


async def test_without_a_key_no_hash_is_kept_and_no_status_is_shown() -> None:
    application_id = uuid.uuid4()
    uow = MemoryUnitOfWork()
    await usecases.apply_events(uow, life(application_id, "+919829012345")[:1], b"")
    assert uow.store.phone_hashes[application_id] is None
    assert await usecases.applicant_status(uow, application_id, "9829012345", b"") is None


async def test_a_failed_batch_leaves_nothing_behind() -> None:
    """A batch that fails (here: an event whose data is not what its type carries) rolls back with its
    inbox rows, so the consumer's retry, one event at a time, applies every other event."""
    application_id = uuid.uuid4()
    events = life(application_id, "+919829012345")
    uow = MemoryUnitOfWork()
    with pytest.raises(AttributeError):
        envelope = new_event("test", application_id, ScreeningQueued(state="RJ", status="queued", reason="?"))
        await usecases.apply_events(uow, [*events, (envelope, object())], KEY)
    assert (counts(uow), uow.inbox) == ({}, set())
    assert await usecases.apply_events(uow, events, KEY) == len(events)


async def test_the_live_view_shows_a_batch_and_not_a_redelivery() -> None:
    events = campaign_events(2)
    uow, view = MemoryUnitOfWork(), LiveView(target=1000)
    await usecases.refresh_live_view(uow, view)
    assert view.summary["applications"] == 0 and view.ready.is_set()
    await usecases.apply_events(uow, events, KEY)
    await usecases.refresh_live_view(uow, view)
    version = view.version
    assert view.summary["applications"] == 2 and view.summary["current"]["placed"] == 2
    assert [s["state"] for s in view.states] == ["RJ", "UP"]
    await usecases.apply_events(uow, events, KEY)
    await usecases.refresh_live_view(uow, view)
    assert view.version == version and view.summary["applications"] == 2
