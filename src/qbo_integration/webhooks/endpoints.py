"""POST /webhooks: Intuit's change notifications. No bearer token: the `intuit-signature` header is the
authentication. Bounded body, rate-limited per sender address, persisted and queued, then 200."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from qbo_integration.api.deps import PrincipalDep, QueueDep, RedisDep, SessionDep, SettingsDep, company_access
from qbo_integration.errors import InvalidInput, PayloadTooLarge, TooManyRequests, Unauthenticated
from qbo_integration.webhooks import findings, formats, service, signature

router = APIRouter(tags=["webhooks"])
_clock = time.time  # the rate window's clock (tests move it)


class WebhookAck(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    received: int = Field(description="Events in the delivery that name an entity we act on")
    stored: int = Field(description="New events stored for processing")
    duplicates: int = Field(description="Events already received (deduplicated by event id)")
    unknown_realm: int = Field(alias="unknownRealm", description="Events of realms no company has connected")


async def _read_bounded(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"webhook body is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"webhook body is larger than {limit} bytes")
    return bytes(body)


async def _rate_limit(redis: Any, sender: str, per_minute: int) -> None:
    key = f"qboi:webhooks:rate:{sender}:{int(_clock() // 60)}"
    count = await redis.incr(key)
    if count == 1:
        await redis.expire(key, 120)
    if count > per_minute:
        raise TooManyRequests(f"more than {per_minute} webhook deliveries a minute from this address")


@router.post(
    "/webhooks",
    summary="Intuit webhook deliveries (CloudEvents or legacy format), signed with intuit-signature",
    response_model=WebhookAck,
    responses={400: {"description": "Not a webhook delivery in either format"},
               401: {"description": "Missing or bad intuit-signature, or webhooks not configured"},
               413: {"description": "Body over WEBHOOK_MAX_BODY_BYTES"},
               429: {"description": "Over WEBHOOK_RATE_PER_MINUTE deliveries from this address"}},
)
async def receive(
    request: Request,
    session: SessionDep,
    queue: QueueDep,
    redis: RedisDep,
    settings: SettingsDep,
    intuit_signature: str | None = Header(None, alias="intuit-signature", include_in_schema=False),
) -> dict[str, int]:
    sender = request.client.host if request.client else "unknown"
    await _rate_limit(redis, sender, settings.webhook_rate_per_minute)
    body = await _read_bounded(request, settings.webhook_max_body_bytes)
    verifier = settings.webhook_verifier()
    if verifier is None:
        raise Unauthenticated("webhooks are not configured: set QBO_WEBHOOK_VERIFIER_TOKEN to the app's verifier token")
    if not signature.verify(body, intuit_signature, verifier):
        raise Unauthenticated("missing or bad intuit-signature header")
    try:
        events = formats.parse(body)
    except formats.MalformedDelivery as exc:
        raise InvalidInput(f"not a webhook delivery: {exc}") from None
    outcome = await service.record_delivery(session, queue, events)
    return outcome.as_dict()


# ------------------------------------------------------------------------------------------ drift
class DriftFindingOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
    id: uuid.UUID
    timecard_id: uuid.UUID = Field(alias="timecardId")
    qbo_id: str = Field(alias="qboId")
    kind: Literal["changed", "deleted"] = Field(description="changed or deleted in QuickBooks by someone else")
    source: str = Field(description="webhook or reconciliation")
    detected_at: datetime = Field(alias="detectedAt")
    qbo_view: dict[str, Any] | None = Field(None, alias="qboView", description="What QuickBooks holds now")


class DriftListOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
    items: list[DriftFindingOut]


class DriftResolveIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")
    company_id: uuid.UUID = Field(alias="companyId")
    action: Literal["accept", "dismiss"] = Field(
        description="accept: keep QuickBooks' version (recorded; our next write starts from it); dismiss: ignore")


def _out(row: Any) -> DriftFindingOut:
    return DriftFindingOut.model_validate({"id": row.id, "timecard_id": row.timecard_id, "qbo_id": row.qbo_id,
                                           "kind": row.kind, "source": row.source, "detected_at": row.detected_at,
                                           "qbo_view": row.qbo_view})


@router.get("/drift", response_model=DriftListOut, tags=["drift"],
            summary="Synced time entries changed or deleted in QuickBooks by someone else (open findings)",
            responses={401: {"description": "Missing or invalid bearer token"},
                       403: {"description": "Another company"}})
async def drift_findings(company_id: Annotated[uuid.UUID, Query(alias="companyId")], principal: PrincipalDep,
                         session: SessionDep) -> DriftListOut:
    company_access(principal, company_id)
    return DriftListOut(items=[_out(r) for r in await findings.open_findings(session, company_id)])


@router.post("/drift/{finding_id}/resolve", response_model=DriftFindingOut, tags=["drift"],
             summary="Keep QuickBooks' version of a drifted entry, or dismiss the finding (admin)",
             responses={401: {"description": "Missing or invalid bearer token"},
                        403: {"description": "Another company, or not an admin"},
                        404: {"description": "Unknown finding"},
                        409: {"description": "Already resolved, or the entry was deleted (cannot be kept)"}})
async def resolve_drift(finding_id: uuid.UUID, body: DriftResolveIn, principal: PrincipalDep,
                        session: SessionDep) -> DriftFindingOut:
    company_access(principal, body.company_id, admin=True)
    row = await findings.resolve(session, body.company_id, finding_id, body.action, actor=f"user:{principal.sub}")
    return _out(row)
