"""Screening's consumer use case, given batches, leaves the same cases and queues the same events as one
event at a time."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.screening import store as store_module
from services.screening import usecases
from services.screening.domain import NewCase
from services.screening.store import Store
from shared.events import ApplicationErased, ApplicationSubmitted, ScreeningQueued, new_event
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


async def test_a_new_case_is_stored_field_for_field(pool) -> None:
    """open_cases sends each case as a case_write row (migrations/006) whose fields follow the store's column
    list: a field out of place would put a value in another column, so every field here differs."""
    await pool.execute("TRUNCATE cases, erased, outbox, inbox")
    attributes = [r["attname"] for r in await pool.fetch(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'case_write'::regclass AND attnum > 0 ORDER BY attnum")]
    assert attributes == list(store_module._OPENED_COLUMNS)
    application = ApplicationSubmitted(full_name="सुनीता देवी", phone="+919812345678", email="s@example.in",
                                       state="RJ", district="Jaipur", block="Sanganer", age=30, submitted_at=START)
    deferred = ScreeningQueued(state="RJ", status="deferred", reason="election window")
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with pool.acquire() as conn, conn.transaction():
        opened = await Store(conn).open_cases([NewCase(IDS[0], application, deferred)], [traceparent])
    assert opened == {IDS[0]}
    row = await pool.fetchrow("SELECT " + ", ".join(store_module._OPENED_COLUMNS) + " FROM cases")
    assert tuple(row) == (IDS[0], "RJ", "Jaipur", "Sanganer", "सुनीता देवी", "+919812345678", "s@example.in", START,
                          "deferred", traceparent)
    await pool.execute("TRUNCATE cases")
