"""The story rows the sync core writes, built from what it already holds (no extra reads): a version of
the timecard, a decision, an attempt and QuickBooks' answer, a wait, an admin action. Each is a plain
dict for `record` (one INSERT per transaction, repository.insert_many)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.core_platform.views import TimecardView
from qbo_integration.qbo import QboError, Remedy
from qbo_integration.sync import outcome, policy
from qbo_integration.sync.states import Kind, Op, State, Wanted
from qbo_integration.sync.story import repository
from qbo_integration.sync.story.models import StoryKind

if TYPE_CHECKING:
    from qbo_integration.sync.models import TimecardSyncRecord
    from qbo_integration.sync.sender import Result, Work

Row = dict[str, Any]
FLUSH_ROWS = 5000  # a caller collecting more rows than this writes them in several statements


async def record(session: AsyncSession, rows: Sequence[Row]) -> None:
    """Write story rows in the caller's transaction (the one changing the outbox they tell of)."""
    await repository.insert_many(session, rows)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def row(company_id: uuid.UUID, timecard_id: uuid.UUID, at: datetime, kind: StoryKind, code: str,
        facts: dict[str, Any], *, realm_id: str | None = None, request_id: str | None = None,
        job_id: uuid.UUID | None = None) -> Row:
    return {"company_id": company_id, "timecard_id": timecard_id, "realm_id": realm_id, "at": at,
            "kind": str(kind), "code": code[:30], "facts": facts, "request_id": (request_id or None) and request_id[:50],
            "job_id": job_id}


# ------------------------------------------------------------------------------------ versions

def fields_of(tc: TimecardView) -> dict[str, Any]:
    """What a version of the timecard held (the route compares consecutive versions field by field)."""
    return {"status": tc.status, "clockIn": _iso(tc.clock_in), "clockOut": _iso(tc.clock_out),
            "breakMinutes": tc.break_minutes, "hours": float(tc.total_hours),
            "worker": {"id": str(tc.worker.id), "name": tc.worker.name},
            "project": {"id": str(tc.project.id), "name": tc.project.name},
            "costCode": {"id": str(tc.cost_code.id), "name": f"{tc.cost_code.code} {tc.cost_code.name}".strip()}
            if tc.cost_code else None,
            "billable": tc.billable, "notes": tc.notes}


def version(company_id: uuid.UUID, timecard_id: uuid.UUID, tc: TimecardView | None, at: datetime, *,
            known_version: int | None = None, job_id: uuid.UUID | None = None) -> Row:
    """A version of the timecard as CrewFlow had it (None: deleted in CrewFlow)."""
    if tc is None:
        return row(company_id, timecard_id, at, StoryKind.VERSION, "deleted", {"version": known_version},
                   job_id=job_id)
    return row(company_id, timecard_id, at, StoryKind.VERSION, tc.status,
               {"version": tc.version, "fields": fields_of(tc)}, job_id=job_id)


# ------------------------------------------------------------------------------------ decisions

def _why(w: Work) -> str:
    c = w.claimed
    if w.mapping_error is not None:
        return w.mapping_error
    if w.op == Op.CREATE:
        return f"Approved in CrewFlow (version {w.version}) and not in QuickBooks yet"
    if w.op == Op.UPDATE:
        if c.pending_op:
            return (f"An earlier {c.pending_op} of time entry {c.qbo_id} may or may not have reached QuickBooks: "
                    f"sending version {w.version} over it")
        held = f"version {c.synced_version}" if c.synced_version else "an older version"
        return f"Version {w.version} differs from what QuickBooks holds ({held}, time entry {c.qbo_id})"
    if w.op == Op.DELETE:
        gone = "deleted" if w.timecard is None else f"no longer approved ({w.timecard.status})"
        if w.desire == Wanted.SKIP:
            gone = "dated before the sync start date"
        return f"The timecard is {gone} in CrewFlow: time entry {c.qbo_id} is removed from QuickBooks"
    if w.op == Op.SETTLE:
        return ("QuickBooks may already have the create we sent earlier (its answer was lost): "
                "looking it up before sending anything")
    if w.want is None:
        if w.desire == Wanted.SKIP:
            return "Dated before the sync start date: never sent"
        return "Not approved in CrewFlow and not in QuickBooks: nothing to send"
    return f"QuickBooks already holds version {w.version} (time entry {c.qbo_id})"


def decision(w: Work, company_id: uuid.UUID, at: datetime, *, realm_id: str | None,
             job_id: uuid.UUID | None) -> Row:
    code = "not_sendable" if w.mapping_error is not None else w.op
    facts: dict[str, Any] = {"operation": w.op, "version": w.version, "reason": _why(w), "qboId": w.claimed.qbo_id}
    if w.refusal is not None:
        facts["refusal"] = w.refusal[0]
    return row(company_id, w.claimed.timecard_id, at, StoryKind.DECISION, code, facts, realm_id=realm_id,
               request_id=w.request_id if w.sends else None, job_id=job_id)


