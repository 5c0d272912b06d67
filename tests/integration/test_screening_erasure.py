"""Erasure in screening on the real broker and PostgreSQL: contact details gone, out of queues, no PII kept."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone

import pytest

from services.screening.app import create_app
from shared.events import ApplicationErased, Envelope, new_event
from tests.support import (
    ADMIN,
    events,
    eventually,
    publish,
    running,
    submission,
    submit,
    today,
    whole_queue,
)

AT = "2026-12-01T10:00:00+05:30"
RUBRIC = {"communication": 8, "content_creation": 7, "social_media_reach": 6, "political_awareness": 9,
          "commitment": 8}


@pytest.fixture(scope="module")
async def screening(stack):
    async with running(create_app) as client:
        yield client


def erasure(application_id: str | uuid.UUID) -> Envelope:
    return new_event("intake", application_id, ApplicationErased(erased_at=datetime.now(timezone.utc)))


async def erase(stack, db, *envelopes: Envelope) -> None:
    await publish(stack.kafka_bootstrap_servers, *envelopes)
    ids = list({e.event_id for e in envelopes})
    await eventually(lambda: db.fetchval(
        "SELECT count(*) = $2 FROM screening.inbox WHERE event_id = ANY($1)", ids, len(ids)))


async def case_row(db, application_id: str):
    return await db.fetchrow("SELECT * FROM screening.cases WHERE application_id = $1", uuid.UUID(application_id))


async def test_an_erased_case_loses_its_contact_details_and_leaves_every_queue(screening, stack, db, caplog) -> None:
    # INFO as services run, DEBUG for our own code and FastStream's. (aiokafka's producer logs whole
    # message values at DEBUG: LOG_LEVEL=DEBUG is no setting for production.)
    caplog.set_level(logging.INFO)
    for name in ("services", "shared", "faststream"):
        caplog.set_level(logging.DEBUG, logger=name)
    applications = [submission("PB", minute) for minute in range(4)]
    queued, booked, decided, kept = await submit(stack, db, *applications)
    await screening.post("/v1/interviews", headers=ADMIN, json={"application_id": booked, "interview_at": AT})
    await screening.post(f"/v1/interviews/{decided}/result", headers=ADMIN, json={"scores": RUBRIC})

    first = erasure(queued)
    await erase(stack, db, first, erasure(booked), erasure(decided))
    for application_id in (queued, booked, decided):
        row = await case_row(db, application_id)
        assert (row["full_name"], row["phone"], row["email"], row["status"]) == (None, None, None, "erased")
        assert await db.fetchval("SELECT count(*) FROM screening.erased WHERE application_id = $1",
                                 uuid.UUID(application_id)) == 1
    assert (await case_row(db, kept))["phone"] == applications[3].data["phone"], "only the erased lose their data"
    assert (await case_row(db, decided))["score"] == 76, "the result stays; it names nobody"

    assert [i["application_id"] for i in await whole_queue(screening, ADMIN, "&state=PB")] == [kept]
    for path, body in (("/v1/interviews", {"application_id": queued, "interview_at": AT}),
                       (f"/v1/interviews/{queued}/result", {"scores": RUBRIC}),
                       (f"/v1/interviews/{booked}/result", {"outcome": "no_show"})):
        assert (await screening.post(path, headers=ADMIN, json=body)).status_code == 404
    wave = await screening.post("/v1/interview-waves", headers=ADMIN, json={
        "state": "PB", "date": today().isoformat(), "start": "22:00", "end": "23:50", "slot_minutes": 30,
        "interviewers": ["asha", "ravi"]})
    assert [i["application_id"] for i in wave.json()["interviews"]] == [kept]

    # Redelivered, or erased again: nothing changes and nothing fails.
    await erase(stack, db, first, erasure(queued))
    assert (await case_row(db, queued))["status"] == "erased"
    assert await db.fetchval("SELECT count(*) FROM screening.erased WHERE application_id = $1",
                             uuid.UUID(queued)) == 1

    personal = [value for a in applications for value in (a.data["phone"], a.data["phone"][3:], a.data["email"])]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert not [value for value in personal if value in logged], "personal data in the logs"


async def test_an_erasure_ahead_of_its_submission_keeps_the_case_from_opening(screening, stack, db) -> None:
    application = submission("PB", 9)
    await erase(stack, db, erasure(application.application_id))
    await submit(stack, db, application)
    assert await case_row(db, str(application.application_id)) is None
    assert await events(db, application.application_id) == []


async def test_screening_keeps_no_personal_data_in_its_outbox_or_inbox(screening, stack, db) -> None:
    application = submission("AP")
    [application_id] = await submit(stack, db, application)
    await screening.post("/v1/interviews", headers=ADMIN, json={"application_id": application_id, "interview_at": AT,
                                                                "interviewer": "asha"})
    await screening.post(f"/v1/interviews/{application_id}/result", headers=ADMIN, json={"scores": RUBRIC})
    await erase(stack, db, erasure(application_id))

    # Screening's events carry no name, phone or email, so erasure has nothing to scrub from its outbox.
    payloads = [r["payload"] for r in await db.fetch("SELECT payload FROM screening.outbox")]
    assert len(payloads) >= 3
    for field in ("full_name", "phone", "email"):
        assert not [p for p in payloads if f'"{field}"' in p]
    for value in (application.data["full_name"], application.data["phone"], application.data["email"]):
        assert not [p for p in payloads if value in p]
    columns = {r["column_name"] for r in await db.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'screening' AND table_name = 'inbox'")}
    assert columns == {"consumer", "event_id", "topic", "received_at"}, "the inbox holds ids only"
