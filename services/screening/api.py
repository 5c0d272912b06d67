"""Screening API: FastAPI routes — auth -> validate -> domain -> store."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.screening import domain, store
from shared.auth import Staff, require_staff
from shared.service import pool_of, runtime_of

router = APIRouter(prefix="/v1")


class QueueItem(BaseModel):
    application_id: uuid.UUID
    full_name: str | None
    phone: str | None
    state: str
    district: str
    status: str
    submitted_at: datetime


class Queue(BaseModel):
    items: list[QueueItem]


@router.get("/queue", response_model=Queue, tags=["interviews"])
async def queue(state: str | None = Query(None, min_length=2, max_length=2), limit: int = Query(50, ge=1, le=200),
                staff: Staff = Depends(require_staff), pool: asyncpg.Pool = Depends(pool_of)) -> Queue:
    if state is not None:
        state = state.upper()
        if not staff.may_act_in(state):
            raise HTTPException(403, f"your token does not cover {state}")
        states = [state]
    else:
        states = None if staff.is_admin or staff.states is None else sorted(staff.states)
    rows = await store.waiting_cases(pool, states, limit)
    return Queue(items=[QueueItem(**dict(r)) for r in rows])


class ScheduleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    application_id: uuid.UUID
    interview_at: AwareDatetime
    interviewer: str | None = Field(None, min_length=1, max_length=100)


async def _locked_case(conn: asyncpg.Connection, application_id: uuid.UUID, staff: Staff) -> asyncpg.Record:
    case = await store.case_for_update(conn, application_id)
    if case is None or case["status"] == "erased":
        raise HTTPException(404, "no such case")
    if not staff.may_act_in(case["state"]):
        raise HTTPException(403, f"your token does not cover {case['state']}")
    return case


@router.post("/interviews", status_code=201, tags=["interviews"])
async def schedule_interview(body: ScheduleRequest, staff: Staff = Depends(require_staff),
                             pool: asyncpg.Pool = Depends(pool_of)) -> dict:
    async with pool.acquire() as conn, conn.transaction():
        case = await _locked_case(conn, body.application_id, staff)
        if case["status"] not in ("queued", "deferred", "scheduled"):
            raise HTTPException(409, f"this case is already decided ({case['status']})")
        await store.schedule_interview(conn, case, body.interview_at, body.interviewer)
    return {"application_id": str(body.application_id), "status": "scheduled",
            "interview_at": body.interview_at.isoformat(), "interviewer": body.interviewer}


class Rubric(BaseModel):
    model_config = ConfigDict(extra="forbid")
    communication: int = Field(ge=0, le=10)
    content_creation: int = Field(ge=0, le=10)
    social_media_reach: int = Field(ge=0, le=10)
    political_awareness: int = Field(ge=0, le=10)
    commitment: int = Field(ge=0, le=10)


class ResultRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scores: Rubric | None = None
    outcome: Literal["no_show"] | None = None
    interviewer: str | None = Field(None, min_length=1, max_length=100)


@router.post("/interviews/{application_id}/result", tags=["interviews"])
async def record_result(application_id: uuid.UUID, body: ResultRequest, staff: Staff = Depends(require_staff),
                        pool: asyncpg.Pool = Depends(pool_of), runtime=Depends(runtime_of)) -> dict:
    if (body.scores is None) == (body.outcome is None):
        raise HTTPException(422, [{"field": "scores", "message": "send either scores or outcome: no_show"}])
    async with pool.acquire() as conn, conn.transaction():
        case = await _locked_case(conn, application_id, staff)
        if case["status"] in ("selected", "rejected", "no_show"):
            raise HTTPException(409, f"this case already has a result ({case['status']})")
        if body.scores is not None:
            rubric = body.scores.model_dump()
            score = domain.score(rubric)
            outcome = domain.outcome(score, runtime.settings.selection_threshold)
        else:
            rubric, score, outcome = None, None, "no_show"
        await store.record_result(conn, case, outcome, score, rubric, body.interviewer)
    return {"application_id": str(application_id), "outcome": outcome, "score": score}
