"""Screening's cases and queue on the real broker and PostgreSQL: one case per application, order, pages, scopes."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from aiokafka import AIOKafkaConsumer

from services.screening.app import create_app
from shared.events import SCREENING_QUEUED, new_event
from tests.support import (
    ADMIN,
    INTERVIEWER,
    RJ_INTERVIEWER,
    bearer,
    events,
    eventually,
    running,
    submission,
    submit,
    today,
    whole_queue,
)


@pytest.fixture(scope="module")
async def screening(stack):
    async with running(create_app) as client:
        yield client


async def test_one_case_and_one_event_per_application_whatever_the_deliveries(screening, stack, db) -> None:
    first = submission("RJ")
    resent = new_event("intake", first.application_id, first.payload())  # same application, new event id
    [application_id, *_] = await submit(stack, db, first, first, resent)

    assert await db.fetchval("SELECT count(*) FROM screening.cases WHERE application_id = $1",
                             first.application_id) == 1
    assert await events(db, application_id) == [
        {"state": "RJ", "status": "queued", "reason": "no election under way in RJ"}]

    # The event reaches Kafka, keyed by the application.
    consumer = AIOKafkaConsumer(SCREENING_QUEUED, bootstrap_servers=stack.kafka_bootstrap_servers,
                                group_id=f"check-{uuid.uuid4()}", auto_offset_reset="earliest")
    await consumer.start()
    try:
        async def delivered():
            batch = await consumer.getmany(timeout_ms=500)
            return [m for ms in batch.values() for m in ms if m.key == application_id.encode()]

        [message] = await eventually(delivered)
        assert json.loads(message.value)["data"]["status"] == "queued"
    finally:
        await consumer.stop()


async def test_the_queue_is_not_deferred_first_then_oldest_then_application_id(screening, stack, db) -> None:
    put = await screening.put("/v1/election-calendar/GJ", headers=ADMIN,
                              json={"polling_ends": (today() + timedelta(days=30)).isoformat()})
    assert put.status_code == 200, put.text
    # Ties on submitted_at are broken by application_id; deferred GJ cases are older than every GA one.
    cases = [submission("GA", 5), submission("GA", 1), submission("GA", 3), submission("GA", 3),
             submission("GA", 3), submission("GJ", 0), submission("GJ", 2)]
    ids = await submit(stack, db, *cases)
    expected = sorted(zip(cases, ids), key=lambda c: (c[0].data["state"] == "GJ", c[0].data["submitted_at"], c[1]))

    seen = [i for i in await whole_queue(screening, ADMIN, limit=3) if i["application_id"] in ids]
    assert [i["application_id"] for i in seen] == [application_id for _, application_id in expected]
    assert [i["status"] for i in seen] == ["queued"] * 5 + ["deferred"] * 2
    item = seen[0]
    assert set(item) == {"application_id", "full_name", "phone", "state", "district", "status", "submitted_at",
                         "reason"}
    assert item["full_name"] == "आशा मीणा" and item["phone"].startswith("+919") and item["district"] == "Jaipur"
    polling_ends = (today() + timedelta(days=30)).isoformat()
    assert [i["reason"] for i in seen] == [None] * 5 + [f"polling in GJ ends {polling_ends}"] * 2

    ga = await whole_queue(screening, ADMIN, "&state=GA")
    assert [i["application_id"] for i in ga] == [application_id for _, application_id in expected[:5]]
    assert (await screening.delete("/v1/election-calendar/GJ", headers=ADMIN)).status_code == 204


async def test_pages_follow_the_cursor_to_the_end(screening, stack, db) -> None:
    ids = await submit(stack, db, *[submission("MH", minute) for minute in (4, 2, 6, 1, 3, 5, 0)])
    full = (await screening.get("/v1/queue?state=MH&limit=200", headers=ADMIN)).json()
    assert full["next_cursor"] is None and len(full["items"]) == 7
    assert sorted(i["application_id"] for i in full["items"]) == sorted(ids)

    first = (await screening.get("/v1/queue?state=MH&limit=3", headers=ADMIN)).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    second = (await screening.get(f"/v1/queue?state=MH&limit=3&cursor={first['next_cursor']}", headers=ADMIN)).json()
    # A case of the next page leaves the queue between requests: the pages neither repeat nor skip.
    taken = second["items"][0]["application_id"]
    booked = await screening.post("/v1/interviews", headers=ADMIN,
                                  json={"application_id": taken, "interview_at": "2026-12-01T10:00:00+05:30"})
    assert booked.status_code == 201, booked.text
    third = (await screening.get(f"/v1/queue?state=MH&limit=3&cursor={second['next_cursor']}", headers=ADMIN)).json()
    assert third["next_cursor"] is None
    walked = [i["application_id"] for page in (first, second, third) for i in page["items"]]
    assert walked == [i["application_id"] for i in full["items"]]

    assert taken not in [i["application_id"] for i in await whole_queue(screening, ADMIN, "&state=MH", limit=2)]
    exact = (await screening.get("/v1/queue?state=MH&limit=6", headers=ADMIN)).json()
    assert len(exact["items"]) == 6 and exact["next_cursor"] is None, "no cursor when nothing follows"


@pytest.mark.parametrize("query", ["limit=201", "limit=0", "state=XX", "cursor=bm90LWEtY3Vyc29y",
                                   "cursor=!!", "limit=ten"])
async def test_bad_queue_requests_get_422(screening, query) -> None:
    response = await screening.get(f"/v1/queue?{query}", headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


async def test_a_state_may_be_named(screening, stack, db) -> None:
    [application_id] = await submit(stack, db, submission("UK"))
    items = (await screening.get("/v1/queue?state=Uttarakhand", headers=ADMIN)).json()["items"]
    assert [i["application_id"] for i in items] == [application_id]


async def test_scoped_interviewers_see_and_act_only_in_their_states(screening, stack, db) -> None:
    rj, up = await submit(stack, db, submission("RJ", 1), submission("UP", 1))

    assert (await screening.get("/v1/queue?state=UP", headers=RJ_INTERVIEWER)).status_code == 403
    unscoped = await whole_queue(screening, RJ_INTERVIEWER)
    assert rj in [i["application_id"] for i in unscoped]
    assert {i["state"] for i in unscoped} == {"RJ"}
    assert (await screening.get("/v1/queue?state=rj", headers=RJ_INTERVIEWER)).status_code == 200
    assert up in [i["application_id"] for i in await whole_queue(screening, INTERVIEWER, "&state=UP")]
    assert {"RJ", "UP"} <= {i["state"] for i in await whole_queue(screening, INTERVIEWER)}

    at = "2026-12-01T10:00:00+05:30"
    assert (await screening.post("/v1/interviews", headers=RJ_INTERVIEWER,
                                 json={"application_id": up, "interview_at": at})).status_code == 403
    rubric = {"communication": 8, "content_creation": 7, "social_media_reach": 6, "political_awareness": 9,
              "commitment": 8}
    assert (await screening.post(f"/v1/interviews/{up}/result", headers=RJ_INTERVIEWER,
                                 json={"scores": rubric})).status_code == 403
    wave = {"state": "UP", "date": (today() + timedelta(days=1)).isoformat(), "start": "10:00", "end": "11:00",
            "slot_minutes": 30, "interviewers": ["asha"]}
    assert (await screening.post("/v1/interview-waves", headers=RJ_INTERVIEWER, json=wave)).status_code == 403
    assert await events(db, up, "screening.interview-scheduled") == []
    assert await events(db, up, "screening.completed") == []

    assert (await screening.post("/v1/interviews", headers=RJ_INTERVIEWER,
                                 json={"application_id": rj, "interview_at": at})).status_code == 201
    assert (await screening.post(f"/v1/interviews/{rj}/result", headers=RJ_INTERVIEWER,
                                 json={"scores": rubric})).status_code == 200
    assert (await screening.post(f"/v1/interviews/{up}/result", headers=INTERVIEWER,
                                 json={"scores": rubric})).status_code == 200


async def test_credentials(screening) -> None:
    assert (await screening.get("/v1/queue")).status_code == 401
    assert (await screening.get("/v1/queue", headers=bearer("not-a-token"))).status_code == 401
    assert (await screening.get("/v1/election-calendar", headers=RJ_INTERVIEWER)).status_code == 200
    for method in ("put", "delete"):
        kwargs = {"json": {"polling_ends": "2030-01-01"}} if method == "put" else {}
        response = await getattr(screening, method)("/v1/election-calendar/RJ", headers=INTERVIEWER, **kwargs)
        assert response.status_code == 403, response.text
        assert (await getattr(screening, method)("/v1/election-calendar/RJ", **kwargs)).status_code == 401
