"""FastAPI dependencies as Annotated aliases. The session dependency is the transaction boundary."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Generic, Protocol, TypeVar

from fastapi import Depends, Query, Request, Security
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


# ------------------------------------------------------------------------------ company access
# A route names the company it reads or changes (companyId in the query or the JSON body); its handler
# receives a `CompanySubject` only once the caller may read (any role) or manage (admin) that company.


@dataclass(frozen=True)
class CompanySubject:
    """The caller, checked against the company the request names."""

    principal: Principal
    company_id: uuid.UUID

    @property
    def sub(self) -> str:
        return self.principal.sub

    @property
    def is_admin(self) -> bool:
        return self.principal.is_admin


def company_subject(principal: Principal, company_id: uuid.UUID, *, admin: bool) -> CompanySubject:
    """The one check: the token's company (403 "another company"), then, with admin=True, its role."""
    check_company_access(principal, company_id, admin=admin)
    return CompanySubject(principal, company_id)


CompanyIdQuery = Annotated[uuid.UUID, Query(alias="companyId", description="The CrewFlow company")]


async def _company_reader(principal: PrincipalDep, company_id: CompanyIdQuery) -> CompanySubject:
    return company_subject(principal, company_id, admin=False)


async def _company_admin(principal: PrincipalDep, company_id: CompanyIdQuery) -> CompanySubject:
    return company_subject(principal, company_id, admin=True)


#: Any role of the company in `?companyId=` (README, "Roles").
CompanyReader = Annotated[CompanySubject, Depends(_company_reader)]
#: The admin of the company in `?companyId=`: changes, pay rates, emails, QuickBooks' own records.
CompanyAdmin = Annotated[CompanySubject, Depends(_company_admin)]


class NamesCompany(Protocol):
    @property
    def company_id(self) -> uuid.UUID: ...


B = TypeVar("B", bound=NamesCompany)


def body_admin(model: type[NamesCompany]) -> Callable[..., Awaitable[CompanySubject]]:
    """The dependency for a route whose JSON body (a `model`) names the company: the caller must be its admin.
    Its parameter is `body`, like the route's own, so FastAPI reads and validates the body once (the
    OpenAPI document is unchanged) and checks access only for a valid body, as the route did itself."""

    async def admin_of_body(principal: Principal, body: NamesCompany) -> CompanySubject:
        return company_subject(principal, body.company_id, admin=True)

    admin_of_body.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
        inspect.Parameter("principal", inspect.Parameter.KEYWORD_ONLY, annotation=PrincipalDep),
        inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=model),
    ])
    return admin_of_body


class AdminOf(CompanySubject, Generic[B]):
    """`admin: AdminOf[SyncNowIn]` beside `body: SyncNowIn`: the admin of the company the body names.
    To FastAPI it is `Annotated[CompanySubject, Depends(body_admin(SyncNowIn))]`; to mypy a CompanySubject."""

    if not TYPE_CHECKING:
        def __class_getitem__(cls, model: type[NamesCompany]) -> Any:
            return Annotated[CompanySubject, Depends(body_admin(model))]
