"""Intake API: FastAPI routes — auth -> validate (domain) -> store."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import os
import time
import uuid
from collections import deque
from datetime import datetime, timezone
from typing import Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Request, Security
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from services.intake import domain, page, store
from shared.auth import (
    Staff,
    parse_api_keys,
    require_admin,
    source_for_key,
    staff_for,
    unauthorized,
)
from shared.geography import STATES
from shared.phone import mask_phone, normalize_phone, phone_hash
from shared.web import pool_of, runtime_of

log = logging.getLogger(__name__)
router = APIRouter()

JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
# Rows per batch of a bulk import (prepared by one worker, then staged and inserted in one round
# trip): large enough that COPY dominates, small enough that a batch stays a few MB.
BULK_BATCH_ROWS = 2_000
# Batches handed to the workers (one per CPU, app.py) ahead of the one being stored.
BULK_IN_FLIGHT = 2 * (os.cpu_count() or 1)

api_key_header = APIKeyHeader(name="X-Api-Key", auto_error=False,
                              description="An upstream source's key (INTAKE_API_KEYS). A plain HTML form "
                                          "post may send it as the `api_key` field instead.")
bearer = HTTPBearer(auto_error=False, description="A staff token (STAFF_TOKENS)")


class ApplicationRequest(BaseModel):
    """What an upstream form sends (SPEC "Application"); intake trims and normalizes it."""

    full_name: str = Field(description="2–100 characters after trimming, any script")
    phone: str = Field(description="Indian mobile; +91, 91 or 0 prefix, spaces and dashes allowed")
    email: str | None = None
    state: str = Field(description="two-letter code (RJ), or the English or Hindi name")
    district: str = Field(description="2–60 characters")
    block: str | None = Field(None, description="2–60 characters")
    age: int = Field(ge=domain.AGE_MIN, le=domain.AGE_MAX)
    languages: list[str] | None = Field(None, description="a list, or one string separated by commas")
    skills: list[Literal[domain.SKILLS]] | None = None  # type: ignore[valid-type]
    social: dict[str, str] | None = Field(None, description="platform -> handle; a form may send social.<platform>")
    followers: int | None = Field(None, ge=0)
    hours_per_week: int | None = Field(None, ge=domain.HOURS_MIN, le=domain.HOURS_MAX)
    consent: Literal[True]
    source: str | None = Field(None, max_length=domain.SOURCE_MAX)


class Received(BaseModel):
    application_id: uuid.UUID
    status: Literal["received"]
    duplicate: bool


class BulkError(BaseModel):
    row: int
    field: str
    message: str


class BulkResult(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    errors: list[BulkError]


class ErasureRequest(BaseModel):
    phone: str = Field(description="the applicant's phone, in any accepted format")


def _request_body(*content_types: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {kind: {"schema": schema} for kind in content_types}}}


def content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def language(request: Request) -> Literal["en", "hi"]:
    return domain.error_language(request.headers.get("accept-language"))


def hash_key(request: Request) -> bytes:
    return runtime_of(request).settings.phone_hash_key.get_secret_value().encode()


def form_key(request: Request) -> str:
    """The API key of the public form's source, which GET / puts into the page."""
    settings = runtime_of(request).settings
    keys = parse_api_keys(settings.intake_api_keys.get_secret_value())
    return next((key for key, source in keys.items() if source == settings.intake_form_source), "")


def retry_after(request: Request, source: str) -> int:
    """0 when this key may make a request now (a token is taken), else whole seconds to wait."""
    wait = request.app.state.rate_limiter.take(source, time.monotonic())
    return math.ceil(wait) if wait > 0 else 0


async def read_form(request: Request) -> dict[str, Any]:
    """A plain HTML form post: repeated names (skills) become lists."""
    form = await request.form()
    return {key: (values[0] if len(values) == 1 else values) for key in form.keys() for values in [form.getlist(key)]}


def _too_many(seconds: int) -> JSONResponse:
    return JSONResponse({"detail": f"too many requests for this key; retry in {seconds} s"}, 429,
                        headers={"Retry-After": str(seconds)})


