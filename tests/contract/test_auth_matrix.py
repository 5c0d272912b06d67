"""Every operation of every service's OpenAPI x every kind of caller -> exactly the door SPEC gives it: 401 without
valid credentials, 403 for a valid token without the right (an interviewer of another state, or any interviewer on
an admin route), and past the door a 2xx or a documented 4xx. An operation missing from DOORS fails the test, so a
new route must be classified here."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.contract.conftest import READ_TOKEN, SERVICES, UP_INTERVIEWER_TOKEN
from tests.support import ADMIN_TOKEN, RJ_INTERVIEWER_TOKEN, TEST_API_KEY

# The callers: no credentials, wrong ones, an interviewer of UP (another state than the requests name), an
# interviewer of RJ (the state the requests name), an admin, and the two non-staff keys.
CALLERS: dict[str, dict[str, str]] = {
    "none": {},
    "wrong": {"X-Api-Key": "wrong-key", "Authorization": "Bearer wrong-token"},
    "interviewer of UP": {"Authorization": f"Bearer {UP_INTERVIEWER_TOKEN}"},
    "interviewer of RJ": {"Authorization": f"Bearer {RJ_INTERVIEWER_TOKEN}"},
    "admin": {"Authorization": f"Bearer {ADMIN_TOKEN}"},
    "form key": {"X-Api-Key": TEST_API_KEY},
    "read token": {"Authorization": f"Bearer {READ_TOKEN}"},
}
OK, UNAUTHORIZED, FORBIDDEN = "2xx or a documented 4xx", 401, 403
STAFF_CALLERS = ("interviewer of UP", "interviewer of RJ", "admin")


def door(*, ok: tuple[str, ...], forbidden: tuple[str, ...] = ()) -> dict[str, object]:
    """What each caller gets: OK for `ok`, 403 for `forbidden`, 401 for everyone else."""
    return {caller: OK if caller in ok else FORBIDDEN if caller in forbidden else UNAUTHORIZED for caller in CALLERS}


PUBLIC = door(ok=tuple(CALLERS))
API_KEY = door(ok=("form key",))
STAFF = door(ok=STAFF_CALLERS)
# State-scoped staff routes; every request below names RJ (or an RJ application or unit).
STAFF_IN_STATE = door(ok=("interviewer of RJ", "admin"), forbidden=("interviewer of UP",))
# Contact look-up filters instead of refusing: the UP interviewer gets a 200 without the RJ case (checked below).
STAFF_FILTERED = STAFF
ADMIN = door(ok=("admin",), forbidden=("interviewer of UP", "interviewer of RJ"))
# Erasure: an admin token, or the applicant's phone (no token and no phone is a 401).
ADMIN_OR_APPLICANT = ADMIN
READ_TOKEN_DOOR = door(ok=("read token",))


@dataclass
class Call:
    door: dict[str, object]
    path: str
    query: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Applicants:
    placed: str  # RJ, selected and placed in the state unit
    erased: str  # RJ, erased by the matrix's admin call
    phone: str


def doors(ids: Applicants) -> dict[str, dict[str, Call]]:
    """Each service's operations ("METHOD /path" as in its OpenAPI) with their door and one request."""
    operations = {"GET /healthz": Call(PUBLIC, "/healthz"), "GET /readyz": Call(PUBLIC, "/readyz"),
                  "GET /metrics": Call(PUBLIC, "/metrics"), "GET /asyncapi.json": Call(PUBLIC, "/asyncapi.json")}
    audit = {"GET /v1/audit": Call(ADMIN, "/v1/audit")}
    application = {"full_name": "Ravi Meena", "phone": ids.phone, "state": "RJ", "district": "Jaipur", "age": 30,
                   "consent": True}
    return {
        "intake": {
            **operations, **audit,
            "POST /v1/applications": Call(API_KEY, "/v1/applications", json=application),
            "POST /v1/applications/bulk": Call(API_KEY, "/v1/applications/bulk", headers={"Content-Type": "text/csv"},
                                               content=b"full_name,phone,state,district,age,consent\n"),
            "GET /v1/applications/{application_id}": Call(ADMIN, f"/v1/applications/{ids.placed}"),
            "DELETE /v1/applications/{application_id}": Call(ADMIN_OR_APPLICANT, f"/v1/applications/{ids.erased}"),
            "POST /v1/applications/{application_id}/export": Call(
                PUBLIC, f"/v1/applications/{ids.placed}/export", json={"phone": ids.phone}),
            "GET /v1/reference/states": Call(PUBLIC, "/v1/reference/states"),
            # A dry run: the door is what is checked, and the matrix's applicants must stay as they are.
            "POST /v1/admin/purge": Call(ADMIN, "/v1/admin/purge", json={"older_than_days": 90, "dry_run": True}),
        },
        "screening": {
            **operations, **audit,
            "GET /v1/queue": Call(STAFF_IN_STATE, "/v1/queue", query={"state": "RJ"}),
            "POST /v1/interviews": Call(STAFF_IN_STATE, "/v1/interviews", json={
                "application_id": ids.placed, "interview_at": "2030-01-07T10:00:00+05:30"}),
            "GET /v1/interviews": Call(STAFF_IN_STATE, "/v1/interviews", query={"state": "RJ"}),
            "POST /v1/interviews/{application_id}/result": Call(
                STAFF_IN_STATE, f"/v1/interviews/{ids.placed}/result", json={"outcome": "no_show"}),
            "POST /v1/interview-waves": Call(STAFF_IN_STATE, "/v1/interview-waves", json={
                "state": "RJ", "date": "2030-01-08", "start": "10:00", "end": "11:00", "slot_minutes": 30,
                "interviewers": ["Asha"]}),
            "GET /v1/election-calendar": Call(STAFF, "/v1/election-calendar"),
            "PUT /v1/election-calendar/{state}": Call(ADMIN, "/v1/election-calendar/RJ",
                                                      json={"polling_ends": "2020-01-01"}),
            "DELETE /v1/election-calendar/{state}": Call(ADMIN, "/v1/election-calendar/RJ"),
            "GET /v1/me": Call(STAFF, "/v1/me"),
            "GET /v1/cases/decided": Call(STAFF, "/v1/cases/decided"),
            "POST /v1/cases/lookup": Call(STAFF_FILTERED, "/v1/cases/lookup", json={"application_ids": [ids.placed]}),
            "GET /console/config": Call(PUBLIC, "/console/config"),
        },
        "placement": {
            **operations, **audit,
            "GET /v1/placements/{application_id}": Call(STAFF_IN_STATE, f"/v1/placements/{ids.placed}"),
            "GET /v1/units": Call(STAFF_IN_STATE, "/v1/units", query={"state": "RJ"}),
            "GET /v1/units/{unit_id}/members": Call(STAFF_IN_STATE, "/v1/units/RJ/members"),
            "GET /v1/capacity": Call(STAFF, "/v1/capacity"),
            "PUT /v1/capacity": Call(ADMIN, "/v1/capacity", json={"state": 50}),
            "PUT /v1/units/{unit_id}/capacity": Call(ADMIN, "/v1/units/RJ/capacity", json={"capacity": 50}),
            "DELETE /v1/units/{unit_id}/capacity": Call(ADMIN, "/v1/units/RJ/capacity"),
        },
        "reporting": {
            **operations,
            "GET /v1/stats/summary": Call(READ_TOKEN_DOOR, "/v1/stats/summary"),
            "GET /v1/stats/states": Call(READ_TOKEN_DOOR, "/v1/stats/states"),
            "GET /v1/stats/states/{code}": Call(READ_TOKEN_DOOR, "/v1/stats/states/RJ"),
            "GET /v1/stats/timeseries": Call(READ_TOKEN_DOOR, "/v1/stats/timeseries", query={"state": "RJ"}),
            "GET /v1/stats/export.csv": Call(READ_TOKEN_DOOR, "/v1/stats/export.csv"),
            "GET /v1/stream": Call(READ_TOKEN_DOOR, "/v1/stream"),
            "GET /v1/applications/{application_id}/status": Call(
                PUBLIC, f"/v1/applications/{ids.placed}/status", query={"phone": ids.phone}),
        },
    }


