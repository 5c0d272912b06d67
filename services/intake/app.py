"""Intake app: wiring only (settings, runtime, bulk workers, routes, lifespan)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor

from fastapi import FastAPI

from services.intake.api import router
from services.intake.domain import RateLimiter
from shared.events import ApplicationErased, ApplicationSubmitted
from shared.service import Runtime
from shared.settings import Settings, get_settings
from shared.web import service_app


def end_with_parent(parent: int) -> None:
    """In each bulk worker: exit when the service is gone, even killed with SIGKILL. A worker
    otherwise waits for work for ever (its siblings hold the task queue open)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def create_app(settings: Settings | None = None) -> FastAPI:
    runtime = Runtime("intake", settings or get_settings())
    runtime.publishes(ApplicationSubmitted, ApplicationErased)
    # Bulk imports validate in worker processes (started on first use): the event loop stays free
    # for other requests and the import uses every core. "spawn", as forking a process that runs
    # an event loop and client threads is unsafe.
    bulk_workers = ProcessPoolExecutor(max_workers=os.cpu_count() or 1,
                                       mp_context=multiprocessing.get_context("spawn"),
                                       initializer=end_with_parent, initargs=(os.getpid(),))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()
            bulk_workers.shutdown(wait=False, cancel_futures=True)

    app = service_app(runtime, lifespan=lifespan, title="recruit intake", body_limit_exempt=["/v1/applications/bulk"])
    app.state.rate_limiter = RateLimiter(runtime.settings.intake_rate_per_second, runtime.settings.intake_rate_burst)
    app.state.bulk_workers = bulk_workers
    app.include_router(router)
    return app
