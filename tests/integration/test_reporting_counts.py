"""Reporting's maintained counters equal the truth, whatever order events arrive in and however often.

Random campaigns (hypothesis) are turned into events, shuffled, partly redelivered, and applied the
way the consumer applies them (usecases.apply_events: inbox claim and counters in one transaction) on
the real database, one event or a batch at a time.
Afterwards every counter table must equal (1) a recount from the per-application rows and (2) the
truth computed here from the stories themselves, independently of reporting's code.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.reporting import store as store_module
from services.reporting import usecases
from services.reporting.domain import STAGE_RANK, Projection
from services.reporting.store import Store
from shared.events import (
    ApplicationErased,
    ApplicationSubmitted,
    Envelope,
    InterviewScheduled,
    PlacementChanged,
    ScreeningCompleted,
    ScreeningQueued,
    new_event,
)
from shared.india_time import IST
from shared.unit_of_work import ConcurrentChange, UnitOfWork
from tests.support import PHONE_HASH_KEY, migrated_pool

# 18:00 UTC is 23:30 IST: stories starting here cross Indian midnights that UTC days would not.
START = datetime(2025, 3, 1, 18, 0, tzinfo=timezone.utc)
PLACES = {"RJ": ("Jaipur", "Jodhpur"), "UP": ("Lucknow",), "MH": ("Pune", "Nagpur")}


@dataclass
class Story:
    """One application's life in the natural order of the pipeline."""

    application_id: uuid.UUID
    state: str
    district: str
    submitted_at: datetime
    events: list[Envelope] = field(default_factory=list)
    scheduled: bool = False
    outcome: str | None = None
    completed_at: datetime | None = None
    placements: list[tuple[str, datetime]] = field(default_factory=list)
    queue_statuses: list[str] = field(default_factory=list)
    erased: bool = False

    def final_stage(self) -> tuple[str, str | None]:
        """(stage, level) after the last event, read from the story in its natural order."""
        if self.placements:
            level = self.placements[-1][0]
            return ("placed", level) if level in ("state", "district", "block") else ("waitlisted", None)
        if self.outcome:
            return self.outcome, None
        if self.scheduled:
            return "scheduled", None
        return (self.queue_statuses[-1], None) if self.queue_statuses else ("submitted", None)


@st.composite
def stories(draw) -> Story:
    state = draw(st.sampled_from(sorted(PLACES)))
    district = draw(st.sampled_from(PLACES[state]))
    clock = START + timedelta(minutes=draw(st.integers(0, 3 * 24 * 60)))
    story = Story(uuid.uuid4(), state, district, clock)

    def tick() -> datetime:
        nonlocal clock
        clock += timedelta(minutes=draw(st.integers(1, 20 * 60)))
        return clock

    def add(data, at: datetime) -> None:
        story.events.append(new_event("test", story.application_id, data, occurred_at=at))

    add(ApplicationSubmitted(full_name="Asha Meena", phone="+919829012345", state=state, district=district, age=30,
                             submitted_at=story.submitted_at), story.submitted_at)
    for status in draw(st.lists(st.sampled_from(["queued", "deferred"]), max_size=3)):
        story.queue_statuses.append(status)
        add(ScreeningQueued(state=state, status=status, reason="test"), tick())
    if draw(st.booleans()):
        story.scheduled = True
        add(InterviewScheduled(state=state, interview_at=clock + timedelta(days=1)), tick())
    outcome = draw(st.sampled_from([None, "selected", "rejected", "no_show"]))
    if outcome is not None:
        story.outcome, story.completed_at = outcome, tick()
        add(ScreeningCompleted(state=state, district=district, outcome=outcome,
                               score=None if outcome == "no_show" else 70, submitted_at=story.submitted_at),
            story.completed_at)
    if outcome == "selected":
        previous = "none"
        for level in draw(st.lists(st.sampled_from(["state", "district", "block", "waitlist"]), max_size=3)):
            at = tick()
            story.placements.append((level, at))
            unit = {"state": state, "district": f"{state}/{district}", "block": f"{state}/{district}/B",
                    "waitlist": None}[level]
            add(PlacementChanged(state=state, level=level, unit_id=unit, previous_level=previous, reason="placed"), at)
            previous = level
    if draw(st.booleans()) and draw(st.booleans()):
        story.erased = True
        add(ApplicationErased(erased_at=tick()), clock)
    return story