@router.post(
    "/v1/applications", status_code=201, tags=["applications"], response_model=Received,
    openapi_extra=_request_body(JSON_TYPE, FORM_TYPE, schema=ApplicationRequest.model_json_schema()),
    responses={200: {"model": Received, "description": "the phone applied before: the first application"},
               401: {"description": "missing or invalid API key"}, 415: {"description": "not JSON or a form"},
               422: {"description": "one entry per bad field"}, 429: {"description": "too many requests"}},
)
async def submit_application(request: Request, header_key: str | None = Security(api_key_header),
                             pool: asyncpg.Pool = Depends(pool_of)) -> Response:
    kind = content_type(request)
    # A browser without JavaScript posts the form itself and should get a page back, not JSON.
    html = kind == FORM_TYPE and "text/html" in request.headers.get("accept", "")
    raw: Any = None
    key = header_key
    if not key and kind == FORM_TYPE:
        raw = await read_form(request)
        key = raw.get("api_key")
    source = source_for_key(runtime_of(request).settings, key) if isinstance(key, str) else None
    if source is None:
        if html:
            return HTMLResponse(page.failure_page(form_key(request), page.KEY_REFUSED, raw or {}), 401)
        return JSONResponse({"detail": "missing or invalid X-Api-Key"}, 401)
    if wait := retry_after(request, source):
        if html:
            return HTMLResponse(page.failure_page(form_key(request), page.TOO_MANY, raw or {}), 429,
                                headers={"Retry-After": str(wait)})
        return _too_many(wait)
    if raw is None:
        if kind == JSON_TYPE:
            try:
                raw = json.loads(await request.body())
            except ValueError:
                errors = [domain.FieldError(domain.ROOT, "invalid_json")]
                return JSONResponse({"detail": _field_errors(errors, language(request))}, 422)
        elif kind == FORM_TYPE:
            raw = await read_form(request)
        else:
            return JSONResponse({"detail": "send application/json or application/x-www-form-urlencoded"}, 415)
    if isinstance(raw, dict):
        raw.pop("api_key", None)  # a credential, never part of the application

    result = domain.validate_application(raw)
    if isinstance(result, list):
        log.info("application from %s rejected: %s", source, ", ".join(e.field for e in result))
        if html:
            messages = [(e.field, domain.message(e, "hi"), domain.message(e, "en")) for e in result]
            return HTMLResponse(page.errors_page(form_key(request), messages, raw), 422)
        return JSONResponse({"detail": _field_errors(result, language(request))}, 422)

    event = domain.submitted_event(uuid.uuid4(), result, source, datetime.now(timezone.utc))
    application_id, duplicate = await store.submit_application(pool, event, phone_hash(result.phone, hash_key(request)))
    log.info("application %s %s from %s (phone %s)", application_id,
             "was a duplicate" if duplicate else "received", source, mask_phone(result.phone))
    if html:
        return HTMLResponse(page.received_page(form_key(request), str(application_id), duplicate),
                            200 if duplicate else 201)
    return JSONResponse({"application_id": str(application_id), "status": "received", "duplicate": duplicate},
                        200 if duplicate else 201)


def _field_errors(errors: list[domain.FieldError], lang: str) -> list[dict[str, str]]:
    return [{"field": e.field, "code": e.code, "message": domain.message(e, lang)} for e in errors]


@router.post(
    "/v1/applications/bulk", tags=["applications"], response_model=BulkResult,
    openapi_extra=_request_body(*domain.BULK_FORMATS, schema={"type": "string"}),
    responses={401: {"description": "missing or invalid API key"},
               413: {"description": f"more than {domain.BULK_MAX_ROWS:,} rows, or a row over 64 KiB; nothing imported"},
               415: {"description": "not text/csv or application/x-ndjson"},
               422: {"description": "not UTF-8, or a CSV header without the required columns; nothing imported"},
               429: {"description": "too many requests"}},
)
async def bulk_import(request: Request, header_key: str | None = Security(api_key_header),
                      pool: asyncpg.Pool = Depends(pool_of)) -> Response:
    """Up to 100,000 rows in one request, all or nothing: the body is read as it streams in, rows are
    validated in worker processes and staged in batches inside one transaction; rows with errors are
    reported, not imported."""
    source = source_for_key(runtime_of(request).settings, header_key)
    if source is None:
        return JSONResponse({"detail": "missing or invalid X-Api-Key"}, 401)
    fmt = domain.BULK_FORMATS.get(content_type(request))
    if fmt is None:
        return JSONResponse({"detail": "send text/csv or application/x-ndjson"}, 415)
    if wait := retry_after(request, source):
        return _too_many(wait)

    loop, workers = asyncio.get_running_loop(), request.app.state.bulk_workers
    lang, key = language(request), hash_key(request)
    reader, summary = domain.BulkReader(fmt), domain.BulkSummary()
    records: list[domain.BulkRecord] = []
    # Batches being prepared, in file order: enough to keep every worker busy while this loop
    # stores the one before.
    preparing: deque[asyncio.Future] = deque()

    def prepare(batch: list[domain.BulkRecord]) -> None:
        preparing.append(loop.run_in_executor(workers, domain.prepare_rows, fmt, reader.header, batch, source, key))

    async def store_next(importer: store.BulkImport) -> None:
        prepared: domain.PreparedRows = await preparing.popleft()
        summary.reject(prepared.rejected, lang)
        if prepared.accepted:
            summary.record(len(prepared.accepted), await importer.add(prepared.accepted))

    started = time.perf_counter()
    try:
        async with store.BulkImport(pool) as importer:
            async for chunk in request.stream():
                records += reader.feed(chunk)
                while len(records) >= BULK_BATCH_ROWS:
                    prepare(records[:BULK_BATCH_ROWS])
                    del records[:BULK_BATCH_ROWS]
                    while len(preparing) > BULK_IN_FLIGHT:
                        await store_next(importer)
            records += reader.close()
            if records:
                prepare(records)
            while preparing:
                await store_next(importer)
    except domain.BulkRejected as refused:
        log.info("bulk import from %s refused after %d rows: %s", source, reader.rows, refused.detail)
        return JSONResponse({"detail": refused.detail}, refused.status)
    finally:
        for future in preparing:
            future.cancel()
    log.info("bulk import from %s: %d accepted, %d duplicates, %d rejected in %.1f s", source, summary.accepted,
             summary.duplicates, summary.rejected, time.perf_counter() - started)
    return JSONResponse({"accepted": summary.accepted, "duplicates": summary.duplicates,
                         "rejected": summary.rejected, "errors": summary.errors})


