"""Writing a round's results back: outbox rows, core.timecards (via the gateway), one audit row
per timecard per attempt, metrics, and the `timecard.synced` / `timecard.sync_failed` events
(published by the caller after the commit)."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.core_platform.events import channel as events_channel
from qbo_integration.metrics import APPROVE_TO_QBO, SYNCS
from qbo_integration.monitoring import audit
from qbo_integration.sync import core_status, lifecycle, outbox, outbox_repository, outcome, policy
from qbo_integration.sync.models import TimecardSyncRecord as Row
from qbo_integration.sync.sender import Result
from qbo_integration.sync.states import Kind, Op, State
from qbo_integration.sync.story import events as story
from qbo_integration.sync.written import Held, Written

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
    return await outbox_repository.qbo_ids_held(session, company_id, {str(r.get("Id")) for res in results for r in res.found or []})


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


class Outcome(StrEnum):
    """What a round's result means for its row: one handler each (HANDLERS)."""

    ADOPTED = "adopted"  # a look-up found the lost create: QBO holds it
    NOT_YET_VISIBLE = "not_yet_visible"  # a look-up found nothing, but QBO may still be executing the create
    NEVER_LANDED = "never_landed"  # a look-up found nothing, and the create can no longer land
    NOTHING_TO_DO = "nothing_to_do"  # QBO already holds what Core wants
    RECREATE = "recreate"  # the TimeActivity was deleted inside QBO: create it again
    LANDED = "landed"  # a write of this round is known to have landed
    FAILED = "failed"  # refused, not mapped, or unknown


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    record: dict[str, Any] | None = None  # ADOPTED: the record adopted


def decide(res: Result, row: Row, taken: set[str], now: datetime) -> Decision:
    """The meaning of one result for its (locked) row. `taken`: QBO ids other rows hold (an adopted one joins it)."""
    w = res.work
    if w.op == Op.SETTLE and res.error is None and w.mapping_error is None:
        record = _adopt(res, taken)
        if record is not None:
            return Decision(Outcome.ADOPTED, record)
        return Decision(Outcome.NOT_YET_VISIBLE if outcome.may_still_land(row, now) else Outcome.NEVER_LANDED)
    if w.op == Op.NONE and w.mapping_error is None:
        return Decision(Outcome.NOTHING_TO_DO)
    if res.recreate:
        return Decision(Outcome.RECREATE)
    return Decision(Outcome.LANDED if res.ok else Outcome.FAILED)


@dataclass
class _Round:
    """What the handlers share: the round's identity and what it collects."""

    integration_id: uuid.UUID
    company_id: uuid.UUID
    job_id: uuid.UUID | None
    now: datetime
    summary: RoundSummary = field(default_factory=RoundSummary)
    audits: list[dict[str, Any]] = field(default_factory=list)

    def audit(self, row: Row, res: Result, status: str, *, qbo_id: str | None = None,
              response: dict[str, Any] | None = None, message: str | None = None) -> None:
        w = res.work
        self.audits.append(dict(
            integration_id=self.integration_id, company_id=self.company_id, action=ACTIONS[w.op], status=status,
            timecard_id=row.timecard_id, worker_id=w.timecard.worker.id if w.timecard else None,
            project_id=w.timecard.project.id if w.timecard else None, job_id=self.job_id,
            qbo_id=qbo_id or res.qbo_id or w.claimed.qbo_id,
            request_payload=w.lookup_body() if w.op == Op.SETTLE else w.payload,
            response_payload=res.response if response is None else response,
            error_message=message if status == "failure" else None))

    def synced(self, row: Row, op: Op, version: int) -> None:
        self.summary.synced += 1
        self.summary.events.append(_event("timecard.synced", self.company_id, row.timecard_id, version, self.now,
                                          operation=op, qboId=row.qbo_id))


def _adopted(rnd: _Round, row: Row, res: Result, d: Decision) -> None:
    """The create had landed: adopt its record, then do what Core wants now."""
    w, c = res.work, res.work.claimed
    record = d.record or {}
    sent_version = c.pending_version if c.pending_body else w.version
    sent_fp = c.pending_fingerprint if c.pending_body else w.fingerprint
    outcome.now_holds(row, str(record.get("Id")), str(record.get("SyncToken") or "0"), sent_version, sent_fp, rnd.now)
    outbox.clear_outstanding(row)
    outcome.success(row, c, version=w.version, fingerprint=w.fingerprint, wanted=w.desire, now=rnd.now)
    rnd.audit(row, res, "success", qbo_id=row.qbo_id, response=record)
    rnd.summary.written.append(Written(row.timecard_id, holds=Held.of(record)))
    rnd.summary.first_sync = True
    SYNCS.labels(operation=Op.CREATE, outcome="adopted").inc()
    rnd.synced(row, Op.CREATE, w.version)


def _not_yet_visible(rnd: _Round, row: Row, res: Result, d: Decision) -> None:
    w = res.work
    outcome.unseen(row, w.claimed, version=w.version, wanted=w.desire)


def _never_landed(rnd: _Round, row: Row, res: Result, d: Decision) -> None:
    """The failed attempt goes on as a fresh create (or nothing)."""
    w = res.work
    outbox.clear_outstanding(row)
    outcome.not_found(row, w.claimed, version=w.version, wanted=w.desire, now=rnd.now)


def _nothing_to_do(rnd: _Round, row: Row, res: Result, d: Decision) -> None:
    w = res.work
    outcome.success(row, w.claimed, version=w.version, fingerprint=w.fingerprint, wanted=w.desire, now=rnd.now)


