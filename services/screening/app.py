"""Screening app: wiring only (settings, runtime, consumer, routes, jobs, lifespan)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from services.screening import handlers, jobs
from services.screening.api import router
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
    return app
