"""Screening's consumer use case, given batches, leaves the same cases and queues the same events as one
event at a time."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.screening import usecases
from services.screening.store import Store
from shared.events import ApplicationErased, ApplicationSubmitted, new_event
from shared.unit_of_work import UnitOfWork
from tests.support import migrated_pool

IDS = [uuid.UUID(int=i + 1) for i in range(4)]
START = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
async def pool(stack):
    async with migrated_pool(stack.database_url, "screening", max_size=2) as pool:
        yield pool


def submitted(i: int):
    return new_event("intake", IDS[i], ApplicationSubmitted(
        full_name=f"Applicant {i}", phone=f"+91981000000{i}", state=("RJ", "PB")[i % 2], district="Jaipur",
        age=30, submitted_at=START + timedelta(minutes=i)))


def erased(i: int):
    return new_event("intake", IDS[i], ApplicationErased(erased_at=START + timedelta(hours=1)))


async def outcome(pool) -> tuple[list, list]:
    cases = [tuple(r) for r in await pool.fetch(
        "SELECT application_id, status, full_name IS NULL, phone IS NULL FROM cases ORDER BY application_id")]
    queued = [(r["key"], r["payload"].split('"data":')[1]) for r in await pool.fetch(
        "SELECT key, payload FROM outbox ORDER BY id")]
    # The inbox too: the same events are applied again, in batches, on the emptied tables.
    await pool.execute("TRUNCATE cases, erased, outbox, inbox")
    return cases, queued


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=st.lists(st.tuples(st.sampled_from(["submit", "erase"]), st.integers(0, 3)), min_size=1, max_size=12),
       size=st.integers(2, 8))
async def test_batches_do_what_one_at_a_time_does(pool, script, size) -> None:
    # A submission can come twice (the same application under a new event id, as a replay would not,
    # but a second publisher might); an erasure can come before its submission.
    events = [(e, e.payload()) for e in (submitted(i) if kind == "submit" else erased(i) for kind, i in script)]
    uow = UnitOfWork(pool, Store)
    for event in events:
        await usecases.apply_events(uow, [event])
    one_at_a_time = await outcome(pool)
    for start in range(0, len(events), size):
        await usecases.apply_events(uow, events[start:start + size])
    assert await outcome(pool) == one_at_a_time
    cases, queued = one_at_a_time
    # Sanity of the reference itself: a case opens only for a submission not preceded by its erasure.
    opened = {i for n, (kind, i) in enumerate(script) if kind == "submit" and ("erase", i) not in script[:n]}
    assert {c[0] for c in cases} == {IDS[i] for i in opened}
    assert len(queued) == len(opened)
