"""Hostile bodies on every door that takes one, of all four services, found in each app's OpenAPI (a new
endpoint is covered without touching this file): deep nesting, huge numbers, NUL, invalid UTF-8, lone
surrogates, duplicate keys, the wrong content type, 10 MB declared or streamed, a body that trickles in.
Each is a 4xx in the documented error shape, no row of any table changes, and every service stays ready."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from shared.errors import ErrorBody, ValidationErrorBody
from shared.settings import Settings
from tests.support import admin_headers, form_key_headers, running

SCHEMAS = ("intake", "screening", "placement", "reporting")
BODY_TIMEOUT = 1.0
JSON_TYPE, FORM_TYPE = "application/json", "application/x-www-form-urlencoded"
TEN_MB = 10 * 1024 * 1024


@pytest.fixture(scope="module")
async def services(stack) -> AsyncIterator[dict[str, Any]]:
    from services.intake.app import create_app as intake_app
    from services.placement.app import create_app as placement_app
    from services.reporting.app import create_app as reporting_app
    from services.screening.app import create_app as screening_app

    factories = dict(zip(SCHEMAS, (intake_app, screening_app, placement_app, reporting_app)))
    clients = {}
    async with asyncpg.create_pool(stack.database_url, min_size=1, max_size=2) as pool:
        for name, create_app in factories.items():
            settings = Settings(http_body_timeout_seconds=BODY_TIMEOUT)
            clients[name] = await _enter(running(lambda c=create_app, s=settings: c(s)))
        try:
            yield {"clients": clients, "pool": pool}
        finally:
            for client in clients.values():
                await client.context.__aexit__(None, None, None)


async def _enter(context):
    client = await context.__aenter__()
    client.context = context
    return client


async def doors(services) -> list[tuple[str, str, str, tuple[str, ...], dict]]:
    """(service, method, path, content types, schema) of every operation that documents a request body."""
    found = []
    for name, client in services["clients"].items():
        document = (await client.get("/openapi.json")).json()
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                content = operation.get("requestBody", {}).get("content", {})
                if content:
                    schema = next(iter(content.values()))["schema"]
                    found.append((name, method.upper(), _concrete(path), tuple(content),
                                  _resolve(schema, document)))
    return found


def _concrete(path: str) -> str:
    return (path.replace("{application_id}", str(uuid.uuid4())).replace("{state}", "RJ")
            .replace("{unit_id}", "RJ"))


def _resolve(schema: dict, document: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].split("/")[-1]]
    if "properties" in schema:
        schema = {**schema, "properties": {k: _resolve(v, document) for k, v in schema["properties"].items()}}
    return schema


def filled(schema: dict, number: Any, text: str) -> Any:
    """A value of the schema's shape whose every number is `number` and every string `text`."""
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            return filled(option, number, text)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {key: filled(value, number, text) for key, value in schema.get("properties", {}).items()}
    if kind == "array":
        return [filled(schema.get("items", {}), number, text)]
    if kind in ("integer", "number"):
        return number
    if kind == "boolean":
        return True
    return text


def credentials(service: str, method: str, path: str) -> dict[str, str]:
    if service == "intake":  # the applicant's own doors (erasure, export) take no credential
        return form_key_headers() if path.startswith("/v1/applications") and method == "POST" and \
            not path.endswith("/export") else {}
    return admin_headers()


def with_text(schema: dict, text: str) -> bytes:
    """The schema's shape with every string `text`, and one more key holding it (a door may take no string)."""
    value = filled(schema, 1, text)
    return json.dumps({**value, "extra": text} if isinstance(value, dict) else [value, text]).encode()


def json_cases(schema: dict) -> dict[str, bytes]:
    sample = filled(schema, 1, "text")
    first_key = next(iter(sample)) if isinstance(sample, dict) and sample else "x"
    return {
        "deep array": ("[" * 5000 + "]" * 5000).encode(),
        "deep object": ('{"a":' * 5000 + "1" + "}" * 5000).encode(),
        "huge integers": json.dumps(filled(schema, 10**40, "text")).encode(),
        "integer of 5,000 digits": b'{"x": 1' + b"0" * 5000 + b"}",
        "float overflow": json.dumps(filled(schema, 1, "text"))[:-1].encode() + b', "y": 1e999}',
        "NaN": b'{"x": NaN}',
        "NUL": with_text(schema, "a\x00b"),
        "lone surrogate": with_text(schema, "a\ud800b"),
        "invalid UTF-8": json.dumps(sample).encode()[:-1] + b', "z": "\xff\xfe"}',
        "duplicate keys": b'{"%s": 1, ' % first_key.encode() + json.dumps(sample).encode()[1:],
    }


# Cases the JSON reader itself refuses, before any field is looked at: 422 on the body as a whole.
UNREADABLE = {"deep array", "deep object", "integer of 5,000 digits", "float overflow", "NaN", "NUL",
              "lone surrogate", "invalid UTF-8", "duplicate keys"}
# The applicant's erasure reads a body only to find a phone; one it cannot read is no phone: 401.
NO_PROOF = ("intake", "DELETE")

FORM_CASES = {
    "form NUL": b"full_name=a%00b&phone=9829012345&state=RJ&district=Jaipur&age=30&consent=true",
    "form invalid UTF-8": b"full_name=%FF%FE&phone=9829012345&state=RJ&district=Jaipur&age=30&consent=true",
    "form lone surrogate": b"full_name=%ED%A0%80x&phone=9829012345&state=RJ&district=Jaipur&age=30&consent=true",
    "form repeated field": b"full_name=Asha&full_name=Meena&phone=9829012345&state=RJ&district=Jaipur&age=30&consent=1",
}


