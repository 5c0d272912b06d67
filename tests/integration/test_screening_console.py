"""The staff console's JSON on the real broker and PostgreSQL: who am I, the queue's reasons, my decided cases,
the contact look-up, /console/config; and an RJ interviewer seeing nothing of UP in any of them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.screening.app import create_app
from shared.auth import token_fingerprint
from shared.events import RUBRIC, RUBRIC_MAX, ApplicationErased, new_event
from shared.settings import get_settings
from tests.support import (
    ADMIN,
    ADMIN_TOKEN,
    INTERVIEWER,
    INTERVIEWER_TOKEN,
    RJ_INTERVIEWER,
    RJ_INTERVIEWER_TOKEN,
    bearer,
    eventually,
    publish,
    running,
    submission,
    submit,
    today,
)

SCORES = dict.fromkeys(RUBRIC, 7)
WRONG = bearer("not-a-token")


@pytest.fixture(scope="module")
async def screening(stack):
    settings = get_settings().model_copy(update={"placement_url": "http://placement.example:8003/",
                                                 "intake_url": "http://intake.example:8001/"})
    async with running(lambda: create_app(settings)) as client:
        yield client


async def decide(screening, headers: dict, application_id: str) -> None:
    response = await screening.post(f"/v1/interviews/{application_id}/result", headers=headers,
                                    json={"scores": SCORES})
    assert response.status_code == 200, response.text


# --- who am I ------------------------------------------------------------------------------------------


async def test_me_is_the_tokens_role_states_and_fingerprint_and_a_wrong_token_is_401(screening) -> None:
    assert (await screening.get("/v1/me", headers=RJ_INTERVIEWER)).json() == {
        "role": "interviewer", "states": ["RJ"], "fingerprint": token_fingerprint(RJ_INTERVIEWER_TOKEN)}
    assert (await screening.get("/v1/me", headers=INTERVIEWER)).json() == {
        "role": "interviewer", "states": None, "fingerprint": token_fingerprint(INTERVIEWER_TOKEN)}
    me = await screening.get("/v1/me", headers=ADMIN)
    assert me.json() == {"role": "admin", "states": None, "fingerprint": token_fingerprint(ADMIN_TOKEN)}
    assert ADMIN_TOKEN not in me.text
    for headers in (WRONG, {}):
        response = await screening.get("/v1/me", headers=headers)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


# --- the queue's reasons -------------------------------------------------------------------------------


async def test_deferred_cases_in_the_queue_say_until_when(screening, stack, db) -> None:
    ends = today() + timedelta(days=5)
    assert (await screening.put("/v1/election-calendar/GA", headers=ADMIN,
                                json={"polling_ends": ends.isoformat()})).status_code == 200
    deferred, = await submit(stack, db, submission("GA"))
    queued, = await submit(stack, db, submission("SK"))
    items = {i["application_id"]: i for i in (await screening.get("/v1/queue", headers=ADMIN)).json()["items"]}
    assert (items[deferred]["status"], items[deferred]["reason"]) == ("deferred", f"polling in GA ends {ends}")
    assert (items[queued]["status"], items[queued]["reason"]) == ("queued", None)
    assert set(items[queued]) == {"application_id", "full_name", "phone", "state", "district", "status",
                                  "submitted_at", "reason"}
    assert (await screening.delete("/v1/election-calendar/GA", headers=ADMIN)).status_code == 204


# --- my decided cases ----------------------------------------------------------------------------------


async def test_decided_cases_are_the_tokens_own_newest_first_in_pages(screening, stack, db) -> None:
    rj = await submit(stack, db, *[submission("RJ", 100 + minute) for minute in range(5)])
    up, = await submit(stack, db, submission("UP", 100))
    for application_id in rj:
        await decide(screening, RJ_INTERVIEWER, application_id)
    await decide(screening, INTERVIEWER, up)

    items, cursor, pages = [], None, 0
    while True:
        response = await screening.get("/v1/cases/decided", headers=RJ_INTERVIEWER,
                                       params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor, pages = response.json()["next_cursor"], pages + 1
        if cursor is None:
            break
    assert pages == 3 and [i["application_id"] for i in items] == rj[::-1], "newest first"
    assert set(items[0]) == {"application_id", "full_name", "state", "district", "outcome", "score", "decided_at"}
    assert (items[0]["full_name"], items[0]["state"], items[0]["outcome"], items[0]["score"]) == (
        "आशा मीणा", "RJ", "selected", 70)
    theirs = (await screening.get("/v1/cases/decided", headers=INTERVIEWER)).json()
    assert [i["application_id"] for i in theirs["items"]] == [up] and theirs["next_cursor"] is None
    assert (await screening.get("/v1/cases/decided", headers=ADMIN)).json()["items"] == []
    stored = await db.fetchval("SELECT decided_by FROM screening.cases WHERE application_id = $1", uuid.UUID(up))
    assert stored == token_fingerprint(INTERVIEWER_TOKEN)


async def test_decided_cases_refuse_bad_input(screening) -> None:
    assert (await screening.get("/v1/cases/decided")).status_code == 401
    assert (await screening.get("/v1/cases/decided", headers=WRONG)).status_code == 401
    for query, field in (({"limit": 0}, "limit"), ({"limit": 201}, "limit"), ({"cursor": "nope"}, "cursor"),
                         ({"cursor": "WzEsMl0"}, "cursor")):
        response = await screening.get("/v1/cases/decided", headers=INTERVIEWER, params=query)
        assert response.status_code == 422, query
        assert [e["field"] for e in response.json()["detail"]] == [field]


# --- the contact look-up -------------------------------------------------------------------------------


async def test_a_look_up_gives_contacts_of_the_callers_states_only(screening, stack, db) -> None:
    rj_case, up_case = submission("RJ", 200), submission("UP", 200)
    rj, up = await submit(stack, db, rj_case, up_case)
    unknown = str(uuid.uuid4())
    everyone = await screening.post("/v1/cases/lookup", headers=ADMIN, json={"application_ids": [up, unknown, rj]})
    assert everyone.status_code == 200, everyone.text
    assert [i["application_id"] for i in everyone.json()["items"]] == [up, rj], "in the order asked"
    assert everyone.json()["items"][1] == {
        "application_id": rj, "full_name": "आशा मीणा", "phone": rj_case.data["phone"], "email": "asha@example.org",
        "state": "RJ", "district": "Jaipur", "block": "Sanganer", "status": "queued"}
    mine = await screening.post("/v1/cases/lookup", headers=RJ_INTERVIEWER, json={"application_ids": [up, rj]})
    assert [i["application_id"] for i in mine.json()["items"]] == [rj], "UP is simply absent for an RJ token"


async def test_an_erased_case_is_absent_from_a_look_up(screening, stack, db) -> None:
    application_id, = await submit(stack, db, submission("RJ", 300))
    await publish(stack.kafka_bootstrap_servers,
                  new_event("intake", application_id, ApplicationErased(erased_at=datetime.now(timezone.utc))))
    await eventually(lambda: db.fetchval("SELECT status = 'erased' FROM screening.cases WHERE application_id = $1",
                                         uuid.UUID(application_id)))
    found = await screening.post("/v1/cases/lookup", headers=ADMIN, json={"application_ids": [application_id]})
    assert found.json() == {"items": []}


@pytest.mark.parametrize("body, field", [
    ({"application_ids": []}, "application_ids"),
    ({"application_ids": [str(uuid.uuid4()) for _ in range(501)]}, "application_ids"),
    ({"application_ids": [str(uuid.uuid4()), "not-a-uuid"]}, "application_ids.1"),
    ({}, "application_ids"),
    ({"application_ids": [str(uuid.uuid4())], "more": 1}, "more"),
])
async def test_a_look_up_refuses_bad_input(screening, body, field) -> None:
    response = await screening.post("/v1/cases/lookup", headers=ADMIN, json=body)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["detail"]]


async def test_a_look_up_takes_500_ids_and_needs_a_staff_token(screening) -> None:
    ids = [str(uuid.uuid4()) for _ in range(500)]
    assert (await screening.post("/v1/cases/lookup", headers=INTERVIEWER, json={"application_ids": ids})).json() == {
        "items": []}
    assert (await screening.post("/v1/cases/lookup", json={"application_ids": ids})).status_code == 401
    assert (await screening.post("/v1/cases/lookup", headers=WRONG, json={"application_ids": ids})).status_code == 401


# --- an RJ interviewer and UP --------------------------------------------------------------------------


async def test_an_rj_interviewer_sees_and_changes_nothing_of_up(screening, stack, db) -> None:
    up, _ = await submit(stack, db, submission("UP", 400), submission("RJ", 400))
    queue = (await screening.get("/v1/queue", headers=RJ_INTERVIEWER, params={"limit": 200})).json()["items"]
    assert queue and {i["state"] for i in queue} == {"RJ"}
    assert (await screening.get("/v1/queue?state=UP", headers=RJ_INTERVIEWER)).status_code == 403
    named = [
        screening.post("/v1/interviews", headers=RJ_INTERVIEWER,
                       json={"application_id": up, "interview_at": "2026-12-01T10:00:00+05:30"}),
        screening.post(f"/v1/interviews/{up}/result", headers=RJ_INTERVIEWER, json={"scores": SCORES}),
        screening.post("/v1/interview-waves", headers=RJ_INTERVIEWER, json={
            "state": "UP", "date": (today() + timedelta(days=1)).isoformat(), "start": "10:00", "end": "11:00",
            "slot_minutes": 30, "interviewers": ["asha"]}),
    ]
    for request in named:
        response = await request
        assert response.status_code == 403, response.text
    decided = (await screening.get("/v1/cases/decided", headers=RJ_INTERVIEWER)).json()["items"]
    assert {i["state"] for i in decided} <= {"RJ"}
    assert await db.fetchval("SELECT status FROM screening.cases WHERE application_id = $1",
                             uuid.UUID(up)) == "queued"


# --- the console's configuration -----------------------------------------------------------------------


async def test_the_console_config_names_placement_intake_the_threshold_and_the_rubric(screening) -> None:
    response = await screening.get("/console/config")
    assert response.status_code == 200
    assert response.json() == {"placement_url": "http://placement.example:8003",
                               "intake_url": "http://intake.example:8001",
                               "selection_threshold": get_settings().selection_threshold,
                               "rubric": list(RUBRIC), "rubric_max": RUBRIC_MAX}
    assert len(response.json()["rubric"]) == 5 and RUBRIC_MAX == 10