def _recreate(rnd: _Round, row: Row, res: Result, d: Decision) -> None:
    w = res.work
    outcome.now_holds(row, None, None, None, None, rnd.now)
    outbox.clear_outstanding(row)
    outcome.success(row, w.claimed, version=w.version, fingerprint=w.fingerprint, wanted=w.desire, now=rnd.now)
    rnd.audit(row, res, "failure", message="The TimeActivity was deleted inside QuickBooks; it is being re-created")
    rnd.summary.written.append(Written(row.timecard_id, res.overridden))


def _landed_write(rnd: _Round, row: Row, res: Result, d: Decision) -> None:
    w, c = res.work, res.work.claimed
    _landed(row, res, rnd.now)
    outcome.success(row, c, version=w.version, fingerprint=w.fingerprint, wanted=w.desire, now=rnd.now)
    rnd.audit(row, res, "success")
    rnd.summary.written.append(Written(row.timecard_id, res.overridden,
                                       Held.of(res.response) if w.op != Op.DELETE else None))
    SYNCS.labels(operation=w.op, outcome="success").inc()
    if w.op == Op.CREATE:
        rnd.summary.first_sync = True
        if c.approved_at:
            APPROVE_TO_QBO.observe(max(0.0, (rnd.now - c.approved_at).total_seconds()))
    rnd.synced(row, Op(w.op), w.version)


def _failed(rnd: _Round, row: Row, res: Result, d: Decision) -> None:
    w, c = res.work, res.work.claimed
    refused = w.refusal is not None
    failure = lifecycle.classify(res.error, mapping=w.mapping_error is not None and not refused, refused=refused)
    code: str | None
    if w.refusal is not None:
        code, message = w.refusal
    elif w.mapping_error is not None:
        message, code = w.mapping_error, "mapping"
    else:
        assert res.error is not None
        message, code = policy.admin_message(res.error), res.error.code
    # A resend of a request whose outcome was already unknown (its ledger entry at the claim) keeps that
    # doubt: this attempt applied nothing, the earlier one may have.
    doubted = outbox.outstanding_of(c) is not None
    if w.recorded and not failure.maybe_committed and not doubted:
        outbox.clear_outstanding(row)  # QBO answered or was never asked: nothing is outstanding
    elif w.recorded:  # this job will not send it again: its last attempt is the last (outcome.unknown_for_sure_at)
        row.pending_unknown_at = policy.unknown_since(res.error, rnd.now)
    kind = failure.kind
    # A look-up QBO did not answer (it is still away) spends no attempt: the next one is soon, so the create
    # is settled, and sent if it never landed, as soon as QBO answers again.
    free_retry = rnd.now + policy.settle_after() if w.op == Op.SETTLE and res.error is not None else None
    state = outcome.failure(row, c, version=w.version, wanted=w.desire, now=rnd.now, kind=kind, message=message,
                            code=code, not_before=policy.not_before(res.error, rnd.now), free_retry_at=free_retry)
    summary = rnd.summary
    if kind == Kind.WAIT:
        summary.waiting += 1
        summary.stop = True
        SYNCS.labels(operation=w.op, outcome="waiting").inc()
        return
    rnd.audit(row, res, "failure", message=message)
    summary.failed += 1
    summary.errors.append({"timecardId": str(row.timecard_id), "operation": w.op, "kind": kind, "code": code,
                           "message": message, "state": state,
                           "nextAttemptAt": row.next_attempt_at.isoformat() if state == State.FAILED
                           and kind == Kind.TRANSIENT else None})
    SYNCS.labels(operation=w.op, outcome=state).inc()
    if state == State.DEAD:
        summary.dead += 1
    if state == State.DEAD or kind in (Kind.VALIDATION, Kind.MAPPING):
        summary.events.append(_event("timecard.sync_failed", rnd.company_id, row.timecard_id, w.version, rnd.now,
                                     operation=w.op, error=message, state=state))


HANDLERS: dict[Outcome, Callable[[_Round, Row, Result, Decision], None]] = {
    Outcome.ADOPTED: _adopted, Outcome.NOT_YET_VISIBLE: _not_yet_visible, Outcome.NEVER_LANDED: _never_landed,
    Outcome.NOTHING_TO_DO: _nothing_to_do, Outcome.RECREATE: _recreate, Outcome.LANDED: _landed_write,
    Outcome.FAILED: _failed,
}


async def apply_results(
    session: AsyncSession, *, integration_id: uuid.UUID, company_id: uuid.UUID, job_id: uuid.UUID | None,
    results: list[Result], now: datetime,
) -> RoundSummary:
    """Write each result back, but only to rows this job still holds under its claim token."""
    rnd = _Round(integration_id, company_id, job_id, now)
    ids = [r.work.claimed.id for r in results]
    rows = {r.id: r for r in await outbox_repository.lock_rows(session, ids=ids)} if ids else {}
    for r in rows.values():
        session.expunge(r)  # locked; written back below in one statement (outbox_repository.write_back)
    taken = await _held_elsewhere(session, company_id, results)
    touched: list[Row] = []
    reported: list[Row] = []
    told: list[story.Row] = []  # the round's story, written with the rows (one INSERT)
    for res in results:
        row = rows.get(res.work.claimed.id)
        if row is None or not outcome.holds_claim(row, res.work.claimed):
            continue  # another job took the row over: its facts win
        touched.append(row)
        d = decide(res, row, taken, now)
        HANDLERS[d.outcome](rnd, row, res, d)
        told += story.after_answer(res, row, d.outcome, company_id, now, realm_id=row.realm_id, job_id=job_id)
        if res.work.timecard is not None:
            reported.append(row)
    await outbox_repository.write_back(session, touched)
    await story.record(session, told)
    await audit.record_many(session, rnd.audits)
    await core_status.report(session, reported)
    return rnd.summary


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
