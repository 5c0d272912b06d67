"""Placement app: wiring only."""

import asyncio
import logging

from fastapi import FastAPI

from services.placement import handlers, store
from services.placement.api import router
from shared.events import CONSUMED_TOPICS, PlacementChanged
from shared.service import Runtime, Subscription, create_service_app

log = logging.getLogger(__name__)

# How often a replica looks for states a capacity change marked and nobody re-placed yet
# (the replica that took the PUT died mid-way, or lost its connection).
REPLACE_MARKED_EVERY_SECONDS = 10.0


async def replace_marked_states(runtime: Runtime) -> None:
    while True:
        try:
            changed = await store.replace_marked_states(runtime.db())
            if changed:
                log.info("re-placed states left marked by a capacity change: %d placement changes", changed)
        except Exception as error:  # the next round retries; the marks stay until a re-placement commits
            log.warning("re-placing marked states failed: %r", error)
        await asyncio.sleep(REPLACE_MARKED_EVERY_SECONDS)


def create_app() -> FastAPI:
    return create_service_app(
        "placement", router=router,
        subscriptions=[Subscription(CONSUMED_TOPICS["placement"], handlers.handle)],
        publishes=[PlacementChanged], background=[replace_marked_states], title="recruit placement",
    )
