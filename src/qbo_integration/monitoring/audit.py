"""The one way to write an audit row. Payloads are redacted: no token, code or secret is ever stored."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.db.bulk import insert_from_values
from qbo_integration.monitoring.models import AuditLogEntry
from qbo_integration.untrusted import storable_json, storable_text

_SECRET_KEY = re.compile(r"(token|secret|password|authorization|^code$|code_verifier|state|assertion|cookie)", re.I)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.I)
_MAX_TEXT = 2000
_QBO_ID_MAX = 64  # integration_audit_log.qbo_id


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("[redacted]" if _SECRET_KEY.search(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _BEARER.sub(r"\1[redacted]", value)
    return value


def redact_text(message: str | None) -> str | None:
    if message is None:
        return None
    return storable_text(_BEARER.sub(r"\1[redacted]", message), _MAX_TEXT)


def _values(*, integration_id: uuid.UUID, company_id: uuid.UUID, action: str, status: str,
            timecard_id: uuid.UUID | None = None, worker_id: uuid.UUID | None = None,
            project_id: uuid.UUID | None = None, job_id: uuid.UUID | None = None, qbo_id: str | None = None,
            actor: str | None = None, request_payload: dict | None = None, response_payload: dict | None = None,
            error_message: str | None = None) -> dict[str, Any]:
    if status not in ("success", "failure"):
        raise ValueError(f"audit status must be success or failure, not {status!r}")
    return {"id": uuid.uuid4(), "integration_id": integration_id, "company_id": company_id, "action": action,
            "status": status, "timecard_id": timecard_id, "worker_id": worker_id, "project_id": project_id,
            # a row may quote what QuickBooks sent (an Id, a message, a record): stored whatever it holds
            "job_id": job_id, "qbo_id": storable_text(qbo_id, _QBO_ID_MAX) if qbo_id is not None else None,
            "actor": actor, "request_payload": storable_json(redact(request_payload)),
            "response_payload": storable_json(redact(response_payload)), "error_message": redact_text(error_message)}


async def record(
    session: AsyncSession,
    *,
    integration_id: uuid.UUID,
    company_id: uuid.UUID,
    action: str,
    status: str,
    timecard_id: uuid.UUID | None = None,
    worker_id: uuid.UUID | None = None,
    project_id: uuid.UUID | None = None,
    job_id: uuid.UUID | None = None,
    qbo_id: str | None = None,
    actor: str | None = None,
    request_payload: dict | None = None,
    response_payload: dict | None = None,
    error_message: str | None = None,
) -> AuditLogEntry:
    """Add an audit row to the caller's transaction (the caller's boundary commits)."""
    entry = AuditLogEntry(**_values(
        integration_id=integration_id, company_id=company_id, action=action, status=status,
        timecard_id=timecard_id, worker_id=worker_id, project_id=project_id, job_id=job_id, qbo_id=qbo_id,
        actor=actor, request_payload=request_payload, response_payload=response_payload,
        error_message=error_message))
    session.add(entry)
    return entry


async def record_many(session: AsyncSession, entries: list[dict[str, Any]]) -> None:
    """Many audit rows (each dict: `record`'s keyword arguments) in one INSERT statement."""
    if entries:
        await session.execute(insert_from_values(AuditLogEntry, [_values(**e) for e in entries]))
