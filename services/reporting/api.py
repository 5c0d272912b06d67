"""Reporting API: FastAPI routes — optional read token -> live view or store reads. No response carries PII."""

from __future__ import annotations

import csv
import hmac
import io
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import ASGIApp, Receive, Scope, Send

from services.reporting import store
from services.reporting.live import LiveView, state_document
from shared.geography import resolve_state
from shared.metrics import HTTP_REQUESTS
from shared.phone import normalize_phone, phone_hash
from shared.web import pool_of, runtime_of

STATIC = Path(__file__).parent / "static"
_bearer = HTTPBearer(auto_error=False)


async def read_access(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    """Open unless REPORTING_READ_TOKEN is set; then the bearer token (or ?token=, since a browser's
    EventSource cannot send headers) must match."""
    token = runtime_of(request).settings.reporting_read_token
    if token is None or not token.get_secret_value():
        return
    given = credentials.credentials if credentials else request.query_params.get("token", "")
    if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
        raise HTTPException(401, "a valid reporting read token is required", headers={"WWW-Authenticate": "Bearer"})


class SummaryFastPath:
    """GET /v1/stats/summary answered from the live view ahead of FastAPI's routing, dependency
    solving and the shared timing middleware, which cost ~40 times the answer itself (a request
    through them is ~1 ms of CPU; this is ~25 us), so one worker serves thousands per second.
    It declines (and FastAPI's route of the same path answers, with its 401 or 503) whenever it
    is not a plain authorised GET with counters ready; it still records the request's timing."""

    def __init__(self, app: ASGIApp, view: LiveView, read_token: str) -> None:
        self.app, self.view = app, view
        self.read_token = read_token.encode()
        self.timing = HTTP_REQUESTS.labels("reporting", "GET", "/v1/stats/summary", "200")

    def authorised(self, scope: Scope) -> bool:
        if not self.read_token:
            return True
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, given = value.partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), self.read_token)
        given = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[0]
        return hmac.compare_digest(given.encode(), self.read_token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["path"] != "/v1/stats/summary" or scope["method"] != "GET"
                or not self.view.ready.is_set() or not self.authorised(scope)):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        body = self.view.summary_json
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"cache-control", b"no-cache"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
        self.timing.observe(time.perf_counter() - started)


def live_of(request: Request) -> LiveView:
    return request.app.state.live


async def ready_view(view: LiveView = Depends(live_of)) -> LiveView:
    if not await view.wait_ready():
        raise HTTPException(503, "reporting has not read its counters yet")
    return view


router = APIRouter(prefix="/v1", dependencies=[Depends(read_access)])
pages = APIRouter(include_in_schema=False)


@pages.get("/")
async def dashboard() -> FileResponse:
    return FileResponse(STATIC / "dashboard.html", headers={"Cache-Control": "no-cache"})


@router.get("/stats/summary", tags=["stats"])
async def summary(view: LiveView = Depends(ready_view)) -> Response:
    """Counts of the whole campaign (SPEC). Usually answered by SummaryFastPath before this route:
    both serve the live view's bytes, encoded once per poll; neither queries the database."""
    return Response(view.summary_json, media_type="application/json", headers={"Cache-Control": "no-cache"})


@router.get("/stats/states", tags=["stats"])
async def states(view: LiveView = Depends(ready_view)) -> list[dict]:
    """One row per state with applications, most applications first (then by code)."""
    return view.states


def _state_code(code: str) -> str:
    resolved = resolve_state(code)
    if resolved is None:
        raise HTTPException(404, f"{code!r} is not a state or union territory of India")
    return resolved


@router.get("/stats/states/{code}", tags=["stats"])
async def state_detail(code: str, pool: asyncpg.Pool = Depends(pool_of)) -> dict:
    """The state's counts and one row per district with applications (a known state with none: zeros)."""
    code = _state_code(code)
    row = await store.state_row(pool, code)
    document = state_document(row or {"state": code, "applications": 0, "interviewed": 0, "selected": 0,
                                      "placed": 0})
    document["districts"] = [dict(r) for r in await store.district_rows(pool, code)]
    return document


@router.get("/stats/timeseries", tags=["stats"])
async def timeseries(bucket: Literal["day"] = "day", state: str | None = Query(None, min_length=2, max_length=60),
                     pool: asyncpg.Pool = Depends(pool_of)) -> dict:
    """Per IST calendar day (Asia/Kolkata): applications submitted, applications selected, and
    applications first seated in a unit that day. Days in between with nothing are zeros."""
    code = _state_code(state) if state is not None else None
    rows = {r["day"]: r for r in await store.daily_rows(pool, code)}
    points = []
    if rows:
        day, last = min(rows), max(rows)
        while day <= last:
            r = rows.get(day)
            points.append({"date": day.isoformat(), "applications": r["applications"] if r else 0,
                           "selected": r["selected"] if r else 0, "placed": r["placed"] if r else 0})
            day += timedelta(days=1)
    return {"bucket": bucket, "timezone": "Asia/Kolkata", "state": code, "points": points}


@router.get("/stats/export.csv", tags=["stats"], response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
async def export_csv(pool: asyncpg.Pool = Depends(pool_of)) -> Response:
    """The per-state table (as /v1/stats/states) as CSV, UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["state", "name", "name_hi", "applications", "interviewed", "selected", "placed"])
    for row in await store.state_rows(pool):
        d = state_document(row)
        writer.writerow([d["state"], d["name"], d["name_hi"], d["applications"], d["interviewed"], d["selected"],
                         d["placed"]])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="recruitment-states.csv"'})


@router.get("/stream", tags=["stats"], response_class=EventSourceResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def stream(view: LiveView = Depends(ready_view)) -> EventSourceResponse:
    """Server-Sent Events: `event: summary` with the summary JSON now, then whenever it changes."""
    async def events():
        async for _ in view.summaries():
            yield ServerSentEvent(data=view.summary_json.decode(), event="summary", id=str(view.version))

    return EventSourceResponse(events(), ping=15, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/applications/{application_id}/status", tags=["status"])
async def application_status(request: Request, application_id: uuid.UUID,
                             phone: str = Query(..., max_length=40, description="the applicant's phone, any accepted format"),
                             pool: asyncpg.Pool = Depends(pool_of)) -> dict:
    """The applicant's own stage, only when the phone matches; 404 for anything else (an unknown id,
    another phone, an erased application) so that the answer tells nothing to a guesser."""
    row = await store.application_status(pool, application_id)
    key = runtime_of(request).settings.phone_hash_key.get_secret_value().encode()
    normalized = normalize_phone(phone)
    if row is None or not key or normalized is None or not hmac.compare_digest(
            phone_hash(normalized, key), row["phone_hash"]):
        raise HTTPException(404, "no application with that id and phone")
    # A row still at its first stage has no stage time of its own ('-infinity'): it is the submission's.
    updated = row["stage_at"] if row["stage_at"].year > 1 else row["submitted_at"]
    seated = row["stage"] in ("placed", "waitlisted")
    return {"application_id": str(row["application_id"]), "stage": row["stage"],
            "level": row["level"] if seated else None, "unit_id": row["unit_id"] if seated else None,
            "updated_at": updated.isoformat().replace("+00:00", "Z")}
