"""Intake app: wiring only."""

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from fastapi import FastAPI

from services.intake.api import router
from services.intake.domain import RateLimiter
from shared.events import ApplicationErased, ApplicationSubmitted
from shared.service import create_service_app
from shared.settings import Settings, get_settings


def end_with_parent(parent: int) -> None:
    """In each bulk worker: exit when the service is gone, even killed with SIGKILL. A worker
    otherwise waits for work for ever (its siblings hold the task queue open)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # Bulk imports validate in worker processes (started on first use): the event loop stays free
    # for other requests and the import uses every core. "spawn", as forking a process that runs
    # an event loop and client threads is unsafe.
    bulk_workers = ProcessPoolExecutor(max_workers=os.cpu_count() or 1,
                                       mp_context=multiprocessing.get_context("spawn"),
                                       initializer=end_with_parent, initargs=(os.getpid(),))
    app = create_service_app(
        "intake", router=router, publishes=[ApplicationSubmitted, ApplicationErased],
        body_limit_exempt=["/v1/applications/bulk"], title="recruit intake", settings=settings,
        on_stop=[lambda: bulk_workers.shutdown(wait=False, cancel_futures=True)],
    )
    app.state.rate_limiter = RateLimiter(settings.intake_rate_per_second, settings.intake_rate_burst)
    app.state.bulk_workers = bulk_workers
    return app
