"""Intake dedupe under concurrency, against the real broker and PostgreSQL: 50 posts of one phone, one application."""

from __future__ import annotations

import asyncio
from collections import Counter

import asyncpg
import pytest

from services.intake.app import create_app
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
