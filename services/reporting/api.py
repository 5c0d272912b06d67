"""Reporting API: FastAPI routes — optional read token -> store reads. No response carries PII."""

from __future__ import annotations

from datetime import datetime, timezone

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.reporting import store
from shared.service import pool_of, runtime_of

_bearer = HTTPBearer(auto_error=False)


async def read_access(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    """Open unless REPORTING_READ_TOKEN is set; then the bearer token (or ?token= for SSE) must match."""
    token = runtime_of(request).settings.reporting_read_token
    if token is None or not token.get_secret_value():
        return
    given = credentials.credentials if credentials else request.query_params.get("token")
    if given != token.get_secret_value():
        raise HTTPException(401, "a valid reporting read token is required", headers={"WWW-Authenticate": "Bearer"})


router = APIRouter(prefix="/v1", dependencies=[Depends(read_access)])


@router.get("/stats/summary", tags=["stats"])
async def summary(request: Request, pool: asyncpg.Pool = Depends(pool_of)) -> dict:
    c = await store.summary_counts(pool)
    target = runtime_of(request).settings.campaign_target
    return {
        "target": target,
        "applications": c["applications"],
        "progress": c["applications"] / target,
        "erased": c["erased"],
        "funnel": {"submitted": c["applications"], "scheduled": c["scheduled"], "interviewed": c["interviewed"],
                   "selected": c["selected"], "rejected": c["rejected"], "no_show": c["no_show"]},
        "current": {"queued": c["queued"], "deferred": c["deferred"], "awaiting_result": c["awaiting_result"],
                    "placed": c["placed"], "waitlisted": c["waitlisted"]},
        "placed_by_level": {"state": c["level_state"], "district": c["level_district"], "block": c["level_block"]},
        "as_of": datetime.now(timezone.utc).isoformat(),
    }
