"""Interviews, results and waves on the real broker and PostgreSQL: codes, events, threshold, concurrency."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, time, timedelta

import pytest

from services.screening.app import create_app
from shared.india_time import IST
from tests.support import ADMIN, events, running, submission, submit, today

RUBRIC = {"communication": 8, "content_creation": 7, "social_media_reach": 6, "political_awareness": 9,
          "commitment": 8}
AT = "2026-12-01T10:00:00+05:30"


@pytest.fixture(scope="module")
async def screening(stack):
    async with running(create_app) as client:
        yield client


def rubric(value: int) -> dict[str, int]:
    return dict.fromkeys(RUBRIC, value)


async def status_of(db, application_id: str) -> str:
    return await db.fetchval("SELECT status FROM screening.cases WHERE application_id = $1", uuid.UUID(application_id))


async def test_booking_and_rebooking_an_interview(screening, stack, db) -> None:
    [application_id] = await submit(stack, db, submission("RJ"))
    booked = await screening.post("/v1/interviews", headers=ADMIN,
                                  json={"application_id": application_id, "interview_at": AT, "interviewer": "asha"})
    assert booked.status_code == 201, booked.text
    assert booked.json() == {"application_id": application_id, "status": "scheduled", "interview_at": AT,
                             "interviewer": "asha"}
    again = await screening.post("/v1/interviews", headers=ADMIN,
                                 json={"application_id": application_id, "interview_at": "2026-12-02T11:00:00Z"})
    assert again.status_code == 201, again.text
    assert await events(db, application_id, "screening.interview-scheduled") == [
        {"state": "RJ", "interview_at": "2026-12-01T04:30:00Z", "interviewer": "asha"},
        {"state": "RJ", "interview_at": "2026-12-02T11:00:00Z", "interviewer": None},
    ]
    assert await status_of(db, application_id) == "scheduled"
    queue = (await screening.get("/v1/queue?state=RJ", headers=ADMIN)).json()["items"]
    assert application_id not in [i["application_id"] for i in queue], "a booked case has left the queue"

    unknown = await screening.post("/v1/interviews", headers=ADMIN,
                                   json={"application_id": str(uuid.uuid4()), "interview_at": AT})
    assert unknown.status_code == 404
    naive = await screening.post("/v1/interviews", headers=ADMIN,
                                 json={"application_id": application_id, "interview_at": "2026-12-01T10:00:00"})
    assert naive.status_code == 422

    assert (await screening.post(f"/v1/interviews/{application_id}/result", headers=ADMIN,
                                 json={"scores": RUBRIC})).status_code == 200
    decided = await screening.post("/v1/interviews", headers=ADMIN, json={"application_id": application_id,
                                                                          "interview_at": AT})
    assert decided.status_code == 409, decided.text
    assert len(await events(db, application_id, "screening.interview-scheduled")) == 2


async def test_a_result_scores_the_rubric_against_the_threshold(screening, stack, db) -> None:
    at_threshold, below, walk_in = await submit(stack, db, submission("UP", 1), submission("UP", 2),
                                                submission("UP", 3))
    for application_id in (at_threshold, below):
        assert (await screening.post("/v1/interviews", headers=ADMIN, json={
            "application_id": application_id, "interview_at": AT, "interviewer": "ravi"})).status_code == 201

    selected = await screening.post(f"/v1/interviews/{at_threshold}/result", headers=ADMIN,
                                    json={"scores": rubric(6)})
    assert selected.status_code == 200
    assert selected.json() == {"application_id": at_threshold, "outcome": "selected", "score": 60}
    rejected = await screening.post(f"/v1/interviews/{below}/result", headers=ADMIN,
                                    json={"scores": {**rubric(6), "commitment": 5}, "interviewer": "meena"})
    assert rejected.json() == {"application_id": below, "outcome": "rejected", "score": 58}
    # The interview queue is for calling: a queued case may be interviewed without a booking.
    assert (await screening.post(f"/v1/interviews/{walk_in}/result", headers=ADMIN,
                                 json={"scores": RUBRIC})).json()["score"] == 76

    [completed] = await events(db, at_threshold, "screening.completed")
    assert completed == {"state": "UP", "district": "Jaipur", "block": "Sanganer", "outcome": "selected", "score": 60,
                         "rubric": rubric(6), "interviewer": "ravi",
                         "submitted_at": "2026-01-05T04:31:00Z"}
    assert (await events(db, below, "screening.completed"))[0]["interviewer"] == "meena"
    rubric_stored = await db.fetchval("SELECT rubric FROM screening.cases WHERE application_id = $1",
                                      uuid.UUID(at_threshold))
    assert json.loads(rubric_stored) == rubric(6), "stored as a JSON object, not a JSON string"
    assert [await status_of(db, i) for i in (at_threshold, below, walk_in)] == ["selected", "rejected", "selected"]

    second = await screening.post(f"/v1/interviews/{at_threshold}/result", headers=ADMIN, json={"outcome": "no_show"})
    assert second.status_code == 409
    assert len(await events(db, at_threshold, "screening.completed")) == 1
    unknown = await screening.post(f"/v1/interviews/{uuid.uuid4()}/result", headers=ADMIN, json={"scores": RUBRIC})
    assert unknown.status_code == 404


async def test_a_no_show_needs_a_booking(screening, stack, db) -> None:
    queued, booked = await submit(stack, db, submission("UP", 5), submission("UP", 6))
    early = await screening.post(f"/v1/interviews/{queued}/result", headers=ADMIN, json={"outcome": "no_show"})
    assert early.status_code == 409, early.text
    assert await status_of(db, queued) == "queued"

    await screening.post("/v1/interviews", headers=ADMIN, json={"application_id": booked, "interview_at": AT,
                                                                "interviewer": "zoya"})
    no_show = await screening.post(f"/v1/interviews/{booked}/result", headers=ADMIN, json={"outcome": "no_show"})
    assert no_show.json() == {"application_id": booked, "outcome": "no_show", "score": None}
    [completed] = await events(db, booked, "screening.completed")
    assert (completed["outcome"], completed["score"], completed["rubric"], completed["interviewer"]) == (
        "no_show", None, None, "zoya")


@pytest.mark.parametrize("body", [
    {}, {"scores": RUBRIC, "outcome": "no_show"}, {"outcome": "selected"}, {"scores": {**RUBRIC, "commitment": 11}},
    {"scores": {**RUBRIC, "commitment": "8"}}, {"scores": {**RUBRIC, "commitment": 7.5}},
    {"scores": {k: v for k, v in RUBRIC.items() if k != "commitment"}}, {"scores": {**RUBRIC, "charisma": 9}},
])
async def test_bad_results_get_422(screening, stack, db, body) -> None:
    [application_id] = await submit(stack, db, submission("BR"))
    response = await screening.post(f"/v1/interviews/{application_id}/result", headers=ADMIN, json=body)
    assert response.status_code == 422, response.text
    assert await status_of(db, application_id) == "queued"


async def test_results_sent_at_once_give_one_200_and_the_rest_409(screening, stack, db) -> None:
    ids = await submit(stack, db, *[submission("MP", minute) for minute in range(4)])
    for application_id in ids[2:]:
        await screening.post("/v1/interviews", headers=ADMIN, json={"application_id": application_id,
                                                                    "interview_at": AT})
    for application_id in ids:
        bodies = [{"scores": rubric(9)}, {"scores": rubric(2)}, {"scores": rubric(5)}]
        if application_id in ids[2:]:
            bodies.append({"outcome": "no_show"})
        responses = await asyncio.gather(*[
            screening.post(f"/v1/interviews/{application_id}/result", headers=ADMIN, json=body) for body in bodies])
        assert sorted(r.status_code for r in responses) == [200] + [409] * (len(bodies) - 1)
        [winner] = [r.json() for r in responses if r.status_code == 200]
        [completed] = await events(db, application_id, "screening.completed")
        assert (completed["outcome"], completed["score"]) == (winner["outcome"], winner["score"])
        assert await status_of(db, application_id) == winner["outcome"]


# --- interview waves -----------------------------------------------------------------------------


def wave(state: str, interviewers: list[str], start: str = "10:00", end: str = "11:00", slot_minutes: int = 30,
         days: int = 1) -> dict:
    return {"state": state, "date": (today() + timedelta(days=days)).isoformat(), "start": start, "end": end,
            "slot_minutes": slot_minutes, "interviewers": interviewers}


def ist(day_offset: int, hour: int, minute: int = 0) -> str:
    return datetime.combine(today() + timedelta(days=day_offset), time(hour, minute), tzinfo=IST).isoformat()


async def test_a_wave_books_the_head_of_the_queue_with_interviewers_in_turn(screening, stack, db) -> None:
    ids = await submit(stack, db, *[submission("HR", minute) for minute in (6, 0, 5, 1, 4, 2, 3)])
    oldest = [ids[i] for i in (1, 3, 5, 6, 4, 2, 0)]

    response = await screening.post("/v1/interview-waves", headers=ADMIN, json=wave("HR", ["asha", "ravi"]))
    assert response.status_code == 201, response.text
    assert response.json() == {
        "state": "HR", "date": (today() + timedelta(days=1)).isoformat(), "capacity": 4, "scheduled": 4,
        "interviews": [
            {"application_id": oldest[0], "interview_at": ist(1, 10), "interviewer": "asha"},
            {"application_id": oldest[1], "interview_at": ist(1, 10), "interviewer": "ravi"},
            {"application_id": oldest[2], "interview_at": ist(1, 10, 30), "interviewer": "asha"},
            {"application_id": oldest[3], "interview_at": ist(1, 10, 30), "interviewer": "ravi"},
        ]}
    for application_id, interviewer in zip(oldest[:4], ["asha", "ravi", "asha", "ravi"]):
        [event] = await events(db, application_id, "screening.interview-scheduled")
        assert (event["state"], event["interviewer"]) == ("HR", interviewer)
        assert await status_of(db, application_id) == "scheduled"
    queue = (await screening.get("/v1/queue?state=HR", headers=ADMIN)).json()["items"]
    assert [i["application_id"] for i in queue] == oldest[4:]

    # The same wave again books nobody: asha and ravi are taken in those slots.
    again = await screening.post("/v1/interview-waves", headers=ADMIN, json=wave("HR", ["asha", "ravi"]))
    assert (again.status_code, again.json()["scheduled"]) == (201, 0)
    # meena is free then; asha is free from 11:00 (her 10:30 interview ends at 11:00).
    meena = (await screening.post("/v1/interview-waves", headers=ADMIN, json=wave("HR", ["meena"]))).json()
    assert [i["application_id"] for i in meena["interviews"]] == oldest[4:6]
    asha = (await screening.post("/v1/interview-waves", headers=ADMIN,
                                 json=wave("HR", ["asha"], "10:30", "12:00"))).json()
    assert asha["interviews"] == [{"application_id": oldest[6], "interview_at": ist(1, 11), "interviewer": "asha"}]
    empty = (await screening.post("/v1/interview-waves", headers=ADMIN, json=wave("HR", ["zoya"]))).json()
    assert (empty["capacity"], empty["scheduled"]) == (2, 0)
    assert [len(await events(db, i, "screening.interview-scheduled")) for i in ids] == [1] * 7


async def test_waves_at_once_never_book_a_case_twice(screening, stack, db) -> None:
    ids = await submit(stack, db, *[submission("JH", minute) for minute in range(10)])
    teams = [["a1", "a2"], ["b1", "b2"], ["c1", "c2"]]
    responses = await asyncio.gather(*[
        screening.post("/v1/interview-waves", headers=ADMIN, json=wave("JH", team)) for team in teams])
    assert [r.status_code for r in responses] == [201, 201, 201]
    booked = [i["application_id"] for r in responses for i in r.json()["interviews"]]
    assert sorted(r.json()["scheduled"] for r in responses) == [2, 4, 4]
    assert sorted(booked) == sorted(ids)
    slots = [(i["interviewer"], i["interview_at"]) for r in responses for i in r.json()["interviews"]]
    assert len(set(slots)) == len(slots), "an interviewer is booked twice at once"
    assert [len(await events(db, i, "screening.interview-scheduled")) for i in ids] == [1] * 10


@pytest.mark.parametrize("change, field", [
    ({"days": -1}, "date"), ({"start": "11:00", "end": "10:00"}, "start"),
    ({"start": "10:00", "end": "10:20"}, "start"),
    ({"slot_minutes": 4}, "slot_minutes"), ({"slot_minutes": 241}, "slot_minutes"),
    ({"interviewers": []}, "interviewers"), ({"interviewers": ["asha", "asha"]}, "interviewers"),
    ({"interviewers": [" "]}, "interviewers.0"), ({"state": "XX"}, "state"), ({"start": "10:00+05:30"}, "start"),
])
async def test_bad_waves_get_422(screening, change, field) -> None:
    body = wave("HR", ["asha"])
    if "days" in change:
        body = wave("HR", ["asha"], days=change["days"])
    else:
        body.update(change)
    response = await screening.post("/v1/interview-waves", headers=ADMIN, json=body)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["detail"]]