def truth(campaign: list[Story]) -> dict[str, Counter]:
    """Every counter, from SPEC's definitions applied to the stories."""
    summary, states, districts, days = Counter(), Counter(), Counter(), Counter()
    for s in campaign:
        ever = ["applications"]
        if s.scheduled or s.outcome:
            ever.append("scheduled")
        if s.outcome in ("selected", "rejected"):
            ever.append("interviewed")
        if s.outcome:
            ever.append(s.outcome)
        if s.erased:
            ever.append("erased")
        now = []
        if not s.erased:
            stage, level = s.final_stage()
            bucket = {"scheduled": "awaiting_result"}.get(stage, stage)
            if bucket in ("queued", "deferred", "awaiting_result", "placed", "waitlisted"):
                now.append(bucket)
            if level:
                now.append(f"level_{level}")
        for column in ever + now:
            summary[column] += 1
            if column in ("applications", "interviewed", "selected", "placed"):
                states[s.state, column] += 1
                districts[s.state, s.district, column] += 1
        days[s.submitted_at.astimezone(IST).date(), s.state, "applications"] += 1
        if s.outcome == "selected":
            days[s.completed_at.astimezone(IST).date(), s.state, "selected"] += 1
        seated = [at for level, at in s.placements if level != "waitlist"]
        if seated:
            days[min(seated).astimezone(IST).date(), s.state, "placed"] += 1
    return {"summary": summary, "states": states, "districts": districts, "days": days}


SUMMARY_COLUMNS = ("applications", "erased", "scheduled", "interviewed", "selected", "rejected", "no_show", "queued",
                   "deferred", "awaiting_result", "placed", "waitlisted", "level_state", "level_district",
                   "level_block")


async def maintained(conn) -> dict[str, Counter]:
    row = await conn.fetchrow("SELECT * FROM summary")
    summary = Counter({c: row[c] for c in SUMMARY_COLUMNS if row[c]})
    states, districts, days = Counter(), Counter(), Counter()
    for r in await conn.fetch("SELECT * FROM state_counts"):
        for c in ("applications", "interviewed", "selected", "placed"):
            states[r["state"], c] += r[c]
    for r in await conn.fetch("SELECT * FROM district_counts"):
        for c in ("applications", "interviewed", "selected", "placed"):
            districts[r["state"], r["district"], c] += r[c]
    for r in await conn.fetch("SELECT * FROM daily_counts"):
        for c in ("applications", "selected", "placed"):
            days[r["day"], r["state"], c] += r[c]
    return {"summary": +summary, "states": +states, "districts": +districts, "days": +days}


# A recount from the per-application rows, written from SPEC's definitions and not from reporting's
# code: what the counters must always equal.
RECOUNT = """
SELECT count(*) AS applications,
       count(*) FILTER (WHERE erased) AS erased,
       count(*) FILTER (WHERE ever_scheduled OR outcome IS NOT NULL) AS scheduled,
       count(*) FILTER (WHERE outcome IN ('selected', 'rejected')) AS interviewed,
       count(*) FILTER (WHERE outcome = 'selected') AS selected,
       count(*) FILTER (WHERE outcome = 'rejected') AS rejected,
       count(*) FILTER (WHERE outcome = 'no_show') AS no_show,
       count(*) FILTER (WHERE NOT erased AND stage = 'queued') AS queued,
       count(*) FILTER (WHERE NOT erased AND stage = 'deferred') AS deferred,
       count(*) FILTER (WHERE NOT erased AND stage = 'scheduled') AS awaiting_result,
       count(*) FILTER (WHERE NOT erased AND stage = 'placed') AS placed,
       count(*) FILTER (WHERE NOT erased AND stage = 'waitlisted') AS waitlisted,
       count(*) FILTER (WHERE NOT erased AND stage = 'placed' AND level = 'state') AS level_state,
       count(*) FILTER (WHERE NOT erased AND stage = 'placed' AND level = 'district') AS level_district,
       count(*) FILTER (WHERE NOT erased AND stage = 'placed' AND level = 'block') AS level_block
FROM applications WHERE submitted_at IS NOT NULL
"""
RECOUNT_STATES = """
SELECT state, count(*) AS applications,
       count(*) FILTER (WHERE outcome IN ('selected', 'rejected')) AS interviewed,
       count(*) FILTER (WHERE outcome = 'selected') AS selected,
       count(*) FILTER (WHERE NOT erased AND stage = 'placed') AS placed
FROM applications WHERE submitted_at IS NOT NULL GROUP BY state
"""
RECOUNT_DAYS = """
SELECT day, state, sum(a)::int AS applications, sum(s)::int AS selected, sum(p)::int AS placed FROM (
    SELECT (submitted_at AT TIME ZONE 'Asia/Kolkata')::date AS day, state, 1 AS a, 0 AS s, 0 AS p
      FROM applications WHERE submitted_at IS NOT NULL
    UNION ALL SELECT (selected_at AT TIME ZONE 'Asia/Kolkata')::date, state, 0, 1, 0
      FROM applications WHERE submitted_at IS NOT NULL AND selected_at IS NOT NULL
    UNION ALL SELECT (placed_at AT TIME ZONE 'Asia/Kolkata')::date, state, 0, 0, 1
      FROM applications WHERE submitted_at IS NOT NULL AND placed_at IS NOT NULL
) AS facts GROUP BY day, state
"""


