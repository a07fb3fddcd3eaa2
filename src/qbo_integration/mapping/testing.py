"""Test mapping (one timecard), the dry run (a date range) and the live-sync switch it gates.

Both run the real pipeline — core gateway → build_time_activity → reference checks against QBO —
with the write replaced by read-only validation, so nothing is ever sent that changes QBO.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.connections.models import Integration
from qbo_integration.connections.service import NOT_CONNECTED, NotConnected, require_connected
from qbo_integration.core_platform.gateway import CoreGateway, require_company
from qbo_integration.core_platform.views import CompanyView, TimecardView
from qbo_integration.directory import service as directory
from qbo_integration.errors import Conflict, NotFound, ServiceUnavailable
from qbo_integration.mapping import books, refcheck
from qbo_integration.mapping.models import DryRun
from qbo_integration.mapping.payload import PayloadResult, ResolvedRefs, assemble, resolve_refs
from qbo_integration.mapping.profiles import ProfileConfig, active_config, get_active_profile
from qbo_integration.mapping.schemas import (
    DryRunIn,
    DryRunOut,
    DryRunTimecard,
    FieldErrorOut,
    LiveSyncOut,
    TestMappingOut,
)
from qbo_integration.mapping.timeactivity import FieldError, company_zone, txn_date
from qbo_integration.monitoring import audit
from qbo_integration.monitoring.setup import mark_step
from qbo_integration.qbo import QboApi, QboError
from qbo_integration.qbo.errors import ConnectionLostError
from qbo_integration.queue import JobQueue
from qbo_integration.sync import service as sync_service
from qbo_integration.sync.story import service as story

MAX_DRY_RUN_TIMECARDS = 5000
STORED_RESULTS = 500
DRY_RUN_REQUIRED = "Run a dry run that passes with the current mapping profile first"


def _out(errors: list[FieldError]) -> list[FieldErrorOut]:
    return [FieldErrorOut(**e.as_dict()) for e in errors]


def _name_for(entity: str, tc: TimecardView) -> str:
    if entity in ("Employee", "Vendor"):
        return tc.worker.name
    if entity in ("Customer", "Department"):
        return tc.project.name
    return f"{tc.cost_code.code} {tc.cost_code.name}".strip() if tc.cost_code else ""


def _qbo_errors(refs: ResolvedRefs, tc: TimecardView, found: dict[tuple[str, str], refcheck.QboRef],
                already: set[str]) -> list[FieldError]:
    out = []
    for key in refs.keys():
        err = refcheck.ref_error(key[0], key[1], found[key], _name_for(key[0], tc)) if key in found else None
        if err is not None and err.field not in already:
            out.append(err)
    return out


async def _check_qbo(qbo: QboApi, integ: Integration, keys: set[tuple[str, str]]) -> dict[tuple[str, str], refcheck.QboRef]:
    try:
        return await refcheck.check(qbo.company(integ.company_id, str(integ.realm_id)), keys)
    except ConnectionLostError:  # disconnected (or the grant revoked) while this request ran: as if before it
        raise NotConnected(NOT_CONNECTED) from None
    except QboError as exc:
        raise ServiceUnavailable(f"Could not check the references with QuickBooks: {exc.message}",
                                 code="qbo_unavailable") from None


async def _visible_timecard(session: AsyncSession, company_id: uuid.UUID, timecard_id: uuid.UUID) -> TimecardView:
    tc = await CoreGateway(session).get_timecard(timecard_id)
    if tc is None or tc.company_id != company_id:
        raise NotFound("Unknown timecard for this company")
    return tc


async def test_mapping(session: AsyncSession, qbo: QboApi, company_id: uuid.UUID, timecard_id: uuid.UUID) -> TestMappingOut:
    company = await require_company(session, company_id)
    tc = await _visible_timecard(session, company_id, timecard_id)
    integ = await require_connected(session, company_id)
    cfg = await active_config(session, company_id)
    built, refs = await _build(session, cfg, company, tc)
    found = await _check_qbo(qbo, integ, set(refs.keys()))
    errors = built.errors + _qbo_errors(refs, tc, found, {e.field for e in built.errors})
    errors += books.field_errors(await books.rules_for(session, company_id), built.payload)
    return TestMappingOut(valid=not errors and built.payload is not None, preview=built.payload,
                          errors=_out(errors), profile_id=built.profile_id, profile_revision=built.profile_revision)


async def _build(session: AsyncSession, cfg: ProfileConfig, company: CompanyView,
                 tc: TimecardView) -> tuple[PayloadResult, ResolvedRefs]:
    refs = resolve_refs(cfg, tc)
    known = await directory.lookup(session, company.id, refs.keys())
    return assemble(cfg, company, tc, refs, known), refs


def _local_range(company: CompanyView, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    tz = company_zone(company.timezone) or ZoneInfo("UTC")
    return start.replace(tzinfo=tz), end.replace(tzinfo=tz)


def _operation(tc: TimecardView) -> str:
    """What syncing this timecard would do now: a timecard QBO already holds as it is is not sent again."""
    if not tc.qbo_id:
        return "create"
    return "unchanged" if tc.sync_status == "synced" else "update"


async def dry_run(session: AsyncSession, qbo: QboApi, body: DryRunIn, *, actor: str) -> DryRunOut:
    company = await require_company(session, body.company_id)
    integ = await require_connected(session, body.company_id)
    profile = await get_active_profile(session, body.company_id)
    if profile is None:
        raise Conflict("Save a mapping profile (PUT …/mapping) before running a dry run", code="no_mapping_profile")
    cfg = ProfileConfig.from_profile(profile)
    start, end = _local_range(company, datetime.combine(body.start_date, time()),
                              datetime.combine(body.end_date + timedelta(days=1), time()))
    gw = CoreGateway(session)
    ids = await gw.timecard_ids_in_range(body.company_id, start, end)
    if len(ids) > MAX_DRY_RUN_TIMECARDS:
        raise Conflict(f"{len(ids)} approved timecards in that range; a dry run checks at most "
                       f"{MAX_DRY_RUN_TIMECARDS}: pick a shorter range", code="range_too_large")
    views = await gw.get_timecards(ids)
    cards = [views[i] for i in ids if i in views]
    all_refs = {tc.id: resolve_refs(cfg, tc) for tc in cards}
    keys = {k for r in all_refs.values() for k in r.keys()}
    known = await directory.lookup(session, company.id, keys)
    found = await _check_qbo(qbo, integ, keys) if keys else {}
    rules = await books.fresh_if_closed(
        session, qbo, integ.id, company.id, str(integ.realm_id), await books.rules_for(session, company.id),
        [date.fromisoformat(d) for d in (txn_date(tc.clock_in, company.timezone) for tc in cards) if d])
    results: list[DryRunTimecard] = []
    for tc in cards:
        refs = all_refs[tc.id]
        day = txn_date(tc.clock_in, company.timezone)
        if integ.sync_start_date and day and day < integ.sync_start_date.isoformat():
            results.append(DryRunTimecard(timecard_id=tc.id, valid=True, operation="skip", preview=None, errors=[]))
            continue
        built = assemble(cfg, company, tc, refs, known)
        errors = built.errors + _qbo_errors(refs, tc, found, {e.field for e in built.errors})
        errors += books.field_errors(rules, built.payload)
        results.append(DryRunTimecard(timecard_id=tc.id, valid=not errors, operation=_operation(tc),
                                      preview=built.payload, errors=_out(errors)))
    said = await story.explain_many(session, qbo, company.id, [r.timecard_id for r in results]) if results else {}
    for r in results:
        r.sync = said[r.timecard_id].as_dict()
    sendable = [r for r in results if r.operation != "skip"]
    valid = sum(1 for r in sendable if r.valid)
    passed = bool(sendable) and valid == len(sendable)
    if not sendable:
        message = "No approved timecards to check in this range: pick a range with approved timecards"
    elif passed:
        message = (f"Dry run passed: all {len(sendable)} timecards would sync. "
                   + ("Live sync is on: approved timecards go to QuickBooks as they are approved." if integ.enabled
                      else "You can enable live sync."))
    else:
        message = f"{len(sendable) - valid} of {len(sendable)} timecards would fail: fix the errors and run again"
    run = DryRun(id=uuid.uuid4(), company_id=body.company_id, profile_id=profile.id, profile_revision=profile.revision,
                 start_date=body.start_date, end_date=body.end_date, passed=passed, timecards_checked=len(sendable),
                 results={"timecards": [r.model_dump(mode="json", by_alias=True) for r in results[:STORED_RESULTS]],
                          "truncated": len(results) > STORED_RESULTS},
                 error_summary=None if passed else message)
    session.add(run)
    await audit.record(session, integration_id=integ.id, company_id=body.company_id, action="dry_run",
                       status="success" if passed else "failure", actor=actor,
                       request_payload={"startDate": body.start_date.isoformat(), "endDate": body.end_date.isoformat(),
                                        "profileId": str(profile.id), "revision": profile.revision},
                       response_payload={"checked": len(sendable), "valid": valid},
                       error_message=None if passed else message)
    if passed:
        await mark_step(session, body.company_id, "dry_run_passed")
    return DryRunOut(dry_run_id=run.id, passed=passed, profile_id=profile.id, profile_revision=profile.revision,
                     timecards_checked=len(sendable), timecards_valid=valid, message=message, timecards=results)


async def set_live_sync(session: AsyncSession, queue: JobQueue, company_id: uuid.UUID, enabled: bool, *,
                        actor: str) -> LiveSyncOut:
    await require_company(session, company_id)
    integ = await require_connected(session, company_id)
    if enabled:
        profile = await get_active_profile(session, company_id)
        passed = None
        if profile is not None:
            passed = (await session.execute(
                select(DryRun.id).where(DryRun.company_id == company_id, DryRun.profile_id == profile.id,
                                        DryRun.profile_revision == profile.revision, DryRun.passed.is_(True))
                .limit(1))).scalar_one_or_none()
        if passed is None:
            raise Conflict(DRY_RUN_REQUIRED + (" (no mapping profile is saved yet)" if profile is None else
                                               f" (profile '{profile.name}', revision {profile.revision})"),
                           code="dry_run_required")
    was = bool(integ.enabled)
    integ.enabled = enabled
    if was != enabled:
        await audit.record(session, integration_id=integ.id, company_id=company_id,
                           action="live_sync_enabled" if enabled else "live_sync_disabled", status="success",
                           actor=actor)
    if not enabled:
        return LiveSyncOut(enabled=False, queued=0,
                           message="Live sync is off: approved timecards wait until it is turned back on")
    await mark_step(session, company_id, "live_sync_enabled")
    queued = await sync_service.queue_backlog(session, queue, company_id)
    backlog = (f"{queued} approved timecard{'' if queued == 1 else 's'} queued for QuickBooks now" if queued
               else "no approved timecards are waiting")
    return LiveSyncOut(enabled=True, queued=queued,
                       message=f"Live sync is on: {backlog}; new ones go as they are approved")
