"""Time in India: the zone every calendar day of the campaign is counted in (polling days, the
dashboard's days, interview waves), and what day it is there."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

IST = ZoneInfo("Asia/Kolkata")


def local_date(moment: datetime) -> date:
    """The Indian calendar day an instant falls on. A naive datetime is taken as UTC, as the
    database and the events give instants."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(IST).date()


def today_in_india() -> date:
    """Today's date in India (reads the clock: for use cases and routes, never the domain)."""
    return local_date(datetime.now(timezone.utc))
