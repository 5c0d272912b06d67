"""Screening app: wiring only (settings, runtime, consumer, routes, jobs, lifespan)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.screening import handlers, jobs
from services.screening.api import console_api, router, screening_uow
from services.screening.console import STATIC, pages
from shared import audit
from shared.events import InterviewScheduled, ScreeningCompleted, ScreeningQueued
from shared.service import Runtime
from shared.settings import Settings, get_settings
from shared.web import service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    runtime = Runtime("screening", settings or get_settings())
    runtime.consume(handlers.consumer(runtime))
    runtime.publishes(ScreeningQueued, InterviewScheduled, ScreeningCompleted)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start(jobs=[jobs.release_due_cases])
        try:
            yield
        finally:
            await runtime.stop()

    app = service_app(runtime, lifespan=lifespan, title="recruit screening")
    app.include_router(router)
    app.include_router(audit.routes(screening_uow))
    app.include_router(console_api)
    app.include_router(pages)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
