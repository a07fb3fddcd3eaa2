"""Writing a round's results back: outbox rows, core.timecards (via the gateway), one audit row
per timecard per attempt, metrics, and the `timecard.synced` / `timecard.sync_failed` events
(published by the caller after the commit)."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.core_platform.events import channel as events_channel
from qbo_integration.metrics import APPROVE_TO_QBO, SYNCS
from qbo_integration.monitoring import audit
from qbo_integration.sync import core_status, lifecycle, outbox, outcome, policy
from qbo_integration.sync.models import TimecardSyncRecord as Row
from qbo_integration.sync.sender import Result
from qbo_integration.sync.states import Kind, Op, State
from qbo_integration.sync.written import Written

logger = logging.getLogger(__name__)

# A look-up settles a create whose answer was lost: it is audited as that create.
ACTIONS = {"create": "sync_timecard", "settle": "sync_timecard", "update": "update_timecard",
           "delete": "delete_timecard"}


@dataclass
class RoundSummary:
    synced: int = 0
    failed: int = 0
    waiting: int = 0
    dead: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    stop: bool = False  # connection lost / breaker open: the job should stop calling QBO
    first_sync: bool = False
    written: list[Written] = field(default_factory=list)  # records CrewFlow's writes changed (written.py)


def _event(name: str, company_id: uuid.UUID, timecard_id: uuid.UUID, version: int, now: datetime,
           **extra: Any) -> tuple[str, dict[str, Any]]:
    body = {"event": name, "eventId": str(uuid.uuid4()), "occurredAt": now.isoformat().replace("+00:00", "Z"),
            "companyId": str(company_id), "timecardId": str(timecard_id), "version": version}
    body.update({k: v for k, v in extra.items() if v is not None})
    return name, body


async def _held_elsewhere(session: AsyncSession, company_id: uuid.UUID, results: list[Result]) -> set[str]:
    """QBO ids among this round's look-up matches that other timecards already hold."""
    ids = {str(r.get("Id")) for res in results for r in res.found or []}
    if not ids:
        return set()
    stmt = select(Row.qbo_id).where(Row.company_id == company_id, Row.qbo_id.in_(ids))
    return {q for q in (await session.execute(stmt)).scalars() if q}


def _adopt(res: Result, taken: set[str]) -> dict[str, Any] | None:
    """The first matching record nobody holds: identical timecards each adopt one record, never the same."""
    for record in res.found or []:
        if str(record.get("Id")) not in taken:
            taken.add(str(record.get("Id")))
            return record
    return None


def _landed(row: Row, res: Result, now: datetime) -> None:
    """A request of this round is known to have landed: QBO holds what it says."""
    w = res.work
    if w.op == Op.DELETE:
        outcome.now_holds(row, None, None, None, None, now)
    else:
        outcome.now_holds(row, res.qbo_id, res.sync_token, w.version, w.fingerprint, now)
    outbox.clear_outstanding(row)


