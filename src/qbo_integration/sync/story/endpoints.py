"""Routes: a timecard's sync state and story, and finding timecards by worker, project, date or state.
Any role of the company may read them (like sync status and dead letters); the logic is in service.py."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from qbo_integration.api.deps import CompanyReader, SessionDep
from qbo_integration.sync.story import service
from qbo_integration.sync.story.schemas import FindQuery, StoryQuery, TimecardsOut, TimecardSyncOut

router = APIRouter(tags=["sync"])


def qbo_of(request: Request) -> Any:
    """The process's QBO client (the breaker's state), when the app has one."""
    return getattr(getattr(request.app.state, "services", None), "qbo", None)


@router.get("/timecards/{timecard_id}/sync", response_model=TimecardSyncOut,
            summary="A timecard's sync state in plain words, and its sync story, newest first (paged)")
async def timecard_sync(timecard_id: uuid.UUID, q: Annotated[StoryQuery, Query()], request: Request,
                        reader: CompanyReader, session: SessionDep) -> TimecardSyncOut:
    answer = await service.timecard_sync(session, qbo_of(request), q.company_id, timecard_id, cursor=q.cursor,
                                         limit=q.limit)
    return TimecardSyncOut.model_validate(answer)


@router.get("/timecards", response_model=TimecardsOut,
            summary="The company's timecards by worker or project name, date range or sync state, latest first")
async def find_timecards(q: Annotated[FindQuery, Query()], request: Request, reader: CompanyReader,
                         session: SessionDep) -> TimecardsOut:
    answer = await service.find(session, qbo_of(request), q.company_id, worker=q.worker, project=q.project,
                                start=q.from_, end=q.to, state=q.state, cursor=q.cursor, limit=q.limit)
    return TimecardsOut.model_validate(answer)
