"""Placement's unit rosters and audit on the real broker and PostgreSQL: GET /v1/units/{unit_id}/members in merit
order (scoped, 404 for no unit), an audit row per capacity change in its transaction, GET /v1/audit (admin)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.placement.app import create_app
from shared import db as shared_db
from shared.auth import token_fingerprint
from shared.broker import make_producer
from shared.events import Envelope, ScreeningCompleted, new_event
from tests.support import (
    ADMIN,
    ADMIN_TOKEN,
    INTERVIEWER,
    RJ_INTERVIEWER,
    bearer,
    eventually,
    running,
)

T0 = datetime(2026, 2, 1, 10, 0, tzinfo=timezone.utc)
# RJ/Jaipur/Sanganer: a > b = c (c submitted later) > d; UP/Lucknow: u.
IDS = {name: str(uuid.uuid4()) for name in ("a", "b", "c", "d", "u")}


@pytest.fixture(scope="module")
async def placement(stack):
    async with running(create_app) as client:
        yield client


@pytest.fixture(scope="module")
async def pool(stack):
    pool = await shared_db.create_pool(stack.database_url, "placement")
    yield pool
    await pool.close()


def completed(name: str, score: int, minutes: int, state: str = "RJ", district: str = "Jaipur",
              block: str | None = "Sanganer") -> Envelope:
    return new_event("screening", IDS[name], ScreeningCompleted(
        state=state, district=district, block=block, outcome="selected", score=score,
        submitted_at=T0 + timedelta(minutes=minutes)))


async def publish(stack, pool, *envelopes: Envelope) -> None:
    producer = make_producer(stack.kafka_bootstrap_servers, "placement-members-test")
    await producer.start()
    try:
        for envelope in envelopes:
            await producer.send_and_wait(envelope.topic, envelope.to_json().encode(), key=envelope.kafka_key().encode())
    finally:
        await producer.stop()
    ids = [e.event_id for e in envelopes]
    await eventually(lambda: pool.fetchval("SELECT count(*) = $2 FROM inbox WHERE event_id = ANY($1)", ids, len(ids)))


async def members(placement, unit_id: str, headers: dict = ADMIN) -> list[tuple[str, int, int]]:
    response = await placement.get(f"/v1/units/{unit_id}/members", headers=headers)
    assert response.status_code == 200, response.text
    return [(next(n for n, i in IDS.items() if i == m["application_id"]), m["score"], m["rank"])
            for m in response.json()]


async def audit_rows(pool) -> list[dict]:
    rows = await pool.fetch("SELECT actor, action, target, before, after FROM audit ORDER BY at, id")
    return [dict(r) for r in rows]


async def test_a_units_members_are_in_merit_order(placement, stack, pool) -> None:
    shrunk = await placement.put("/v1/capacity", headers=ADMIN, json={"state": 1, "district": 1, "block": 5})
    assert shrunk.status_code == 200
    await publish(stack, pool, completed("d", 60, 0), completed("c", 80, 2), completed("b", 80, 1),
                  completed("a", 90, 3), completed("u", 75, 0, state="UP", district="Lucknow", block=None))
    assert await members(placement, "RJ") == [("a", 90, 1)]
    assert await members(placement, "RJ/Jaipur") == [("b", 80, 1)]
    assert await members(placement, "RJ/Jaipur/Sanganer") == [("c", 80, 1), ("d", 60, 2)]
    assert await members(placement, "RJ%2FJaipur%2FSanganer", RJ_INTERVIEWER) == [("c", 80, 1), ("d", 60, 2)]
    assert await members(placement, "UP", INTERVIEWER) == [("u", 75, 1)]
    assert await members(placement, "UP/Lucknow") == [], "a unit someone could sit in, empty"


async def test_members_need_a_staff_token_of_the_units_state_and_a_unit_that_exists(placement) -> None:
    assert (await placement.get("/v1/units/RJ/members")).status_code == 401
    assert (await placement.get("/v1/units/RJ/members", headers=bearer("nope"))).status_code == 401
    for unit_id in ("UP", "UP/Lucknow", "UP/Nowhere"):
        assert (await placement.get(f"/v1/units/{unit_id}/members", headers=RJ_INTERVIEWER)).status_code == 403
    for unit_id in ("RJ/Ajmer", "RJ/Jaipur/Amber", "ZZ", "MH"):
        response = await placement.get(f"/v1/units/{unit_id}/members", headers=ADMIN)
        assert response.status_code == 404, unit_id
    malformed = await placement.get("/v1/units/RJ//Sanganer/members", headers=ADMIN)
    assert malformed.status_code == 422
    assert [e["field"] for e in malformed.json()["detail"]] == ["unit_id"]


async def test_each_capacity_change_leaves_one_audit_row(placement, pool) -> None:
    before = len(await audit_rows(pool))
    assert (await placement.put("/v1/capacity", headers=ADMIN, json={"district": 2})).status_code == 200
    assert (await placement.put("/v1/units/RJ/Jaipur/Sanganer/capacity", headers=ADMIN,
                                json={"capacity": 1})).status_code == 200
    assert (await placement.delete("/v1/units/RJ/Jaipur/Sanganer/capacity", headers=ADMIN)).status_code == 200
    rows = (await audit_rows(pool))[before:]
    assert [(r["action"], r["target"]) for r in rows] == [
        ("capacity.changed", "*"), ("unit-capacity.set", "RJ/Jaipur/Sanganer"),
        ("unit-capacity.cleared", "RJ/Jaipur/Sanganer")]
    assert {json.dumps(r["actor"], sort_keys=True) for r in rows} == {json.dumps(
        {"role": "admin", "states": None, "fingerprint": token_fingerprint(ADMIN_TOKEN)}, sort_keys=True)}
    assert (rows[0]["before"], rows[0]["after"]) == ({"state": 1, "district": 1, "block": 5},
                                                    {"state": 1, "district": 2, "block": 5})
    # With two district seats c moved up: the block holds d alone.
    assert (rows[1]["before"], rows[1]["after"]) == ({"capacity": 5, "override": None},
                                                    {"capacity": 1, "override": 1, "filled": 1, "changed": 0})
    assert (rows[2]["before"], rows[2]["after"]) == ({"capacity": 1, "override": 1},
                                                    {"capacity": 5, "override": None, "filled": 1, "changed": 0})

    trail = (await placement.get("/v1/audit", headers=ADMIN)).json()
    assert [i["action"] for i in trail["items"]][-3:] == [r["action"] for r in rows]
    assert trail["next_since"] is None
    text = json.dumps(await audit_rows(pool), default=str)
    assert ADMIN_TOKEN not in text


async def test_a_refused_capacity_change_leaves_no_row(placement, pool) -> None:
    before = len(await audit_rows(pool))
    refused = [
        (404, placement.put("/v1/units/RJ/Ajmer/capacity", headers=ADMIN, json={"capacity": 2})),
        (404, placement.delete("/v1/units/RJ/Ajmer/capacity", headers=ADMIN)),
        (403, placement.put("/v1/units/RJ/capacity", headers=INTERVIEWER, json={"capacity": 2})),
        (403, placement.put("/v1/capacity", headers=RJ_INTERVIEWER, json={"state": 2})),
        (422, placement.put("/v1/capacity", headers=ADMIN, json={"state": -1})),
        (401, placement.put("/v1/capacity", json={"state": 2})),
    ]
    for status, request in refused:
        assert (await request).status_code == status
    assert len(await audit_rows(pool)) == before


async def test_the_audit_is_for_admins(placement) -> None:
    assert (await placement.get("/v1/audit")).status_code == 401
    assert (await placement.get("/v1/audit", headers=INTERVIEWER)).status_code == 403
    assert (await placement.get("/v1/audit", headers=ADMIN, params={"limit": 501})).status_code == 422
    page = (await placement.get("/v1/audit", headers=ADMIN, params={"limit": 1})).json()
    assert len(page["items"]) == 1 and page["next_since"] == page["items"][0]["at"]