async def apply_results(
    session: AsyncSession, *, integration_id: uuid.UUID, company_id: uuid.UUID, job_id: uuid.UUID | None,
    results: list[Result], now: datetime,
) -> RoundSummary:
    """Write each result back, but only to rows this job still holds under its claim token."""
    summary = RoundSummary()
    ids = [r.work.claimed.id for r in results]
    rows = {r.id: r for r in (await session.execute(
        select(Row).where(Row.id.in_(ids)).order_by(Row.timecard_id).with_for_update()  # outbox.LOCK_ORDER
    )).scalars()} if ids else {}
    for r in rows.values():
        session.expunge(r)  # locked; written back below in one statement (outbox.write_back)
    taken = await _held_elsewhere(session, company_id, results)
    touched: list[Row] = []
    audits: list[dict[str, Any]] = []
    reported: list[Row] = []
    for res in results:
        row = rows.get(res.work.claimed.id)
        if row is None or not outcome.holds_claim(row, res.work.claimed):
            continue  # another job took the row over: its facts win
        touched.append(row)
        w = res.work
        op, version, c = w.op, w.version, w.claimed
        audit_status: str | None = None
        message: str | None = None
        code: str | None
        qbo_id = res.qbo_id or c.qbo_id
        response = res.response
        if op == Op.SETTLE and res.error is None and w.mapping_error is None:
            record = _adopt(res, taken)
            if record is not None:  # the create had landed: adopt it, then do what Core wants now
                sent_version = c.pending_version if c.pending_body else version
                sent_fp = c.pending_fingerprint if c.pending_body else w.fingerprint
                outcome.now_holds(row, str(record.get("Id")), str(record.get("SyncToken") or "0"), sent_version,
                                 sent_fp, now)
                outbox.clear_outstanding(row)
                outcome.success(row, c, version=version, fingerprint=w.fingerprint, wanted=w.desire, now=now)
                qbo_id, response, audit_status = row.qbo_id, record, "success"
                summary.written.append(Written(row.timecard_id))
                summary.synced += 1
                summary.first_sync = True
                SYNCS.labels(operation=Op.CREATE, outcome="adopted").inc()
                summary.events.append(_event("timecard.synced", company_id, row.timecard_id, version, now,
                                             operation=Op.CREATE, qboId=row.qbo_id))
            elif outcome.may_still_land(row, now):  # not there yet: QBO may still be executing it
                outcome.unseen(row, c, version=version, wanted=w.desire)
            else:  # it never landed: the failed attempt goes on as a fresh create (or nothing)
                outbox.clear_outstanding(row)
                outcome.not_found(row, c, version=version, wanted=w.desire, now=now)
        elif op == Op.NONE and w.mapping_error is None:
            outcome.success(row, c, version=version, fingerprint=w.fingerprint, wanted=w.desire, now=now)
        elif res.recreate:
            outcome.now_holds(row, None, None, None, None, now)
            outbox.clear_outstanding(row)
            outcome.success(row, c, version=version, fingerprint=w.fingerprint, wanted=w.desire, now=now)
            audit_status, message = "failure", "The TimeActivity was deleted inside QuickBooks; it is being re-created"
            summary.written.append(Written(row.timecard_id, res.overridden))
        elif res.ok:
            _landed(row, res, now)
            outcome.success(row, c, version=version, fingerprint=w.fingerprint, wanted=w.desire, now=now)
            audit_status = "success"
            summary.written.append(Written(row.timecard_id, res.overridden))
            summary.synced += 1
            SYNCS.labels(operation=op, outcome="success").inc()
            if op == Op.CREATE:
                summary.first_sync = True
                if c.approved_at:
                    APPROVE_TO_QBO.observe(max(0.0, (now - c.approved_at).total_seconds()))
            summary.events.append(_event("timecard.synced", company_id, row.timecard_id, version, now,
                                         operation=op, qboId=row.qbo_id))
        else:
            refused = w.refusal is not None
            failure = lifecycle.classify(res.error, mapping=w.mapping_error is not None and not refused,
                                         refused=refused)
            if w.refusal is not None:
                code, text = w.refusal
            elif w.mapping_error is not None:
                text, code = w.mapping_error, "mapping"
            else:
                assert res.error is not None
                text, code = policy.admin_message(res.error), res.error.code
            # A resend of a request whose outcome was already unknown (its ledger entry at the claim) keeps
            # that doubt: this attempt applied nothing, the earlier one may have.
            doubted = outbox.outstanding_of(w.claimed) is not None
            if w.recorded and not failure.maybe_committed and not doubted:
                outbox.clear_outstanding(row)  # QBO answered or was never asked: nothing is outstanding
            elif w.recorded:
                row.pending_unknown_at = now  # this job will not send it again (outcome.unknown_for_sure_at)
            kind = failure.kind
            message = text
            state = outcome.failure(row, c, version=version, wanted=w.desire, now=now, kind=kind,
                                          message=message, code=code, not_before=policy.not_before(res.error, now))
            if kind == Kind.WAIT:
                summary.waiting += 1
                summary.stop = True
                SYNCS.labels(operation=op, outcome="waiting").inc()
            else:
                audit_status = "failure"
                summary.failed += 1
                summary.errors.append({"timecardId": str(row.timecard_id), "operation": op, "kind": kind,
                                       "code": code, "message": message, "state": state,
                                       "nextAttemptAt": row.next_attempt_at.isoformat() if state == State.FAILED
                                       and kind == Kind.TRANSIENT else None})
                SYNCS.labels(operation=op, outcome=state).inc()
                if state == State.DEAD:
                    summary.dead += 1
                if state in (State.DEAD,) or kind in (Kind.VALIDATION, Kind.MAPPING):
                    summary.events.append(_event("timecard.sync_failed", company_id, row.timecard_id, version, now,
                                                 operation=op, error=message, state=state))
        if audit_status is not None:
            audits.append(dict(
                integration_id=integration_id, company_id=company_id, action=ACTIONS[op],
                status=audit_status, timecard_id=row.timecard_id,
                worker_id=w.timecard.worker.id if w.timecard else None,
                project_id=w.timecard.project.id if w.timecard else None, job_id=job_id,
                qbo_id=qbo_id, request_payload=w.lookup_body() if op == Op.SETTLE else w.payload,
                response_payload=response, error_message=message if audit_status == "failure" else None,
            ))
        if w.timecard is not None:
            reported.append(row)
    await outbox.write_back(session, touched)
    await audit.record_many(session, audits)
    await core_status.report(session, reported)
    return summary


async def publish(redis: Any, events: list[tuple[str, dict[str, Any]]]) -> None:
    """A round's events in one round trip (a pipeline, not a transaction: each is delivered on its own)."""
    if not events:
        return
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for channel, body in events:
                pipe.publish(events_channel(channel), json.dumps(body))
            await pipe.execute()
    except Exception:  # noqa: BLE001 - an event Core misses is recovered by its own polling
        logger.exception("could not publish %d event(s)", len(events))
