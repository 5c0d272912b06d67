"""Intake API: FastAPI routes — auth -> validate (domain) -> store."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import asyncpg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse

from services.intake import domain, store
from shared.auth import require_api_key
from shared.events import ApplicationSubmitted
from shared.geography import STATES
from shared.phone import phone_hash
from shared.service import pool_of, runtime_of

router = APIRouter()
STATIC = Path(__file__).parent / "static"


class BadRequest(Exception):
    def __init__(self, status: int, detail: object) -> None:
        self.status, self.detail = status, detail


async def read_body(request: Request) -> dict:
    """JSON or a plain HTML form post; anything else is a 415."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            raise BadRequest(400, "the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise BadRequest(422, [{"field": "body", "message": "expected a JSON object"}])
        return body
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        return {key: (values[0] if len(values) == 1 else values)
                for key in form.keys() for values in [form.getlist(key)]}
    raise BadRequest(415, "send application/json or application/x-www-form-urlencoded")


def hash_key(request: Request) -> bytes:
    return runtime_of(request).settings.phone_hash_key.get_secret_value().encode()


@router.post("/v1/applications", status_code=201, tags=["applications"])
async def submit_application(request: Request, source: str = Depends(require_api_key),
                             pool: asyncpg.Pool = Depends(pool_of)) -> JSONResponse:
    try:
        raw = await read_body(request)
    except BadRequest as error:
        return JSONResponse({"detail": error.detail}, error.status)
    result = domain.validate_application(raw)
    if isinstance(result, list):
        lang = domain.error_language(request.headers.get("accept-language"))
        return JSONResponse(
            {"detail": [{"field": e.field, "code": e.code, "message": domain.message(e, lang)} for e in result]},
            422,
        )
    submitted = ApplicationSubmitted(
        **result.model_dump(exclude={"source"}), source=result.source or source,
        submitted_at=datetime.now(timezone.utc),
    )
    application_id, duplicate = await store.submit_application(pool, submitted, phone_hash(submitted.phone, hash_key(request)))
    body = {"application_id": str(application_id), "status": "received", "duplicate": duplicate}
    return JSONResponse(body, 200 if duplicate else 201)


@router.get("/v1/reference/states", tags=["reference"])
async def reference_states() -> list[dict]:
    return [{"code": s.code, "name_en": s.name_en, "name_hi": s.name_hi} for s in STATES.values()]


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def application_form(request: Request) -> HTMLResponse:
    settings = runtime_of(request).settings
    keys = settings.intake_api_keys.get_secret_value()
    form_key = next((item.split(":", 1)[1] for item in keys.split(",")
                     if item.split(":", 1)[0] == settings.intake_form_source), "")
    html = (STATIC / "form.html").read_text(encoding="utf-8").replace("__FORM_API_KEY__", form_key)
    return HTMLResponse(html)
