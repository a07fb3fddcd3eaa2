"""POST /webhooks: Intuit's change notifications. No bearer token: the `intuit-signature` header is the
authentication. Bounded body (api/body_limit.py applies WEBHOOK_MAX_BODY_BYTES to this path before
anything is buffered), signature checked, then rate-limited per verified sender, persisted and queued,
then 200."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field

from qbo_integration.api.deps import QueueDep, RedisDep, SessionDep, SettingsDep
from qbo_integration.errors import InvalidInput, TooManyRequests, Unauthenticated
from qbo_integration.webhooks import formats, service, signature

router = APIRouter(tags=["webhooks"])
PATH = "/webhooks"
_clock = time.time  # the rate window's clock (tests move it)


class WebhookAck(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    received: int = Field(description="Events in the delivery that name an entity we act on")
    stored: int = Field(description="New events stored for processing")
    duplicates: int = Field(description="Events already received (deduplicated by event id)")
    unknown_realm: int = Field(alias="unknownRealm", description="Events of realms no company has connected")


def verified_sender(verifier_token: str) -> str:
    """Who signed a delivery: whoever holds the app's verifier token (Intuit). Only a delivery whose
    signature verified counts against a sender, so unsigned requests (or a proxy's one address shared
    with an attacker) never use up Intuit's deliveries."""
    return "verifier-" + hashlib.sha256(verifier_token.encode()).hexdigest()[:16]


async def _rate_limit(redis: Any, sender: str, per_minute: int) -> None:
    key = f"qboi:webhooks:rate:{sender}:{int(_clock() // 60)}"
    count = await redis.incr(key)
    if count == 1:
        await redis.expire(key, 120)
    if count > per_minute:
        raise TooManyRequests(f"more than {per_minute} signed webhook deliveries a minute")


@router.post(
    PATH,
    summary="Intuit webhook deliveries (CloudEvents or legacy format), signed with intuit-signature",
    response_model=WebhookAck,
    responses={400: {"description": "Not a webhook delivery in either format"},
               401: {"description": "Missing or bad intuit-signature, or webhooks not configured"},
               413: {"description": "Body over WEBHOOK_MAX_BODY_BYTES"},
               429: {"description": "Over WEBHOOK_RATE_PER_MINUTE signed deliveries a minute"}},
)
async def receive(
    request: Request,
    session: SessionDep,
    queue: QueueDep,
    redis: RedisDep,
    settings: SettingsDep,
    intuit_signature: str | None = Header(None, alias="intuit-signature", include_in_schema=False),
) -> dict[str, int]:
    body = await request.body()  # at most WEBHOOK_MAX_BODY_BYTES: BodyLimitMiddleware answered 413 past it
    verifier = settings.webhook_verifier()
    if verifier is None:
        raise Unauthenticated("webhooks are not configured: set QBO_WEBHOOK_VERIFIER_TOKEN to the app's verifier token")
    if not signature.verify(body, intuit_signature, verifier):
        raise Unauthenticated("missing or bad intuit-signature header")
    await _rate_limit(redis, verified_sender(verifier), settings.webhook_rate_per_minute)
    try:
        events = formats.parse(body)
    except formats.MalformedDelivery as exc:
        raise InvalidInput(f"not a webhook delivery: {exc}") from None
    outcome = await service.record_delivery(session, queue, redis, events)
    return outcome.as_dict()

