"""Reporting app: wiring only."""

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.reporting import handlers, live
from services.reporting.api import STATIC, SummaryFastPath, pages, router
from shared.events import CONSUMED_TOPICS
from shared.service import Subscription, create_service_app
from shared.settings import get_settings


def create_app() -> FastAPI:
    settings = get_settings()
    view = live.LiveView(settings.campaign_target)
    app = create_service_app(
        "reporting", router=router, subscriptions=[Subscription(CONSUMED_TOPICS["reporting"], handlers.handle,
                                                           batch_handler=handlers.handle_batch)],
        background=[view.run, live.consumer_lag], title="recruit reporting", settings=settings,
    )
    app.state.live = view
    token = settings.reporting_read_token.get_secret_value() if settings.reporting_read_token else ""
    app.add_middleware(SummaryFastPath, view=view, read_token=token)
    app.include_router(pages)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
