"""Placement API: FastAPI routes — auth -> store reads."""

from __future__ import annotations

import uuid

import asyncpg
from fastapi import APIRouter, Depends, HTTPException

from services.placement import store
from shared.auth import Staff, require_staff
from shared.service import pool_of

router = APIRouter(prefix="/v1")


@router.get("/placements/{application_id}", tags=["placements"])
async def placement(application_id: uuid.UUID, staff: Staff = Depends(require_staff),
                    pool: asyncpg.Pool = Depends(pool_of)) -> dict:
    row = await store.placement_of(pool, application_id)
    if row is None or not staff.may_act_in(row["state"]):
        raise HTTPException(404, "no placement for this application")
    return {**dict(row), "application_id": str(row["application_id"])}
