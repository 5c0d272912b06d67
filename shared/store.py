"""The base of every service's Store: its connection, and the rows every writing service writes the
same way (its events into the outbox, its audit entries); the service's own SQL is in its store.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import asyncpg

from shared import audit, outbox
from shared.events import Envelope


class ServiceStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def add_events(self, envelopes: Sequence[Envelope]) -> None:
        await outbox.add_events(self.conn, envelopes)

    async def record_audit(self, actor: Mapping, action: str, target: str, before: Mapping | None,
                           after: Mapping | None) -> None:
        await audit.record(self.conn, actor, action, target, before, after)

    async def audit_entries(self, since: datetime | None, limit: int) -> tuple[list[Mapping], bool]:
        return await audit.entries(self.conn, since, limit)
