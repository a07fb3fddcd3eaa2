"""FastAPI dependencies as Annotated aliases. The session dependency is the transaction boundary."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.api.auth import Principal, authenticate, check_company_access
from qbo_integration.config import Settings
from qbo_integration.queue import JobQueue, commit_and_flush


# async: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request for a lookup.
async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_redis(request: Request) -> Redis:
    return request.app.state.redis


async def get_queue(request: Request) -> JobQueue:
    return request.app.state.queue


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
RedisDep = Annotated[Redis, Depends(get_redis)]
QueueDep = Annotated[JobQueue, Depends(get_queue)]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Commits when the handler returns, rolls back when it raises; queued jobs go after the commit."""
    queue: JobQueue = request.app.state.queue
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            JobQueue.discard(session)
            await session.rollback()
            raise
        else:
            await commit_and_flush(session, queue)


# scope="function": the commit happens before the response is sent, so a failed commit is a 500, not a lie.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


# Declares the bearer scheme in the OpenAPI document; the header itself is checked by authenticate(),
# which gives each malformed header its own message (HTTPBearer's auto_error would not).
bearer = HTTPBearer(auto_error=False, scheme_name="bearer", bearerFormat="JWT",
                    description="A Core Platform JWT (claims sub, company_id, role)")


async def get_principal(
    request: Request, settings: SettingsDep,
    _declared: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> Principal:
    return await authenticate(settings, request.headers.get("authorization"))


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def company_access(principal: Principal, company_id: uuid.UUID, *, admin: bool = False) -> uuid.UUID:
    """Check the caller may see (or, with admin=True, change) this company's integration."""
    check_company_access(principal, company_id, admin=admin)
    return company_id
