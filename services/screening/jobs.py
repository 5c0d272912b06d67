"""Screening jobs: the background release of deferred cases whose state's polling has ended."""

from __future__ import annotations

import asyncio
import logging

from services.screening import usecases
from services.screening.store import Store
from shared.service import Runtime
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


async def release_due_cases(runtime: Runtime) -> None:
    """Every SCREENING_RELEASE_SECONDS, queue again the deferred cases whose polling has ended."""
    while True:
        try:
            released = await usecases.release_due(UnitOfWork(runtime.db(), Store))
            if released:
                log.info("screening: released %d deferred case(s) whose polling has ended", released)
        except Exception as error:  # the database may be away; the next run tries again
            log.warning("screening: the release check failed (%s: %s)", type(error).__name__, error)
        await asyncio.sleep(runtime.settings.screening_release_seconds)
