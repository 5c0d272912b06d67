"""Placement app: wiring only (settings, runtime, consumer, routes, jobs, lifespan)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from services.placement import handlers, jobs
from services.placement.api import placement_unit_of_work, router
from shared import audit
from shared.events import PlacementChanged
from shared.service import Runtime
from shared.settings import Settings, get_settings
from shared.web import service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    runtime = Runtime("placement", settings or get_settings())
    runtime.consume(handlers.consumer(runtime))
    runtime.publishes(PlacementChanged)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start(jobs=[jobs.re_place_marked_states])
        try:
            yield
        finally:
            await runtime.stop()

    app = service_app(runtime, lifespan=lifespan, title="recruit placement")
    app.include_router(router)
    app.include_router(audit.routes(placement_unit_of_work))
    return app
