"""Screening handlers: the consumer of applications.submitted and applications.erased, handing each
batch to the use cases."""

from __future__ import annotations

from collections.abc import Sequence

from services.screening import usecases
from services.screening.store import Store
from shared.broker import BatchHandler
from shared.events import Event
from shared.service import Runtime
from shared.unit_of_work import UnitOfWork


def consumer(runtime: Runtime) -> BatchHandler:
    async def handle(events: Sequence[Event]) -> None:
        await usecases.apply_events(UnitOfWork(runtime.db(), Store), events)

    return handle