@router.get("/v1/applications/{application_id}", tags=["applications"],
            responses={401: {"description": "no staff token"}, 403: {"description": "not an admin"},
                       404: {"description": "unknown application"}})
async def get_application(application_id: uuid.UUID, staff: Staff = Depends(require_admin),
                          pool: asyncpg.Pool = Depends(pool_of)) -> dict[str, Any]:
    """The stored application; after erasure only what the counts need (personal fields are null)."""
    row = await store.application(pool, application_id)
    if row is None:
        raise HTTPException(404, "no such application")
    details = row["details"] or {}
    return {
        "application_id": str(row["application_id"]), "full_name": row["full_name"], "phone": row["phone"],
        "email": row["email"], "state": row["state"], "district": row["district"], "block": row["block"],
        "age": row["age"], **{name: details.get(name) for name in store.DETAILS}, "source": row["source"],
        "submitted_at": row["submitted_at"].isoformat(), "erased": row["erased_at"] is not None,
        "erased_at": row["erased_at"].isoformat() if row["erased_at"] else None,
    }


@router.delete(
    "/v1/applications/{application_id}", status_code=204, tags=["applications"],
    openapi_extra={"requestBody": {"required": False, "content": {JSON_TYPE: {
        "schema": ErasureRequest.model_json_schema()}}}},
    responses={401: {"description": "neither an admin token nor a phone"}, 403: {"description": "not an admin"},
               404: {"description": "unknown application, or the phone does not match"}},
)
async def erase_application(application_id: uuid.UUID, request: Request,
                            credentials: HTTPAuthorizationCredentials | None = Security(bearer),
                            pool: asyncpg.Pool = Depends(pool_of)) -> Response:
    """Erase an application's personal data here and, through applications.erased, in every service.

    An admin token, or the applicant's own phone as `{"phone": ...}`. A wrong phone is a 404 like
    an unknown id, so the endpoint does not tell which ids exist. Erasing again is a 204 too.
    """
    if credentials is not None:
        staff = staff_for(runtime_of(request).settings, credentials)
        if staff is None:
            raise unauthorized()
        if not staff.is_admin:
            raise HTTPException(403, "erasure needs an admin token, or the applicant's phone")
        erased_by = "an admin"
    else:
        phone = await _applicant_phone(request)
        if phone is None:
            raise unauthorized('send an admin token, or the application\'s phone as {"phone": "..."}')
        stored = await store.phone_hash_of(pool, application_id)
        normalized = normalize_phone(phone)
        if stored is None or normalized is None or not hmac.compare_digest(
                stored, phone_hash(normalized, hash_key(request))):
            raise HTTPException(404, "no such application for this phone")
        erased_by = "the applicant"
    outcome = await store.erase_application(pool, application_id, datetime.now(timezone.utc))
    if outcome is None:
        raise HTTPException(404, "no such application")
    log.info("application %s %s by %s", application_id, "erased" if outcome else "was already erased", erased_by)
    return Response(status_code=204)


async def _applicant_phone(request: Request) -> str | None:
    if content_type(request) != JSON_TYPE:
        return None
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        return None
    phone = body.get("phone") if isinstance(body, dict) else None
    return phone if isinstance(phone, str) else None


@router.get("/v1/reference/states", tags=["reference"])
async def reference_states() -> list[dict[str, str]]:
    """The 36 states and union territories: code, English and Hindi name (for form builders)."""
    return [{"code": s.code, "name_en": s.name_en, "name_hi": s.name_hi} for s in STATES.values()]


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def application_form(request: Request) -> HTMLResponse:
    return HTMLResponse(page.form_page(form_key(request)))
