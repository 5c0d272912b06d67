"""Screening app: wiring only."""

from services.screening import handlers
from services.screening.api import router
from shared.events import APPLICATIONS_SUBMITTED, InterviewScheduled, ScreeningCompleted, ScreeningQueued
from shared.service import Subscription, create_service_app

app = create_service_app(
    "screening", router=router,
    subscriptions=[Subscription([APPLICATIONS_SUBMITTED], handlers.handle)],
    publishes=[ScreeningQueued, InterviewScheduled, ScreeningCompleted], title="recruit screening",
)
