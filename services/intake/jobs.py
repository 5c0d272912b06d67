"""Intake jobs: the daily retention purge, when PURGE_AFTER_DAYS is set, for the process's life."""

from __future__ import annotations

import asyncio
import logging

from services.intake import usecases
from services.intake.store import Store
from shared.service import Runtime
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 24 * 3600.0


async def purge_daily(runtime: Runtime) -> None:
    """Once at start and then every day: erase the applications whose case ended rejected or no_show more than
    PURGE_AFTER_DAYS ago. Several intake processes may all run it: each batch locks its rows and skips those
    another holds, and an application is erased once."""
    days = runtime.settings.purge_after_days
    if days is None:
        return
    uow = UnitOfWork(runtime.db(), Store)
    while True:
        try:
            await usecases.purge_ended_applications(uow, days)
        except Exception as error:  # the database may be away; tomorrow's round tries again
            log.warning("retention purge failed (%s: %s)", type(error).__name__, error)
        await asyncio.sleep(PURGE_EVERY_SECONDS)
