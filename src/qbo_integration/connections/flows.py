"""The multi-step connection flows: start a connect, complete it (callback), test, disconnect.

Failures after the state was taken raise `ConnectFailed`; the caller answers with it and still
commits, so the state stays used and the failure's audit row is kept, while nothing of the
connection itself has been written (tokens are stored last, only once every check passed).

The callback is two transactions around the QuickBooks calls: `begin_connect` takes the state and
checks the callback, the caller commits, `finish_connect` exchanges the code and tests it with no
transaction open, then stores the grant in a second transaction, re-checking the row.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.clock import utc_now
from qbo_integration.config import Settings
from qbo_integration.connections import authorize, books, service, states
from qbo_integration.connections.crypto import TokenCipher, TokenCipherError, aad_for
from qbo_integration.connections.models import Integration
from qbo_integration.connections.schemas import TestConnectionOut
from qbo_integration.core_platform.gateway import require_company
from qbo_integration.errors import AppError
from qbo_integration.logs import log_context
from qbo_integration.monitoring.setup import mark_step
from qbo_integration.qbo import BreakerConfig, MemoryTokenStore, QboApi, QboError, Remedy, TokenSet
from qbo_integration.qbo.oauth import make_code_verifier
from qbo_integration.queue import IMPORT_DIRECTORY, JobQueue

logger = logging.getLogger(__name__)

IMPORT_FUNCTION = IMPORT_DIRECTORY  # directory/tasks.py: import_directory(ctx, company_id, job_id=None)
_REALM_RE = re.compile(r"^[A-Za-z0-9]{1,64}$")
_CODE_MAX = 2048


class Services(Protocol):
    """What the connect flows use of the process's clients (`services.Services` has them all; it is built
    above every domain, so the flows name what they need instead of importing it)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def http(self) -> httpx.AsyncClient: ...
    @property
    def cipher(self) -> TokenCipher: ...
    @property
    def qbo(self) -> QboApi: ...
    @property
    def redis(self) -> Any: ...
    @property
    def switch_realm(self) -> RealmSwitch: ...


class RealmSwitch(Protocol):
    """realms.switch.switch_realm: set the old realm's sync history aside (it sits above connections)."""

    async def __call__(self, session: AsyncSession, *, integration_id: uuid.UUID, company_id: uuid.UUID,
                       old_realm: str, new_realm: str, actor: str) -> dict[str, int]: ...


class ConnectFailed(AppError):
    """The connect could not be completed. `code` is the reason shown on the failure page."""

    status_code = 400
    code = "connect_failed"

    def __init__(self, message: str, *, code: str, status_code: int = 400) -> None:
        super().__init__(message, code=code)
        self.status_code = status_code


@dataclass(frozen=True)
class Connected:
    company_id: uuid.UUID
    realm_id: str
    company_name: str | None



def _qbo_reason(exc: QboError) -> str:
    return (exc.message or type(exc).__name__)[:300]


async def start_connect(session: AsyncSession, services: Services, *, company_id: uuid.UUID, user_sub: str,
                        now: datetime | None = None, allow_realm_switch: bool = False) -> str:
    """A new state (PKCE when offered) and the authorize URL carrying it. `allow_realm_switch`: the admin
    chose to move the company to another QuickBooks company (bound to this state only)."""
    await require_company(session, company_id)
    prov = await authorize.provider(services.settings, services.http)
    verifier = make_code_verifier() if prov.pkce else None
    state = await states.create_state(session, services.cipher, company_id=company_id, user_sub=user_sub,
                                      now=now or utc_now(), code_verifier=verifier, allow_realm_switch=allow_realm_switch)
    return authorize.authorize_url(services.settings, prov, state=state, code_verifier=verifier)


async def _fail(session: AsyncSession, row: Integration, message: str, *, code: str, actor: str,
                status_code: int = 400) -> ConnectFailed:
    await service.audit_row(session, row, "connect", False, actor=actor, error=message,
                            details={"reason": code})
    logger.info("QuickBooks connect failed: %s", code)
    return ConnectFailed(message, code=code, status_code=status_code)


async def _revoke_quietly(services: Services, tokens: TokenSet) -> None:
    try:
        await services.qbo.oauth.revoke(tokens.refresh_token)
    except QboError as exc:
        logger.warning("could not revoke an unused QuickBooks grant: %s", type(exc).__name__)


