"""Intake domain, events (pure): application.submitted and .erased data, the bulk event JSON, the erasure scrub."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

import msgspec

from services.intake.domain.validation import Application
from shared.events import EVENT_TYPE_OF, ApplicationErased, ApplicationSubmitted

PRODUCER = "intake"
# Why an application is erased: its applicant's or an admin's request, or the retention purge.
ErasureReason = Literal["request", "retention"]
SUBMITTED = EVENT_TYPE_OF[ApplicationSubmitted]

_ENCODER = msgspec.json.Encoder()


def compact_json(value: Any) -> str:
    """Compact, non-ASCII as it is: the JSON pydantic writes (Envelope.to_json), and json.dumps with
    compact separators and ensure_ascii off, written by msgspec, as a bulk worker writes two a row."""
    return _ENCODER.encode(value).decode()


def submitted_data(application: Application, source: str, submitted_at: datetime) -> ApplicationSubmitted:
    """The data of an accepted application's ``application.submitted`` event: the application as validated, and
    ``source`` from the upstream (its API key) unless the application names one."""
    return ApplicationSubmitted(**application.model_dump(exclude={"source"}), source=application.source or source,
                                submitted_at=submitted_at)


def erased_data(erased_at: datetime, reason: ErasureReason = "request") -> ApplicationErased:
    return ApplicationErased(erased_at=erased_at, reason=reason)


def submitted_event_json(application_id: str, event_id: str, values: Mapping[str, Any], source: str,
                         submitted_at: datetime) -> str:
    """``new_event(PRODUCER, application_id, submitted_data(...), occurred_at=submitted_at).to_json()`` with the
    given ``event_id``, byte for byte, from ``validation.application_values`` and UUID strings.

    The bulk path: JSON of plain dicts instead of an :class:`Application`, an ``ApplicationSubmitted`` and
    an ``Envelope`` built and serialized per row (they were most of a bulk worker's time). pydantic writes compact
    JSON, non-ASCII as it is, and a UTC time as ``...Z``; tests/unit/intake/test_events.py compares the two on
    generated applications. ``submitted_at`` must be UTC.
    """
    at = submitted_at.isoformat().replace("+00:00", "Z")
    data = dict(values)
    data["source"] = values["source"] or source
    data["submitted_at"] = at
    return compact_json({"event_id": event_id, "event_type": SUBMITTED, "schema_version": 1, "occurred_at": at,
                         "producer": PRODUCER, "application_id": application_id, "data": data})


# What an erased application keeps: what the counts need (state, district, timestamps) and,
# in intake's own table only, the keyed phone hash that keeps a re-application a duplicate.
# Everything else about the person goes: name, phone, email, social handles, and the details
# that could single someone out in a small block (block, age, languages, skills, followers,
# hours, source).
ERASED_SUBMISSION_VALUES: dict[str, Any] = {
    "full_name": "", "phone": "", "email": None, "block": None, "age": 0, "languages": [],
    "skills": [], "social": {}, "followers": None, "hours_per_week": None, "source": None,
}


def scrubbed_submission(data: Mapping[str, Any]) -> dict[str, Any]:
    """The ``data`` of an erased application's ``application.submitted`` event, nothing personal left.

    It stays a valid ``ApplicationSubmitted`` (blank strings, nulls, zero, empty lists) so a
    replay of the outbox to a fresh broker still carries the application into the counts.
    """
    return {**data, **ERASED_SUBMISSION_VALUES}


def scrubbed_submitted_event(envelope_json: str) -> str:
    """An ``application.submitted`` envelope's JSON with its data scrubbed (:func:`scrubbed_submission`), the
    envelope itself (id, type, times) as it was."""
    envelope = json.loads(envelope_json)
    if not envelope["data"]:  # trimmed by the outbox retention already: nothing left to scrub
        return envelope_json
    envelope["data"] = scrubbed_submission(envelope["data"])
    return compact_json(envelope)