async def recounted(conn) -> dict[str, Counter]:
    row = await conn.fetchrow(RECOUNT)
    states, days = Counter(), Counter()
    for r in await conn.fetch(RECOUNT_STATES):
        for c in ("applications", "interviewed", "selected", "placed"):
            states[r["state"], c] += r[c]
    for r in await conn.fetch(RECOUNT_DAYS):
        for c in ("applications", "selected", "placed"):
            days[r["day"], r["state"], c] += r[c]
    return {"summary": +Counter(dict(row)), "states": +states, "days": +days}


@pytest.fixture(scope="module")
async def pool(stack):
    async with migrated_pool(stack.database_url, "reporting", max_size=4) as pool:
        yield pool


async def deliver(pool, envelope: Envelope, consumer: str = "reporting") -> bool:
    """What shared.broker.Consumer does with one message (a batch of one), minus Kafka."""
    return await deliver_batch(pool, [envelope], consumer) == 1


async def deliver_batch(pool, envelopes: list[Envelope], consumer: str = "reporting") -> int:
    """What shared.broker.Consumer does with a batch, minus Kafka: reporting's use case, in one
    transaction with the batch's inbox rows. Returns how many events were new."""
    return await usecases.apply_events(UnitOfWork(pool, Store), [(e, e.payload()) for e in envelopes],
                                       PHONE_HASH_KEY.encode(), consumer=consumer)


async def reset(pool) -> None:
    await pool.execute("TRUNCATE applications, state_counts, district_counts, daily_counts, inbox")
    await pool.execute("DELETE FROM summary; INSERT INTO summary DEFAULT VALUES")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(campaign=st.lists(stories(), min_size=1, max_size=6), data=st.data())
