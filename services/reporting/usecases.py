"""Reporting use cases: applying a consumer batch to the projections and counters, and every read the routes make."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone

from services.reporting import domain
from services.reporting.domain import ApplicantStatus, DayCounts
from services.reporting.live_view import LiveView
from services.reporting.store import Store
from shared.events import EVENT_TYPE_OF, ApplicationSubmitted, Event, runs_by_type
from shared.unit_of_work import UnitOfWork

CONSUMER = "reporting"  # the inbox's consumer name: an event is applied once per name
BLANK = domain.Projection()  # an application reporting has not heard of yet
SUBMITTED = EVENT_TYPE_OF[ApplicationSubmitted]


async def apply_events(uow: UnitOfWork[Store], events: Sequence[Event], phone_hash_key: bytes,
                       *, consumer: str = CONSUMER) -> int:
    """Apply a consumer batch to the projections and counters in one transaction with its inbox rows;
    returns how many events were new. Three statements whatever the batch's size (the inbox claim,
    locking the batch's stored projections, saving them, new ones created, with the counters' summed changes): each projection
    moves in memory event by event in delivery order, and the per-event changes to the counters
    telescope, so the counters end where applying the events one at a time would leave them.

    `consumer` names the inbox: a replay under a new name applies every event again, which moves
    nothing, since each event's move is idempotent by itself."""
    async with uow.first_deliveries(consumer, events) as (store, new):
        if not new:
            return 0
        stored = await store.lock_projections([envelope.application_id for envelope, _ in new])
        before = {envelope.application_id: stored.get(envelope.application_id, BLANK) for envelope, _ in new}
        after = dict(before)
        for event_type, run in runs_by_type(new):
            move = domain.move_of(event_type)
            for envelope, data in run:
                after[envelope.application_id] = move(after[envelope.application_id], data, envelope.occurred_at)
        hashes = {envelope.application_id: domain.applicant_phone_hash(data.phone, phone_hash_key)
                  for envelope, data in new if envelope.event_type == SUBMITTED}
        # An application whose projection did not move and that brings no hash is left alone.
        saved = [(application_id, projection, hashes.get(application_id))
                 for application_id, projection in after.items()
                 if projection != before[application_id] or hashes.get(application_id) is not None]
        if saved:
            counters = domain.summed_delta((before[application_id], projection)
                                           for application_id, projection, _ in saved)
            await store.save_projections(saved, counters, created=before.keys() - stored.keys())
        return len(new)


async def refresh_live_view(uow: UnitOfWork[Store], view: LiveView) -> None:
    """Bring this process's live view up to now: the summary row's version, and when it moved, the
    summary and per-state rows as of one moment."""
    async with uow.reading() as store:
        version = await store.summary_version()
    as_of = datetime.now(timezone.utc)
    if version == view.version:
        view.show(as_of)
        return
    async with uow.snapshot() as store:
        counters = await store.summary(), await store.state_rows()
    view.show(as_of, counters)


async def state_counts(uow: UnitOfWork[Store], state: str) -> tuple[Mapping, list[Mapping]]:
    """A state's counts (zeros for a state with no applications) and its districts with applications,
    most applications first."""
    async with uow.reading() as store:
        row = await store.state_row(state)
        districts = await store.district_rows(state)
    counts = row or {"state": state, "applications": 0, "interviewed": 0, "selected": 0, "placed": 0}
    return counts, [dict(r) for r in districts]


async def state_table(uow: UnitOfWork[Store]) -> list[Mapping]:
    """One row per state with applications, most applications first (then by code)."""
    async with uow.reading() as store:
        return await store.state_rows()


async def daily_counts(uow: UnitOfWork[Store], state: str | None) -> list[DayCounts]:
    """Per Indian day, of one state or all: applications submitted, selected, first seated; from the
    first to the last day with counts, days in between as zeros."""
    async with uow.reading() as store:
        rows = await store.daily_rows(state)
    return domain.every_day({r["day"]: DayCounts(r["day"], r["applications"], r["selected"], r["placed"])
                             for r in rows})


async def applicant_status(uow: UnitOfWork[Store], application_id: uuid.UUID, phone: str,
                           phone_hash_key: bytes) -> ApplicantStatus | None:
    """The applicant's own status, only when `phone` (any accepted format) is the application's;
    None for anything else (an unknown id, another phone, an erased application), alike."""
    async with uow.reading() as store:
        found = await store.applicant(application_id)
    if found is None:
        return None
    projection, stored_hash = found
    if not domain.same_phone(phone, stored_hash, phone_hash_key):
        return None
    return domain.applicant_status(projection)