def _until(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "the pipeline did not get there in time"
        time.sleep(0.2)
    return found


@pytest.fixture(scope="module")
def applicants(services) -> Applicants:
    """Two RJ applications through the real pipeline: one selected and placed, one to be erased."""
    admin, key = CALLERS["admin"], CALLERS["form key"]
    phones = [f"+9198{uuid.uuid4().int % 10**8:08d}" for _ in range(2)]
    ids = []
    for phone in phones:
        answer = httpx.post(services.urls["intake"] + "/v1/applications", headers=key, json={
            "full_name": "Ravi Meena", "phone": phone, "state": "RJ", "district": "Jaipur", "age": 30,
            "consent": True})
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["application_id"])
    screening, placement = services.urls["screening"], services.urls["placement"]
    _until(lambda: {item["application_id"] for item in httpx.get(
        screening + "/v1/queue", params={"state": "RJ", "limit": 200}, headers=admin).json()["items"]} >= set(ids))
    result = httpx.post(f"{screening}/v1/interviews/{ids[0]}/result", headers=admin,
                        json={"scores": dict.fromkeys(("communication", "content_creation", "social_media_reach",
                                                       "political_awareness", "commitment"), 8)})
    assert result.json()["outcome"] == "selected", result.text
    _until(lambda: httpx.get(f"{placement}/v1/placements/{ids[0]}", headers=admin).status_code == 200)
    return Applicants(placed=ids[0], erased=ids[1], phone=phones[0])


def documented_operations(url: str) -> dict[str, dict[str, Any]]:
    paths = httpx.get(url + "/openapi.json").json()["paths"]
    return {f"{method.upper()} {path}": operation for path, methods in paths.items()
            for method, operation in methods.items()}


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_is_classified(services, applicants, service: str) -> None:
    assert set(documented_operations(services.urls[service])) == set(doors(applicants)[service])


@pytest.mark.parametrize("service", SERVICES)
def test_every_caller_gets_exactly_its_door(services, applicants, service: str) -> None:
    url, documented = services.urls[service], documented_operations(services.urls[service])
    wrong = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for operation, call in doors(applicants)[service].items():
            method = operation.split()[0]
            statuses = {int(status) for status in documented[operation]["responses"]}
            for caller, expected in call.door.items():
                headers = {**call.headers, **CALLERS[caller]}
                with client.stream(method, call.path, params=call.query, json=call.json, content=call.content,
                                   headers=headers) as response:
                    status = response.status_code
                    body = b"" if "text/event-stream" in response.headers.get("content-type", "") else response.read()
                if status not in statuses:
                    wrong.append(f"{operation} as {caller}: {status} is not documented ({sorted(statuses)})")
                if expected == OK:
                    right = status < 300 or (400 <= status < 500 and status not in (UNAUTHORIZED, FORBIDDEN))
                else:
                    right = status == expected
                if not right:
                    wrong.append(f"{operation} as {caller}: {status}, expected {expected}: {body[:200]!r}")
                if operation == "POST /v1/cases/lookup" and status == 200:
                    found = [item["application_id"] for item in httpx.Response(200, content=body).json()["items"]]
                    assert found == ([] if caller == "interviewer of UP" else [applicants.placed]), caller
    assert not wrong, "\n".join(wrong)
