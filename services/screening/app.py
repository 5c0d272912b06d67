"""Screening app: wiring only."""

from fastapi import FastAPI

from services.screening import handlers
from services.screening.api import router
from shared.events import CONSUMED_TOPICS, InterviewScheduled, ScreeningCompleted, ScreeningQueued
from shared.service import Subscription, create_service_app
from shared.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        "screening", router=router,
        subscriptions=[Subscription(CONSUMED_TOPICS["screening"], handlers.handle,
                                    batch_handler=handlers.handle_batch)],
        publishes=[ScreeningQueued, InterviewScheduled, ScreeningCompleted],
        background=[handlers.release_due_cases],
        title="recruit screening", settings=settings,
    )
