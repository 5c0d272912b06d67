"""Intake's retention purge on an in-memory store: which applications it erases (cases that ended rejected or
no_show long enough ago), by the erasure's own path with reason retention, batch by batch with an audit row of
counts each; a dry run changes nothing; the ended cases come from screening.completed, the latest per case."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

from services.intake import usecases
from shared.audit import RETENTION
from shared.auth import Staff
from shared.events import ScreeningCompleted, new_event, parse_event
from tests.unit.intake.memory_store import MemoryUnitOfWork

KEY = b"phone-hash-key"
ADMIN = Staff("admin", None, fingerprint="0123456789ab")
NOW = datetime.now(timezone.utc)


def application(n: int) -> dict:
    return {"full_name": f"Retention Person {n}", "phone": f"98290{n:05d}", "email": f"person{n}@example.org",
            "state": "RJ", "district": "Jaipur", "age": 30, "consent": True, "social": {"x": f"@handle{n}"}}


def completed(application_id: uuid.UUID, outcome: str, days_ago: float):
    data = ScreeningCompleted(state="RJ", district="Jaipur", outcome=outcome, score=None if outcome == "no_show"
                              else 40, submitted_at=NOW - timedelta(days=100))
    envelope = new_event("screening", application_id, data, occurred_at=NOW - timedelta(days=days_ago))
    return envelope, data


async def campaign(uow: MemoryUnitOfWork, ends: list[tuple[str, float] | None]) -> list[uuid.UUID]:
    """One application per entry, and its case's end (outcome, days ago) if any, through apply_events."""
    ids = []
    for n, end in enumerate(ends):
        ids.append((await usecases.submit_application(uow, application(n), "web-form", KEY)).application_id)
    await usecases.apply_events(uow, [completed(ids[n], *end) for n, end in enumerate(ends) if end])
    return ids


async def test_ended_cases_are_recorded_once_and_the_latest_end_wins() -> None:
    uow = MemoryUnitOfWork()
    first_id, second_id = uuid.uuid4(), uuid.uuid4()
    early, late = completed(first_id, "selected", 5), completed(first_id, "rejected", 1)
    await usecases.apply_events(uow, [late, early, completed(second_id, "no_show", 2)])
    await usecases.apply_events(uow, [late])  # a redelivery changes nothing
    assert uow.store.case_outcomes[first_id] == ("rejected", late[0].occurred_at)
    assert uow.store.case_outcomes[second_id][0] == "no_show"


async def test_a_purge_erases_exactly_the_long_ended_rejected_and_no_show_with_reason_retention() -> None:
    uow = MemoryUnitOfWork()
    ids = await campaign(uow, [("rejected", 91), ("no_show", 120), ("selected", 200), ("rejected", 10), None])
    done = await usecases.purge_ended_applications(uow, 90, by=ADMIN)
    assert (done.applications, done.dry_run, done.older_than_days) == (2, False, 90)

    erased = {application_id for application_id, row in uow.store.applications.items() if row["erased_at"]}
    assert erased == set(ids[:2])
    assert uow.store.applications[ids[2]]["full_name"] == "Retention Person 2"
    outbox = json.dumps(uow.store.outbox, ensure_ascii=False, default=str)
    for n in (0, 1):  # the submitted events are scrubbed as for erasure on request
        assert f"Retention Person {n}" not in outbox and f"98290{n:05d}" not in outbox and f"handle{n}" not in outbox
    assert "Retention Person 2" in outbox
    erasures = [parse_event(json.dumps(event)) for event in uow.store.events("application.erased")]
    assert {envelope.application_id for envelope, _ in erasures} == set(ids[:2])
    assert all(envelope.event_type == "application.erased" and data.reason == "retention"
               for envelope, data in erasures)
    [row] = uow.store.audit_rows
    assert (row["action"], row["target"], row["before"], row["after"]) == (
        "applications.purged", "applications", {"older_than_days": 90}, {"erased": 2})
    assert row["actor"] == {"role": "admin", "states": None, "fingerprint": "0123456789ab"}

    again = await usecases.purge_ended_applications(uow, 90)
    assert again.applications == 0 and len(uow.store.audit_rows) == 1, "nothing to do: no event, no audit row"


async def test_a_dry_run_counts_and_changes_nothing() -> None:
    uow = MemoryUnitOfWork()
    await campaign(uow, [("rejected", 91), ("no_show", 95), ("rejected", 3)])
    before = uow.store.snapshot()
    done = await usecases.purge_ended_applications(uow, 90, dry_run=True)
    assert (done.applications, done.dry_run) == (2, True)
    assert uow.store.snapshot() == before


async def test_a_purge_goes_batch_by_batch_each_with_its_audit_row_and_the_daily_job_is_the_retention_actor() -> None:
    uow = MemoryUnitOfWork()
    await campaign(uow, [("rejected", 100 + n) for n in range(5)])
    transactions = uow.transactions
    done = await usecases.purge_ended_applications(uow, 90, batch=2)
    assert done.applications == 5
    assert uow.transactions - transactions == 3
    assert [row["after"] for row in uow.store.audit_rows] == [{"erased": 2}, {"erased": 2}, {"erased": 1}]
    assert all(row["actor"] == RETENTION for row in uow.store.audit_rows)
    audit_text = json.dumps(uow.store.audit_rows, default=str)
    assert "Retention Person" not in audit_text and "98290" not in audit_text and "@handle" not in audit_text


async def test_an_erasure_request_says_request() -> None:
    uow = MemoryUnitOfWork()
    [application_id] = await campaign(uow, [None])
    await usecases.erase_application(uow, application_id, KEY, by=ADMIN)
    [event] = uow.store.events("application.erased")
    assert event["data"]["reason"] == "request"


async def test_erasing_an_application_whose_submitted_row_was_trimmed_leaves_it_trimmed() -> None:
    uow = MemoryUnitOfWork()
    [application_id] = await campaign(uow, [("rejected", 100)])
    row = uow.store.outbox[0]
    trimmed = {**json.loads(row["payload"]), "data": {}}
    row["payload"] = json.dumps(trimmed)
    assert (await usecases.purge_ended_applications(uow, 90)).applications == 1
    assert json.loads(uow.store.outbox[0]["payload"]) == trimmed
