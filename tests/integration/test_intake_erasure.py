"""Intake erasure against the real broker and PostgreSQL: who may erase, what is kept, the event, the outbox scrub."""

from __future__ import annotations

import asyncio
import json
import uuid

from aiokafka import AIOKafkaConsumer

from tests.support import INTERVIEWER_TOKEN, admin_headers, eventually, form_key_headers

phones = iter(range(9_300_000_000, 9_400_000_000))


def application() -> dict:
    phone = next(phones)
    return {"full_name": f"Kavita {phone}", "phone": f"+91 {phone}", "email": f"k{phone}@example.com",
            "state": "MP", "district": "Bhopal", "block": "Huzur", "age": 27, "skills": ["translation"],
            "social": {"instagram": f"@kavita{phone}"}, "consent": True, "source": "camp-3"}


async def submitted(intake, intake_db, body: dict | None = None) -> tuple[str, dict]:
    body = body or application()
    response = await intake.post("/v1/applications", json=body, headers=form_key_headers())
    assert response.status_code == 201, response.text
    application_id = response.json()["application_id"]

    async def published():
        return await intake_db.fetchval(
            "SELECT NOT EXISTS (SELECT FROM outbox_pending p WHERE p.id = o.id) FROM outbox o WHERE key = $1",
            application_id)

    await eventually(published)
    return application_id, body


async def erase(intake, application_id: str, **kwargs):
    return await intake.request("DELETE", f"/v1/applications/{application_id}", **kwargs)


def personal_values(body: dict) -> list[str]:
    digits = body["phone"].replace("+91 ", "")
    return [body["full_name"], digits, body["email"], body["social"]["instagram"]]


