"""Intake app: wiring only."""

from fastapi import FastAPI

from services.intake.api import router
from shared.events import ApplicationErased, ApplicationSubmitted
from shared.service import create_service_app


def create_app() -> FastAPI:
    return create_service_app(
        "intake", router=router, publishes=[ApplicationSubmitted, ApplicationErased],
        body_limit_exempt=["/v1/applications/bulk"], title="recruit intake",
    )
