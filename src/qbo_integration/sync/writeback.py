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

from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.metrics import APPROVE_TO_QBO, SYNCS
from qbo_integration.monitoring import audit
from qbo_integration.sync import outbox, policy
from qbo_integration.sync.models import TimecardSyncRecord as Row
from qbo_integration.sync.sender import Result
from qbo_integration.worker.events import channel as events_channel

logger = logging.getLogger(__name__)

ACTIONS = {"create": "sync_timecard", "update": "update_timecard", "delete": "delete_timecard"}


def core_status(row: Row) -> str:
    """core.timecards.sync_status for an outbox row."""
    if row.state in ("pending", "in_flight") or (row.state == "failed" and row.error_kind == policy.TRANSIENT):
        return "pending"
    if row.state in ("failed", "dead"):
        return "failed"
    return "synced" if row.qbo_id else "not_synced"


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


def _event(name: str, company_id: uuid.UUID, timecard_id: uuid.UUID, version: int, now: datetime,
           **extra: Any) -> tuple[str, dict[str, Any]]:
    body = {"event": name, "eventId": str(uuid.uuid4()), "occurredAt": now.isoformat().replace("+00:00", "Z"),
            "companyId": str(company_id), "timecardId": str(timecard_id), "version": version}
    body.update({k: v for k, v in extra.items() if v is not None})
    return name, body


async def apply_results(
    session: AsyncSession, *, integration_id: uuid.UUID, company_id: uuid.UUID, job_id: uuid.UUID | None,
    results: list[Result], now: datetime,
) -> RoundSummary:
    summary = RoundSummary()
    ids = [r.work.claimed.id for r in results]
    rows = {r.id: r for r in (await session.execute(
        select(Row).where(Row.id.in_(ids)).with_for_update()
    )).scalars()} if ids else {}
    gateway = CoreGateway(session)
    for res in results:
        row = rows.get(res.work.claimed.id)
        if row is None:
            continue
        w = res.work
        op, version = w.op, w.version
        audit_status: str | None = None
        message: str | None = None
        code: str | None
        if op == "none":
            row.state = "synced"
            row.claimed_at = row.claimed_by = None
            if row.operation == w.claimed.operation and (row.timecard_version or 0) <= version:
                row.operation = "none"
            else:
                outbox.re_evaluate(row, now)
        elif res.recreate:
            row.claimed_at = row.claimed_by = None
            row.qbo_id = row.qbo_sync_token = row.request_id = row.fingerprint = None
            row.synced_version = None
            row.state = "synced"
            outbox.apply_op(row, "create", max(version, row.timecard_version or 0), now)
            audit_status, message = "failure", "The TimeActivity was deleted inside QuickBooks; it is being re-created"
        elif res.ok:
            outbox.settle_success(row, w.claimed, sent_op=op, sent_version=version, now=now, qbo_id=res.qbo_id,
                                  sync_token=res.sync_token, content_current=res.content_current)
            audit_status = "success"
            summary.synced += 1
            SYNCS.labels(operation=op, outcome="success").inc()
            if op == "create":
                summary.first_sync = True
                if w.claimed.approved_at:
                    APPROVE_TO_QBO.observe(max(0.0, (now - w.claimed.approved_at).total_seconds()))
            summary.events.append(_event("timecard.synced", company_id, row.timecard_id, version, now,
                                         operation=op, qboId=row.qbo_id))
        else:
            if w.mapping_error is not None:
                kind, text, code = policy.MAPPING, w.mapping_error, "mapping"
            else:
                assert res.error is not None
                kind, text, code = policy.failure_kind(res.error), policy.admin_message(res.error), res.error.code
            message = text
            state = outbox.settle_failure(row, w.claimed, sent_op=op, sent_version=version, now=now, kind=kind,
                                          message=message, code=code)
            if kind == policy.WAIT:
                summary.waiting += 1
                summary.stop = True
                SYNCS.labels(operation=op, outcome="waiting").inc()
            else:
                audit_status = "failure"
                summary.failed += 1
                summary.errors.append({"timecardId": str(row.timecard_id), "operation": op, "kind": kind,
                                       "code": code, "message": message, "state": state,
                                       "nextAttemptAt": row.next_attempt_at.isoformat() if state == "failed"
                                       and kind == policy.TRANSIENT else None})
                SYNCS.labels(operation=op, outcome=state).inc()
                if state == "dead":
                    summary.dead += 1
                if state in ("dead",) or kind in (policy.VALIDATION, policy.MAPPING):
                    summary.events.append(_event("timecard.sync_failed", company_id, row.timecard_id, version, now,
                                                 operation=op, error=message, state=state))
        if audit_status is not None:
            await audit.record(
                session, integration_id=integration_id, company_id=company_id, action=ACTIONS[op],
                status=audit_status, timecard_id=row.timecard_id,
                worker_id=w.timecard.worker.id if w.timecard else None,
                project_id=w.timecard.project.id if w.timecard else None, job_id=job_id,
                qbo_id=res.qbo_id or w.claimed.qbo_id, request_payload=w.payload, response_payload=res.response,
                error_message=message if audit_status == "failure" else None,
            )
        if w.timecard is not None:
            await gateway.write_sync_result(row.timecard_id, sync_status=core_status(row), qbo_id=row.qbo_id,
                                            synced_at=row.synced_at if row.qbo_id else None)
    return summary


async def publish(redis: Any, events: list[tuple[str, dict[str, Any]]]) -> None:
    for channel, body in events:
        try:
            await redis.publish(events_channel(channel), json.dumps(body))
        except Exception:  # noqa: BLE001 - an event Core misses is recovered by its own polling
            logger.exception("could not publish %s", channel)
