"""Reporting app: wiring only (settings, runtime, consumer, routes, pages, jobs, lifespan)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.reporting import handlers, jobs
from services.reporting.api import STATIC, SummaryFastPath, applicants, pages, router
from services.reporting.live_view import LiveView
from shared.service import Runtime
from shared.settings import Settings, get_settings
from shared.web import service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    runtime = Runtime("reporting", settings or get_settings())
    runtime.consume(handlers.consumer(runtime))
    view = LiveView(runtime.settings.campaign_target)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start(jobs=[jobs.live_view_job(view)])
        try:
            yield
        finally:
            await runtime.stop()

    app = service_app(runtime, lifespan=lifespan, title="recruit reporting")
    app.state.live = view
    token = runtime.settings.reporting_read_token
    app.add_middleware(SummaryFastPath, view=view, read_token=token.get_secret_value() if token else "")
    app.include_router(router)
    app.include_router(applicants)
    app.include_router(pages)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
