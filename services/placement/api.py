"""Placement API: FastAPI routes — auth -> validate -> store (re-place) -> response."""

from __future__ import annotations

import uuid

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.placement import domain, store
from shared.auth import Staff, require_admin, require_staff
from shared.geography import STATES
from shared.web import pool_of

router = APIRouter(prefix="/v1")

# Generous, but a typo of 5,000,000 seats is an error, not a capacity.
MAX_CAPACITY = 100_000


class Placement(BaseModel):
    application_id: uuid.UUID
    state: str
    level: domain.Level
    unit_id: str | None
    score: int


class Unit(BaseModel):
    unit_id: str
    level: domain.UnitLevel
    capacity: int
    filled: int


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
        raise HTTPException(422, str(error)) from None
    if state not in STATES:
        raise HTTPException(404, f"no unit {unit_id!r}: {state!r} is not a state code")
    if not staff.may_act_in(state):
        raise HTTPException(403, f"your token does not cover {state}")
    return unit_id


async def _unit(pool: asyncpg.Pool, unit_id: str) -> domain.Unit:
    state, _, _ = domain.parse_unit(unit_id)
    places, filled, capacities = await store.unit_listing(pool, [state])
    found = [u for u in domain.units(places, filled, capacities, [state]) if u.unit_id == unit_id]
    # An override just cleared on a unit nobody can sit in any more: it still answers, empty.
    return found[0] if found else domain.Unit(unit_id, domain.level_of_unit(unit_id),
                                               capacities.for_unit(unit_id), 0)


@router.get("/placements/{application_id}", response_model=Placement, tags=["placements"])
async def placement(application_id: uuid.UUID, staff: Staff = Depends(require_staff),
                    pool: asyncpg.Pool = Depends(pool_of)) -> dict:
    row = await store.placement_of(pool, application_id)
    if row is None:
        raise HTTPException(404, "no placement for this application (not selected, not yet placed, or erased)")
    if not staff.may_act_in(row["state"]):
        raise HTTPException(403, f"your token does not cover {row['state']}")
    return dict(row)


@router.get("/units", response_model=list[Unit], tags=["units"])
async def units(state: str | None = Query(None, min_length=2, max_length=2),
                level: domain.UnitLevel | None = Query(None),
                staff: Staff = Depends(require_staff), pool: asyncpg.Pool = Depends(pool_of)) -> list[dict]:
    """Units that exist: the state, district and block of every current candidate, and units with an override."""
    if state is not None:
        state = state.upper()
        if state not in STATES:
            raise HTTPException(422, [{"field": "state", "message": f"{state!r} is not a state code"}])
        if not staff.may_act_in(state):
            raise HTTPException(403, f"your token does not cover {state}")
        states = [state]
    else:
        states = None if staff.is_admin or staff.states is None else sorted(staff.states)
    places, filled, capacities = await store.unit_listing(pool, states)
    return [_unit_dict(u) for u in domain.units(places, filled, capacities, states)
            if level is None or u.level == level]


@router.get("/capacity", response_model=Capacities, tags=["capacity"])
async def capacity(staff: Staff = Depends(require_staff), pool: asyncpg.Pool = Depends(pool_of)) -> dict:
    return _capacities(await store.current_capacities(pool))


@router.put("/capacity", response_model=CapacityChange, tags=["capacity"])
async def set_capacity(body: LevelCapacities, staff: Staff = Depends(require_admin),
                       pool: asyncpg.Pool = Depends(pool_of)) -> dict:
    """Change level defaults for every unit, then re-place every state (each in its own transaction)."""
    await store.set_level_capacities(pool, body.model_dump(exclude_none=True))
    changed = await store.replace_marked_states(pool)
    return {**_capacities(await store.current_capacities(pool)), "changed": changed}


@router.put("/units/{unit_id:path}/capacity", response_model=UnitChange, tags=["capacity"])
async def set_unit_capacity(unit_id: str, body: UnitCapacity, staff: Staff = Depends(require_admin),
                            pool: asyncpg.Pool = Depends(pool_of)) -> dict:
    """Give one unit its own capacity and re-place its state (one transaction)."""
    changed = await store.set_unit_capacity(pool, _unit_id(unit_id, staff), body.capacity)
    if changed is None:
        raise HTTPException(404, f"no unit {unit_id!r}: no candidate could be placed there")
    return {**_unit_dict(await _unit(pool, unit_id)), "changed": changed}


@router.delete("/units/{unit_id:path}/capacity", response_model=UnitChange, tags=["capacity"])
async def clear_unit_capacity(unit_id: str, staff: Staff = Depends(require_admin),
                              pool: asyncpg.Pool = Depends(pool_of)) -> dict:
    """Back to the level default; re-places the unit's state."""
    changed = await store.set_unit_capacity(pool, _unit_id(unit_id, staff), None)
    if changed is None:
        raise HTTPException(404, f"no unit {unit_id!r}: no candidate could be placed there")
    return {**_unit_dict(await _unit(pool, unit_id)), "changed": changed}