async def row_counts(pool: asyncpg.Pool) -> dict[str, int]:
    tables = await pool.fetch("SELECT table_schema, table_name FROM information_schema.tables "
                              "WHERE table_schema = ANY($1) AND table_type = 'BASE TABLE'", list(SCHEMAS))
    assert len(tables) > 10, tables
    return {f"{t['table_schema']}.{t['table_name']}": await pool.fetchval(
        f'SELECT count(*) FROM "{t["table_schema"]}"."{t["table_name"]}"') for t in tables}


def assert_documented_refusal(label: str, answer) -> None:
    assert 400 <= answer.status_code < 500, (label, answer.status_code, answer.text[:300])
    body = answer.json()
    model = ValidationErrorBody if answer.status_code == 422 else ErrorBody
    model.model_validate(body)  # {"detail": [{"field", "message"}]} for a 422, {"detail": "..."} otherwise


async def assert_all_ready(services) -> None:
    for name, client in services["clients"].items():
        assert (await client.get("/readyz")).status_code == 200, name


async def test_every_body_door_refuses_hostile_bodies_and_stores_nothing(services) -> None:
    found = await doors(services)
    # Every service's writes are here; reporting takes no body (a new one would be found and tried).
    assert {(s, m) for s, m, *_ in found} >= {("intake", "POST"), ("intake", "DELETE"), ("screening", "POST"),
                                             ("screening", "PUT"), ("placement", "PUT")}, found
    before = await row_counts(services["pool"])
    tried = 0
    for service, method, path, content_types, schema in found:
        client, headers = services["clients"][service], credentials(service, method, path)
        cases = [(name, body, JSON_TYPE) for name, body in json_cases(schema).items()]
        cases.append(("wrong content type", json.dumps(filled(schema, 1, "text")).encode(), "text/plain"))
        cases.append(("no content type", json.dumps(filled(schema, 1, "text")).encode(), None))
        if FORM_TYPE in content_types:
            cases += [(name, body, FORM_TYPE) for name, body in FORM_CASES.items()]
        for name, body, kind in cases:
            answer = await client.request(method, path, content=body,
                                          headers={**headers, **({"Content-Type": kind} if kind else {})})
            assert_documented_refusal(f"{name}: {method} {path}", answer)
            if (service, method) == NO_PROOF and (name in UNREADABLE or name.endswith("content type")):
                assert answer.status_code == 401, (name, answer.text)
            elif kind not in content_types:  # the bulk import takes CSV and NDJSON only
                assert answer.status_code == 415, (name, method, path, answer.text[:200])
            elif name in UNREADABLE:
                assert answer.status_code == 422, (name, method, path, answer.text[:200])
                assert [e["field"] for e in answer.json()["detail"]] in (["body"], ["_root"]), (name, answer.text)
            elif name.endswith("content type"):
                assert answer.status_code == 415, (name, method, path, answer.text[:200])
            tried += 1
        for kind in content_types:
            answer = await client.request(method, path, content=b"x" * TEN_MB, headers={**headers, "Content-Type": kind})
            assert answer.status_code == 413, (method, path, kind, answer.status_code)
            assert_documented_refusal(f"10 MB: {method} {path}", answer)

            async def streamed() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
                for _ in range(TEN_MB // 65536):
                    yield b"[" * 65536
            answer = await client.request(method, path, content=streamed(), headers={**headers, "Content-Type": kind})
            assert answer.status_code == 413, ("streamed", method, path, kind, answer.status_code, answer.text[:200])
            assert_documented_refusal(f"10 MB streamed: {method} {path}", answer)
    assert tried > 100
    assert await row_counts(services["pool"]) == before
    await assert_all_ready(services)


async def test_a_body_that_trickles_in_is_cut_off_everywhere(services) -> None:
    """One byte every 0.2 s: each door answers 408 once HTTP_BODY_TIMEOUT_SECONDS has passed, all at once."""
    found = await doors(services)
    before = await row_counts(services["pool"])

    async def trickle() -> AsyncIterator[bytes]:
        for _ in range(100):  # 20 s if nobody stopped it
            yield b" "
            await asyncio.sleep(0.2)

    async def slow(service: str, method: str, path: str, kind: str):
        client = services["clients"][service]
        return await client.request(method, path, content=trickle(),
                                    headers={**credentials(service, method, path), "Content-Type": kind})

    started = asyncio.get_running_loop().time()
    answers = await asyncio.gather(*(slow(s, m, p, kinds[0]) for s, m, p, kinds, _ in found))
    assert asyncio.get_running_loop().time() - started < BODY_TIMEOUT + 3
    for (service, method, path, *_), answer in zip(found, answers):
        assert answer.status_code == 408, (service, method, path, answer.status_code, answer.text[:200])
        assert_documented_refusal(f"slow: {method} {path}", answer)
    assert await row_counts(services["pool"]) == before
    await assert_all_ready(services)


async def test_a_deep_line_in_a_bulk_import_is_one_rejected_row(services) -> None:
    intake = services["clients"]["intake"]
    answer = await intake.post("/v1/applications/bulk", content=("[" * 5000 + "]" * 5000).encode() + b"\n",
                               headers={**form_key_headers(), "Content-Type": "application/x-ndjson"})
    assert answer.status_code == 200, answer.text[:300]
    assert (answer.json()["accepted"], answer.json()["rejected"]) == (0, 1)


def test_form_cases_are_what_they_say() -> None:
    """The form bodies above hold what their names say once percent-decoded (a guard on the table itself)."""
    assert "\x00" in urllib.parse.unquote(FORM_CASES["form NUL"].decode())
    with pytest.raises(UnicodeDecodeError):
        urllib.parse.unquote_to_bytes(FORM_CASES["form invalid UTF-8"].decode()).decode("utf-8")
