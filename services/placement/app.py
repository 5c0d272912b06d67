"""Placement app: wiring only."""

from fastapi import FastAPI

from services.placement import handlers
from services.placement.api import router
from shared.events import APPLICATIONS_ERASED, SCREENING_COMPLETED, PlacementChanged
from shared.service import Subscription, create_service_app


def create_app() -> FastAPI:
    return create_service_app(
        "placement", router=router,
        subscriptions=[Subscription([SCREENING_COMPLETED, APPLICATIONS_ERASED], handlers.handle)],
        publishes=[PlacementChanged], title="recruit placement",
    )
