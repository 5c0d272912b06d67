"""Reporting jobs: keeping this process's live view current (its consumer lag is measured by the Runtime's
shared job, shared.service.measure, as every consumer's is)."""

from __future__ import annotations

import asyncio
import logging

from services.reporting import usecases
from services.reporting.live_view import TARGET, LiveView
from services.reporting.store import Store
from shared.service import Job, Runtime
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25  # a change reaches every SSE client and summary read within about this


def live_view_job(view: LiveView) -> Job:
    """The job keeping `view` current (it lives in app.state, so the job is made for it)."""

    async def refresh_live_view(runtime: Runtime) -> None:
        TARGET.set(view.target)
        while True:
            try:
                await usecases.refresh_live_view(UnitOfWork(runtime.db(), Store), view)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database is away: keep serving the last numbers
                log.warning("reporting live view: refresh failed: %r", error)
                await asyncio.sleep(1.0)
            await asyncio.sleep(POLL_SECONDS)

    return refresh_live_view
