"""Intake use cases against an in-memory store: dedupe, the events they emit, erasure, a bulk import's transaction."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timezone

import pytest

from services.intake import usecases
from services.intake.domain.bulk import (
    RANDOM_BYTES_PER_RECORD,
    BulkReader,
    BulkRejected,
    PreparedRow,
    prepare_rows,
)
from services.intake.domain.events import ERASED_SUBMISSION_VALUES
from services.intake.store import BulkBatch
from shared.auth import Staff
from shared.events import parse_event
from shared.phone import phone_hash
from tests.unit.intake.memory_store import MemoryUnitOfWork

KEY = b"phone-hash-key"
ADMIN = Staff("admin", None, fingerprint="0123456789ab")
RAW = {"full_name": "  आशा   मीणा ", "phone": "098290-12345", "email": "Asha@Example.COM", "state": "Rajasthan",
       "district": " jaipur ", "block": "sanganer", "age": "24", "languages": "Hindi, English",
       "skills": ["content_writing"], "social.twitter": "@asha", "consent": "on"}


async def submitted(uow: MemoryUnitOfWork, **changes) -> usecases.Submitted:
    return await usecases.submit_application(uow, {**RAW, **changes}, "web-form", KEY)


async def test_a_submission_stores_the_application_and_emits_one_submitted_event_with_the_normalized_data() -> None:
    uow = MemoryUnitOfWork()
    result = await submitted(uow)
    assert result.duplicate is False
    [event] = uow.store.events()
    envelope, data = parse_event(json.dumps(event))
    assert (envelope.event_type, envelope.application_id, envelope.producer) == (
        "application.submitted", result.application_id, "intake")
    assert (data.full_name, data.phone, data.email, data.state, data.district, data.block, data.age) == (
        "आशा मीणा", "+919829012345", "Asha@example.com", "RJ", "Jaipur", "Sanganer", 24)
    assert (data.languages, data.skills, data.social, data.source) == (
        ["Hindi", "English"], ["content_writing"], {"twitter": "@asha"}, "web-form")
    assert data.submitted_at == envelope.occurred_at
    stored = uow.store.applications[result.application_id]
    assert stored["phone_hash"] == phone_hash("+919829012345", KEY)
    assert stored["submitted_event_id"] == envelope.event_id  # erasure finds the event by it
    # The application id is in time order (its millisecond is the submission's), the event id random.
    assert (result.application_id.version, envelope.event_id.version) == (7, 4)
    assert int.from_bytes(result.application_id.bytes[:6], "big") == int(data.submitted_at.timestamp() * 1000)


async def test_the_same_phone_again_returns_the_first_id_and_adds_no_event() -> None:
    uow = MemoryUnitOfWork()
    first = await submitted(uow)
    again = await submitted(uow, phone="+91 98290 12345", full_name="Someone Else")
    assert again == usecases.Submitted(first.application_id, duplicate=True)
    assert len(uow.store.applications) == 1 and len(uow.store.events()) == 1
    assert uow.store.applications[first.application_id]["full_name"] == "आशा मीणा"


async def test_an_invalid_application_names_its_bad_fields_and_stores_nothing() -> None:
    uow = MemoryUnitOfWork()
    with pytest.raises(usecases.InvalidApplication) as invalid:
        await submitted(uow, phone="12345", state="Atlantis", consent="no")
    assert [error.field for error in invalid.value.errors] == ["phone", "state", "consent"]
    assert uow.store.applications == {} and uow.store.outbox == []


async def test_erasure_with_a_wrong_phone_is_not_found_and_changes_nothing() -> None:
    uow = MemoryUnitOfWork()
    application_id = (await submitted(uow)).application_id
    before = uow.store.snapshot()
    for phone in ("9999999999", "not a phone"):
        with pytest.raises(usecases.PhoneMismatch):
            await usecases.erase_application(uow, application_id, KEY, applicant_phone=phone)
    with pytest.raises(usecases.PhoneMismatch):  # an unknown id with a phone: the same answer
        await usecases.erase_application(uow, uuid.uuid4(), KEY, applicant_phone="9829012345")
    assert uow.store.snapshot() == before
    assert issubclass(usecases.PhoneMismatch, usecases.UnknownApplication)


async def test_erasure_scrubs_the_row_and_the_submitted_event_and_emits_one_erased_event() -> None:
    uow = MemoryUnitOfWork()
    application_id = (await submitted(uow)).application_id
    assert await usecases.erase_application(uow, application_id, KEY, applicant_phone="0 98290-12345") is True

    row = uow.store.applications[application_id]
    assert all(row[name] is None for name in ("phone", "full_name", "email", "block", "age", "details", "source"))
    assert (row["state"], row["district"], row["phone_hash"]) == ("RJ", "Jaipur", phone_hash("+919829012345", KEY))
    [submitted_event] = uow.store.events("application.submitted")
    assert parse_event(json.dumps(submitted_event))  # still a valid event: a replay still counts it
    assert {k: submitted_event["data"][k] for k in ERASED_SUBMISSION_VALUES} == ERASED_SUBMISSION_VALUES
    assert "आशा" not in json.dumps(uow.store.outbox, ensure_ascii=False, default=str)
    [erased] = uow.store.events("application.erased")
    envelope, data = parse_event(json.dumps(erased))
    assert envelope.application_id == application_id and data.erased_at == row["erased_at"] == envelope.occurred_at


async def test_erasing_again_is_no_change_and_no_second_event_and_an_unknown_id_is_not_found() -> None:
    uow = MemoryUnitOfWork()
    application_id = (await submitted(uow)).application_id
    assert await usecases.erase_application(uow, application_id, KEY, by=ADMIN) is True
    assert await usecases.erase_application(uow, application_id, KEY, by=ADMIN) is False
    assert await usecases.erase_application(uow, application_id, KEY, applicant_phone="9829012345") is False
    assert len(uow.store.events("application.erased")) == 1
    with pytest.raises(usecases.UnknownApplication):
        await usecases.erase_application(uow, uuid.uuid4(), KEY, by=ADMIN)


async def test_an_erased_phone_applying_again_is_still_a_duplicate() -> None:
    uow = MemoryUnitOfWork()
    application_id = (await submitted(uow)).application_id
    await usecases.erase_application(uow, application_id, KEY, by=ADMIN)
    assert await submitted(uow) == usecases.Submitted(application_id, duplicate=True)
    assert len(uow.store.events("application.submitted")) == 1


async def test_get_application() -> None:
    uow = MemoryUnitOfWork()
    application_id = (await submitted(uow)).application_id
    assert (await usecases.get_application(uow, application_id))["state"] == "RJ"
    with pytest.raises(usecases.UnknownApplication):
        await usecases.get_application(uow, uuid.uuid4())


def prepared(lines: list[dict], first_row: int = 1) -> list[PreparedRow]:
    reader = BulkReader("ndjson")
    records = reader.feed("".join(json.dumps(line) + "\n" for line in lines).encode()) + reader.close()
    records = [(row + first_row - 1, record) for row, record in records]
    random = os.urandom(RANDOM_BYTES_PER_RECORD * len(records))
    rows = prepare_rows("ndjson", None, records, "partner", KEY, random=random,
                        submitted_at=datetime(2026, 3, 1, tzinfo=timezone.utc))
    return rows.accepted


def person(phone: str) -> dict:
    return {"full_name": f"P {phone}", "phone": phone, "state": "UP", "district": "Agra", "age": 30, "consent": True}


async def batches_of(*batches: Sequence[PreparedRow], then: Exception | None = None) -> AsyncIterator:
    for batch in batches:
        yield BulkBatch.of(batch)
    if then is not None:
        raise then


async def test_a_bulk_import_keeps_the_first_row_of_a_phone_and_counts_the_rest_as_duplicates() -> None:
    uow = MemoryUnitOfWork()
    taken = (await submitted(uow, phone="8000000009")).application_id
    first = prepared([person("8000000001"), person("8000000002"), person("08000000001")])
    second = prepared([person("8000000003"), person("8000000009"), person("+91 8000000002")], first_row=4)
    stored = await usecases.import_applications(uow, batches_of(first, [], second))
    assert stored == usecases.BulkStored(valid=6, accepted=3)
    phones = [event["data"]["phone"] for event in uow.store.events("application.submitted")]
    assert phones == ["+918000000009", "+918000000001", "+918000000002", "+918000000003"]  # row order
    assert uow.store.applications[taken]["full_name"] == "आशा मीणा"  # the earlier application stays as it was
    assert len(uow.store.applications) == 4
    new = [uuid.UUID(event["application_id"]) for event in uow.store.events("application.submitted")[1:]]
    assert {(i.version, int.from_bytes(i.bytes[:6], "big")) for i in new} == {
        (7, int(datetime(2026, 3, 1, tzinfo=timezone.utc).timestamp() * 1000))}
    assert {uuid.UUID(event["event_id"]).version for event in uow.store.events("application.submitted")} == {4}


async def test_a_bulk_import_refused_half_way_leaves_nothing() -> None:
    uow = MemoryUnitOfWork()
    before = uow.store.snapshot()
    with pytest.raises(BulkRejected):
        await usecases.import_applications(
            uow, batches_of(prepared([person("8100000001")]), then=BulkRejected(413, "too many rows")))
    assert uow.store.snapshot() == before


async def test_export_gives_the_applicant_their_application_and_anyone_else_nothing() -> None:
    uow = MemoryUnitOfWork()
    application_id = (await submitted(uow)).application_id
    held = await usecases.export_application(uow, application_id, "+91 98290 12345", KEY)
    assert (held["full_name"], held["phone"]) == ("आशा मीणा", "+919829012345")
    for who, phone in ((application_id, "9999999999"), (uuid.uuid4(), "9829012345")):
        with pytest.raises(usecases.PhoneMismatch):
            await usecases.export_application(uow, who, phone, KEY)
