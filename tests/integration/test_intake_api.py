"""Intake's front door against the real broker and PostgreSQL: validation, states, bodies, auth, rate limit, logs."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from urllib.parse import urlencode

import pytest
from aiokafka import AIOKafkaConsumer

from services.intake.app import create_app
from shared.geography import STATES
from shared.settings import get_settings
from tests.support import (
    ADMIN_TOKEN,
    INTERVIEWER_TOKEN,
    TEST_API_KEY,
    TEST_SIMULATOR_KEY,
    admin_headers,
    eventually,
    form_key_headers,
    running,
)

APPLICATION = {
    "full_name": "  आशा   मीणा ", "phone": "098290-12345", "email": "Asha@Example.COM", "state": "Rajasthan",
    "district": " jaipur ", "block": "sanganer", "age": 24, "languages": ["Hindi", "English"],
    "skills": ["content_writing"], "social": {"Twitter": "@asha"}, "followers": 1200, "hours_per_week": 10,
    "consent": True,
}
phones = iter(f"+9196{n:08d}" for n in range(10**8))


def application(**changes) -> dict:
    return {**APPLICATION, "phone": next(phones), **changes}


async def published(servers: str, topic: str, application_id: str, expected: int = 1) -> list[dict]:
    """The envelopes of `application_id` on `topic`, read from the start of the topic."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=servers, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    found: list[dict] = []
    try:
        deadline = asyncio.get_running_loop().time() + 15
        while len(found) < expected and asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                found += [e for e in (json.loads(r.value) for r in records) if e["application_id"] == application_id]
        # a little longer: a second (wrong) event would show up here
        for records in (await consumer.getmany(timeout_ms=500)).values():
            found += [e for e in (json.loads(r.value) for r in records) if e["application_id"] == application_id]
    finally:
        await consumer.stop()
    return found


async def test_an_application_is_normalized_stored_and_published(stack, intake, intake_db) -> None:
    response = await intake.post("/v1/applications", json=APPLICATION, headers=form_key_headers())
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "received" and body["duplicate"] is False
    [event] = await published(stack.kafka_bootstrap_servers, "applications.submitted", body["application_id"])
    assert event["event_type"] == "application.submitted" and event["producer"] == "intake"
    data = event["data"]
    assert (data["full_name"], data["phone"], data["email"], data["state"], data["district"], data["block"]) == (
        "आशा मीणा", "+919829012345", "Asha@example.com", "RJ", "Jaipur", "Sanganer")
    assert data["social"] == {"twitter": "@asha"} and data["source"] == "web-form" and data["age"] == 24
    row = await intake_db.fetchrow("SELECT * FROM applications WHERE application_id = $1",
                                   uuid.UUID(body["application_id"]))
    assert row["phone"] == "+919829012345" and row["state"] == "RJ" and len(row["phone_hash"]) == 64


async def test_the_same_phone_in_another_format_is_a_duplicate_without_an_event(stack, intake, intake_db) -> None:
    first = await intake.post("/v1/applications", json=application(phone="+91 70000 11111"),
                              headers=form_key_headers())
    again = await intake.post("/v1/applications", json=application(phone="0 70000-11111", full_name="Someone Else"),
                              headers={"X-Api-Key": TEST_SIMULATOR_KEY})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {**first.json(), "duplicate": True}
    application_id = uuid.UUID(first.json()["application_id"])
    assert await intake_db.fetchval("SELECT count(*) FROM outbox WHERE key = $1", str(application_id)) == 1
    assert await intake_db.fetchval("SELECT full_name FROM applications WHERE application_id = $1",
                               application_id) == "आशा मीणा"


BAD = {"full_name": "A", "phone": "12345", "email": "not-an-email", "state": "Atlantis", "district": "",
       "block": "x" * 61, "age": 17, "skills": ["juggling"], "hours_per_week": 81, "consent": False}


@pytest.mark.parametrize("lang", ["en", "hi"])
async def test_every_bad_field_gets_one_entry_in_english_or_hindi(intake, lang) -> None:
    headers = {**form_key_headers(), **({"Accept-Language": "hi-IN,hi;q=0.9"} if lang == "hi" else {})}
    response = await intake.post("/v1/applications", json={**BAD, "languages": ["ok", 5]}, headers=headers)
    assert response.status_code == 422
    detail = response.json()["detail"]
    fields = [entry["field"] for entry in detail]
    assert sorted(fields) == sorted([*BAD, "languages"])  # one entry per bad field, no more
    devanagari = [any("\u0900" <= ch <= "\u097f" for ch in entry["message"]) for entry in detail]
    assert all(devanagari) if lang == "hi" else not any(devanagari)
    by_field = {entry["field"]: entry["message"] for entry in detail}
    if lang == "en":
        assert "mobile number" in by_field["phone"] and "between 18 and 80" in by_field["age"]
    else:
        assert "मोबाइल नंबर" in by_field["phone"] and "सहमति" in by_field["consent"]


