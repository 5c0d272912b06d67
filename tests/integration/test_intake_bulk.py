"""Intake bulk import against the real broker and PostgreSQL: CSV and NDJSON, row errors, duplicates, limits."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import psutil
import pytest

from services.intake.domain import bulk
from shared.runtime.infra import free_port
from tests.support import form_key_headers, topic_envelopes

CSV = {**form_key_headers(), "Content-Type": "text/csv"}
NDJSON = {**form_key_headers(), "Content-Type": "application/x-ndjson"}
HEADER = "full_name,phone,email,state,district,block,age,languages,skills,social.twitter,consent\n"



async def drained(intake_db) -> None:
    for _ in range(200):
        if not await intake_db.fetchval("SELECT count(*) FROM outbox_pending"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox did not drain")


async def test_csv_rows_are_imported_with_row_errors_and_duplicates(stack, intake, intake_db) -> None:
    single = await intake.post("/v1/applications", headers=form_key_headers(), json={
        "full_name": "Already Here", "phone": "9000000001", "state": "RJ", "district": "Jaipur", "age": 30,
        "consent": True})
    assert single.status_code == 201
    body = HEADER + "".join([
        'Asha Meena,+91 90000 00002,asha@example.com,Rajasthan,jaipur,Sanganer,24,"Hindi, English",'
        "content_writing;translation,@asha,true\n",                                   # 1 accepted
        "Ravi,90000 00003,,राजस्थान,Kota,,31,,,,yes\n",                               # 2 accepted (Hindi state)
        "Dup Of One,0 90000-00002,,RJ,Jaipur,,40,,,,true\n",                            # 3 duplicate of row 1
        "Already,9000000001,,RJ,Jaipur,,40,,,,true\n",                                # 4 duplicate of the single post
        "X,12345,bad-email,Atlantis,J,,17,,juggling,,false\n",                        # 5 rejected, 8 fields
        'Two Lines,9000000004,,UP,"Lucknow\nEast",,50,,,,true\n',   # 6 rejected: a line break inside the district
        '"Quoted, Name",9000000006,,UP,Lucknow,,50,,,,true\n',        # 7 accepted
        "Extra,9000000005,,RJ,Jaipur,,22,,,,true,surplus\n",          # 8 rejected: too many values
    ] + [f"Person {n},91{9100000000 + n},,MH,Pune,,{18 + n % 60},,,,true\n" for n in range(3000)])  # 9.. accepted
    response = await intake.post("/v1/applications/bulk", content=body.encode(), headers=CSV)
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["accepted"], result["duplicates"], result["rejected"]) == (3003, 2, 3)
    errors = result["errors"]
    assert {e["field"] for e in errors if e["row"] == 5} == {"full_name", "phone", "email", "state", "district",
                                                              "age", "skills", "consent"}
    assert [e["field"] for e in errors if e["row"] == 6] == ["district"]  # the rows after it stay aligned
    assert [e for e in errors if e["row"] == 8] == [{"row": 8, "field": "_root", "message":
                                                     "This row has 12 values but the header names 11 columns."}]
    assert {e["row"] for e in errors} == {5, 6, 8}

    rows = {r["phone"]: r for r in await intake_db.fetch("SELECT * FROM applications")}
    assert rows["+919000000002"]["full_name"] == "Asha Meena" and rows["+919000000002"]["block"] == "Sanganer"
    assert rows["+919000000003"]["state"] == "RJ" and rows["+919000000006"]["full_name"] == "Quoted, Name"
    assert len(rows) == 1 + 3003

    await drained(intake_db)
    events = await topic_envelopes(stack.kafka_bootstrap_servers, "applications.submitted")
    by_id: dict[str, int] = {}
    for event in events:
        by_id[event["application_id"]] = by_id.get(event["application_id"], 0) + 1
    assert len(events) == 1 + 3003 and set(by_id.values()) == {1}  # one event per new application, none else
    assert set(by_id) == {str(r["application_id"]) for r in rows.values()}
    asha = next(e for e in events if e["data"]["phone"] == "+919000000002")
    assert asha["data"]["skills"] == ["content_writing", "translation"]
    assert asha["data"]["social"] == {"twitter": "@asha"}
    assert asha["data"]["source"] == "web-form" and asha["data"]["district"] == "Jaipur"
    # the stored row and the event are one: the event id is remembered for erasure
    assert rows["+919000000002"]["submitted_event_id"] == uuid.UUID(asha["event_id"])
    # file order is publication order within a partition; outbox ids follow the rows
    outbox_phones = [json.loads(p)["data"]["phone"] for p in await intake_db.fetchval(
        "SELECT array_agg(payload ORDER BY id) FROM outbox WHERE event_type = 'application.submitted'")]
    assert outbox_phones[1:5] == ["+919000000002", "+919000000003", "+919000000006", "+919100000000"]
    # The first batch had duplicates and went through staging; the second went in by COPY.
    assert_rows_are_their_events(rows.values(), events)


def assert_rows_are_their_events(rows, events) -> None:
    """Every stored application holds what its application.submitted event says."""
    by_id = {uuid.UUID(event["application_id"]): event for event in events}
    for stored in rows:
        event = by_id[stored["application_id"]]
        data = event["data"]
        assert stored["submitted_event_id"] == uuid.UUID(event["event_id"])
        assert {c: stored[c] for c in ("phone", "full_name", "email", "state", "district", "block", "age", "source")} \
            == {c: data.get(c) for c in ("phone", "full_name", "email", "state", "district", "block", "age", "source")}
        assert json.loads(stored["details"]) == {c: data.get(c) for c in bulk.DETAILS}
        assert stored["submitted_at"] == datetime.fromisoformat(data["submitted_at"])


async def test_rows_with_backslashes_and_quotes_are_stored_as_their_events_say(stack, intake, intake_db) -> None:
    # No duplicates: the batch goes straight in by COPY's text format, where a backslash is an escape.
    lines = [{"full_name": f'Back\\slash "{n}" \\N', "phone": f"72{10000000 + n}", "state": "MP",
              "district": "Indore \\ East", "block": "\\t", "age": 25, "consent": True,
              "languages": ["Hindi"], "social": {"twitter": f'@a\\b"{n}'}, "source": "src\\1",
              "email": f"q{n}@example.com"} for n in range(30)]
    body = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    response = await intake.post("/v1/applications/bulk", content=body.encode(), headers=NDJSON)
    assert response.status_code == 200 and response.json()["accepted"] == 30, response.text
    rows = await intake_db.fetch("SELECT * FROM applications WHERE phone LIKE '+9172%'")
    assert len(rows) == 30
    assert {r["full_name"] for r in rows} == {f'Back\\slash "{n}" \\N' for n in range(30)}
    assert {r["district"] for r in rows} == {"Indore \\ East"} and {r["block"] for r in rows} == {"\\t"}
    await drained(intake_db)
    events = await topic_envelopes(stack.kafka_bootstrap_servers, "applications.submitted")
    assert_rows_are_their_events(rows, events)


async def test_ndjson_rows_with_hindi_errors(intake, intake_db) -> None:
    lines = [json.dumps({"full_name": "सुनीता यादव", "phone": "8000000001", "state": "UP", "district": "Agra",
                         "age": 33, "consent": True, "skills": ["fact_checking"]}, ensure_ascii=False),
             "", "not json", "[1, 2]",
             json.dumps({"full_name": "B", "phone": "8000000002", "state": "UP", "district": "Agra", "age": 12,
                         "consent": True}),
             json.dumps({"full_name": "Again", "phone": "+918000000001", "state": "UP", "district": "Agra",
                         "age": 40, "consent": True})]
    response = await intake.post("/v1/applications/bulk", content="\n".join(lines).encode(),
                                 headers={**NDJSON, "Accept-Language": "hi"})
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["accepted"], result["duplicates"], result["rejected"]) == (1, 1, 3)
    assert [(e["row"], e["field"]) for e in result["errors"]] == [(2, "_root"), (3, "_root"), (4, "full_name"),
                                                                  (4, "age")]
    assert all(any("\u0900" <= ch <= "\u097f" for ch in e["message"]) for e in result["errors"])
    assert await intake_db.fetchval("SELECT full_name FROM applications WHERE phone = '+918000000001'") == "सुनीता यादव"


async def test_more_than_100000_rows_is_413_and_nothing_is_imported(intake, intake_db) -> None:
    before = await intake_db.fetchval("SELECT count(*) FROM applications")
    valid = json.dumps({"full_name": "Too Many", "phone": "7000000001", "state": "RJ", "district": "Ajmer",
                        "age": 20, "consent": True})

    async def body():
        yield (valid + "\n").encode()
        for _ in range(10):
            yield b"{}\n" * 10_000  # the cheapest row that still counts

    refused = await intake.post("/v1/applications/bulk", content=body(), headers=NDJSON)
    assert refused.status_code == 413 and "100,000" in refused.json()["detail"]
    assert await intake_db.fetchval("SELECT count(*) FROM applications") == before  # the valid first row too
    # (exactly 100,000 rows is within the limit: tests/unit/intake/test_bulk_reader.py)


async def test_the_error_list_is_capped_the_counts_are_not(intake) -> None:
    response = await intake.post("/v1/applications/bulk", content=b"{}\n" * 1_500, headers=NDJSON)
    result = response.json()
    assert (result["accepted"], result["rejected"]) == (0, 1_500)
    assert len(result["errors"]) == bulk.BULK_MAX_ERRORS and result["errors"][-1]["row"] == 167  # 6 fields a row


async def test_bodies_that_cannot_be_read_are_refused_whole(intake) -> None:
    cases = [
        (CSV, b"name,phone\nA,9000000009\n", 422, "full_name"),
        (CSV, b"", 422, "header"),
        (CSV, HEADER.encode() + b"\xff\xfe\n", 422, "UTF-8"),
        (NDJSON, b"x" * (70 * 1024), 413, "longer"),
        ({**form_key_headers(), "Content-Type": "application/json"}, b"[]", 415, "text/csv"),
        ({"Content-Type": "text/csv"}, HEADER.encode(), 401, "X-Api-Key"),
    ]
    for headers, body, status, words in cases:
        response = await intake.post("/v1/applications/bulk", content=body, headers=headers)
        assert (response.status_code, words in str(response.json()["detail"])) == (status, True), (status, response.text)


async def test_a_bulk_row_and_a_single_post_of_one_phone_make_one_application(intake, intake_db) -> None:
    row = json.dumps({"full_name": "Race", "phone": "7100000001", "state": "GJ", "district": "Surat", "age": 44,
                      "consent": True})
    filler = "".join(json.dumps({"full_name": f"F {n}", "phone": f"71{10000000 + n}", "state": "GJ",
                                 "district": "Surat", "age": 30, "consent": True}) + "\n" for n in range(4000))
    bulk, single = await asyncio.gather(
        intake.post("/v1/applications/bulk", content=(filler + row + "\n").encode(), headers=NDJSON),
        intake.post("/v1/applications", headers=form_key_headers(), json=json.loads(row)))
    assert bulk.status_code == 200 and single.status_code in (200, 201)
    assert bulk.json()["accepted"] + bulk.json()["duplicates"] == 4001
    assert (single.status_code == 201) == (bulk.json()["duplicates"] == 1)
    assert await intake_db.fetchval("SELECT count(*) FROM applications WHERE phone = '+917100000001'") == 1
    assert await intake_db.fetchval("SELECT count(*) FROM outbox o JOIN applications a"
                                    " ON o.key = a.application_id::text WHERE a.phone = '+917100000001'") == 1


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL])
def test_bulk_workers_end_with_the_service(stack, stop) -> None:
    """The worker processes a bulk import starts leave with the service, however it stops."""
    port = free_port()
    log = stack.work_dir / f"intake-workers-{stop}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        service = subprocess.Popen([str(Path(sys.executable).parent / "recruit"), "service", "intake", "--host",
                                    "127.0.0.1", "--port", str(port)],
                                   env={**os.environ, **stack.env()}, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while not _ready(url):
            assert service.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        line = json.dumps({"full_name": "Worker Test", "phone": f"72{stop.value:08d}", "state": "RJ",
                           "district": "Ajmer", "age": 30, "consent": True})
        imported = httpx.post(url + "/v1/applications/bulk", content=line.encode(), headers=NDJSON, timeout=60)
        assert imported.status_code == 200, imported.text
        workers = psutil.Process(service.pid).children(recursive=True)
        assert workers, "a bulk import runs in worker processes"
        service.send_signal(stop)
        service.wait(30)
        _, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, f"workers outlived the service: {alive}"
    finally:
        if service.poll() is None:
            service.kill()


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
