"""Screening app: wiring only."""

from fastapi import FastAPI

from services.screening import handlers
from services.screening.api import router
from shared.events import APPLICATIONS_SUBMITTED, InterviewScheduled, ScreeningCompleted, ScreeningQueued
from shared.service import Subscription, create_service_app


def create_app() -> FastAPI:
    return create_service_app(
        "screening", router=router,
        subscriptions=[Subscription([APPLICATIONS_SUBMITTED], handlers.handle)],
        publishes=[ScreeningQueued, InterviewScheduled, ScreeningCompleted], title="recruit screening",
    )
