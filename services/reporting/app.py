"""Reporting app: wiring only."""

from fastapi import FastAPI

from services.reporting import handlers
from services.reporting.api import router
from shared.events import TOPICS
from shared.service import Subscription, create_service_app


def create_app() -> FastAPI:
    return create_service_app(
        "reporting", router=router, subscriptions=[Subscription(TOPICS, handlers.handle)], title="recruit reporting",
    )