async def probe_company_info(services: Services, company_id: uuid.UUID, realm_id: str,
                             tokens: TokenSet) -> tuple[str | None, TokenSet, books.BookRules | None]:
    """companyinfo with tokens not stored yet (and without touching the company's breaker), then the
    company's Preferences (the books' rules; None when they could not be read: the directory import
    that follows the connect reads them again). Returns the company name, the tokens (refreshed if the
    probe had to) and the rules."""
    store = MemoryTokenStore()
    await store.save(str(company_id), tokens)
    config = dataclasses.replace(services.qbo.config, breaker=BreakerConfig(enabled=False))
    api = QboApi(config, services.redis, store, http=services.qbo.http)
    rules: books.BookRules | None = None
    try:
        client = api.company(company_id, realm_id)
        info = await client.company_info()
        try:
            rules = await books.read(client, utc_now())
        except QboError as exc:
            logger.warning("could not read the QuickBooks preferences at connect: %s", type(exc).__name__)
    finally:
        await api.aclose()
    return info.CompanyName, store.tokens.get(str(company_id), tokens), rules


@dataclass(frozen=True)
class PendingConnect:
    """What the first transaction of a callback checked: the state is consumed (committed), the rest is
    plain values, so the QuickBooks calls run with no transaction open."""

    company_id: uuid.UUID
    actor: str
    realm_id: str
    code: str
    code_verifier: str | None
    state_hash: str
    seen_changed_at: datetime | None  # the row's connection_changed_at when checked
    allow_realm_switch: bool = False  # the admin confirmed moving the company to another QuickBooks company


async def begin_connect(
    session: AsyncSession,
    services: Services,
    *,
    state: str | None,
    code: str | None,
    realm_id: str | None,
    error: str | None,
    caller_company: uuid.UUID | None = None,
    caller_sub: str | None = None,
    now: datetime | None = None,
) -> PendingConnect:
    """The callback's first transaction: take the state (single use) and check the callback. No network
    call. The caller commits before `finish_connect`, so a replayed callback finds the state used."""
    now = now or utc_now()
    taken = await states.take_state(session, state, now=now, company_id=caller_company, user_sub=caller_sub)
    company_id, actor = taken.company_id, taken.user_sub
    with log_context(company_id=company_id, realm_id=realm_id if realm_id and _REALM_RE.match(realm_id) else None):
        row = await service.get_or_create_integration(session, company_id)
        if error:
            if error == "access_denied":
                raise await _fail(session, row, "The QuickBooks connection was not approved (access denied)",
                                  code="access_denied", actor=actor)
            raise await _fail(session, row, f"QuickBooks refused the connection ({error[:100]})",
                              code="provider_error", actor=actor)
        if not code or len(code) > _CODE_MAX or not realm_id or not _REALM_RE.match(realm_id):
            raise await _fail(session, row, "The callback is missing the authorization code or the realm id",
                              code="bad_callback", actor=actor)
        refusal = await _realm_refusal(session, row, realm_id, allow_switch=taken.allow_realm_switch)
        if refusal is not None:
            raise await _fail(session, row, refusal.message, code=refusal.code, actor=actor,
                              status_code=refusal.status_code)
        try:
            verifier = states.code_verifier_of(services.cipher, taken)
        except TokenCipherError:
            raise await _fail(session, row, "This connection link can no longer be completed: start again",
                              code="state_unreadable", actor=actor) from None
        return PendingConnect(company_id=company_id, actor=actor, realm_id=realm_id, code=code,
                              code_verifier=verifier, state_hash=taken.state_hash,
                              seen_changed_at=row.connection_changed_at,
                              allow_realm_switch=taken.allow_realm_switch)


@dataclass(frozen=True)
class _Refusal:
    message: str
    code: str
    status_code: int = 409


async def _realm_refusal(session: AsyncSession, row: Integration, realm_id: str, *,
                         allow_switch: bool) -> _Refusal | None:
    owner = await service.realm_owner(session, realm_id)
    if owner is not None and owner != row.company_id:
        return _REALM_IN_USE
    if row.connection_status == "connected" and row.realm_id and row.realm_id != realm_id:
        return _Refusal(f"This company is already connected to another QuickBooks company "
                        f"({row.qbo_company_name or row.realm_id}); disconnect it first", "other_realm_connected")
    if row.realm_id and row.realm_id != realm_id and not allow_switch:
        # One company, one realm: the ids in its sync history and mapping name the old company's records.
        return _Refusal(
            f"This CrewFlow company's sync history belongs to the QuickBooks company "
            f"{row.qbo_company_name or row.realm_id!r}, and another QuickBooks company was chosen. Nothing was "
            "changed. To move this company to the other QuickBooks company, choose \"Switch QuickBooks company\": "
            "the old company's sync records and mapping are archived, and timecards are sent to the new one "
            "as new entries after you map them and run a dry run", "other_realm")
    return None


