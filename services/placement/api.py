"""Placement API: FastAPI routes for placements, units (with their members) and capacities: auth, parse, one use
case, the answer."""

from __future__ import annotations

import uuid

from fastapi import Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.placement import domain, usecases
from services.placement.store import Store
from shared.auth import Staff, require_admin, require_scope, require_staff
from shared.errors import error_responses, invalid, state_code
from shared.events import Level, UnitLevel
from shared.geography import STATES
from shared.unit_of_work import UnitOfWork
from shared.web import service_router, unit_of_work

router = service_router(prefix="/v1")
placement_unit_of_work = unit_of_work(Store)

OUT_OF_SCOPE = (403, "the state is outside the token's states")
NOT_ADMIN = (403, "not an admin token")
NO_UNIT = (404, "no such unit")

# Generous, but a typo of 5,000,000 seats is an error, not a capacity.
MAX_CAPACITY = 100_000


class Placement(BaseModel):
    application_id: uuid.UUID
    state: str
    level: Level
    unit_id: str | None
    score: int


class Unit(BaseModel):
    unit_id: str
    level: UnitLevel
    capacity: int
    filled: int


class Member(BaseModel):
    application_id: uuid.UUID
    score: int
    rank: int = Field(description="1 for the best in the unit, in merit order")


class LevelCapacities(BaseModel):
    """Any subset of the three level defaults (SPEC)."""

    model_config = ConfigDict(extra="forbid")

    state: int | None = Field(None, ge=0, le=MAX_CAPACITY)
    district: int | None = Field(None, ge=0, le=MAX_CAPACITY)
    block: int | None = Field(None, ge=0, le=MAX_CAPACITY)

    @model_validator(mode="after")
    def _some(self) -> "LevelCapacities":
        if self.state is None and self.district is None and self.block is None:
            raise ValueError("give at least one of state, district, block")
        return self


class UnitCapacity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    capacity: int = Field(ge=0, le=MAX_CAPACITY)


class Capacities(BaseModel):
    state: int
    district: int
    block: int
    overrides: dict[str, int] = Field(description="per-unit capacities that win over the level default")


class CapacityChange(Capacities):
    changed: int = Field(description="placement.changed events the re-placement emitted")


class UnitChange(Unit):
    changed: int = Field(description="placement.changed events the re-placement emitted")


def _capacities(capacities: domain.Capacities) -> dict:
    return {"state": capacities.state, "district": capacities.district, "block": capacities.block,
            "overrides": dict(capacities.overrides)}


def _unit_dict(unit: domain.Unit) -> dict:
    return {"unit_id": unit.unit_id, "level": unit.level, "capacity": unit.capacity, "filled": unit.filled}


def _unit_id(unit_id: str, staff: Staff) -> str:
    try:
        state, _, _ = domain.parse_unit(unit_id)
    except ValueError as error:
        raise invalid("unit_id", str(error)) from None
    # A well-formed id whose first segment is no state code names no unit: 404, as any other unknown unit.
    if state not in STATES:
        raise HTTPException(404, f"no unit {unit_id!r}: {state!r} is not a state code")
    require_scope(staff, state)
    return unit_id


def _no_unit(unit_id: str) -> HTTPException:
    return HTTPException(404, f"no unit {unit_id!r}: no candidate could be placed there")


@router.get("/placements/{application_id}", response_model=Placement, tags=["placements"],
            responses=error_responses(401, OUT_OF_SCOPE, (404, "no placement for this application")))
async def placement(application_id: uuid.UUID, staff: Staff = Depends(require_staff),
                    uow: UnitOfWork[Store] = Depends(placement_unit_of_work)) -> dict:
    found = await usecases.placement_of(uow, application_id)
    if found is None:
        raise HTTPException(404, "no placement for this application (not selected, not yet placed, or erased)")
    require_scope(staff, found["state"])
    return found


@router.get("/units", response_model=list[Unit], tags=["units"], responses=error_responses(401, OUT_OF_SCOPE))
async def units(state: str | None = Query(None, description="a state's code, English or Hindi name"),
                level: UnitLevel | None = Query(None),
                staff: Staff = Depends(require_staff),
                uow: UnitOfWork[Store] = Depends(placement_unit_of_work)) -> list[dict]:
    """Units that exist: the state, district and block of every current candidate, and units with an override."""
    if state is not None:
        state = state_code(state)
        require_scope(staff, state)
        states = [state]
    else:
        states = staff.visible_states()
    return [_unit_dict(u) for u in await usecases.units(uow, states, level)]


@router.get("/units/{unit_id:path}/members", response_model=list[Member], tags=["units"],
            responses=error_responses(401, OUT_OF_SCOPE, NO_UNIT))
async def unit_members(unit_id: str, staff: Staff = Depends(require_staff),
                       uow: UnitOfWork[Store] = Depends(placement_unit_of_work)) -> list[dict]:
    """Who sits in a unit, best first (ids and scores; names and phones are screening's, POST /v1/cases/lookup).
    403 outside the token's states, 404 for a unit that does not exist, 422 for a malformed id."""
    try:
        return await usecases.unit_members(uow, _unit_id(unit_id, staff))
    except usecases.UnknownUnit:
        raise _no_unit(unit_id) from None


@router.get("/capacity", response_model=Capacities, tags=["capacity"], responses=error_responses(401))
async def capacity(staff: Staff = Depends(require_staff),
                   uow: UnitOfWork[Store] = Depends(placement_unit_of_work)) -> dict:
    return _capacities(await usecases.capacities(uow))


@router.put("/capacity", response_model=CapacityChange, tags=["capacity"], responses=error_responses(401, NOT_ADMIN))
async def set_capacity(body: LevelCapacities, staff: Staff = Depends(require_admin),
                       uow: UnitOfWork[Store] = Depends(placement_unit_of_work)) -> dict:
    """Change level defaults for every unit, then re-place every state (each in its own transaction)."""
    capacities, changed = await usecases.set_level_capacities(uow, staff, body.model_dump(exclude_none=True))
    return {**_capacities(capacities), "changed": changed}


@router.put("/units/{unit_id:path}/capacity", response_model=UnitChange, tags=["capacity"],
            responses=error_responses(401, NOT_ADMIN, NO_UNIT))
async def set_unit_capacity(unit_id: str, body: UnitCapacity, staff: Staff = Depends(require_admin),
                            uow: UnitOfWork[Store] = Depends(placement_unit_of_work)) -> dict:
    """Give one unit its own capacity and re-place its state (one transaction)."""
    try:
        unit, changed = await usecases.set_unit_capacity(uow, staff, _unit_id(unit_id, staff), body.capacity)
    except usecases.UnknownUnit:
        raise _no_unit(unit_id) from None
    return {**_unit_dict(unit), "changed": changed}


@router.delete("/units/{unit_id:path}/capacity", response_model=UnitChange, tags=["capacity"],
               responses=error_responses(401, NOT_ADMIN, NO_UNIT))
async def clear_unit_capacity(unit_id: str, staff: Staff = Depends(require_admin),
                              uow: UnitOfWork[Store] = Depends(placement_unit_of_work)) -> dict:
    """Back to the level default; re-places the unit's state."""
    try:
        unit, changed = await usecases.clear_unit_capacity(uow, staff, _unit_id(unit_id, staff))
    except usecases.UnknownUnit:
        raise _no_unit(unit_id) from None
    return {**_unit_dict(unit), "changed": changed}
