"""Redis pub/sub listener for Core's timecard channels.

Every worker runs one (channels are the event names behind EVENT_CHANNEL_PREFIX); a SET NX on the event id makes exactly one worker handle
each event. A malformed event (oversized, nested past the parser's depth, wrong shape) is logged and
counted and never stops the loop or costs the subscription;
a dropped Redis connection is retried with backoff. Pub/sub keeps nothing for
a subscriber that is down: the 15-minute sweep covers what is missed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from pydantic import ValidationError
from redis.asyncio import Redis

from qbo_integration import logs
from qbo_integration.core_platform.events import TIMECARD_EVENTS, CoreEvent, channel
from qbo_integration.metrics import EVENTS_RECEIVED

logger = logging.getLogger(__name__)

EventHandler = Callable[[CoreEvent], Awaitable[None]]
DEDUPE_TTL_SECONDS = 24 * 3600
# Core's events are ~250 bytes; anything this big is not one, and is dropped before it is parsed.
MAX_EVENT_BYTES = 16 * 1024


class EventListener:
    def __init__(self, redis: Redis, handler: EventHandler, *, events: tuple[str, ...] = TIMECARD_EVENTS,
                 prefix: str | None = None) -> None:
        self.redis = redis
        self.handler = handler
        self.channels = tuple(channel(e, prefix) for e in events)
        self._event_of = dict(zip(self.channels, events, strict=True))
        self.subscribed = asyncio.Event()
        self._stopping = False

    async def run(self) -> None:
        backoff = 0.5
        while not self._stopping:
            try:
                await self._listen()
                backoff = 0.5
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - reconnect on any connection failure
                self.subscribed.clear()
                logger.exception("event listener lost its connection; reconnecting")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10)

    def stop(self) -> None:
        self._stopping = True

    async def _listen(self) -> None:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(*self.channels)
            self.subscribed.set()
            while not self._stopping:
                message = await pubsub.get_message(timeout=1.0)
                if message is not None:
                    try:
                        await self.handle_message(message)
                    except Exception:  # noqa: BLE001 - one message never costs the subscription
                        logger.exception("event dropped: handling it failed")
        finally:
            await pubsub.aclose()

    async def handle_message(self, message: dict) -> None:
        raw_channel = message.get("channel")
        raw_channel = raw_channel.decode() if isinstance(raw_channel, bytes) else str(raw_channel)
        channel = self._event_of.get(raw_channel, raw_channel)
        try:
            payload = message.get("data") or b""
            if len(payload) > MAX_EVENT_BYTES:
                raise ValueError(f"event of {len(payload)} bytes (at most {MAX_EVENT_BYTES})")
            data = json.loads(payload)
            event = CoreEvent.model_validate(data)
            if event.event != channel:
                raise ValueError(f"event {event.event!r} published on channel {raw_channel!r}")
        except (ValueError, ValidationError, TypeError, RecursionError) as exc:
            EVENTS_RECEIVED.labels(event=channel, outcome="malformed").inc()
            logger.warning("malformed event dropped", extra=logs.log_fields(channel=channel, problem=str(exc)[:300]))
            return
        first = await self.redis.set(f"qbo:event-seen:{event.event_id}", "1", nx=True, ex=DEDUPE_TTL_SECONDS)
        if not first:
            EVENTS_RECEIVED.labels(event=event.event, outcome="duplicate").inc()
            return
        with logs.log_context(event_id=event.event_id, company_id=event.company_id, timecard_id=event.timecard_id):
            try:
                await self.handler(event)
                EVENTS_RECEIVED.labels(event=event.event, outcome="handled").inc()
            except Exception:  # noqa: BLE001 - the sweep will pick this timecard up
                # Let another delivery (or the sweep) try again.
                await self.redis.delete(f"qbo:event-seen:{event.event_id}")
                EVENTS_RECEIVED.labels(event=event.event, outcome="error").inc()
                logger.exception("event handler failed; the sweep will retry this timecard")