async def test_missing_fields_and_non_objects_are_422(intake) -> None:
    missing = await intake.post("/v1/applications", json={}, headers=form_key_headers())
    assert missing.status_code == 422
    assert {e["field"] for e in missing.json()["detail"]} == {"full_name", "phone", "state", "district", "age",
                                                             "consent"}
    for body in (b"[1, 2]", b"{not json"):
        response = await intake.post("/v1/applications", content=body,
                                     headers={**form_key_headers(), "Content-Type": "application/json"})
        assert response.status_code == 422 and response.json()["detail"][0]["field"] == "_root"


async def test_every_state_by_code_english_and_hindi_name(intake, intake_db) -> None:
    ids: dict[str, str] = {}
    for code, state in STATES.items():
        for spelling in (code.lower(), state.name_en.upper(), state.name_hi):
            response = await intake.post("/v1/applications", json=application(state=spelling, district="Some Place"),
                                         headers=form_key_headers())
            assert response.status_code == 201, (spelling, response.text)
            ids[response.json()["application_id"]] = code
    assert len(STATES) == 36 and len(ids) == 108
    stored = dict(await intake_db.fetch("SELECT application_id::text, state FROM applications"
                                   " WHERE application_id = ANY($1::uuid[])", list(ids)))
    assert stored == ids


async def test_a_plain_form_post_with_its_api_key_field(stack, intake, intake_db) -> None:
    phone = next(phones)
    body = urlencode([("api_key", TEST_API_KEY), ("full_name", "Ravi Kumar"), ("phone", phone), ("email", ""),
                      ("state", "Uttar Pradesh"), ("district", "Lucknow"), ("block", ""), ("age", "31"),
                      ("languages", "Hindi, Awadhi"), ("skills", "video_editing"), ("skills", "fact_checking"),
                      ("social.twitter", "@ravi"), ("social.instagram", ""), ("followers", ""),
                      ("hours_per_week", "12"), ("consent", "true"), ("source", "web-form")])
    response = await intake.post("/v1/applications", content=body,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 201, response.text
    [event] = await published(stack.kafka_bootstrap_servers, "applications.submitted",
                              response.json()["application_id"])
    data = event["data"]
    assert data["state"] == "UP" and data["email"] is None and data["block"] is None
    assert data["languages"] == ["Hindi", "Awadhi"] and data["skills"] == ["video_editing", "fact_checking"]
    assert data["social"] == {"twitter": "@ravi"} and data["followers"] is None and data["hours_per_week"] == 12
    assert "api_key" not in json.dumps(event) and TEST_API_KEY not in json.dumps(event)


async def test_a_browser_without_javascript_gets_pages_back(intake) -> None:
    browser = {"Content-Type": "application/x-www-form-urlencoded",
               "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    fields = [("api_key", TEST_API_KEY), ("full_name", "Meera Das"), ("state", "Odisha"), ("district", "Puri"),
              ("age", "29"), ("consent", "true"), ("skills", "translation")]
    bad = await intake.post("/v1/applications", content=urlencode([*fields, ("phone", "12345")]), headers=browser)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
    assert 'id="error-phone" class="error"><span lang="hi">' in bad.text and "mobile number" in bad.text
    assert 'value="Meera Das"' in bad.text and 'value="translation" checked' in bad.text  # nothing to retype
    assert '<option value="Odisha" selected>' in bad.text and "__FORM_API_KEY__" not in bad.text
    phone = next(phones)
    good = await intake.post("/v1/applications", content=urlencode([*fields, ("phone", phone)]), headers=browser)
    assert good.status_code == 201 and good.headers["content-type"].startswith("text/html")
    application_id = good.text.split('<code id="application-id">')[1].split("<")[0]
    assert uuid.UUID(application_id) and '<p id="duplicate" data-value="false">' in good.text
    assert '<section id="confirmation" role="status" aria-live="polite" tabindex="-1">' in good.text
    again = await intake.post("/v1/applications", content=urlencode([*fields, ("phone", phone)]), headers=browser)
    assert again.status_code == 200 and f'<code id="application-id">{application_id}<' in again.text
    assert '<p id="duplicate" data-value="true">' in again.text
    wrong_key = await intake.post("/v1/applications", content=urlencode([("api_key", "nope"), *fields[1:]]),
                                  headers=browser)
    assert wrong_key.status_code == 401 and 'id="form-error" class="error" role="alert"><span' in wrong_key.text


async def test_credentials(intake) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    cases = [
        ({}, {"json": application()}),  # no key
        ({"X-Api-Key": "wrong"}, {"json": application()}),
        ({}, {"json": {**application(), "api_key": TEST_API_KEY}}),  # the body field is for form posts only
        (form, {"content": urlencode({**application(), "api_key": "wrong"})}),
        (form, {"content": urlencode(application())}),
    ]
    for headers, body in cases:
        response = await intake.post("/v1/applications", headers=headers, **body)
        assert response.status_code == 401, (headers, body, response.text)
        assert response.json()["detail"]
    assert (await intake.post("/v1/applications/bulk", content=b"", headers={"Content-Type": "text/csv"})
            ).status_code == 401


async def test_bodies_over_64_kib_are_413_whether_declared_or_streamed(intake) -> None:
    big = application(full_name="x" * 70_000)
    assert (await intake.post("/v1/applications", json=big, headers=form_key_headers())).status_code == 413

    async def chunks():  # no Content-Length: the limit counts what arrives
        for _ in range(70):
            yield b" " * 1024

    response = await intake.post("/v1/applications", content=chunks(),
                                 headers={**form_key_headers(), "Content-Type": "application/json"})
    assert response.status_code == 413 and "64 KiB" in response.json()["detail"]


async def test_other_content_types_are_415(intake) -> None:
    for content_type in ("text/plain", "multipart/form-data; boundary=x", "application/xml", ""):
        response = await intake.post("/v1/applications", content=b"full_name=x",
                                     headers={**form_key_headers(), "Content-Type": content_type})
        assert response.status_code == 415, content_type
    bulk = await intake.post("/v1/applications/bulk", content=b"{}", headers={
        **form_key_headers(), "Content-Type": "application/json"})
    assert bulk.status_code == 415


async def test_the_rate_limit_is_per_key_and_says_when_to_retry(stack) -> None:
    settings = get_settings().model_copy(update={"intake_rate_burst": 3, "intake_rate_per_second": 0.5})
    async with running(lambda: create_app(settings)) as limited:
        statuses = [(await limited.post("/v1/applications", json=application(), headers=form_key_headers())
                     ).status_code for _ in range(4)]
        assert statuses == [201, 201, 201, 429]
        refused = await limited.post("/v1/applications", json=application(), headers=form_key_headers())
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) in (1, 2)
        other = await limited.post("/v1/applications", json={}, headers={"X-Api-Key": TEST_SIMULATOR_KEY})
        assert other.status_code == 422  # another key has a bucket of its own
        await asyncio.sleep(2.1)  # one token back at 0.5/s
        assert (await limited.post("/v1/applications", json=application(), headers=form_key_headers())
                ).status_code == 201


