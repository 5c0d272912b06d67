"""Placement jobs: re-placing the states a change of the level capacities left marked, for the process's life."""

from __future__ import annotations

import asyncio
import logging

from services.placement import usecases
from services.placement.store import Store
from shared.service import Runtime
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# A replica that died between a capacity change and its re-placements leaves marks: any replica
# finishes them as it starts, and this often afterwards.
RE_PLACE_MARKED_EVERY_SECONDS = 10.0


async def re_place_marked_states(runtime: Runtime) -> None:
    uow = UnitOfWork(runtime.db(), Store)
    while True:
        try:
            changed = await usecases.re_place_marked_states(uow)
            if changed:
                log.info("re-placed states left marked by a capacity change: %d placement changes", changed)
        except Exception as error:
            log.warning("re-placing marked states failed: %r", error)
        await asyncio.sleep(RE_PLACE_MARKED_EVERY_SECONDS)
