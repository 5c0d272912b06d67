"""The audit table of the in-memory stores (tests/unit/<service>/memory_store.py): the Store methods
`record_audit` and `audit_entries` over a list, rows as shared.audit writes them (JSON values)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from shared import audit

AUDIT_CLOCK = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


class MemoryAudit:
    """Mixed into a memory store that sets `self.audit_rows = []` (rolled back with the store's transaction)."""

    audit_rows: list[dict[str, Any]]

    async def record_audit(self, actor: Mapping, action: str, target: str, before: Mapping | None,
                           after: Mapping | None) -> None:
        actor, action, target, before, after = audit.row(actor, action, target, before, after)
        number = len(self.audit_rows) + 1
        self.audit_rows.append({"id": number, "at": AUDIT_CLOCK + timedelta(seconds=number), "actor": actor,
                                "action": action, "target": target, "before": before, "after": after})

    async def audit_entries(self, since: datetime | None, limit: int) -> tuple[list[dict[str, Any]], bool]:
        # Every row has a moment of its own here, so no page needs completing.
        after = [row for row in self.audit_rows if since is None or row["at"] > since]
        return after[:limit], len(after) > limit

    def audited(self, action: str | None = None) -> list[dict[str, Any]]:
        return [row for row in self.audit_rows if action is None or row["action"] == action]
