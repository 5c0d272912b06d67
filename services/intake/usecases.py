"""Intake use cases: one function per command (submit, erase with its audit row, read an application, a bulk
import's transaction) and per event run (the cases screening ended), and the retention purge."""

from __future__ import annotations

import hmac
import logging
import os
import uuid
from collections.abc import AsyncIterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from services.intake.domain import events, ids
from services.intake.domain.validation import FieldError, validate_application
from services.intake.store import BulkBatch, Store
from shared import audit, tracing
from shared.auth import Staff
from shared.events import Envelope, Event, new_event
from shared.phone import mask_phone, normalize_phone, phone_hash
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


class InvalidApplication(ValueError):
    """The application has bad fields: one FieldError each, in the SPEC table's order."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(", ".join(error.field for error in errors))
        self.errors = errors


class UnknownApplication(LookupError):
    """No application has this id."""


class PhoneMismatch(UnknownApplication):
    """The phone is not the application's (or not a phone): told apart from an unknown id to no one."""


@dataclass(frozen=True)
class Submitted:
    application_id: uuid.UUID
    duplicate: bool  # the phone had applied before: application_id is the first application's


async def submit_application(uow: UnitOfWork[Store], raw: Any, source: str, hash_key: bytes) -> Submitted:
    """Validate an application and store it with its application.submitted event, in one transaction; a phone
    that applied before gets the first application's id and no event.

    The phone's keyed hash is unique in the table, so of concurrent submissions of one phone exactly one
    inserts; the others wait for its commit and then find its id.
    """
    application = validate_application(raw)
    if isinstance(application, list):
        log.info("application from %s rejected: %s", source, ", ".join(e.field for e in application))
        raise InvalidApplication(application)
    submitted_at = datetime.now(timezone.utc)
    event = new_event(events.PRODUCER, ids.application_id(submitted_at, os.urandom(ids.UUID_BYTES)),
                      events.submitted_data(application, source, submitted_at), occurred_at=submitted_at)
    hashed = phone_hash(application.phone, hash_key)
    # The application and its event are one statement (atomic), and the duplicate's lookup only reads what a
    # committed winner wrote: no transaction is needed around them.
    async with uow.one_statement_at_a_time() as store:
        if await store.insert_application(event, hashed, tracing.current_traceparent()):
            submitted = Submitted(event.application_id, duplicate=False)
        else:
            first = await store.application_id_of(hashed)
            assert first is not None, "the insert conflicted on this phone hash"
            submitted = Submitted(first, duplicate=True)
    log.info("application %s %s from %s (phone %s)", submitted.application_id,
             "was a duplicate" if submitted.duplicate else "received", source, mask_phone(application.phone))
    return submitted


async def _prove_applicant(store: Store, application_id: uuid.UUID, phone: str, hash_key: bytes) -> None:
    """PhoneMismatch unless `phone`, in any accepted format, is the application's (compared in constant time;
    an unknown id fails the same way, so the answer tells no one which ids exist)."""
    stored = await store.phone_hash_of(application_id)
    normalized = normalize_phone(phone)
    if stored is None or normalized is None or not hmac.compare_digest(stored, phone_hash(normalized, hash_key)):
        raise PhoneMismatch(application_id)


async def export_application(uow: UnitOfWork[Store], application_id: uuid.UUID, phone: str,
                             hash_key: bytes) -> Mapping[str, Any]:
    """Right of access (DPDP Act 2023): everything intake holds about the applicant whose phone this is;
    PhoneMismatch otherwise, an unknown id included."""
    async with uow.reading() as store:
        await _prove_applicant(store, application_id, phone, hash_key)
        row = await store.application(application_id)
    log.info("application %s exported to the applicant", application_id)
    return row


async def erase_application(uow: UnitOfWork[Store], application_id: uuid.UUID, hash_key: bytes, *,
                            by: Staff | None = None, applicant_phone: str | None = None) -> bool:
    """Remove an application's personal data and publish application.erased, in one transaction with its
    audit row (an erasure refused leaves none; one of an erased application leaves one saying so).

    By an admin (``by``) or by the applicant, whose phone (``applicant_phone``), in any accepted format, must
    be the application's: else PhoneMismatch, as an unknown id gives UnknownApplication. True when erased
    now, False when it was erased before (nothing changes, no second event). The application's
    application.submitted outbox row is scrubbed too, published or not: intake keeps nothing personal of
    an erased applicant.
    """
    if (by is None) == (applicant_phone is None):
        raise TypeError("an erasure is by an admin (by) or by the applicant (applicant_phone)")
    erased_at = datetime.now(timezone.utc)
    async with uow.transaction() as store:
        if applicant_phone is not None:
            await _prove_applicant(store, application_id, applicant_phone, hash_key)
        erasure = await _erase_personal_data(store, application_id, erased_at, "request")
        if erasure is None and not await store.is_known(application_id):
            raise UnknownApplication(application_id)
        erased = erasure is not None
        if erased:
            await store.add_events([erasure])
        await store.record_audit(audit.APPLICANT if by is None else audit.actor_of(by), "application.erased",
                                 str(application_id), {"erased": not erased}, {"erased": True})
    log.info("application %s %s by %s", application_id, "erased" if erased else "was already erased",
             "an admin" if applicant_phone is None else "the applicant")
    return erased


