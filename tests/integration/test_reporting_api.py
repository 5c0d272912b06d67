"""Reporting's HTTP API on the real broker and database: events published to Kafka, answers read back."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import time
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import uvicorn

from services.reporting import usecases
from services.reporting.app import create_app
from services.reporting.store import Store
from shared import db
from shared.broker import make_producer
from shared.events import (
    ApplicationErased,
    ApplicationSubmitted,
    Envelope,
    InterviewScheduled,
    PlacementChanged,
    ScreeningCompleted,
    ScreeningQueued,
    new_event,
)
from shared.runtime.infra import free_port
from shared.settings import get_settings
from shared.unit_of_work import UnitOfWork
from tests.support import PHONE_HASH_KEY, eventually, running

# 2025-03-01 18:00 UTC is 23:30 IST on the 1st; 19:00 UTC is 00:30 IST on the 2nd.
DAY1_LATE = datetime(2025, 3, 1, 18, 0, tzinfo=timezone.utc)
DAY2_EARLY = datetime(2025, 3, 1, 19, 0, tzinfo=timezone.utc)
DAY4 = datetime(2025, 3, 4, 6, 0, tzinfo=timezone.utc)


def submitted(state: str, district: str, phone: str, at: datetime) -> Envelope:
    return new_event("intake", uuid.uuid4(), ApplicationSubmitted(
        full_name="आशा मीणा", phone=phone, email="asha@example.in", state=state, district=district, age=24,
        submitted_at=at), occurred_at=at)


def follow(first: Envelope, data, at: datetime) -> Envelope:
    return new_event("test", first.application_id, data, occurred_at=at)


@pytest.fixture(scope="module")
def campaign() -> dict[str, list[Envelope]]:
    """Five applications: RJ Jaipur placed at district level, RJ Jaipur rejected, RJ Kota queued,
    UP Lucknow waitlisted then erased, UP Lucknow still awaiting a result."""
    rj1 = submitted("RJ", "Jaipur", "+919829012345", DAY1_LATE)
    rj2 = submitted("RJ", "Jaipur", "+919829012346", DAY2_EARLY)
    rj3 = submitted("RJ", "Kota", "+919829012347", DAY2_EARLY)
    up1 = submitted("UP", "Lucknow", "+917000000001", DAY1_LATE)
    up2 = submitted("UP", "Lucknow", "+917000000002", DAY4)
    t = DAY4 + timedelta(hours=1)
    events = {
        "rj1": [rj1, follow(rj1, ScreeningQueued(state="RJ", status="queued", reason="no election"), t),
                follow(rj1, InterviewScheduled(state="RJ", interview_at=t), t + timedelta(minutes=1)),
                follow(rj1, ScreeningCompleted(state="RJ", district="Jaipur", outcome="selected", score=80,
                                               submitted_at=DAY1_LATE), t + timedelta(minutes=2)),
                follow(rj1, PlacementChanged(state="RJ", level="district", unit_id="RJ/Jaipur", previous_level="none",
                                             reason="placed"), t + timedelta(minutes=3))],
        "rj2": [rj2, follow(rj2, ScreeningCompleted(state="RJ", district="Jaipur", outcome="rejected", score=40,
                                                    submitted_at=DAY2_EARLY), t)],
        "rj3": [rj3, follow(rj3, ScreeningQueued(state="RJ", status="queued", reason="no election"), t)],
        "up1": [up1, follow(up1, ScreeningCompleted(state="UP", district="Lucknow", outcome="selected", score=65,
                                                    submitted_at=DAY1_LATE), t),
                follow(up1, PlacementChanged(state="UP", level="waitlist", previous_level="none", reason="placed"),
                       t + timedelta(minutes=1)),
                follow(up1, ApplicationErased(erased_at=t), t + timedelta(minutes=2))],
        "up2": [up2, follow(up2, InterviewScheduled(state="UP", interview_at=t), t)],
    }
    return events


@pytest.fixture(scope="module")
async def reporting(stack, campaign):
    async with running(create_app) as client:
        producer = make_producer(stack.kafka_bootstrap_servers, "test")
        await producer.start()
        try:
            # Newest first inside each application: the projection must not care about order.
            for envelope in [e for story in campaign.values() for e in reversed(story)]:
                await producer.send_and_wait(envelope.topic, envelope.to_json().encode(),
                                             key=envelope.kafka_key().encode())
        finally:
            await producer.stop()

        async def settled():
            s = (await client.get("/v1/stats/summary")).json()
            return s.get("applications") == 5 and s["erased"] == 1 and s["current"]["placed"] == 1 and s
        await eventually(settled, timeout=30)
        yield client


async def test_summary(reporting) -> None:
    s = (await reporting.get("/v1/stats/summary")).json()
    as_of = datetime.fromisoformat(s.pop("as_of"))
    assert abs((datetime.now(timezone.utc) - as_of).total_seconds()) < 5
    assert s == {
        "target": 500_000, "applications": 5, "progress": 5 / 500_000, "erased": 1,
        "funnel": {"submitted": 5, "scheduled": 4, "interviewed": 3, "selected": 2, "rejected": 1, "no_show": 0},
        "current": {"queued": 1, "deferred": 0, "awaiting_result": 1, "placed": 1, "waitlisted": 0},
        "placed_by_level": {"state": 0, "district": 1, "block": 0},
    }


async def test_states_and_state_detail(reporting) -> None:
    rows = (await reporting.get("/v1/stats/states")).json()
    assert rows == [
        {"state": "RJ", "name": "Rajasthan", "name_hi": "राजस्थान", "applications": 3, "interviewed": 2,
         "selected": 1, "placed": 1},
        {"state": "UP", "name": "Uttar Pradesh", "name_hi": "उत्तर प्रदेश", "applications": 2, "interviewed": 1,
         "selected": 1, "placed": 0},
    ]
    detail = (await reporting.get("/v1/stats/states/rj")).json()
    assert detail["state"] == "RJ" and detail["applications"] == 3
    assert detail["districts"] == [
        {"district": "Jaipur", "applications": 2, "interviewed": 2, "selected": 1, "placed": 1},
        {"district": "Kota", "applications": 1, "interviewed": 0, "selected": 0, "placed": 0},
    ]
    assert (await reporting.get("/v1/stats/states/Rajasthan")).json() == detail
    empty = (await reporting.get("/v1/stats/states/KL")).json()
    assert (empty["applications"], empty["districts"]) == (0, [])
    # Not a state of India: the one status every service gives a bad state (issue 10), on the path's field.
    unknown = await reporting.get("/v1/stats/states/XX")
    assert unknown.status_code == 422 and [e["field"] for e in unknown.json()["detail"]] == ["code"]


async def test_timeseries_days_are_ist(reporting) -> None:
    series = (await reporting.get("/v1/stats/timeseries?bucket=day")).json()
    assert series["timezone"] == "Asia/Kolkata" and series["bucket"] == "day"
    assert series["points"] == [
        {"date": "2025-03-01", "applications": 2, "selected": 0, "placed": 0},
        {"date": "2025-03-02", "applications": 2, "selected": 0, "placed": 0},
        {"date": "2025-03-03", "applications": 0, "selected": 0, "placed": 0},
        {"date": "2025-03-04", "applications": 1, "selected": 2, "placed": 1},
    ]
    rj = (await reporting.get("/v1/stats/timeseries?bucket=day&state=RJ")).json()
    assert [p["applications"] for p in rj["points"]] == [1, 2, 0, 0]
    assert sum(p["selected"] for p in rj["points"]) == 1
    assert (await reporting.get("/v1/stats/timeseries?bucket=week")).status_code == 422
    unknown = await reporting.get("/v1/stats/timeseries?state=ZZ")
    assert unknown.status_code == 422 and [e["field"] for e in unknown.json()["detail"]] == ["state"]


async def test_export_csv(reporting) -> None:
    response = await reporting.get("/v1/stats/export.csv")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["state"], r["name_hi"], int(r["applications"]), int(r["placed"])) for r in rows] == \
        [("RJ", "राजस्थान", 3, 1), ("UP", "उत्तर प्रदेश", 2, 0)]
    assert not response.content.startswith(b"\xef\xbb\xbf")
    for_excel = await reporting.get("/v1/stats/export.csv?excel=true")
    assert for_excel.content == b"\xef\xbb\xbf" + response.content, "the same table after a byte order mark"


async def test_status_lookup_by_phone_in_any_accepted_format(reporting, campaign) -> None:
    rj1 = campaign["rj1"][0].application_id
    for phone in ("+919829012345", "98290 12345", "0 98290-12345", "919829012345"):
        response = await reporting.get(f"/v1/applications/{rj1}/status", params={"phone": phone})
        assert response.status_code == 200, (phone, response.text)
        body = response.json()
        assert body == {"application_id": str(rj1), "stage": "placed", "level": "district",
                        "unit_id": "RJ/Jaipur", "updated_at": body["updated_at"]}
        assert datetime.fromisoformat(body["updated_at"]) == DAY4 + timedelta(hours=1, minutes=3)
    queued = campaign["rj3"][0].application_id
    assert (await reporting.get(f"/v1/applications/{queued}/status?phone=9829012347")).json()["stage"] == "queued"
    for application_id, phone in ((rj1, "9829012346"), (rj1, "12345"), (uuid.uuid4(), "9829012345"),
                                  (campaign["up1"][0].application_id, "7000000001")):  # erased
        response = await reporting.get(f"/v1/applications/{application_id}/status", params={"phone": phone})
        assert response.status_code == 404, (application_id, phone)


async def test_metrics_have_funnel_states_and_lag(reporting) -> None:
    async def lag_reported():  # caught up: measured every METRICS_POLL_SECONDS, so a first reading may lag
        text = (await reporting.get("/metrics")).text
        return 'recruit_consumer_lag{consumer="reporting",topic="applications.submitted"} 0.0' in text and text
    text = await eventually(lag_reported, timeout=30)
    assert 'recruit_reporting_funnel{step="selected"} 2.0' in text
    assert 'recruit_reporting_state{count="applications",state="RJ"} 3.0' in text
    assert 'recruit_reporting_current{stage="awaiting_result"} 1.0' in text
    assert 'recruit_consumer_lag{consumer="reporting",topic="applications.submitted"} 0.0' in text


async def test_openapi_and_asyncapi_describe_reporting(reporting) -> None:
    paths = (await reporting.get("/openapi.json")).json()["paths"]
    for path in ("/v1/stats/summary", "/v1/stats/states", "/v1/stats/states/{code}", "/v1/stats/timeseries",
                 "/v1/stats/export.csv", "/v1/stream", "/v1/applications/{application_id}/status"):
        assert path in paths, path
    assert "text/event-stream" in paths["/v1/stream"]["get"]["responses"]["200"]["content"]
    channels = json.dumps((await reporting.get("/asyncapi.json")).json())
    assert all(topic in channels for topic in ("applications.submitted", "placement.changed"))


async def test_dashboard_page_and_assets(reporting) -> None:
    page = await reporting.get("/")
    assert page.status_code == 200 and 'id="states-body"' in page.text
    assert (await reporting.get("/static/vendor/chart.umd.min.js")).status_code == 200
    assert (await reporting.get("/static/dashboard.js")).status_code == 200


async def test_no_response_carries_personal_data(reporting, campaign) -> None:
    bodies = [(await reporting.get(path)).text for path in (
        "/v1/stats/summary", "/v1/stats/states", "/v1/stats/states/RJ", "/v1/stats/timeseries",
        "/v1/stats/export.csv", f"/v1/applications/{campaign['rj1'][0].application_id}/status?phone=9829012345")]
    for text in bodies:
        assert "9829012345" not in text and "asha" not in text and "आशा" not in text


@pytest.fixture(scope="module")
async def protected_server(stack):
    """reporting behind REPORTING_READ_TOKEN, served by uvicorn so that SSE really streams."""
    os.environ["REPORTING_READ_TOKEN"] = "read-secret"
    get_settings.cache_clear()
    try:
        app = create_app()
    finally:
        os.environ.pop("REPORTING_READ_TOKEN")
        get_settings.cache_clear()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


async def test_read_token_guards_every_read(protected_server) -> None:
    async with httpx.AsyncClient(base_url=protected_server) as client:
        for path in ("/v1/stats/summary", "/v1/stats/states", "/v1/stats/timeseries", "/v1/stats/export.csv",
                     "/v1/stream", "/v1/stats/states/RJ"):
            assert (await client.get(path)).status_code == 401, path
            assert (await client.get(path, params={"token": "wrong"})).status_code == 401, path
        ok = await client.get("/v1/stats/summary", headers={"Authorization": "Bearer read-secret"})
        assert ok.status_code == 200
        assert (await client.get("/v1/stats/summary?token=read-secret")).status_code == 200
        assert (await client.get("/")).status_code == 200  # the page holds no data; its reads carry the token
        # The applicant's look-up stays open (their phone is the credential): a 404 for a stranger, not a 401.
        unknown = await client.get(f"/v1/applications/{uuid.uuid4()}/status", params={"phone": "9829012345"})
        assert unknown.status_code == 404
        assert (await client.get("/status")).status_code == 200


async def test_stream_pushes_a_change_within_a_second(stack, protected_server) -> None:
    pool = await db.create_pool(stack.database_url, "reporting", max_size=2)
    try:
        async with httpx.AsyncClient(base_url=protected_server, timeout=10) as client, \
                client.stream("GET", "/v1/stream?token=read-secret") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            events = aiter_events(stream)
            first = await asyncio.wait_for(anext(events), 5)
            assert first["event"] == "summary"
            before = json.loads(first["data"])["applications"]

            envelope = submitted("MH", "Pune", "+918888888888", DAY4)
            assert await usecases.apply_events(UnitOfWork(pool, Store), [(envelope, envelope.payload())],
                                               PHONE_HASH_KEY.encode()) == 1
            committed = time.monotonic()
            pushed = await asyncio.wait_for(anext(events), 5)
            latency = time.monotonic() - committed
            assert json.loads(pushed["data"])["applications"] == before + 1
            assert latency < 1.0, f"pushed {latency:.2f}s after the commit"
    finally:
        await pool.close()


async def aiter_events(response: httpx.Response):
    """Parse a text/event-stream into {"event", "data"} dicts, skipping keep-alive comments."""
    event: dict[str, str] = {}
    async for line in response.aiter_lines():
        if not line:
            if "data" in event:
                yield event
            event = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            event[name] = value.removeprefix(" ")
