"""Intake API: FastAPI routes: auth, parse the body, call one use case, shape the answer (JSON, or the form page)."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import parse_qsl

from fastapi import Depends, HTTPException, Request, Security
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from services.intake import page, usecases
from services.intake.bulk_import import import_body
from services.intake.domain import bot_check, bulk, validation
from services.intake.domain.messages import error_language, message
from services.intake.domain.validation import FieldError
from services.intake.store import Store
from shared import json_input
from shared.auth import (
    Staff,
    parse_api_keys,
    require_admin,
    source_for_key,
    staff_for,
    unauthorized,
)
from shared.errors import error_responses
from shared.events import SKILLS
from shared.geography import STATES
from shared.unit_of_work import UnitOfWork
from shared.web import runtime_of, service_router, unit_of_work

router = service_router()
intake_unit_of_work = unit_of_work(Store)

JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"

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
    age: int = Field(ge=validation.AGE_MIN, le=validation.AGE_MAX)
    languages: list[str] | None = Field(None, description="a list, or one string separated by commas")
    skills: list[Literal[SKILLS]] | None = None  # type: ignore[valid-type]
    social: dict[str, str] | None = Field(None, description="platform -> handle; a form may send social.<platform>")
    followers: int | None = Field(None, ge=0)
    hours_per_week: int | None = Field(None, ge=validation.HOURS_MIN, le=validation.HOURS_MAX)
    consent: Literal[True]
    source: str | None = Field(None, max_length=validation.SOURCE_MAX)


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


class ApplicantProof(BaseModel):
    """The applicant proves an application is theirs with its phone (erasure, export)."""

    phone: str = Field(description="the applicant's phone, in any accepted format")


def with_page(responses: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """The answers of a plain HTML form post (Accept: text/html), a page instead of JSON, beside the JSON ones."""
    page_content = {"text/html": {"schema": {"type": "string"}}}
    return {status: {**answer, "content": {**answer.get("content", {}), **page_content}}
            for status, answer in {201: {}, **responses}.items()}


def _request_body(*content_types: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {kind: {"schema": schema} for kind in content_types}}}


def content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def language(request: Request) -> Literal["en", "hi"]:
    return error_language(request.headers.get("accept-language"))


def hash_key(request: Request) -> bytes:
    return runtime_of(request).settings.phone_hash_key.get_secret_value().encode()


def form_key(request: Request) -> str:
    """The API key of the public form's source, which GET / puts into the page."""
    settings = runtime_of(request).settings
    keys = parse_api_keys(settings.intake_api_keys.get_secret_value())
    return next((key for key, source in keys.items() if source == settings.intake_form_source), "")


def form_of(request: Request, submitted: dict | None = None) -> page.Form:
    """The form page's fill-ins, with a stamp for the minimum fill time: of this moment, or for a page
    re-shown after a submission, the submitted one (bot_check.stamp_to_keep)."""
    stamp = bot_check.stamp_to_keep(submitted if isinstance(submitted, dict) else {}, time.time(), hash_key(request))
    return page.Form(form_key(request), runtime_of(request).settings.reporting_url, stamp)


def retry_after(request: Request, source: str) -> int:
    """0 when this key may make a request now (a token is taken), else whole seconds to wait."""
    return _whole_seconds(request.app.state.rate_limiter.take(source, time.monotonic()))


def address_retry_after(request: Request) -> int:
    """The same for the public form's client address (the peer, or what a TRUSTED_PROXIES proxy says it is)."""
    address = request.client.host if request.client else ""
    return _whole_seconds(request.app.state.address_limiter.take(address, time.monotonic()))


def _whole_seconds(wait: float) -> int:
    return math.ceil(wait) if wait > 0 else 0


