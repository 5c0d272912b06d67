"""HTTP for every service: the FastAPI app with its body limit, request timing, error shape, CORS (only
where CORS_ORIGINS opens it) and the operations endpoints (/healthz, /readyz, /metrics, /asyncapi.json);
routes reach the runtime here."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from fastapi import APIRouter, FastAPI, Request, params
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Lifespan, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from shared import json_input, tracing
from shared.asyncapi import document as asyncapi_document
from shared.errors import (
    MAX_BODY_KIB,
    MEANINGS,
    ErrorBody,
    ValidationErrorBody,
    http_error,
    invalid,
    validation_failed,
)
from shared.metrics import HTTP_REQUESTS
from shared.service import Runtime
from shared.unit_of_work import UnitOfWork

S = TypeVar("S")

MAX_BODY_BYTES = MAX_BODY_KIB * 1024
# The Devanagari web font every page links (/fonts/devanagari.css), so Hindi shows on a machine without one.
FONTS = Path(__file__).parent / "static" / "fonts"


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime


def pool_of(request: Request) -> asyncpg.Pool:
    return runtime_of(request).db()


class BodyLimit:
    """Every request body, on every route: 413 past `limit` bytes, counted as they stream in (Content-Length
    can be absent or lie; `exempt` paths skip the size, the bulk import), and 408 when the whole body has not
    arrived `timeout` seconds after the request began (HTTP_BODY_TIMEOUT_SECONDS), exempt paths included: a
    client sending one byte a second holds a request, and for the bulk import a transaction, only that long.

    The refusals are raised from `receive` as HTTPExceptions, so a route reading its body answers them in the
    error shape like any other (FastAPI re-raises an HTTPException met while parsing a body, where any other
    exception would become its own 400); a refusal that reaches this middleware is answered here."""

    def __init__(self, app: ASGIApp, limit: int, exempt: Sequence[str], timeout: float) -> None:
        self.app, self.limit, self.exempt, self.timeout = app, limit, tuple(exempt), timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = None if scope["path"].startswith(self.exempt) else self.limit
        declared = dict(scope["headers"]).get(b"content-length")
        if limit is not None and declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, _too_large())
            return
        deadline = asyncio.get_running_loop().time() + self.timeout
        received, complete = 0, False

        async def guarded_receive() -> Message:
            nonlocal received, complete
            if complete:  # after the body only http.disconnect comes, whenever it does (an SSE stream waits for it)
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _too_slow() from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if limit is not None and received > limit:
                    raise _too_large()
            return message

        started = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, guarded_receive, send_noting_start)
        except BodyRefused as refused:
            if started:
                raise
            await _refuse(send, refused)


class BodyRefused(HTTPException):
    """A body too large (413) or too slow (408); the connection closes after the answer, since the rest
    of the body was never read."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(status, detail, headers={"Connection": "close"})


def _too_large() -> BodyRefused:
    return BodyRefused(413, f"request body is larger than {MAX_BODY_BYTES // 1024} KiB")


def _too_slow() -> BodyRefused:
    return BodyRefused(408, "request body not received in time")


