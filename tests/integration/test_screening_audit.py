"""Screening's audit on the real broker and PostgreSQL: one row per staff write in the write's own transaction,
none for a refused write, nothing personal in it, GET /v1/audit (admin) read on with `since`, append-only."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import asyncpg
import pytest

from services.screening import usecases
from services.screening.app import create_app
from services.screening.store import Store
from shared.auth import parse_staff_tokens, token_fingerprint
from shared.events import RUBRIC
from shared.settings import get_settings
from shared.unit_of_work import UnitOfWork
from tests.support import (
    ADMIN,
    ADMIN_TOKEN,
    INTERVIEWER,
    INTERVIEWER_TOKEN,
    RJ_INTERVIEWER,
    RJ_INTERVIEWER_TOKEN,
    bearer,
    running,
    submission,
    submit,
    today,
)

AT = "2026-12-01T10:00:00+05:30"
SCORES = dict.fromkeys(RUBRIC, 8)


@pytest.fixture(scope="module")
async def screening(stack):
    async with running(create_app) as client:
        yield client


async def audit_rows(db) -> list[dict]:
    rows = await db.fetch("SELECT id, actor, action, target, before, after FROM screening.audit ORDER BY at, id")
    return [{**dict(r), **{k: json.loads(r[k]) if r[k] is not None else None for k in ("actor", "before", "after")}}
            for r in rows]


async def whole_trail(screening, limit: int = 500, since: str | None = None) -> list[dict]:
    items = []
    while True:
        response = await screening.get("/v1/audit", headers=ADMIN,
                                       params={"limit": limit, **({"since": since} if since else {})})
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        since = response.json()["next_since"]
        if since is None:
            return items


async def test_every_staff_write_leaves_one_row_saying_who_what_and_how(screening, stack, db) -> None:
    booked, scored, _ = await submit(stack, db, submission("RJ", 1), submission("RJ", 2), submission("RJ", 3))
    assert (await screening.post("/v1/interviews", headers=RJ_INTERVIEWER,
                                 json={"application_id": booked, "interview_at": AT,
                                       "interviewer": "Asha Meena"})).status_code == 201
    assert (await screening.post(f"/v1/interviews/{scored}/result", headers=RJ_INTERVIEWER,
                                 json={"scores": SCORES, "interviewer": "Asha Meena"})).status_code == 200
    day = (today() + timedelta(days=1)).isoformat()
    wave = await screening.post("/v1/interview-waves", headers=INTERVIEWER, json={
        "state": "RJ", "date": day, "start": "10:00", "end": "11:00", "slot_minutes": 30,
        "interviewers": ["Ravi Kumar", "Meena Devi"]})
    assert wave.status_code == 201 and wave.json()["scheduled"] == 1
    ends = (today() + timedelta(days=30)).isoformat()
    assert (await screening.put("/v1/election-calendar/KA", headers=ADMIN,
                                json={"polling_ends": ends})).status_code == 200
    assert (await screening.delete("/v1/election-calendar/KA", headers=ADMIN)).status_code == 204

    rows = await audit_rows(db)
    assert [(r["action"], r["target"]) for r in rows] == [
        ("interview.scheduled", booked), ("interview.result", scored), ("wave.scheduled", "RJ"),
        ("calendar.set", "KA"), ("calendar.cleared", "KA")]
    rj = {"role": "interviewer", "states": ["RJ"], "fingerprint": token_fingerprint(RJ_INTERVIEWER_TOKEN)}
    admin = {"role": "admin", "states": None, "fingerprint": token_fingerprint(ADMIN_TOKEN)}
    assert [r["actor"] for r in rows] == [
        rj, rj, {"role": "interviewer", "states": None, "fingerprint": token_fingerprint(INTERVIEWER_TOKEN)},
        admin, admin]
    assert (rows[0]["before"], rows[0]["after"]) == (
        {"state": "RJ", "status": "queued"},
        {"state": "RJ", "status": "scheduled", "interview_at": "2026-12-01T04:30:00Z"})
    assert (rows[1]["before"], rows[1]["after"]) == (
        {"state": "RJ", "status": "queued"},
        {"state": "RJ", "status": "selected", "score": 80, "rubric": SCORES,
         "threshold": get_settings().selection_threshold})
    assert rows[2]["after"] == {"date": day, "start": "10:00:00", "end": "11:00:00", "slot_minutes": 30,
                                "interviewers": 2, "capacity": 4, "scheduled": 1}
    assert (rows[3]["before"], rows[3]["after"]) == ({"polling_ends": None}, {"polling_ends": ends, "changed": 0})
    assert (rows[4]["before"], rows[4]["after"]) == ({"polling_ends": ends}, {"polling_ends": None, "changed": 0})

    # The API serves the same rows, oldest first.
    trail = await whole_trail(screening)
    assert [(i["id"], i["action"], i["actor"], i["before"], i["after"]) for i in trail] == [
        (r["id"], r["action"], r["actor"], r["before"], r["after"]) for r in rows]
    assert set(trail[0]) == {"id", "at", "actor", "action", "target", "before", "after"}


async def test_the_audit_holds_no_personal_data(screening, stack, db) -> None:
    applicant = submission("RJ", 10)
    application_id, = await submit(stack, db, applicant)
    await screening.post("/v1/interviews", headers=ADMIN, json={"application_id": application_id, "interview_at": AT,
                                                                 "interviewer": "Zoya Khan"})
    await screening.post(f"/v1/interviews/{application_id}/result", headers=ADMIN, json={"outcome": "no_show"})
    text = json.dumps(await audit_rows(db), ensure_ascii=False, default=str)
    assert application_id in text
    for personal in (applicant.data["full_name"], applicant.data["phone"], applicant.data["phone"][3:],
                     applicant.data["email"], "Zoya", "Asha Meena", "Ravi", "Meena Devi",
                     ADMIN_TOKEN, INTERVIEWER_TOKEN, RJ_INTERVIEWER_TOKEN):
        assert personal not in text, personal


async def test_a_refused_write_leaves_no_row(screening, stack, db) -> None:
    decided, punjab = await submit(stack, db, submission("RJ", 20), submission("PB", 20))
    assert (await screening.post(f"/v1/interviews/{decided}/result", headers=ADMIN,
                                 json={"scores": SCORES})).status_code == 200
    count = await db.fetchval("SELECT count(*) FROM screening.audit")
    refused = [
        (409, screening.post(f"/v1/interviews/{decided}/result", headers=ADMIN, json={"scores": SCORES})),
        (409, screening.post("/v1/interviews", headers=ADMIN, json={"application_id": decided, "interview_at": AT})),
        (404, screening.post("/v1/interviews", headers=ADMIN,
                             json={"application_id": str(uuid.uuid4()), "interview_at": AT})),
        (403, screening.post("/v1/interviews", headers=RJ_INTERVIEWER,
                             json={"application_id": punjab, "interview_at": AT})),
        (422, screening.post("/v1/interview-waves", headers=ADMIN, json={
            "state": "RJ", "date": (today() - timedelta(days=1)).isoformat(), "start": "10:00", "end": "11:00",
            "slot_minutes": 30, "interviewers": ["a"]})),
        (403, screening.put("/v1/election-calendar/KA", headers=INTERVIEWER, json={"polling_ends": "2030-01-01"})),
        (422, screening.put("/v1/election-calendar/XX", headers=ADMIN, json={"polling_ends": "2030-01-01"})),
        (401, screening.delete("/v1/election-calendar/KA")),
    ]
    for status, request in refused:
        assert (await request).status_code == status
    assert await db.fetchval("SELECT count(*) FROM screening.audit") == count


async def test_the_row_and_the_write_commit_together(screening, stack, db) -> None:
    application_id, = await submit(stack, db, submission("RJ", 30))

    class AuditFails(Store):
        async def record_audit(self, *args) -> None:
            await self.conn.execute("SELECT 1/0")

    uow = UnitOfWork(screening.app.state.runtime.db(), AuditFails)
    staff = parse_staff_tokens(f"{ADMIN_TOKEN}:admin")[ADMIN_TOKEN]
    events = await db.fetchval("SELECT count(*) FROM screening.outbox")
    with pytest.raises(asyncpg.DivisionByZeroError):
        await usecases.record_result(uow, staff, uuid.UUID(application_id), SCORES, None, threshold=60)
    assert await db.fetchval("SELECT status FROM screening.cases WHERE application_id = $1",
                             uuid.UUID(application_id)) == "queued"
    assert await db.fetchval("SELECT count(*) FROM screening.outbox") == events


async def test_the_audit_is_for_admins_and_refuses_bad_input(screening) -> None:
    assert (await screening.get("/v1/audit")).status_code == 401
    assert (await screening.get("/v1/audit", headers=bearer("nope"))).status_code == 401
    for headers in (INTERVIEWER, RJ_INTERVIEWER):
        assert (await screening.get("/v1/audit", headers=headers)).status_code == 403
    for query, field in (({"since": "2026-01-01T00:00:00"}, "since"), ({"since": "yesterday"}, "since"),
                         ({"limit": 0}, "limit"), ({"limit": 501}, "limit")):
        response = await screening.get("/v1/audit", headers=ADMIN, params=query)
        assert response.status_code == 422, query
        assert [e["field"] for e in response.json()["detail"]] == [field]
    assert (await screening.get("/v1/audit", headers=ADMIN, params={"limit": 500})).status_code == 200


async def test_reading_on_from_next_since_gives_every_row_once_even_at_one_moment(screening, db) -> None:
    # Rows far in the future, three of them at one moment: no page ends inside that moment.
    start = datetime(2100, 1, 1, tzinfo=timezone.utc)
    moments = [start, start + timedelta(seconds=1), *[start + timedelta(seconds=2)] * 3, start + timedelta(seconds=3)]
    actor = '{"role": "admin", "states": null, "fingerprint": "000000000000"}'
    ids = [await db.fetchval("INSERT INTO screening.audit (at, actor, action, target) VALUES ($1, $2, 'test', $3)"
                             " RETURNING id", at, actor, str(n)) for n, at in enumerate(moments)]
    since = (start - timedelta(microseconds=1)).isoformat()
    for limit in (1, 2, 3, 4, 10):
        trail = await whole_trail(screening, limit, since)
        assert [i["id"] for i in trail] == ids, limit
    first = (await screening.get("/v1/audit", headers=ADMIN, params={"since": since, "limit": 3})).json()
    assert [i["id"] for i in first["items"]] == ids[:5], "the moment's three rows come together"
    assert datetime.fromisoformat(first["next_since"]) == moments[4]
    last = (await screening.get("/v1/audit", headers=ADMIN, params={"since": first["next_since"]})).json()
    assert ([i["id"] for i in last["items"]], last["next_since"]) == (ids[5:], None)


@pytest.mark.parametrize("statement", ["UPDATE screening.audit SET action = 'x'", "DELETE FROM screening.audit",
                                       "TRUNCATE screening.audit"])
async def test_the_audit_is_append_only(screening, db, statement: str) -> None:
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await db.execute(statement)
