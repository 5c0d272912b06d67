"""Intake app: wiring only (settings, runtime, consumer, rate limiters, bulk workers, routes, jobs, lifespan)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from services.intake import bulk_import, handlers, jobs
from services.intake.api import intake_unit_of_work, router
from services.intake.domain.rate_limit import RateLimiter
from shared import audit
from shared.events import ApplicationErased, ApplicationSubmitted
from shared.service import Runtime
from shared.settings import Settings, get_settings
from shared.web import service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    runtime = Runtime("intake", settings or get_settings())
    runtime.consume(handlers.consumer(runtime))
    runtime.publishes(ApplicationSubmitted, ApplicationErased)
    bulk_workers = bulk_import.start_workers()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start(jobs=[jobs.purge_daily])
        try:
            yield
        finally:
            await runtime.stop()
            bulk_workers.shutdown(wait=False, cancel_futures=True)

    app = service_app(runtime, lifespan=lifespan, title="recruit intake", body_limit_exempt=["/v1/applications/bulk"])
    app.state.rate_limiter = RateLimiter(runtime.settings.intake_rate_per_second, runtime.settings.intake_rate_burst)
    app.state.address_limiter = RateLimiter(runtime.settings.intake_form_address_rate_per_second,
                                            runtime.settings.intake_form_address_burst)
    app.state.bulk_workers = bulk_workers
    app.include_router(router)
    app.include_router(audit.routes(intake_unit_of_work))
    return app