async def _refuse(send: Send, refused: BodyRefused) -> None:
    response = JSONResponse({"detail": refused.detail}, refused.status_code, headers=refused.headers)
    await send({"type": "http.response.start", "status": refused.status_code, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


class JsonBodyRoute(APIRoute):
    """The route class of every router of every service (`service_router`): a JSON body is parsed by
    shared.json_input (strict, and never a 500), and a route that takes a JSON body refuses any other
    content type, or none, with 415 before reading it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_json = self.body_field is not None and not any(
            isinstance(param.field_info, params.Form) for param in self.dependant.body_params)

        async def strict_handler(request: Request) -> Response:
            if takes_json and not is_json(request.headers.get("content-type")):
                return JSONResponse({"detail": "send the body as application/json"}, 415)
            return await handler(_StrictJsonRequest(request.scope, request.receive, request._send))

        return strict_handler


class _StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                self._json = json_input.loads(await self.body())
            except ValueError as error:
                raise invalid("body", str(error)) from None
        return self._json


def is_json(content_type: str | None) -> bool:
    kind = (content_type or "").split(";")[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


def service_router(**options: Any) -> APIRouter:
    """An APIRouter whose routes are JsonBodyRoutes; every service builds its routers with it."""
    return APIRouter(route_class=JsonBodyRoute, **options)


class RequestTiming:
    """Request durations by route and status, as plain ASGI: @app.middleware("http") costs about
    300 us a request here, more than a cached summary read itself."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            # The router puts the matched route into this same scope dict.
            route = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(self.service, scope["method"], route, str(status)).observe(
                time.perf_counter() - started)


class OriginsOnly(CORSMiddleware):
    """Starlette's CORS, except that a refused preflight carries no CORS header at all (Starlette's lists the
    allowed methods and headers even to an origin it refuses; a browser ignores them, a reader need not see them)."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 200:
            for name in [name for name in response.headers if name.startswith("access-control-")]:
                del response.headers[name]
        return response


class Readiness(BaseModel):
    ready: bool
    database: bool
    broker: bool


def service_app(runtime: Runtime, *, lifespan: Lifespan[FastAPI], title: str,
                body_limit_exempt: Sequence[str] = ()) -> FastAPI:
    """The service's FastAPI app with what every service serves; app.py adds its own routes."""
    # FastAPIOffline: /docs and /redoc load Swagger UI and ReDoc from the installed package, so they
    # work on a network without the CDN FastAPI's own pages fetch them from.
    app = FastAPIOffline(title=title, version="1.0.0", lifespan=lifespan)
    app.state.runtime = runtime
    app.router.route_class = JsonBodyRoute
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES, exempt=body_limit_exempt,
                       timeout=runtime.settings.http_body_timeout_seconds)
    app.add_middleware(RequestTiming, service=runtime.service)
    if origins := runtime.settings.cors_origin_list():
        # Added last, so outermost: a preflight is answered before the body limit, and refusals
        # (401, 413, ...) carry the headers too, so the page can read them. Bearer tokens travel in
        # a header, never in cookies: no credentials mode.
        app.add_middleware(OriginsOnly, allow_origins=origins, allow_methods=["GET", "PUT", "DELETE", "POST"],
                           allow_headers=["Authorization", "Content-Type"])
    if runtime.settings.trusted_proxies.strip():
        # Outermost: the client address every route and log sees is the one the trusted proxy saw, and only
        # a peer listed here may say so (uvicorn's own proxy-header handling is off; see cli.service).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=[
            host.strip() for host in runtime.settings.trusted_proxies.split(",") if host.strip()])
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_exception_handler(HTTPException, http_error)
    app.openapi = shared_error_openapi(app)  # type: ignore[method-assign]
    tracing.instrument(app)
    app.mount("/fonts", StaticFiles(directory=FONTS), name="fonts")

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict:
        return {"status": "ok", "service": runtime.service}

    @app.get("/readyz", tags=["operations"], response_model=Readiness,
             responses={503: {"model": Readiness, "description": "the database or the broker is not reachable"}})
    async def readyz() -> JSONResponse:
        checks = await runtime.readiness()
        ready = all(checks.values())
        return JSONResponse({"ready": ready, **checks}, 200 if ready else 503)

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/asyncapi.json", tags=["operations"])
    async def asyncapi() -> dict:
        return asyncapi_document(runtime.broker, title)

    return app


_REF = "#/components/schemas/"


def shared_error_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The app's OpenAPI document with the error bodies the service really sends (shared/errors.py): FastAPI's
    own 422 (`loc`, `msg`, `type`) becomes ValidationErrorBody, which validation_failed answers instead, and
    every operation with a request body lists BodyLimit's 413 and 408, and one with a JSON body JsonBodyRoute's
    415. Routes declare their other errors themselves
    (shared.errors.error_responses)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for model in (ErrorBody, ValidationErrorBody):
            found = model.model_json_schema(ref_template=_REF + "{model}")
            schemas.update(found.pop("$defs", {}))
            schemas[model.__name__] = found
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if "422" in responses:
                    responses["422"] = _error_response(ValidationErrorBody, responses["422"], 422)
                if "requestBody" in operation:
                    refusals = [413, 408]
                    if "application/json" in operation["requestBody"].get("content", {}):
                        refusals.append(415)
                    for status in refusals:
                        if str(status) not in responses:
                            responses[str(status)] = _error_response(ErrorBody, {}, status)
        return document

    return openapi


def _error_response(model: type, declared: dict[str, Any], status: int) -> dict[str, Any]:
    description = declared.get("description")
    if description in (None, "Validation Error"):  # FastAPI's own words for its 422
        description = MEANINGS[status]
    content = {**declared.get("content", {}), "application/json": {"schema": {"$ref": _REF + model.__name__}}}
    return {**declared, "description": description, "content": content}


def unit_of_work(store: Callable[[asyncpg.Connection], S]) -> Callable[[Request], UnitOfWork[S]]:
    """A route dependency giving the use cases their unit of work on the service's pool. A coroutine, as it
    does no I/O: FastAPI runs a plain function dependency in its thread pool, a thread hop on every request."""

    async def dependency(request: Request) -> UnitOfWork[S]:
        return UnitOfWork(pool_of(request), store)

    return dependency