async def _erase_personal_data(store: Store, application_id: uuid.UUID, erased_at: datetime,
                               reason: events.ErasureReason) -> Envelope | None:
    """Blank a not yet erased application's personal data and scrub its application.submitted outbox row
    (published or not: intake keeps nothing personal of an erased applicant); the application.erased event
    for the outbox, or None when it was erased before or is unknown (nothing changes)."""
    submitted_event_id = await store.erase_personal_data(application_id, erased_at)
    if submitted_event_id is None:
        return None
    submitted = await store.outbox_payload_for_update(submitted_event_id)
    if submitted is not None:
        outbox_id, payload = submitted
        await store.replace_outbox_payload(outbox_id, events.scrubbed_submitted_event(payload))
    return new_event(events.PRODUCER, application_id, events.erased_data(erased_at, reason), occurred_at=erased_at)


# --- retention (SPEC "Operations", DPDP Act 2023) ---------------------------------------------------

CONSUMER = "intake"  # the inbox's consumer name
# Applications erased per transaction by a purge: each batch commits with its events and its audit row.
PURGE_BATCH = 500
PURGEABLE_OUTCOMES = ("rejected", "no_show")


async def apply_events(uow: UnitOfWork[Store], delivered: Sequence[Event]) -> None:
    """A consumer batch of screening.completed in one transaction with its inbox rows: each case's outcome
    and when it ended (the event's occurred_at), the latest per application; nothing else of the event."""
    async with uow.first_deliveries(CONSUMER, delivered) as (store, new):
        latest: dict[uuid.UUID, tuple[uuid.UUID, str, datetime]] = {}
        for envelope, result in new:
            known = latest.get(envelope.application_id)
            if known is None or envelope.occurred_at > known[2]:
                latest[envelope.application_id] = (envelope.application_id, result.outcome, envelope.occurred_at)
        if latest:
            await store.record_outcomes(list(latest.values()))


@dataclass(frozen=True)
class Purged:
    older_than_days: int
    dry_run: bool
    applications: int  # erased now, or that a dry run would erase


async def purge_ended_applications(uow: UnitOfWork[Store], older_than_days: int, *, dry_run: bool = False,
                                   by: Staff | None = None, batch: int = PURGE_BATCH) -> Purged:
    """Erase the personal data of every application whose case ended rejected or no_show more than
    `older_than_days` ago, by the erasure's own path (application.erased with reason `retention`), a batch
    of applications a transaction, each with one `applications.purged` audit row of counts (no ids, no
    personal data). By an admin (`by`), or by intake's daily job. A dry run only counts them.
    """
    older_than = timedelta(days=older_than_days)
    if dry_run:
        async with uow.reading() as store:
            return Purged(older_than_days, True, await store.count_purgeable(older_than))
    actor = audit.RETENTION if by is None else audit.actor_of(by)
    total = 0
    while True:
        erased_at = datetime.now(timezone.utc)
        async with uow.transaction() as store:
            erasures = [erasure for application_id in await store.lock_purgeable(older_than, batch)
                        if (erasure := await _erase_personal_data(store, application_id, erased_at, "retention"))]
            if erasures:
                await store.add_events(erasures)
                await store.record_audit(actor, "applications.purged", "applications",
                                         {"older_than_days": older_than_days}, {"erased": len(erasures)})
        total += len(erasures)
        if len(erasures) < batch:
            break
    log.info("retention purge: %d applications ended %s more than %d days ago erased", total,
             " or ".join(PURGEABLE_OUTCOMES), older_than_days)
    return Purged(older_than_days, False, total)


async def get_application(uow: UnitOfWork[Store], application_id: uuid.UUID) -> Mapping[str, Any]:
    """The stored application (after erasure its personal columns are null); UnknownApplication if none."""
    async with uow.reading() as store:
        row = await store.application(application_id)
    if row is None:
        raise UnknownApplication(application_id)
    return row


@dataclass(frozen=True)
class BulkStored:
    valid: int  # rows offered (all valid)
    accepted: int  # of them, new applications; the rest were duplicates


async def import_applications(uow: UnitOfWork[Store], batches: AsyncIterable[BulkBatch]) -> BulkStored:
    """A bulk import's prepared rows, batch by batch as they come, in one transaction: nothing is visible or
    published before every batch is in, and an exception from ``batches`` (a body refused half-way) leaves
    nothing behind. A phone already taken, or taken by an earlier row, makes a duplicate; events keep row order.
    """
    valid = accepted = 0
    async with uow.transaction() as store:
        await store.create_bulk_staging()
        async for batch in batches:
            if batch.rows:
                valid += len(batch.rows)
                with tracing.span("intake import batch", rows=len(batch.rows)):  # one span a batch, not a row
                    accepted += await store.add_bulk_rows(batch, tracing.current_traceparent())
    return BulkStored(valid, accepted)