async def read_form(request: Request) -> dict[str, Any]:
    """A plain HTML form post: repeated names (skills) become lists. ValueError when it is not UTF-8
    (Starlette's parser would put U+FFFD in its place and the application would be stored so)."""
    body = (await request.body()).decode("ascii", errors="replace")
    try:
        pairs = parse_qsl(body, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise ValueError("form is not UTF-8") from None
    fields: dict[str, Any] = {}
    for key, value in pairs:
        fields[key] = [*fields[key], value] if isinstance(fields.get(key), list) else (
            [fields[key], value] if key in fields else value)
    return fields


def _too_many(seconds: int) -> JSONResponse:
    return JSONResponse({"detail": f"too many requests; retry in {seconds} s"}, 429,
                        headers={"Retry-After": str(seconds)})


NOT_APPLICATION_FIELDS = frozenset({"api_key", bot_check.HONEYPOT_FIELD, bot_check.STAMP_FIELD})
# Said the same way whichever bot check refused, and not a 422: a 422 names fields, and naming the
# honeypot would tell a bot which check it tripped. A person who sent the form too quickly succeeds on resending.
NOT_ACCEPTED = "this submission was not accepted: wait a few seconds and send it again, or reload the page"


@router.post(
    "/v1/applications", status_code=201, tags=["applications"], response_model=Received,
    openapi_extra=_request_body(JSON_TYPE, FORM_TYPE, schema=ApplicationRequest.model_json_schema()),
    responses=with_page({200: {"model": Received, "description": "the phone applied before: the first application"},
                         **error_responses((400, "the public form's bot check refused the submission"),
                                           (401, "missing or invalid API key"), (415, "not JSON or a form"), 422,
                                           (429, "too many requests for the key, or for the public form from one"
                                                 " address"))}),
)
async def submit_application(request: Request, header_key: str | None = Security(api_key_header),
                             uow: UnitOfWork[Store] = Depends(intake_unit_of_work)) -> Response:
    settings = runtime_of(request).settings
    kind = content_type(request)
    # A browser without JavaScript posts the form itself and should get a page back, not JSON.
    html = kind == FORM_TYPE and "text/html" in request.headers.get("accept", "")
    raw: Any = None
    key = header_key
    if not key and kind == FORM_TYPE:
        try:
            raw = await read_form(request)
        except ValueError:
            return _unreadable("unreadable_form", {}, request, html)
        key = raw.get("api_key")
    source = source_for_key(settings, key) if isinstance(key, str) else None
    if source is None:
        if html:
            return HTMLResponse(page.failure_page(form_of(request, raw), page.KEY_REFUSED, raw or {}), 401)
        return JSONResponse({"detail": "missing or invalid X-Api-Key"}, 401)
    # The public form's key is in its page: its client addresses are limited one by one, before the form's
    # own bucket, so one client spends its own tokens and not everyone's.
    public = source == settings.intake_form_source
    if wait := (public and address_retry_after(request)) or retry_after(request, source):
        if html:
            return HTMLResponse(page.failure_page(form_of(request, raw), page.TOO_MANY, raw or {}), 429,
                                headers={"Retry-After": str(wait)})
        return _too_many(wait)
    if raw is None:
        if kind == JSON_TYPE:
            try:
                raw = json_input.loads(await request.body())
            except ValueError as error:
                return _unreadable("unreadable_json", {"reason": str(error)}, request, html)
        elif kind == FORM_TYPE:
            try:
                raw = await read_form(request)
            except ValueError:
                return _unreadable("unreadable_form", {}, request, html)
        else:
            return JSONResponse({"detail": "send application/json or application/x-www-form-urlencoded"}, 415)
    application = raw
    if isinstance(raw, dict):
        if public and bot_check.looks_automated(raw, time.time(), hash_key(request),
                                                settings.intake_form_min_fill_seconds):
            if html:
                return HTMLResponse(page.failure_page(form_of(request), page.NOT_ACCEPTED, raw), 400)
            return JSONResponse({"detail": NOT_ACCEPTED}, 400)
        # A credential and the bot check's fields are never part of the application; `raw` keeps them,
        # so a page shown again with its errors keeps the stamp of when the form was first opened.
        application = {name: value for name, value in raw.items() if name not in NOT_APPLICATION_FIELDS}

    try:
        submitted = await usecases.submit_application(uow, application, source, hash_key(request))
    except usecases.InvalidApplication as invalid:
        if html:
            messages = [(e.field, message(e, "hi"), message(e, "en")) for e in invalid.errors]
            return HTMLResponse(page.errors_page(form_of(request, raw), messages, raw), 422)
        return JSONResponse({"detail": _field_errors(invalid.errors, language(request))}, 422)
    application_id, status = str(submitted.application_id), 200 if submitted.duplicate else 201
    if html:
        return HTMLResponse(page.received_page(form_of(request), application_id, submitted.duplicate), status)
    return JSONResponse({"application_id": application_id, "status": "received", "duplicate": submitted.duplicate},
                        status)


def _unreadable(code: str, params: dict[str, Any], request: Request, html: bool) -> Response:
    error = FieldError(validation.ROOT, code, params)
    if html:
        messages = [(error.field, message(error, "hi"), message(error, "en"))]
        return HTMLResponse(page.errors_page(form_of(request), messages, {}), 422)
    return JSONResponse({"detail": _field_errors([error], language(request))}, 422)


def _field_errors(errors: list[FieldError], lang: str) -> list[dict[str, str]]:
    return [{"field": e.field, "code": e.code, "message": message(e, lang)} for e in errors]


@router.post(
    "/v1/applications/bulk", tags=["applications"], response_model=BulkResult,
    openapi_extra=_request_body(*bulk.BULK_FORMATS, schema={"type": "string"}),
    responses=error_responses(
        (401, "missing or invalid API key"),
        (413, f"more than {bulk.BULK_MAX_ROWS:,} rows, or a row over 64 KiB; nothing imported"),
        (415, "not text/csv or application/x-ndjson"),
        (422, "not UTF-8, or a CSV header without the required columns; nothing imported"), 429),
)
async def bulk_import(request: Request, header_key: str | None = Security(api_key_header),
                      uow: UnitOfWork[Store] = Depends(intake_unit_of_work)) -> Response:
    """Up to 100,000 rows in one request, all or nothing: the body is read as it streams in, rows are
    validated in worker processes and staged in batches inside one transaction; rows with errors are
    reported, not imported."""
    source = source_for_key(runtime_of(request).settings, header_key)
    if source is None:
        return JSONResponse({"detail": "missing or invalid X-Api-Key"}, 401)
    fmt = bulk.BULK_FORMATS.get(content_type(request))
    if fmt is None:
        return JSONResponse({"detail": "send text/csv or application/x-ndjson"}, 415)
    if wait := retry_after(request, source):
        return _too_many(wait)
    try:
        summary = await import_body(uow, request.app.state.bulk_workers, fmt, request.stream(), source,
                                    hash_key(request), language(request))
    except bulk.BulkRejected as refused:
        if refused.status == 422:  # the one 422 shape: this one's field is the body as a whole
            return JSONResponse({"detail": [{"field": "body", "message": refused.detail}]}, 422)
        return JSONResponse({"detail": refused.detail}, refused.status)
    return JSONResponse({"accepted": summary.accepted, "duplicates": summary.duplicates,
                         "rejected": summary.rejected, "errors": summary.errors})


@router.get("/v1/applications/{application_id}", tags=["applications"],
            responses=error_responses(401, (403, "not an admin token"), (404, "unknown application")))
async def get_application(application_id: uuid.UUID, staff: Staff = Depends(require_admin),
                          uow: UnitOfWork[Store] = Depends(intake_unit_of_work)) -> dict[str, Any]:
    """The stored application; after erasure only what the counts need (personal fields are null)."""
    try:
        row = await usecases.get_application(uow, application_id)
    except usecases.UnknownApplication:
        raise HTTPException(404, "no such application") from None
    return application_document(row)


def application_document(row: Mapping[str, Any]) -> dict[str, Any]:
    """An application as intake stores it (after erasure the personal fields are null)."""
    details = row["details"] or {}
    return {
        "application_id": str(row["application_id"]), "full_name": row["full_name"], "phone": row["phone"],
        "email": row["email"], "state": row["state"], "district": row["district"], "block": row["block"],
        "age": row["age"], **{name: details.get(name) for name in bulk.DETAILS}, "source": row["source"],
        "submitted_at": row["submitted_at"].isoformat(), "erased": row["erased_at"] is not None,
        "erased_at": row["erased_at"].isoformat() if row["erased_at"] else None,
    }


@router.post("/v1/applications/{application_id}/export", tags=["applications"],
             responses=error_responses((404, "unknown application, or the phone does not match")))
async def export_application(application_id: uuid.UUID, body: ApplicantProof, request: Request,
                             uow: UnitOfWork[Store] = Depends(intake_unit_of_work)) -> JSONResponse:
    """Right of access: everything intake holds about the applicant, for the applicant, proved by their phone
    (any accepted format). A wrong phone is a 404 like an unknown id, as for erasure."""
    try:
        row = await usecases.export_application(uow, application_id, body.phone, hash_key(request))
    except usecases.UnknownApplication:
        raise HTTPException(404, "no such application for this phone") from None
    return JSONResponse({"application": application_document(row), "held_by": "intake",
                         "note": "screening and placement hold the same contact details and the interview's "
                                 "result; reporting holds no personal data"},
                        headers={"Content-Disposition": f'attachment; filename="application-{application_id}.json"',
                                 "Cache-Control": "no-store"})


@router.delete(
    "/v1/applications/{application_id}", status_code=204, tags=["applications"],
    openapi_extra={"requestBody": {"required": False, "content": {JSON_TYPE: {
        "schema": ApplicantProof.model_json_schema()}}}},
    responses=error_responses((401, "neither an admin token nor a phone"), (403, "a staff token, not an admin's"),
                              (404, "unknown application, or the phone does not match")),
)
async def erase_application(application_id: uuid.UUID, request: Request,
                            credentials: HTTPAuthorizationCredentials | None = Security(bearer),
                            uow: UnitOfWork[Store] = Depends(intake_unit_of_work)) -> Response:
    """Erase an application's personal data here and, through applications.erased, in every service.

    An admin token, or the applicant's own phone as `{"phone": ...}`. A wrong phone is a 404 like
    an unknown id, so the endpoint does not tell which ids exist. Erasing again is a 204 too.
    """
    phone = staff = None
    if credentials is not None:
        staff = staff_for(runtime_of(request).settings, credentials)
        if staff is None:
            raise unauthorized()
        if not staff.is_admin:
            raise HTTPException(403, "erasure needs an admin token, or the applicant's phone")
    else:
        phone = await _applicant_phone(request)
        if phone is None:
            raise unauthorized('send an admin token, or the application\'s phone as {"phone": "..."}')
    try:
        await usecases.erase_application(uow, application_id, hash_key(request), by=staff, applicant_phone=phone)
    except usecases.PhoneMismatch:
        raise HTTPException(404, "no such application for this phone") from None
    except usecases.UnknownApplication:
        raise HTTPException(404, "no such application") from None
    return Response(status_code=204)


async def _applicant_phone(request: Request) -> str | None:
    if content_type(request) != JSON_TYPE:
        return None
    try:
        body = json_input.loads(await request.body() or b"null")
    except ValueError:
        return None
    phone = body.get("phone") if isinstance(body, dict) else None
    return phone if isinstance(phone, str) else None


class PurgeRequest(BaseModel):
    """A retention purge (SPEC "Operations"), as `recruit purge --older-than 90d [--dry-run]` asks for it."""

    model_config = {"extra": "forbid"}

    older_than_days: int = Field(ge=0, le=36_500, description="cases that ended at least this many days ago")
    dry_run: bool = Field(False, description="only count the applications a purge would erase")


class PurgeResult(BaseModel):
    older_than_days: int
    dry_run: bool
    applications: int = Field(description="applications erased now, or that the dry run would erase")


@router.post("/v1/admin/purge", tags=["retention"], response_model=PurgeResult,
             responses={401: {"description": "no staff token, or a wrong one"}, 403: {"description": "not an admin"}})
async def purge(body: PurgeRequest, staff: Staff = Depends(require_admin),
                uow: UnitOfWork[Store] = Depends(intake_unit_of_work)) -> PurgeResult:
    """Erase the personal data of applications whose case ended `rejected` or `no_show` at least
    `older_than_days` ago (admin): the erasure's own path, one `application.erased` event each with
    `reason: retention`, an `applications.purged` audit row of counts per batch. Counts stay."""
    done = await usecases.purge_ended_applications(uow, body.older_than_days, dry_run=body.dry_run, by=staff)
    return PurgeResult(older_than_days=done.older_than_days, dry_run=done.dry_run, applications=done.applications)


@router.get("/v1/reference/states", tags=["reference"])
async def reference_states() -> list[dict[str, str]]:
    """The 36 states and union territories: code, English and Hindi name (for form builders)."""
    return [{"code": s.code, "name_en": s.name_en, "name_hi": s.name_hi} for s in STATES.values()]


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def application_form(request: Request) -> HTMLResponse:
    return HTMLResponse(page.form_page(form_of(request)))
