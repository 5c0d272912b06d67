"""Reporting live view: the counters one process holds in memory for summary reads, the SSE stream and /metrics gauges.

Neither a use case nor a job: an in-process read model with its fan-out to waiting streams.
usecases.refresh_live_view fills it from the store; jobs.py runs that every POLL_SECONDS; api.py reads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime

from prometheus_client import Gauge

from shared.geography import STATES

FUNNEL = Gauge("recruit_reporting_funnel", "Applications that ever reached each step", ["step"])
CURRENT = Gauge("recruit_reporting_current", "Non-erased applications by where they are now", ["stage"])
PLACED_BY_LEVEL = Gauge("recruit_reporting_placed_by_level", "Placed applications by unit level", ["level"])
APPLICATIONS = Gauge("recruit_reporting_applications", "Distinct applications ever accepted")
ERASED = Gauge("recruit_reporting_erased", "Applications erased on request (still counted)")
TARGET = Gauge("recruit_reporting_target", "Campaign target (CAMPAIGN_TARGET)")
STATE_COUNTS = Gauge("recruit_reporting_state", "Per-state counts", ["state", "count"])
LAST_CHANGE = Gauge("recruit_reporting_last_change_timestamp_seconds",
                    "When reporting's counters last changed (Unix time)")


def summary_document(row: Mapping, target: int, as_of: datetime) -> dict:
    """SPEC's summary from the counters row."""
    return {
        "target": target,
        "applications": row["applications"],
        "progress": row["applications"] / target,
        "erased": row["erased"],
        "funnel": {"submitted": row["applications"], "scheduled": row["scheduled"],
                   "interviewed": row["interviewed"], "selected": row["selected"], "rejected": row["rejected"],
                   "no_show": row["no_show"]},
        "current": {"queued": row["queued"], "deferred": row["deferred"], "awaiting_result": row["awaiting_result"],
                    "placed": row["placed"], "waitlisted": row["waitlisted"]},
        "placed_by_level": {"state": row["level_state"], "district": row["level_district"],
                            "block": row["level_block"]},
        "as_of": as_of.isoformat().replace("+00:00", "Z"),
    }


def state_document(row: Mapping) -> dict:
    state = STATES.get(row["state"])
    return {"state": row["state"], "name": state.name_en if state else row["state"],
            "name_hi": state.name_hi if state else row["state"], "applications": row["applications"],
            "interviewed": row["interviewed"], "selected": row["selected"], "placed": row["placed"]}


class LiveView:
    """The latest counters of this process, refreshed by one poller (jobs.refresh_live_view) that
    reads the summary row's version and, when it moved, the counters themselves; readers never
    touch the database.

    `as_of` is the time of the last successful read: the numbers were true then. If the database
    is away, reads go on serving the last numbers with an as_of that stops advancing.
    """

    def __init__(self, target: int) -> None:
        self.target = target
        self.version: int | None = None
        self.summary: dict = {}
        self._counts: Mapping | None = None
        self.summary_json = b""
        self.states: list[dict] = []
        self.ready = asyncio.Event()
        self._changed = asyncio.Event()

    def show(self, as_of: datetime, counters: tuple[Mapping, Sequence[Mapping]] | None = None) -> None:
        """The numbers as of `as_of`: the summary row and per-state rows when they moved (one
        snapshot), else the ones held. Wakes every waiting stream when they moved."""
        if counters is not None:
            row, state_rows = counters
            self.states = [state_document(r) for r in state_rows]
            self._counts = row
            self.version = row["version"]
            self._set_gauges(row)
        self.summary = summary_document(self._counts, self.target, as_of)
        self.summary_json = json.dumps(self.summary, separators=(",", ":")).encode()
        self.ready.set()
        if counters is not None:
            # Wake every waiting stream at once; each then reads the new summary.
            changed_event, self._changed = self._changed, asyncio.Event()
            changed_event.set()

    def _set_gauges(self, row: Mapping) -> None:
        APPLICATIONS.set(row["applications"])
        ERASED.set(row["erased"])
        for step in ("scheduled", "interviewed", "selected", "rejected", "no_show"):
            FUNNEL.labels(step).set(row[step])
        FUNNEL.labels("submitted").set(row["applications"])
        for stage in ("queued", "deferred", "awaiting_result", "placed", "waitlisted"):
            CURRENT.labels(stage).set(row[stage])
        for level in ("state", "district", "block"):
            PLACED_BY_LEVEL.labels(level).set(row[f"level_{level}"])
        for state in self.states:
            for count in ("applications", "interviewed", "selected", "placed"):
                STATE_COUNTS.labels(state["state"], count).set(state[count])
        LAST_CHANGE.set(row["updated_at"].timestamp())

    async def wait_ready(self, timeout: float = 5.0) -> bool:
        if self.ready.is_set():
            return True
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.ready.wait(), timeout)
        return self.ready.is_set()

    async def summaries(self) -> AsyncIterator[dict]:
        """The summary now, then each time the counters change (latest value only: a slow client
        skips intermediate states rather than queueing them)."""
        await self.wait_ready(timeout=30)
        seen = None
        while True:
            changed = self._changed
            if self.version != seen:
                seen = self.version
                yield self.summary
            await changed.wait()
