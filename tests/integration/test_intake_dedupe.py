"""Intake dedupe under concurrency, against the real broker and PostgreSQL: 50 posts of one phone, one application."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import datetime, timezone

import asyncpg
import pytest

from services.intake.app import create_app
from services.intake.domain.events import submitted_data
from services.intake.domain.validation import validate_application
from services.intake.store import Store
from shared.events import new_event
from shared.settings import get_settings
from tests.support import TEST_API_KEY, TEST_SIMULATOR_KEY, running, topic_envelopes

# One number, written the ways the SPEC accepts.
FORMATS = ["98765 43210", "+919876543210", "919876543210", "09876543210", "98765-43210", "+91 98765-43210"]


@pytest.fixture(scope="module")
async def intake(stack):
    settings = get_settings().model_copy(update={"intake_rate_burst": 10_000})
    async with running(lambda: create_app(settings)) as client:
        yield client



@pytest.mark.parametrize("round_", range(3))
async def test_fifty_concurrent_posts_of_one_phone_make_one_application(stack, intake, round_) -> None:
    digits = f"98765{round_:01d}3210"
    formats = [f.replace("9876543210", digits).replace("98765 43210", f"{digits[:5]} {digits[5:]}")
               .replace("98765-43210", f"{digits[:5]}-{digits[5:]}") for f in FORMATS]

    async def post(n: int):
        body = {"full_name": f"Applicant {n}", "phone": formats[n % len(formats)], "state": "KA",
                "district": "Mysuru", "age": 20 + n % 40, "consent": True}
        key = TEST_API_KEY if n % 2 else TEST_SIMULATOR_KEY
        return await intake.post("/v1/applications", json=body, headers={"X-Api-Key": key})

    responses = await asyncio.gather(*(post(n) for n in range(50)))
    assert Counter(r.status_code for r in responses) == {201: 1, 200: 49}
    ids = {r.json()["application_id"] for r in responses}
    assert len(ids) == 1
    assert sorted(r.json()["duplicate"] for r in responses) == [False] + [True] * 49
    [application_id] = ids

    conn = await asyncpg.connect(stack.database_url, server_settings={"search_path": "intake"})
    try:
        assert await conn.fetchval("SELECT count(*) FROM applications WHERE phone = $1", f"+91{digits}") == 1
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE key = $1", application_id) == 1
    finally:
        await conn.close()
    events = [e for e in await topic_envelopes(stack.kafka_bootstrap_servers, "applications.submitted", settle=1.5)
              if e["data"]["phone"] == f"+91{digits}"]
    assert [e["application_id"] for e in events] == [application_id]  # exactly one event reached Kafka


async def test_an_application_and_its_event_are_written_together_or_not_at_all(stack, intake) -> None:
    """The single-application statement writes both rows or neither: an outbox row that cannot be written
    (its event id is taken) leaves no application row behind, though no transaction was opened."""
    application = validate_application({"full_name": "Kiran Rao", "phone": "9876512345", "state": "KA",
                                        "district": "Mysuru", "age": 30, "consent": True})
    now = datetime.now(timezone.utc)
    first = new_event("intake", uuid.uuid4(), submitted_data(application, "test", now), occurred_at=now)
    same_event_id = first.model_copy(update={"application_id": uuid.uuid4()})
    conn = await asyncpg.connect(stack.database_url, server_settings={"search_path": "intake"})
    try:
        assert await Store(conn).insert_application(first, "hash-of-the-first", None)
        with pytest.raises(asyncpg.UniqueViolationError):
            await Store(conn).insert_application(same_event_id, "hash-of-the-second", None)
        assert await conn.fetchval("SELECT count(*) FROM applications WHERE phone_hash = 'hash-of-the-second'") == 0
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE event_id = $1", first.event_id) == 1
        assert not conn.is_in_transaction()
    finally:
        await conn.close()
