"""Unit tests of intake's audit of erasures on an in-memory store: by an admin or by the applicant, one row in
the erasure's transaction, none for a refused one, and nothing personal in it."""

from __future__ import annotations

import json
import uuid

import pytest

from services.intake import usecases
from shared.auth import parse_staff_tokens
from tests.unit.intake.memory_store import MemoryUnitOfWork
from tests.unit.intake.test_usecases import KEY, RAW, submitted

ADMIN = parse_staff_tokens("admin-token:admin")["admin-token"]


async def test_an_erasure_by_an_admin_and_one_by_the_applicant_are_audited_as_such() -> None:
    uow = MemoryUnitOfWork()
    by_admin = (await submitted(uow)).application_id
    by_applicant = (await submitted(uow, phone="9829012346")).application_id
    await usecases.erase_application(uow, by_admin, KEY, by=ADMIN)
    await usecases.erase_application(uow, by_applicant, KEY, applicant_phone="9829012346")
    await usecases.erase_application(uow, by_admin, KEY, by=ADMIN)  # again: accepted, changes nothing
    rows = uow.store.audit_rows
    assert [(r["action"], r["target"], r["actor"], r["before"], r["after"]) for r in rows] == [
        ("application.erased", str(by_admin), {"role": "admin", "states": None, "fingerprint": ADMIN.fingerprint},
         {"erased": False}, {"erased": True}),
        ("application.erased", str(by_applicant), {"role": "applicant", "states": None, "fingerprint": None},
         {"erased": False}, {"erased": True}),
        ("application.erased", str(by_admin), {"role": "admin", "states": None, "fingerprint": ADMIN.fingerprint},
         {"erased": True}, {"erased": True}),
    ]
    text = json.dumps(rows, default=str, ensure_ascii=False)
    for personal in ("आशा", "9829012345", "9829012346", "asha@example.com", "@asha", "admin-token"):
        assert personal not in text, personal
    assert RAW["full_name"].strip() not in text


async def test_a_refused_erasure_leaves_no_audit_row() -> None:
    uow = MemoryUnitOfWork()
    application_id = (await submitted(uow)).application_id
    with pytest.raises(usecases.PhoneMismatch):
        await usecases.erase_application(uow, application_id, KEY, applicant_phone="9999999999")
    with pytest.raises(usecases.UnknownApplication):
        await usecases.erase_application(uow, uuid.uuid4(), KEY, by=ADMIN)
    assert uow.store.audit_rows == []


async def test_an_erasure_names_who_erases() -> None:
    uow = MemoryUnitOfWork()
    application_id = (await submitted(uow)).application_id
    for who in ({}, {"by": ADMIN, "applicant_phone": "9829012345"}):
        with pytest.raises(TypeError):
            await usecases.erase_application(uow, application_id, KEY, **who)