_REALM_IN_USE = _Refusal("This QuickBooks company is already connected to another CrewFlow company; disconnect "
                         "it there first", "realm_in_use")


async def finish_connect(session: AsyncSession, services: Services, queue: JobQueue, pending: PendingConnect,
                         *, now: datetime | None = None) -> Connected:
    """Exchange the code and test it (no transaction open: `session` must have none), then store the grant
    in a new transaction, re-checking what may have changed during the calls. A disconnect or another
    connect that completed meanwhile wins: the new grant is revoked and the callback refused."""
    company_id, actor, realm_id = pending.company_id, pending.actor, pending.realm_id
    assert not session.in_transaction(), "finish_connect calls QuickBooks: commit the state first"
    with log_context(company_id=company_id, realm_id=realm_id):
        try:
            tokens = await services.qbo.oauth.exchange_code(pending.code, pending.code_verifier,
                                                            redirect_uri=services.settings.qbo_redirect_uri)
        except QboError as exc:
            transient = exc.resolution.remedy in (Remedy.RETRY, Remedy.WAIT)
            raise await _fail(
                session, await service.get_or_create_integration(session, company_id),
                "QuickBooks could not be reached to finish the connection: try again" if transient else
                "QuickBooks refused the authorization code (expired or already used): start the connection again",
                code="exchange_failed", actor=actor, status_code=503 if transient else 400,
            ) from None
        try:
            company_name, tokens, rules = await probe_company_info(services, company_id, realm_id, tokens)
        except QboError as exc:
            if exc.resolution.remedy is Remedy.WAIT:
                # QuickBooks paused the realm (a 429 storm before the reconnect): the grant itself is good (the
                # code exchange just succeeded), so the connection is stored; the name and the books' rules are
                # read again by the directory import that follows.
                company_name, rules = await _known_name(session, company_id, realm_id), None
            else:
                await _revoke_quietly(services, tokens)
                raise await _fail(session, await service.get_or_create_integration(session, company_id),
                                  f"The test call to QuickBooks failed: {_qbo_reason(exc)}",
                                  code="test_failed", actor=actor, status_code=502) from None
        # One short transaction from here, the row locked; no network call until the caller commits it.
        # NO KEY UPDATE: rows referencing the integration (audit rows written by the breaker observer
        # during reset_breaker below) can still be inserted while it is held.
        row = (await session.execute(select(Integration).where(Integration.company_id == company_id,
                                                               Integration.type == "quickbooks")
                                     .with_for_update(key_share=True))).scalar_one_or_none()
        if row is None:  # removed meanwhile (a company deletion): created again, like the first transaction did
            row = await service.get_or_create_integration(session, company_id, for_update=True)
        refusal = _changed_meanwhile(row, pending) or await _realm_refusal(
            session, row, realm_id, allow_switch=pending.allow_realm_switch)
        switched: dict[str, int] | None = None
        if refusal is None:
            try:
                async with session.begin_nested():
                    if row.realm_id and row.realm_id != realm_id:
                        switched = await services.switch_realm(
                            session, integration_id=row.id, company_id=company_id, old_realm=row.realm_id,
                            new_realm=realm_id, actor=actor)
                    service.store_connection(row, services.cipher, tokens, realm_id=realm_id,
                                             company_name=company_name, user_sub=actor, now=now or utc_now())
                    if rules is not None:
                        await books.store_rules(session, row.id, company_id, rules)
            except IntegrityError:  # another company connected this realm meanwhile (unique index)
                refusal = _REALM_IN_USE
        if refusal is not None:
            # Nothing is written yet: end the transaction (and the row lock) before the revoke call, then
            # record the refusal in a new one, committed by the caller.
            await session.rollback()
            await _revoke_quietly(services, tokens)
            raise await _fail(session, await service.get_or_create_integration(session, company_id),
                              refusal.message, code=refusal.code, actor=actor, status_code=refusal.status_code)
        await service.audit_row(session, row, "connect", True, actor=actor,
                                details={"realmId": realm_id, "companyName": company_name,
                                         **({"switched": switched} if switched is not None else {})})
        await mark_step(session, company_id, "connected")
        queue.after_commit(session, IMPORT_FUNCTION, str(company_id),
                           _job_id=f"directory_import:{company_id}:{pending.state_hash[:16]}")
        services.qbo.tokens.forget(str(company_id))
        await services.qbo.reset_breaker(company_id)
        logger.info("QuickBooks connected")
        return Connected(company_id=company_id, realm_id=realm_id, company_name=company_name)


