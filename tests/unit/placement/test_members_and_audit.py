"""Unit tests of placement's unit roster (members in merit order) and its audit of capacity changes, on an
in-memory store."""

from __future__ import annotations

import uuid

import pytest

from services.placement import usecases
from shared.auth import parse_staff_tokens
from tests.unit.placement.memory_store import MemoryUnitOfWork, Tables
from tests.unit.placement.test_usecases import deliver, ids, result

ADMIN = parse_staff_tokens("admin-token:admin")["admin-token"]


@pytest.fixture
def uow() -> MemoryUnitOfWork:
    return MemoryUnitOfWork(Tables(levels={"state": 1, "district": 2, "block": 1}))


async def test_a_units_members_are_ranked_best_first(uow) -> None:
    a, b, c, d = ids(4)
    # Equal scores: the earlier submission first.
    await deliver(uow, result(a, 70, minutes=3), result(b, 95), result(c, 80, minutes=1), result(d, 80, minutes=2))
    assert await usecases.unit_members(uow, "RJ") == [{"application_id": b, "score": 95, "rank": 1}]
    assert await usecases.unit_members(uow, "RJ/Jaipur") == [{"application_id": c, "score": 80, "rank": 1},
                                                             {"application_id": d, "score": 80, "rank": 2}]
    assert await usecases.unit_members(uow, "RJ/Jaipur/Sanganer") == [{"application_id": a, "score": 70, "rank": 1}]


async def test_a_unit_that_does_not_exist_has_no_members_but_an_empty_one_has_an_empty_list(uow) -> None:
    await deliver(uow, result(uuid.uuid4(), 90))
    with pytest.raises(usecases.UnknownUnit):
        await usecases.unit_members(uow, "RJ/Ajmer")
    assert await usecases.unit_members(uow, "RJ/Jaipur") == []  # someone could sit there; nobody does


async def test_capacity_changes_leave_one_audit_row_each_with_before_and_after(uow) -> None:
    await deliver(uow, *(result(a, 90 - i, minutes=i) for i, a in enumerate(ids(3))))
    await usecases.set_level_capacities(uow, ADMIN, {"state": 3})
    await usecases.set_unit_capacity(uow, ADMIN, "RJ/Jaipur", 5)
    await usecases.clear_unit_capacity(uow, ADMIN, "RJ/Jaipur")
    rows = uow.store.audit_rows
    assert [(r["action"], r["target"]) for r in rows] == [
        ("capacity.changed", "*"), ("unit-capacity.set", "RJ/Jaipur"), ("unit-capacity.cleared", "RJ/Jaipur")]
    assert {r["actor"]["fingerprint"] for r in rows} == {ADMIN.fingerprint}
    assert (rows[0]["before"], rows[0]["after"]) == ({"state": 1, "district": 2, "block": 1},
                                                    {"state": 3, "district": 2, "block": 1})
    assert (rows[1]["before"], rows[1]["after"]) == ({"capacity": 2, "override": None},
                                                    {"capacity": 5, "override": 5, "filled": 0, "changed": 0})
    assert (rows[2]["before"], rows[2]["after"]) == ({"capacity": 5, "override": 5},
                                                    {"capacity": 2, "override": None, "filled": 0, "changed": 0})


async def test_an_unknown_unit_leaves_no_audit_row(uow) -> None:
    with pytest.raises(usecases.UnknownUnit):
        await usecases.set_unit_capacity(uow, ADMIN, "RJ/Ajmer", 5)
    with pytest.raises(usecases.UnknownUnit):
        await usecases.clear_unit_capacity(uow, ADMIN, "RJ/Ajmer")
    assert uow.store.audit_rows == []
