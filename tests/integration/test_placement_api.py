"""Placement on the real broker and PostgreSQL: results in over Kafka, seats and units out over HTTP,
capacity changes and overrides re-placing states, erasure re-placing, placement.changed on Kafka."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from aiokafka import AIOKafkaConsumer

from services.placement import usecases
from services.placement.app import create_app
from services.placement.store import Store
from shared import db as shared_db
from shared.auth import Staff
from shared.broker import make_producer
from shared.events import (
    PLACEMENT_CHANGED,
    ApplicationErased,
    Envelope,
    ScreeningCompleted,
    new_event,
)
from shared.unit_of_work import UnitOfWork
from tests.support import (
    ADMIN_TOKEN,
    INTERVIEWER_TOKEN,
    RJ_INTERVIEWER_TOKEN,
    eventually,
    running,
)

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
INTERVIEWER = {"Authorization": f"Bearer {INTERVIEWER_TOKEN}"}
RJ_ONLY = {"Authorization": f"Bearer {RJ_INTERVIEWER_TOKEN}"}
T0 = datetime(2026, 2, 1, 10, 0, tzinfo=timezone.utc)

# Module-wide cast: RJ/Jaipur/Sanganer candidates a > b > c > d, two in UP, and two who place nobody.
IDS = {name: str(uuid.uuid4()) for name in ("a", "b", "c", "d", "u1", "u2", "rejected", "no_show")}


@pytest.fixture(scope="module")
async def placement(stack):
    async with running(create_app) as client:
        yield client


@pytest.fixture(scope="module")
async def pool(stack):
    pool = await shared_db.create_pool(stack.database_url, "placement")
    yield pool
    await pool.close()


def completed(name: str, score: int | None, *, state: str = "RJ", district: str = "Jaipur",
              block: str | None = "Sanganer", outcome: str = "selected") -> Envelope:
    return new_event("screening", IDS.get(name, name), ScreeningCompleted(
        state=state, district=district, block=block, outcome=outcome, score=score,
        submitted_at=T0 + timedelta(minutes=len(name))))


def erasure(application_id: str) -> Envelope:
    return new_event("intake", application_id, ApplicationErased(erased_at=datetime.now(timezone.utc)))


async def publish(stack, pool, *envelopes: Envelope) -> None:
    """Publish to Kafka and wait until placement's consumer has applied every one."""
    producer = make_producer(stack.kafka_bootstrap_servers, "placement-test")
    await producer.start()
    try:
        for envelope in envelopes:
            await producer.send_and_wait(envelope.topic, envelope.to_json().encode(), key=envelope.kafka_key().encode())
    finally:
        await producer.stop()
    ids = [e.event_id for e in envelopes]
    await eventually(lambda: pool.fetchval("SELECT count(*) = $2 FROM inbox WHERE event_id = ANY($1)", ids, len(ids)))