async def _known_name(session: AsyncSession, company_id: uuid.UUID, realm_id: str) -> str | None:
    """The QuickBooks company name we stored for this realm (None for another realm, or never read). Read in
    a transaction the caller's next statement reuses: it locks the row right after."""
    row = await service.get_integration(session, company_id)
    return row.qbo_company_name if row is not None and row.realm_id == realm_id else None


def _changed_meanwhile(row: Integration, pending: PendingConnect) -> _Refusal | None:
    """A disconnect, or another connect completing, while this callback talked to QuickBooks wins over it.
    (A connection that only went `lost` meanwhile is repaired by this grant, as a reconnect would.)"""
    if row.connection_changed_at == pending.seen_changed_at or row.connection_status == "lost":
        return None
    what = "disconnected" if row.connection_status == "disconnected" else "connected by another link"
    return _Refusal(f"QuickBooks was {what} while this connection was being completed: start the connection "
                    "again if it is still wanted", "changed_meanwhile")


async def test_connection(session: AsyncSession, services: Services, *, company_id: uuid.UUID,
                          actor: str) -> TestConnectionOut:
    """companyinfo through the real client; the outcome is recorded (last_test_*, audit row)."""
    await require_company(session, company_id)
    row = await service.get_integration(session, company_id)
    if row is None or row.connection_status != "connected" or not row.realm_id:
        message = service.NOT_CONNECTED
        if row is not None and row.connection_status == "lost":
            message = f"QuickBooks connection lost ({row.connection_reason or 'refused'}): reconnect QuickBooks"
        if row is not None:
            await service.record_test(session, row, ok=False, company_name=None, error=message, actor=actor)
        return TestConnectionOut(connected=False, company_name=row.qbo_company_name if row else None, error=message)
    realm_id = row.realm_id
    with log_context(company_id=company_id, realm_id=realm_id):
        try:
            info = await services.qbo.company(company_id, realm_id).company_info()
        except QboError as exc:
            message = f"QuickBooks test call failed: {_qbo_reason(exc)}"
            await session.refresh(row)  # the token store may have marked it lost meanwhile
            await service.record_test(session, row, ok=False, company_name=None, error=message, actor=actor)
            return TestConnectionOut(connected=False, company_name=row.qbo_company_name, error=message)
        await service.record_test(session, row, ok=True, company_name=info.CompanyName, error=None, actor=actor)
        return TestConnectionOut(connected=True, company_name=info.CompanyName)


async def disconnect(session: AsyncSession, services: Services, *, company_id: uuid.UUID, actor: str,
                     now: datetime | None = None) -> bool:
    """Delete the tokens, mark disconnected, stop live sync, then revoke at QuickBooks. Returns whether
    the provider confirmed the revoke (the local disconnect happens either way).

    Disconnect wins: the local change is committed first (a short row lock, no network call inside),
    so a token refresh in flight finds the row disconnected and stores nothing (DbTokenStore.save).
    The revoke then runs with no transaction open; its outcome goes into the audit row, committed by
    the request boundary."""
    await require_company(session, company_id)
    row = await service.get_integration(session, company_id, for_update=True)
    if row is None or row.connection_status in ("never_connected", "disconnected"):
        raise service.NotConnected(service.NOT_CONNECTED)
    refresh_enc, aad = row.refresh_token_enc, aad_for(row.id)
    service.clear_connection(row, status="disconnected", reason=f"Disconnected by {actor}", now=now)
    row.status = "pending"
    row.error_message = None
    await session.commit()  # the flow's own boundary: the row lock must not span the revoke call
    services.qbo.tokens.forget(str(company_id))
    with log_context(company_id=company_id, realm_id=row.realm_id):
        revoked, problem = True, None
        if refresh_enc:
            try:
                await services.qbo.oauth.revoke(services.cipher.decrypt(refresh_enc, aad))
            except QboError as exc:
                revoked, problem = False, f"QuickBooks did not confirm the revoke: {_qbo_reason(exc)}"
            except TokenCipherError:
                revoked, problem = False, "the stored token could not be decrypted, so it was not revoked"
        await service.audit_row(session, row, "disconnect", True, actor=actor, error=problem,
                                details={"realmId": row.realm_id, "revoked": revoked})
        logger.info("QuickBooks disconnected", extra={"fields": {"revoked": revoked}})
    return revoked