async def test_an_admin_erases_personal_data_and_intake_publishes_it(stack, intake, intake_db) -> None:
    application_id, body = await submitted(intake, intake_db)
    assert (await erase(intake, application_id, headers=admin_headers())).status_code == 204

    got = (await intake.get(f"/v1/applications/{application_id}", headers=admin_headers())).json()
    assert got["erased"] is True and got["erased_at"]
    assert (got["state"], got["district"], got["application_id"]) == ("MP", "Bhopal", application_id)
    for name in ("full_name", "phone", "email", "block", "age", "languages", "skills", "social", "followers",
                 "hours_per_week", "source"):
        assert got[name] is None, name

    row = await intake_db.fetchrow("SELECT * FROM applications WHERE application_id = $1", uuid.UUID(application_id))
    assert len(row["phone_hash"]) == 64 and row["submitted_at"] is not None  # kept: dedupe and counts
    everything = json.dumps([dict(r) for r in await intake_db.fetch("SELECT * FROM applications")]
                            + [dict(r) for r in await intake_db.fetch("SELECT * FROM outbox")], default=str)
    for value in personal_values(body):
        assert value not in everything, value
    [scrubbed] = await intake_db.fetch(
        "SELECT payload FROM outbox WHERE key = $1 AND event_type = 'application.submitted'", application_id)
    data = json.loads(scrubbed["payload"])["data"]
    assert (data["state"], data["district"], data["full_name"], data["phone"]) == ("MP", "Bhopal", "", "")

    consumer = AIOKafkaConsumer("applications.erased", bootstrap_servers=stack.kafka_bootstrap_servers,
                                group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    try:
        async def erased_event():
            batch = await consumer.getmany(timeout_ms=300)
            return [json.loads(r.value) for records in batch.values() for r in records
                    if json.loads(r.value)["application_id"] == application_id]

        [event] = await eventually(erased_event)
    finally:
        await consumer.stop()
    assert event["event_type"] == "application.erased" and event["producer"] == "intake"
    assert set(event["data"]) == {"erased_at", "reason"} and event["data"]["reason"] == "request"


async def test_the_applicant_erases_with_the_phone_in_any_format(intake, intake_db) -> None:
    application_id, body = await submitted(intake, intake_db)
    digits = body["phone"].replace("+91 ", "")
    wrong = await erase(intake, application_id, json={"phone": "9999999999"})
    assert wrong.status_code == 404  # like an unknown id: the endpoint does not confirm ids
    assert (await erase(intake, application_id, json={"phone": "not a phone"})).status_code == 404
    assert await intake_db.fetchval("SELECT erased_at FROM applications WHERE application_id = $1",
                               uuid.UUID(application_id)) is None
    done = await erase(intake, application_id, json={"phone": f"0{digits[:5]}-{digits[5:]}"})
    assert done.status_code == 204
    # the keyed hash outlives erasure, so the applicant can still repeat it
    assert (await erase(intake, application_id, json={"phone": digits})).status_code == 204


async def test_who_may_not_erase(intake, intake_db) -> None:
    application_id, _ = await submitted(intake, intake_db)
    assert (await erase(intake, application_id)).status_code == 401
    assert (await erase(intake, application_id, json={})).status_code == 401
    assert (await erase(intake, application_id, headers={"Authorization": "Bearer nope"})).status_code == 401
    assert (await erase(intake, application_id, headers={"Authorization": f"Bearer {INTERVIEWER_TOKEN}"})
            ).status_code == 403
    assert (await erase(intake, str(uuid.uuid4()), headers=admin_headers())).status_code == 404
    assert (await erase(intake, "not-a-uuid", headers=admin_headers())).status_code == 422
    assert await intake_db.fetchval("SELECT erased_at FROM applications WHERE application_id = $1",
                               uuid.UUID(application_id)) is None


async def test_erasing_again_or_at_once_is_204_with_one_event(intake, intake_db) -> None:
    application_id, _ = await submitted(intake, intake_db)
    statuses = await asyncio.gather(*(erase(intake, application_id, headers=admin_headers()) for _ in range(5)))
    assert [s.status_code for s in statuses] == [204] * 5
    assert (await erase(intake, application_id, headers=admin_headers())).status_code == 204
    assert await intake_db.fetchval("SELECT count(*) FROM outbox WHERE key = $1 AND event_type = 'application.erased'",
                               application_id) == 1


async def test_a_re_application_of_an_erased_phone_is_still_a_duplicate(intake, intake_db) -> None:
    application_id, body = await submitted(intake, intake_db)
    assert (await erase(intake, application_id, headers=admin_headers())).status_code == 204
    again = await intake.post("/v1/applications", json={**body, "full_name": "Someone New"}, headers=form_key_headers())
    assert again.status_code == 200 and again.json() == {"application_id": application_id, "status": "received",
                                                         "duplicate": True}
    assert await intake_db.fetchval("SELECT full_name FROM applications WHERE application_id = $1",
                               uuid.UUID(application_id)) is None
    # its submitted and erased events only
    assert await intake_db.fetchval("SELECT count(*) FROM outbox WHERE key = $1", application_id) == 2


async def test_bulk_imported_and_single_rows_have_their_event_scrubbed_too(intake, intake_db) -> None:
    body = application()
    line = json.dumps(body).encode() + b"\n"
    imported = await intake.post("/v1/applications/bulk", content=line, headers={
        **form_key_headers(), "Content-Type": "application/x-ndjson"})
    assert imported.json()["accepted"] == 1
    bulk_id = str(await intake_db.fetchval("SELECT application_id FROM applications WHERE full_name = $1",
                                           body["full_name"]))
    single_id, single = await submitted(intake, intake_db)
    for application_id in (bulk_id, single_id):
        assert (await erase(intake, application_id, headers=admin_headers())).status_code == 204
    outbox = json.dumps([r["payload"] for r in await intake_db.fetch("SELECT payload FROM outbox")])
    for value in personal_values(body) + personal_values(single):
        assert value not in outbox
    # every application row names its submitted event (migration 003): erasure scrubs that event by its id
    assert await intake_db.fetchval("SELECT count(*) FROM applications WHERE submitted_event_id IS NULL") == 0


async def test_the_applicant_downloads_what_intake_holds_and_a_stranger_gets_nothing(stack, intake, intake_db) -> None:
    application_id, body = await submitted(intake, intake_db)
    digits = body["phone"].replace("+91 ", "")
    export = await intake.post(f"/v1/applications/{application_id}/export", json={"phone": f"0{digits}"})
    assert export.status_code == 200, export.text
    assert export.headers["content-disposition"].startswith("attachment;")
    held = export.json()["application"]
    assert (held["full_name"], held["phone"], held["email"], held["social"], held["source"]) == (
        body["full_name"], f"+91{digits}", body["email"], body["social"], "camp-3")
    assert held == (await intake.get(f"/v1/applications/{application_id}", headers=admin_headers())).json()

    other_phone = await intake.post(f"/v1/applications/{application_id}/export", json={"phone": "9829012345"})
    unknown = await intake.post(f"/v1/applications/{uuid.uuid4()}/export", json={"phone": f"0{digits}"})
    assert other_phone.status_code == unknown.status_code == 404
    assert other_phone.json() == unknown.json(), "a wrong phone and an unknown id answer alike"
    assert (await intake.post(f"/v1/applications/{application_id}/export", json={})).status_code == 422

    assert (await erase(intake, application_id, json={"phone": body["phone"]})).status_code == 204
    after = (await intake.post(f"/v1/applications/{application_id}/export", json={"phone": body["phone"]})).json()
    assert after["application"]["erased"] is True
    assert after["application"]["full_name"] is None and after["application"]["phone"] is None