async def test_counters_equal_truth_in_any_order_with_redelivery(pool, campaign, data) -> None:
    await reset(pool)
    events = [e for story in campaign for e in story.events]
    order = data.draw(st.permutations(events), label="arrival order")
    again = data.draw(st.lists(st.sampled_from(events), max_size=len(events)), label="redelivered")
    stream = list(order)
    for envelope in again:  # a redelivery comes after the first delivery, anywhere later
        first = stream.index(envelope)
        stream.insert(data.draw(st.integers(first + 1, len(stream)), label="at"), envelope)

    # Some runs deliver one event per transaction (as the consumer does after a failed batch), others
    # in batches of any size, the same event twice within one batch included.
    sizes = data.draw(st.lists(st.integers(1, 12), min_size=1, max_size=4), label="batch sizes")
    if sizes == [1]:
        applied = sum([await deliver(pool, envelope) for envelope in stream])
    else:
        applied, start = 0, 0
        while start < len(stream):
            size = sizes[(start // 3) % len(sizes)]
            applied += await deliver_batch(pool, stream[start:start + size])
            start += size
    assert applied == len(events)

    expected = truth(campaign)
    async with pool.acquire() as conn:
        counters = await maintained(conn)
        recount = await recounted(conn)
    assert counters == expected
    assert counters["summary"] == recount["summary"]
    assert counters["states"] == recount["states"]
    assert counters["days"] == recount["days"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(campaign=st.lists(stories(), min_size=1, max_size=5), data=st.data())
async def test_a_replay_past_the_inbox_changes_nothing(pool, campaign, data) -> None:
    """Even without the inbox's help (a new consumer name, so every event is applied again, in
    another order), the counters do not move: each event's effect is idempotent by itself."""
    await reset(pool)
    events = [e for story in campaign for e in story.events]
    for envelope in data.draw(st.permutations(events)):
        await deliver(pool, envelope)
    async with pool.acquire() as conn:
        before, version = await maintained(conn), await conn.fetchval("SELECT version FROM summary")
    for envelope in data.draw(st.permutations(events)):
        assert await deliver(pool, envelope, consumer="reporting-replay")
    async with pool.acquire() as conn:
        assert await maintained(conn) == before == truth(campaign)
        assert await conn.fetchval("SELECT version FROM summary") == version


async def test_no_personal_data_in_reporting_tables(pool) -> None:
    """The tables hold ids, places, stages, times and a keyed hash: no column could hold a name,
    a phone number or an e-mail address, and the hash is not the number."""
    await reset(pool)
    story = Story(uuid.uuid4(), "RJ", "Jaipur", START)
    submitted = new_event("test", story.application_id, ApplicationSubmitted(
        full_name="आशा मीणा", phone="+919829012345", email="asha@example.in", state="RJ", district="Jaipur", age=24,
        submitted_at=START))
    await deliver(pool, submitted)
    columns = {r["column_name"] for r in await pool.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'reporting'"
        " AND table_name <> 'schema_migrations'")}
    assert not columns & {"full_name", "name", "phone", "email", "social", "age"}
    dump = str([dict(r) for r in await pool.fetch("SELECT * FROM applications")])
    assert await pool.fetchval("SELECT phone_hash FROM applications") is not None
    assert "9829012345" not in dump and "asha" not in dump.lower() and "मीणा" not in dump
    await deliver(pool, new_event("test", story.application_id, ApplicationErased(erased_at=START)))
    assert await pool.fetchval("SELECT phone_hash FROM applications") is None


async def test_two_replicas_creating_one_application_never_lose_a_move(pool) -> None:
    """Replicas A and B both hear first of one application: each moves it from a blank projection. A
    creates the row; B's create waits for A's transaction, then fails with ConcurrentChange (its move
    was from a blank that no longer holds), so B's batch is rolled back and tried again on A's row."""
    await reset(pool)
    application_id = uuid.uuid4()
    queued = Projection().moved("RJ", "queued", START)
    submitted = Projection().submitted("RJ", "Jaipur", START)
    async with pool.acquire() as first, pool.acquire() as second:
        async with first.transaction():
            assert await Store(first).lock_projections([application_id]) == {}
            await Store(first).save_projections([(application_id, queued, None)], {}, created={application_id})

            async def second_replica():
                async with second.transaction():
                    assert await Store(second).lock_projections([application_id]) == {}
                    await Store(second).save_projections([(application_id, submitted, None)], {},
                                                         created={application_id})

            waiting = asyncio.create_task(second_replica())
            await asyncio.sleep(0.3)
            assert not waiting.done(), "the second replica's create must wait for the first's transaction"
        with pytest.raises(ConcurrentChange):
            await asyncio.wait_for(waiting, 5)
    async with pool.acquire() as conn, conn.transaction():
        assert await Store(conn).lock_projections([application_id]) == {application_id: queued}


async def test_a_saved_projection_reads_back_field_for_field(pool) -> None:
    """The save sends each projection as a projection_write row (migrations/005) whose fields follow the
    store's column list: a field out of place would put a value in another column. Every field here has a
    value of its own, so any two swapped would show; a second save of a moved projection updates the row."""
    await reset(pool)
    attributes = [r["attname"] for r in await pool.fetch(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'projection_write'::regclass AND attnum > 0"
        " ORDER BY attnum")]
    assert attributes == [*store_module._SAVED_COLUMNS, "new"]
    application_id = uuid.uuid4()
    seated = Projection(state="RJ", district="Jaipur", submitted_at=START, stage="placed",
                        stage_at=START + timedelta(days=3), level="block", unit_id="RJ-JAI-01", ever_scheduled=True,
                        outcome="selected", selected_at=START + timedelta(days=1),
                        placed_at=START + timedelta(days=2), erased=False, purged=False)
    moved = seated.placement("RJ", "waitlist", None, START + timedelta(days=4))
    for projection, created in ((seated, {application_id}), (moved, set())):
        async with pool.acquire() as conn, conn.transaction():
            await Store(conn).save_projections([(application_id, projection, "a" * 64)], {}, created=created)
        async with pool.acquire() as conn, conn.transaction():
            assert await Store(conn).lock_projections([application_id]) == {application_id: projection}
        row = await pool.fetchrow("SELECT stage_rank, phone_hash FROM applications")
        assert (row["stage_rank"], row["phone_hash"]) == (STAGE_RANK[projection.stage], "a" * 64)
