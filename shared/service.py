"""Service runtime: builds one service's FastAPI app with its pool, migrations, relay, consumers
and the endpoints every service has (/healthz, /readyz, /metrics, /asyncapi.json)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import asyncpg
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Receive, Scope, Send

from shared import db
from shared.broker import BatchHandler, Consumer, Handler, ensure_topics, make_broker, make_producer
from shared.events import EVENTS, EventData
from shared.metrics import HTTP_REQUESTS
from shared.outbox import OutboxRelay
from shared.settings import Settings, get_settings

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


@dataclass
class Subscription:
    topics: Sequence[str]
    handler: Handler
    batch_handler: BatchHandler | None = None  # see shared.broker.Consumer


# A background job runs for the life of the process with the pool (e.g. screening's release check).
BackgroundJob = Callable[["Runtime"], Awaitable[None]]


@dataclass
class Runtime:
    """What a running service holds; routes reach it as request.app.state.runtime."""

    service: str
    settings: Settings
    broker: KafkaBroker
    pool: asyncpg.Pool | None = None
    relay: OutboxRelay | None = None
    tasks: list[asyncio.Task] = field(default_factory=list)

    def db(self) -> asyncpg.Pool:
        assert self.pool is not None, "the pool exists once the app has started"
        return self.pool


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime


def pool_of(request: Request) -> asyncpg.Pool:
    return runtime_of(request).db()


class BodyLimit:
    """413 for bodies over 64 KiB, counted as they stream in (Content-Length can be absent or lie)."""

    def __init__(self, app: ASGIApp, limit: int, exempt: Sequence[str]) -> None:
        self.app, self.limit, self.exempt = app, limit, tuple(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(send)
            return
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await _too_large(send)


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


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send) -> None:
    response = JSONResponse({"detail": f"request body is larger than {MAX_BODY_BYTES // 1024} KiB"}, 413)
    await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


def create_service_app(
    service: str,
    *,
    router: APIRouter,
    subscriptions: Sequence[Subscription] = (),
    publishes: Sequence[type[EventData]] = (),
    background: Sequence[BackgroundJob] = (),
    body_limit_exempt: Sequence[str] = (),
    on_stop: Sequence[Callable[[], None]] = (),
    title: str = "",
    settings: Settings | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    # aiokafka logs whole message values at DEBUG, and those carry names and phones: even
    # LOG_LEVEL=DEBUG must not put them in a log.
    logging.getLogger("aiokafka").setLevel(max(logging.INFO, logging.getLogger("aiokafka").getEffectiveLevel()))
    broker = make_broker(settings.kafka_bootstrap_servers or "localhost:9092", service)
    runtime = Runtime(service=service, settings=settings, broker=broker)
    for subscription in subscriptions:
        Consumer(broker, group=service, topics=subscription.topics, handler=subscription.handler,
                 batch_handler=subscription.batch_handler, pool=runtime.db)
    for event in publishes:
        # The relay publishes with plain aiokafka; these declarations only document the topics.
        event_type = next(name for name, (_, model) in EVENTS.items() if model is event)
        broker.publisher(EVENTS[event_type][0], schema=event, title=f"{service}:{EVENTS[event_type][0]}",
                         description=f"{event_type} events inside the SPEC envelope")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        dsn = settings.database_dsn()
        servers = settings.kafka_servers()
        await db.ensure_database(dsn)
        await db.migrate(dsn, service)
        runtime.pool = await db.create_pool(dsn, service, max_size=settings.db_pool_max)
        await ensure_topics(servers, settings.kafka_topic_partitions)
        producer = make_producer(servers, service)
        await producer.start()
        runtime.relay = OutboxRelay(runtime.pool, producer, service, batch_size=settings.outbox_batch_size,
                                    poll_seconds=settings.outbox_poll_seconds)
        runtime.tasks.append(asyncio.create_task(runtime.relay.run(), name=f"{service}-outbox-relay"))
        for job in background:
            runtime.tasks.append(asyncio.create_task(job(runtime), name=f"{service}-{job.__name__}"))
        await broker.start()
        log.info("%s started", service)
        try:
            yield
        finally:
            # Consumers first (their in-flight message finishes and commits), then the relay
            # (its current batch completes or rolls back), then connections.
            await broker.stop()
            runtime.relay.stop()
            for task in runtime.tasks:
                if task.get_name().endswith("outbox-relay"):
                    with contextlib.suppress(asyncio.TimeoutError, Exception):
                        await asyncio.wait_for(task, 10)
                else:
                    task.cancel()
            await asyncio.gather(*runtime.tasks, return_exceptions=True)
            await producer.stop()
            await runtime.pool.close()
            for stop in on_stop:  # the service's own resources (intake's bulk workers)
                stop()
            log.info("%s stopped", service)

    app = FastAPI(title=title or f"recruit {service}", version="1.0.0", lifespan=lifespan)
    app.state.runtime = runtime
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES, exempt=body_limit_exempt)

    app.add_middleware(RequestTiming, service=service)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        detail = [{"field": ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]),
                   "message": e["msg"]} for e in error.errors()]
        return JSONResponse({"detail": detail}, 422)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict:
        return {"status": "ok", "service": service}

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> JSONResponse:
        checks = {"database": False, "broker": False}
        with contextlib.suppress(Exception):
            checks["database"] = await asyncio.wait_for(runtime.db().fetchval("SELECT true"), 2)
        with contextlib.suppress(Exception):
            checks["broker"] = await asyncio.wait_for(broker.ping(timeout=2), 3)
        ready = all(checks.values())
        return JSONResponse({"ready": ready, **checks}, 200 if ready else 503)

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/asyncapi.json", tags=["operations"])
    async def asyncapi() -> dict:
        return AsyncAPI(broker, title=f"recruit {service}", version="1.0.0").to_specification().to_jsonable()

    app.include_router(router)
    return app
