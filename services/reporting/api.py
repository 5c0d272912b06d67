"""Reporting API: FastAPI routes — optional read token -> live view or a read use case. No response carries PII."""

from __future__ import annotations

import csv
import io
import time
import uuid
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs

from fastapi import Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import ASGIApp, Receive, Scope, Send

from services.reporting import usecases
from services.reporting.live_view import LiveView, state_document
from services.reporting.store import Store
from shared.auth import same_secret
from shared.errors import error_responses, state_code
from shared.metrics import HTTP_REQUESTS
from shared.unit_of_work import UnitOfWork
from shared.web import runtime_of, service_router, unit_of_work

STATIC = Path(__file__).parent / "static"
_bearer = HTTPBearer(auto_error=False)
reporting_uow = unit_of_work(Store)


async def read_access(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    """Open unless REPORTING_READ_TOKEN is set; then the bearer token (or ?token=, since a browser's
    EventSource cannot send headers) must match."""
    token = runtime_of(request).settings.reporting_read_token
    if token is None or not token.get_secret_value():
        return
    given = credentials.credentials if credentials else request.query_params.get("token", "")
    if not same_secret(given, token.get_secret_value()):
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
                return scheme.lower() == b"bearer" and same_secret(given.strip(), self.read_token)
        given = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[0]
        return same_secret(given, self.read_token)

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


# Every statistics route: 401 when REPORTING_READ_TOKEN is set and not given.
router = service_router(prefix="/v1", dependencies=[Depends(read_access)],
                        responses=error_responses((401, "REPORTING_READ_TOKEN is set and this is not it")))
NOT_READY = (503, "reporting has not read its counters yet")
pages = service_router(include_in_schema=False)


@pages.get("/")
async def dashboard() -> FileResponse:
    return FileResponse(STATIC / "dashboard.html", headers={"Cache-Control": "no-cache"})


@pages.get("/status")
async def status_page() -> FileResponse:
    """The applicant's status page (SPEC "Additions"): its script asks /v1/applications/{id}/status,
    so the phone never enters the page's address or the browser's history."""
    return FileResponse(STATIC / "status.html", headers={"Cache-Control": "no-cache"})


@router.get("/stats/summary", tags=["stats"], responses=error_responses(NOT_READY))
async def summary(view: LiveView = Depends(ready_view)) -> Response:
    """Counts of the whole campaign (SPEC). Usually answered by SummaryFastPath before this route:
    both serve the live view's bytes, encoded once per poll; neither queries the database."""
    return Response(view.summary_json, media_type="application/json", headers={"Cache-Control": "no-cache"})


@router.get("/stats/states", tags=["stats"], responses=error_responses(NOT_READY))
async def states(view: LiveView = Depends(ready_view)) -> list[dict]:
    """One row per state with applications, most applications first (then by code)."""
    return view.states


@router.get("/stats/states/{code}", tags=["stats"])
async def state_detail(code: str, uow: UnitOfWork[Store] = Depends(reporting_uow)) -> dict:
    """The state's counts and one row per district with applications (a state with none: zeros).
    `code` is a code or a name; anything that is not a state of India is a 422."""
    counts, districts = await usecases.state_counts(uow, state_code(code, field="code"))
    return {**state_document(counts), "districts": districts}


@router.get("/stats/timeseries", tags=["stats"])
async def timeseries(bucket: Literal["day"] = "day", state: str | None = Query(None, min_length=2, max_length=60),
                     uow: UnitOfWork[Store] = Depends(reporting_uow)) -> dict:
    """Per IST calendar day (Asia/Kolkata): applications submitted, applications selected, and
    applications first seated in a unit that day. Days in between with nothing are zeros."""
    code = state_code(state) if state is not None else None
    points = [{"date": d.day.isoformat(), "applications": d.applications, "selected": d.selected, "placed": d.placed}
              for d in await usecases.daily_counts(uow, code)]
    return {"bucket": bucket, "timezone": "Asia/Kolkata", "state": code, "points": points}


@router.get("/stats/export.csv", tags=["stats"], response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
async def export_csv(uow: UnitOfWork[Store] = Depends(reporting_uow),
                     excel: bool = Query(False, description="start with a UTF-8 byte order mark, without which "
                                         "Excel on Windows reads the Hindi names as another encoding")) -> Response:
    """The per-state table (as /v1/stats/states) as CSV, UTF-8."""
    out = io.StringIO()
    if excel:
        out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["state", "name", "name_hi", "applications", "interviewed", "selected", "placed"])
    for row in await usecases.state_table(uow):
        d = state_document(row)
        writer.writerow([d["state"], d["name"], d["name_hi"], d["applications"], d["interviewed"], d["selected"],
                         d["placed"]])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="recruitment-states.csv"'})


@router.get("/stream", tags=["stats"], response_class=EventSourceResponse,
            responses={200: {"content": {"text/event-stream": {}}}, **error_responses(NOT_READY)})
async def stream(view: LiveView = Depends(ready_view)) -> EventSourceResponse:
    """Server-Sent Events: `event: summary` with the summary JSON now, then whenever it changes."""
    async def events():
        async for _ in view.summaries():
            yield ServerSentEvent(data=view.summary_json.decode(), event="summary", id=str(view.version))

    return EventSourceResponse(events(), ping=15, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


# The applicant's own look-up is open even when REPORTING_READ_TOKEN closes the statistics: the
# phone is the applicant's credential, and the answer holds nothing but their own stage.
applicants = service_router(prefix="/v1")


@applicants.get("/applications/{application_id}/status", tags=["status"],
                responses=error_responses((404, "no application with that id and phone")))
async def application_status(request: Request, application_id: uuid.UUID,
                             phone: str = Query(..., max_length=40,
                                                description="the applicant's phone, any accepted format"),
                             uow: UnitOfWork[Store] = Depends(reporting_uow)) -> dict:
    """The applicant's own stage, only when the phone matches; 404 for anything else (an unknown id,
    another phone, an erased application) so that the answer tells nothing to a guesser."""
    key = runtime_of(request).settings.phone_hash_key.get_secret_value().encode()
    status = await usecases.applicant_status(uow, application_id, phone, key)
    if status is None:
        raise HTTPException(404, "no application with that id and phone")
    return {"application_id": str(application_id), "stage": status.stage, "level": status.level,
            "unit_id": status.unit_id, "updated_at": status.updated_at.isoformat().replace("+00:00", "Z")}