async def seat(placement, name: str, headers: dict = ADMIN) -> tuple:
    response = await placement.get(f"/v1/placements/{IDS[name]}", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["application_id"] == IDS[name]
    return body["level"], body["unit_id"]


async def changed_on_kafka(stack, application_id: str, count: int) -> list[dict]:
    """The data of the placement.changed events of one application on the topic, in order."""
    consumer = AIOKafkaConsumer(PLACEMENT_CHANGED, bootstrap_servers=stack.kafka_bootstrap_servers,
                                group_id=f"check-{uuid.uuid4()}", auto_offset_reset="earliest")
    await consumer.start()
    found: list[dict] = []
    try:
        async def enough():
            for records in (await consumer.getmany(timeout_ms=300)).values():
                for record in records:
                    if record.key.decode() == application_id:
                        found.append(json.loads(record.value)["data"])
            return len(found) >= count

        await eventually(enough)
    finally:
        await consumer.stop()
    return found


async def test_capacities_start_at_the_spec_defaults(placement) -> None:
    response = await placement.get("/v1/capacity", headers=INTERVIEWER)
    assert response.json() == {"state": 50, "district": 20, "block": 10, "overrides": {}}


async def test_selected_candidates_are_placed_on_merit(placement, stack, pool) -> None:
    shrunk = await placement.put("/v1/capacity", headers=ADMIN, json={"state": 1, "district": 1, "block": 1})
    assert shrunk.status_code == 200, shrunk.text
    assert shrunk.json() == {"state": 1, "district": 1, "block": 1, "overrides": {}, "changed": 0}
    # Worst first: the later, better candidates displace the earlier ones as they arrive.
    await publish(stack, pool, completed("d", 60), completed("c", 70), completed("b", 80), completed("a", 90),
                  completed("u2", 70, state="UP", district="Lucknow", block=None),
                  completed("u1", 75, state="UP", district="Lucknow", block=None),
                  completed("rejected", 40, outcome="rejected"), completed("no_show", None, outcome="no_show"))
    assert await seat(placement, "a") == ("state", "RJ")
    assert await seat(placement, "b") == ("district", "RJ/Jaipur")
    assert await seat(placement, "c") == ("block", "RJ/Jaipur/Sanganer")
    assert await seat(placement, "d") == ("waitlist", None)
    assert await seat(placement, "u1") == ("state", "UP")
    assert await seat(placement, "u2") == ("district", "UP/Lucknow")
    for name in ("rejected", "no_show"):
        response = await placement.get(f"/v1/placements/{IDS[name]}", headers=ADMIN)
        assert response.status_code == 404
    whole = (await placement.get(f"/v1/placements/{IDS['a']}", headers=ADMIN)).json()
    assert whole == {"application_id": IDS["a"], "state": "RJ", "level": "state", "unit_id": "RJ", "score": 90}

    # d arrived first and was pushed down by each better one: every move is one event, in order.
    moves = await changed_on_kafka(stack, IDS["d"], 4)
    assert [(m["previous_level"], m["level"], m["reason"]) for m in moves] == [
        ("none", "state", "placed"), ("state", "district", "displaced"), ("district", "block", "displaced"),
        ("block", "waitlist", "displaced")]
    assert moves[-1] == {"state": "RJ", "level": "waitlist", "unit_id": None, "previous_level": "block",
                         "previous_unit_id": "RJ/Jaipur/Sanganer", "score": 60, "reason": "displaced"}


async def test_units_list_what_exists_with_seats_taken(placement) -> None:
    response = await placement.get("/v1/units?state=RJ", headers=INTERVIEWER)
    assert response.json() == [
        {"unit_id": "RJ", "level": "state", "capacity": 1, "filled": 1},
        {"unit_id": "RJ/Jaipur", "level": "district", "capacity": 1, "filled": 1},
        {"unit_id": "RJ/Jaipur/Sanganer", "level": "block", "capacity": 1, "filled": 1},
    ]
    districts = await placement.get("/v1/units?state=rj&level=district", headers=INTERVIEWER)
    assert districts.json() == [{"unit_id": "RJ/Jaipur", "level": "district", "capacity": 1, "filled": 1}]
    # A state is named by its code or its English or Hindi name, as everywhere.
    for name in ("Rajasthan", "राजस्थान"):
        named = await placement.get("/v1/units", params={"state": name, "level": "district"}, headers=INTERVIEWER)
        assert named.json() == districts.json(), name
    everywhere = await placement.get("/v1/units?level=state", headers=ADMIN)
    assert [u["unit_id"] for u in everywhere.json()] == ["RJ", "UP"]


async def test_staff_only_and_scoped_interviewers_see_their_states(placement) -> None:
    assert (await placement.get(f"/v1/placements/{IDS['a']}")).status_code == 401
    assert (await placement.get("/v1/units", headers={"Authorization": "Bearer nope"})).status_code == 401
    assert (await placement.get("/v1/capacity")).status_code == 401
    assert await seat(placement, "a", RJ_ONLY) == ("state", "RJ")
    assert (await placement.get(f"/v1/placements/{IDS['u1']}", headers=RJ_ONLY)).status_code == 403
    assert (await placement.get("/v1/units?state=UP", headers=RJ_ONLY)).status_code == 403
    mine = await placement.get("/v1/units", headers=RJ_ONLY)
    assert {u["unit_id"].split("/")[0] for u in mine.json()} == {"RJ"}
    assert (await placement.get(f"/v1/placements/{uuid.uuid4()}", headers=ADMIN)).status_code == 404
    assert (await placement.get("/v1/placements/not-a-uuid", headers=ADMIN)).status_code == 422


async def test_bad_input_is_422_and_changes_are_for_admins(placement) -> None:
    for query, field in (("state=XX", "state"), ("state=RAJ", "state"), ("level=waitlist", "level"),
                         ("level=unit", "level")):
        response = await placement.get(f"/v1/units?{query}", headers=ADMIN)
        assert response.status_code == 422, query
        assert [entry["field"] for entry in response.json()["detail"]] == [field], response.text
    for body in ({}, {"state": None}, {"state": -1}, {"block": "ten"}, {"district": 1.5}, {"overrides": {}},
                 {"state": 10**9}, [1]):
        response = await placement.put("/v1/capacity", headers=ADMIN, json=body)
        assert response.status_code == 422, (body, response.text)
        assert "detail" in response.json()
    assert (await placement.put("/v1/capacity", headers=INTERVIEWER, json={"state": 5})).status_code == 403
    assert (await placement.put("/v1/capacity", json={"state": 5})).status_code == 401
    url = "/v1/units/RJ/Jaipur/capacity"
    assert (await placement.put(url, headers=INTERVIEWER, json={"capacity": 5})).status_code == 403
    assert (await placement.delete(url, headers=RJ_ONLY)).status_code == 403
    for body in ({}, {"capacity": -1}, {"capacity": 2, "extra": 1}, {"capacity": "2x"}):
        assert (await placement.put(url, headers=ADMIN, json=body)).status_code == 422, body
    malformed = await placement.put("/v1/units/RJ//Sanganer/capacity", headers=ADMIN, json={"capacity": 2})
    assert malformed.status_code == 422
    # The one 422 shape (it was a plain string here): one {"field", "message"} entry per bad field.
    [entry] = malformed.json()["detail"]
    assert entry["field"] == "unit_id" and "not a unit id" in entry["message"], malformed.text
    for unknown in ("RJ/Ajmer", "RJ/Jaipur/Amber", "ZZ", "MH"):
        response = await placement.put(f"/v1/units/{unknown}/capacity", headers=ADMIN, json={"capacity": 2})
        assert response.status_code == 404, unknown
        assert (await placement.delete(f"/v1/units/{unknown}/capacity", headers=ADMIN)).status_code == 404
    # Nothing above changed anything.
    assert (await placement.get("/v1/capacity", headers=ADMIN)).json() == {
        "state": 1, "district": 1, "block": 1, "overrides": {}}


async def test_a_capacity_change_re_places_every_state(placement) -> None:
    response = await placement.put("/v1/capacity", headers=ADMIN, json={"state": 2})
    assert response.status_code == 200, response.text
    # RJ: b to the state unit, c to the district, d off the waitlist into the block; UP: u2 up.
    assert response.json() == {"state": 2, "district": 1, "block": 1, "overrides": {}, "changed": 4}
    assert await seat(placement, "b") == ("state", "RJ")
    assert await seat(placement, "c") == ("district", "RJ/Jaipur")
    assert await seat(placement, "d") == ("block", "RJ/Jaipur/Sanganer")
    assert await seat(placement, "u2") == ("state", "UP")
    again = await placement.put("/v1/capacity", headers=ADMIN, json={"state": 2, "district": 1})
    assert again.json()["changed"] == 0


async def test_a_unit_override_gives_one_unit_more_seats_and_clearing_it_takes_them_back(placement, stack) -> None:
    url = "/v1/units/RJ/Jaipur/capacity"
    response = await placement.put(url, headers=ADMIN, json={"capacity": 2})
    assert response.status_code == 200, response.text
    assert response.json() == {"unit_id": "RJ/Jaipur", "level": "district", "capacity": 2, "filled": 2, "changed": 1}
    assert await seat(placement, "d") == ("district", "RJ/Jaipur")
    assert (await placement.get("/v1/capacity", headers=ADMIN)).json()["overrides"] == {"RJ/Jaipur": 2}
    # Unit ids may be sent with their slashes encoded.
    cleared = await placement.delete("/v1/units/RJ%2FJaipur/capacity", headers=ADMIN)
    assert cleared.status_code == 200, cleared.text
    assert cleared.json() == {"unit_id": "RJ/Jaipur", "level": "district", "capacity": 1, "filled": 1, "changed": 1}
    assert await seat(placement, "d") == ("block", "RJ/Jaipur/Sanganer")
    moves = await changed_on_kafka(stack, IDS["d"], 7)
    assert [m["reason"] for m in moves[-3:]] == ["promoted", "promoted", "displaced"]


async def test_erasure_re_places_the_state_and_an_early_erasure_means_never_placed(placement, stack, pool) -> None:
    await publish(stack, pool, erasure(IDS["a"]))
    assert (await placement.get(f"/v1/placements/{IDS['a']}", headers=ADMIN)).status_code == 404
    assert await seat(placement, "c") == ("state", "RJ")
    assert await seat(placement, "d") == ("district", "RJ/Jaipur")
    gone = await changed_on_kafka(stack, IDS["a"], 2)
    assert gone[-1] == {"state": "RJ", "level": "none", "unit_id": None, "previous_level": "state",
                        "previous_unit_id": "RJ", "score": 90, "reason": "removed"}
    # Nothing of the erased candidate is kept but the fact of the erasure.
    assert await pool.fetchval("SELECT count(*) FROM candidates WHERE application_id = $1", uuid.UUID(IDS["a"])) == 0

    early = str(uuid.uuid4())
    await publish(stack, pool, erasure(early))
    await publish(stack, pool, completed(early, 100))
    assert (await placement.get(f"/v1/placements/{early}", headers=ADMIN)).status_code == 404
    assert await seat(placement, "b") == ("state", "RJ")
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE key = $1", early) == 0
    # A replayed erasure and result change nothing.
    before = await pool.fetchval("SELECT count(*) FROM outbox")
    await publish(stack, pool, erasure(IDS["a"]), completed("a", 90))
    assert (await placement.get(f"/v1/placements/{IDS['a']}", headers=ADMIN)).status_code == 404
    assert await pool.fetchval("SELECT count(*) FROM outbox") == before


async def test_a_capacity_change_cut_short_is_finished_by_a_replica(placement, pool, monkeypatch) -> None:
    # As if the replica that took PUT /v1/capacity died after committing the change, before re-placing.
    async def dies(uow) -> int:
        raise RuntimeError("the replica died")

    with monkeypatch.context() as patched:
        patched.setattr(usecases, "re_place_marked_states", dies)
        with pytest.raises(RuntimeError):
            await usecases.set_level_capacities(UnitOfWork(pool, Store), Staff("admin", None), {"district": 0})
    assert await pool.fetchval("SELECT count(*) FROM states_to_re_place") == 2
    async with running(create_app):  # a second replica: it finishes the marked states as it starts
        await eventually(lambda: pool.fetchval("SELECT count(*) = 0 FROM states_to_re_place"))
    assert await seat(placement, "d") == ("block", "RJ/Jaipur/Sanganer")
    assert await seat(placement, "b") == ("state", "RJ")
    units = (await placement.get("/v1/units?state=RJ&level=district", headers=ADMIN)).json()
    assert units == [{"unit_id": "RJ/Jaipur", "level": "district", "capacity": 0, "filled": 0}]
