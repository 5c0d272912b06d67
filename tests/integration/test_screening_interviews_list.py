"""The list of scheduled interviews (GET /v1/interviews) on the real broker and PostgreSQL: soonest first in keyset
pages, an Indian day, one interviewer, the token's states (an RJ interviewer sees no UP), and its refusals."""

from __future__ import annotations

import uuid

import pytest

from services.screening.app import create_app
from shared.events import RUBRIC
from tests.support import ADMIN, INTERVIEWER, RJ_INTERVIEWER, bearer, every_page, running, submission, submit


@pytest.fixture(scope="module")
async def screening(stack):
    async with running(create_app) as client:
        yield client


async def book(screening, application_id: str, at: str, interviewer: str | None) -> None:
    response = await screening.post("/v1/interviews", headers=ADMIN, json={
        "application_id": application_id, "interview_at": at, "interviewer": interviewer})
    assert response.status_code == 201, response.text


async def interviews(screening, headers: dict, limit: int = 200, **query) -> list[dict]:
    return await every_page(screening, "/v1/interviews", headers, limit, **query)


async def test_scheduled_interviews_soonest_first_then_by_id_in_pages(screening, stack, db) -> None:
    cases = [submission("RJ", minute) for minute in range(5)] + [submission("UP", 5)]
    ids = await submit(stack, db, *cases)
    decided, waiting = await submit(stack, db, submission("RJ", 6), submission("RJ", 7))
    # Three at 10:00 IST (their order is their application_id's), one earlier, two later.
    at = ["2026-12-01T10:00:00+05:30", "2026-12-01T04:30:00Z", "2026-12-01T10:00:00+05:30",
          "2026-12-01T11:15:00+05:30", "2026-12-01T10:00:00+05:30", "2026-12-02T09:00:00+05:30"]
    for application_id, moment in zip(ids, at):
        await book(screening, application_id, moment, "asha")
    await book(screening, decided, "2026-12-01T09:00:00+05:30", "asha")
    decide = await screening.post(f"/v1/interviews/{decided}/result", headers=ADMIN,
                                  json={"scores": dict.fromkeys(RUBRIC, 8)})
    assert decide.status_code == 200, decide.text

    everything = await interviews(screening, ADMIN, limit=2)
    listed = [i for i in everything if i["application_id"] in ids]
    # 04:30Z is 10:00 IST: four at the same moment, ordered by application_id.
    expected = sorted((ids[i] for i in (0, 1, 2, 4)), key=uuid.UUID) + [ids[3], ids[5]]
    assert [i["application_id"] for i in listed] == expected
    assert not {waiting, decided} & {i["application_id"] for i in everything}, (
        "a waiting or decided case has no interview to hold")
    first = next(i for i in listed if i["application_id"] == ids[0])
    assert first == {"application_id": ids[0], "full_name": "आशा मीणा", "phone": cases[0].data["phone"],
                     "state": "RJ", "district": "Jaipur", "interview_at": "2026-12-01T10:00:00+05:30",
                     "interviewer": "asha"}, "times in India's"

    # A re-booking moves the case to its new place.
    await book(screening, ids[5], "2026-11-30T08:00:00+05:30", None)
    moved = [i for i in await interviews(screening, ADMIN, limit=3) if i["application_id"] in ids]
    assert [i["application_id"] for i in moved][0] == ids[5] and moved[0]["interviewer"] is None


