"""Reporting handlers: the consumer of every topic, handing each batch to usecases.apply_events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from services.reporting import usecases
from services.reporting.store import Store
from shared.events import Event
from shared.service import Runtime
from shared.unit_of_work import UnitOfWork


def consumer(runtime: Runtime) -> Callable[[Sequence[Event]], Awaitable[None]]:
    phone_hash_key = runtime.settings.phone_hash_key.get_secret_value().encode()

    async def handle(events: Sequence[Event]) -> None:
        await usecases.apply_events(UnitOfWork(runtime.db(), Store), events, phone_hash_key)

    return handle