def batch_size(request_id: str | None) -> int:
    """A batched create's id is "{key}:{i}:{n}" (sender.assign_request_ids); anything else went alone."""
    if request_id and request_id.count(":") == 2:
        try:
            return int(request_id.rsplit(":", 1)[1])
        except ValueError:
            return 1
    return 1


def sending(works: Iterable[Work], recorded: set[uuid.UUID], company_id: uuid.UUID, at: datetime, *,
            realm_id: str, job_id: uuid.UUID | None) -> list[Row]:
    """The decisions of a round's writes, written with their ledger entries (before anything is sent)."""
    out = []
    for w in works:
        if w.sends and w.claimed.id in recorded:
            d = decision(w, company_id, at, realm_id=realm_id, job_id=job_id)
            d["facts"]["batchSize"] = batch_size(w.request_id)
            out.append(d)
    return out


# ------------------------------------------------------------------------------------ answers and waits

def answer_of(error: QboError | None) -> dict[str, Any]:
    if error is None:
        return {"httpStatus": 200}
    return {"httpStatus": error.status, "faultCode": error.code, "faultMessage": error.message,
            "intuitTid": error.intuit_tid, "mayHaveLanded": bool(error.may_have_landed)}


WAIT_OF_REMEDY = {Remedy.WAIT: "throttled", Remedy.BREAKER_OPEN: "breaker_open",
                  Remedy.CONNECTION_LOST: "connection_lost"}


def _wait(r: TimecardSyncRecord, res: Result, outcome_name: str) -> tuple[str, datetime | None] | None:
    """What the row waits for after this result, and until when (None: it waits for nothing)."""
    if outcome_name == "not_yet_visible":
        return "confirming", r.next_attempt_at
    # Only a create whose answer was lost is confirmed (looked up); a lost update or delete names its record
    # and is simply sent again (a "retry" below), and a refused row waits for nobody.
    if r.operation == Op.SETTLE and r.pending_op and r.pending_unknown_at is not None and outcome_name == "failed" \
            and (r.state == State.PENDING or (r.state == State.FAILED and r.error_kind == Kind.TRANSIENT)):
        sure = outcome.unknown_for_sure_at(r)
        return "confirming", max(sure, r.next_attempt_at) if sure and r.next_attempt_at else sure
    if r.error_kind == Kind.WAIT and r.state == State.PENDING and res.error is not None:
        return WAIT_OF_REMEDY.get(res.error.resolution.remedy, "paused"), r.next_attempt_at
    if r.state == State.FAILED and r.error_kind == Kind.TRANSIENT:
        return "retry", r.next_attempt_at
    return None


def after_answer(res: Result, r: TimecardSyncRecord, outcome_name: str, company_id: uuid.UUID, at: datetime, *,
                 realm_id: str | None, job_id: uuid.UUID | None) -> list[Row]:
    """The story of one result written back (writeback.apply_results, same transaction): the decision when
    nothing was sent this round, the attempt and QuickBooks' answer when something was, and the wait."""
    w = res.work
    out: list[Row] = []
    if not w.recorded:
        out.append(decision(w, company_id, at, realm_id=realm_id, job_id=job_id))
    called = (w.recorded and w.sends) or (w.op == Op.SETTLE and w.mapping_error is None)
    if called:
        facts: dict[str, Any] = {"operation": "lookup" if w.op == Op.SETTLE else w.op, "outcome": outcome_name,
                                 "version": w.version, **answer_of(res.error), "state": r.state,
                                 "qboId": res.qbo_id or r.qbo_id, "syncToken": res.sync_token or r.qbo_sync_token}
        if w.op == Op.SETTLE:
            facts["found"] = len(res.found or [])
        else:
            facts["batchSize"] = batch_size(w.request_id)
        if r.state in (State.FAILED, State.DEAD) and r.last_error:
            facts["message"] = r.last_error
            facts["attempts"] = r.attempts
        rid = w.claimed.pending_request_id if w.op == Op.SETTLE else w.request_id
        out.append(row(company_id, r.timecard_id, at, StoryKind.ATTEMPT, facts["operation"], facts,
                       realm_id=realm_id, request_id=rid, job_id=job_id))
    waiting = _wait(r, res, outcome_name)
    if waiting is not None:
        code, until = waiting
        facts = {"until": _iso(until), "attempts": r.attempts}
        if code == "retry":
            facts["of"] = policy.RETRIES.max_tries - 1  # retries after the first try
        out.append(row(company_id, r.timecard_id, at, StoryKind.WAIT, code, facts, realm_id=realm_id,
                       job_id=job_id))
    if res.work.timecard is not None and w.version > w.claimed.version:  # an event of this version was lost
        out.insert(0, version(company_id, r.timecard_id, res.work.timecard, at, job_id=job_id))
    return out


# ------------------------------------------------------------------------------------ admin actions

def admin(company_id: uuid.UUID, timecard_ids: Iterable[uuid.UUID], action: str, at: datetime,
          **facts: Any) -> list[Row]:
    """An admin's action on these timecards (Sync Now, requeue, drift resolution, closed-books export)."""
    clean = {k: v for k, v in facts.items() if v is not None}
    return [row(company_id, t, at, StoryKind.ADMIN, action, dict(clean)) for t in timecard_ids]
