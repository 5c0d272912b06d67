"""Hostile bodies on every service's JSON doors: a deeply nested document (5,000 levels) is a clear
4xx in the documented error shape, nothing is stored, and the service stays ready."""

from __future__ import annotations

import uuid

import pytest

from tests.support import admin_headers, form_key_headers, running_all_services

DEEP = ("[" * 5000 + "]" * 5000).encode()
DEEP_OBJECT = ('{"a":' * 5000 + "1" + "}" * 5000).encode()
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
async def services(stack):
    async with running_all_services() as clients:
        yield clients


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["array", "object"])
async def test_deep_nesting_is_refused_everywhere(services, body: bytes) -> None:
    intake, screening, placement, _ = services
    doors = [
        (intake, "POST", "/v1/applications", form_key_headers()),
        (intake, "DELETE", f"/v1/applications/{uuid.uuid4()}", {}),
        (screening, "POST", "/v1/interviews", admin_headers()),
        (screening, "POST", f"/v1/interviews/{uuid.uuid4()}/result", admin_headers()),
        (screening, "POST", "/v1/cases/lookup", admin_headers()),
        (screening, "PUT", "/v1/election-calendar/RJ", admin_headers()),
        (placement, "PUT", "/v1/capacity", admin_headers()),
        (placement, "PUT", "/v1/units/RJ/capacity", admin_headers()),
    ]
    for client, method, path, headers in doors:
        answer = await client.request(method, path, content=body, headers={**JSON, **headers})
        assert 400 <= answer.status_code < 500, (method, path, answer.status_code, answer.text[:200])
        assert "detail" in answer.json(), (method, path)
    for client in services:
        assert (await client.get("/readyz")).status_code == 200


async def test_a_deep_line_in_a_bulk_import_is_one_rejected_row(services) -> None:
    intake = services[0]
    answer = await intake.post("/v1/applications/bulk", content=DEEP + b"\n",
                               headers={**form_key_headers(), "Content-Type": "application/x-ndjson"})
    assert answer.status_code == 200, answer.text[:300]
    assert (answer.json()["accepted"], answer.json()["rejected"]) == (0, 1)