async def test_logs_never_carry_a_full_phone_or_a_key(intake, caplog) -> None:
    phone = "+919812345678"
    with caplog.at_level(logging.DEBUG):
        ok = await intake.post("/v1/applications", json=application(phone="98123 45678"), headers=form_key_headers())
        await intake.post("/v1/applications", json=application(phone="98123-45678"), headers=form_key_headers())
        await intake.post("/v1/applications", json=application(phone="98123 4567"), headers=form_key_headers())
        await intake.request("DELETE", f"/v1/applications/{ok.json()['application_id']}", json={"phone": phone})
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "+91******5678" in text
    for secret in ("9812345678", "98123 45678", "98123-45678", "98123 4567", TEST_API_KEY, ADMIN_TOKEN):
        assert secret not in text


async def test_get_application_is_for_admins(intake) -> None:
    created = await intake.post("/v1/applications", json=application(), headers=form_key_headers())
    path = f"/v1/applications/{created.json()['application_id']}"
    assert (await intake.get(path)).status_code == 401
    assert (await intake.get(path, headers={"Authorization": "Bearer wrong"})).status_code == 401
    assert (await intake.get(path, headers={"Authorization": f"Bearer {INTERVIEWER_TOKEN}"})).status_code == 403
    got = await intake.get(path, headers=admin_headers())
    assert got.status_code == 200
    assert got.json()["full_name"] == "आशा मीणा" and got.json()["state"] == "RJ" and got.json()["erased"] is False
    assert (await intake.get(f"/v1/applications/{uuid.uuid4()}", headers=admin_headers())).status_code == 404


async def test_the_form_page_carries_the_form_key_and_the_states_reference(intake) -> None:
    page = await intake.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "__FORM_API_KEY__" not in page.text
    assert page.text.count(TEST_API_KEY) == 2  # the meta tag and the no-JS hidden field
    states = (await intake.get("/v1/reference/states")).json()
    assert len(states) == 36 and {"code": "RJ", "name_en": "Rajasthan", "name_hi": "राजस्थान"} in states


async def test_health_and_readiness(intake) -> None:
    assert (await intake.get("/healthz")).json()["status"] == "ok"
    assert (await intake.get("/readyz")).status_code == 200
    assert "application.submitted" in json.dumps((await intake.get("/asyncapi.json")).json())
    await eventually(lambda: _metrics_mention(intake, "recruit_outbox_published_total"))


async def _metrics_mention(client, name: str) -> bool:
    return name in (await client.get("/metrics")).text
