"""Intake handlers: the consumer of screening.completed (which cases ended, and when), batch by batch to its use case."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from services.intake import usecases
from services.intake.store import Store
from shared.events import Event
from shared.service import Runtime
from shared.unit_of_work import UnitOfWork


def consumer(runtime: Runtime) -> Callable[[Sequence[Event]], Awaitable[None]]:
    async def handle(events: Sequence[Event]) -> None:
        await usecases.apply_events(UnitOfWork(runtime.db(), Store), events)
    return handle