async def test_one_indian_day_and_one_interviewer(screening, stack, db) -> None:
    ids = await submit(stack, db, *[submission("RJ", 100 + minute) for minute in range(5)])
    # 10 Jan 2027 in India runs from 9 Jan 18:30 UTC to 10 Jan 18:30 UTC.
    for application_id, (moment, name) in zip(ids, [
            ("2027-01-10T00:00:00+05:30", "meera"), ("2027-01-10T18:29:59Z", "meera"),
            ("2027-01-09T18:29:59Z", "meera"), ("2027-01-11T00:00:00+05:30", "meera"),
            ("2027-01-10T12:00:00+05:30", "ravi")]):
        await book(screening, application_id, moment, name)

    on_the_day = await interviews(screening, INTERVIEWER, day="2027-01-10")
    assert [i["application_id"] for i in on_the_day] == [ids[0], ids[4], ids[1]]
    assert on_the_day[-1]["interview_at"] == "2027-01-10T23:59:59+05:30"
    meera = await interviews(screening, INTERVIEWER, limit=1, day="2027-01-10", interviewer="meera")
    assert [i["application_id"] for i in meera] == [ids[0], ids[1]]
    everyday = await interviews(screening, INTERVIEWER, interviewer="meera")
    assert [i["application_id"] for i in everyday] == [ids[2], ids[0], ids[1], ids[3]]
    assert await interviews(screening, INTERVIEWER, interviewer="Meera") == [], "the name as it was booked"
    assert await interviews(screening, INTERVIEWER, day="2027-01-12") == []
    for day in ("0001-01-02", "9999-12-30"):  # the first and last days with a whole span in UTC
        assert await interviews(screening, INTERVIEWER, day=day) == []


async def test_an_rj_interviewer_sees_no_up_interview(screening, stack, db) -> None:
    rj, up = await submit(stack, db, submission("RJ", 200), submission("UP", 200))
    await book(screening, rj, "2027-02-01T10:00:00+05:30", "asha")
    await book(screening, up, "2027-02-01T09:00:00+05:30", "asha")

    mine = await interviews(screening, RJ_INTERVIEWER, limit=1)
    assert rj in [i["application_id"] for i in mine] and {i["state"] for i in mine} == {"RJ"}
    for state in ("RJ", "rj", "Rajasthan", "राजस्थान"):
        named = await interviews(screening, RJ_INTERVIEWER, state=state, day="2027-02-01")
        assert [i["application_id"] for i in named] == [rj], state
    refused = await screening.get("/v1/interviews", headers=RJ_INTERVIEWER, params={"state": "UP"})
    assert refused.status_code == 403 and refused.json() == {"detail": "your token does not cover UP"}
    everyone = await interviews(screening, INTERVIEWER, day="2027-02-01")
    assert [i["application_id"] for i in everyone] == [up, rj]
    assert [i["application_id"] for i in await interviews(screening, ADMIN, state="UP", day="2027-02-01")] == [up]


async def test_a_staff_token_is_needed(screening) -> None:
    assert (await screening.get("/v1/interviews")).status_code == 401
    wrong = await screening.get("/v1/interviews", headers=bearer("not-a-token"))
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("query, field", [
    ({"day": "2027-1-10"}, "day"), ({"day": "20270110"}, "day"), ({"day": "2027-W02-1"}, "day"),
    ({"day": "2027-02-30"}, "day"), ({"day": "tomorrow"}, "day"), ({"day": ""}, "day"),
    ({"day": "२०२७-०१-१०"}, "day"), ({"day": "2027-01-10T00:00"}, "day"), ({"day": "0001-01-01"}, "day"),
    ({"day": "9999-12-31"}, "day"),
    # A moment the database cannot hold (midnight IST of 0001-01-01 is in year 0 in UTC), as a crafted cursor.
    ({"cursor": "WyIwMDAxLTAxLTAxVDAwOjAwOjAwKzA1OjMwIiwgIjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMCJd"},
     "cursor"),
    ({"state": "Atlantis"}, "state"), ({"limit": 0}, "limit"), ({"limit": 201}, "limit"),
    ({"cursor": "nope"}, "cursor"), ({"cursor": "WzEsMl0"}, "cursor"), ({"interviewer": ""}, "interviewer"),
])
async def test_bad_input_is_a_422_naming_the_field(screening, query: dict, field: str) -> None:
    response = await screening.get("/v1/interviews", headers=INTERVIEWER, params=query)
    assert response.status_code == 422, (query, response.text)
    detail = response.json()["detail"]
    assert [e["field"] for e in detail] == [field] and all(set(e) == {"field", "message"} for e in detail)
