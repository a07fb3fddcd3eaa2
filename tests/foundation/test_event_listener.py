from __future__ import annotations

import asyncio
import json
import uuid

from qbo_integration.core_platform.events import CoreEvent, channel
from qbo_integration.metrics import EVENTS_RECEIVED
from qbo_integration.worker.listener import EventListener


def approved() -> str:
    return channel("timecard.approved")  # behind this run's EVENT_CHANNEL_PREFIX (tests/conftest.py)


def _event(**over):
    body = {"event": "timecard.approved", "eventId": str(uuid.uuid4()), "occurredAt": "2026-03-02T17:04:05Z",
            "companyId": str(uuid.uuid4()), "timecardId": str(uuid.uuid4()), "version": 3}
    body.update(over)
    return body


async def _wait_for(predicate, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_valid_events_reach_the_handler_and_malformed_ones_are_counted(redis):
    got: list[CoreEvent] = []

    async def handler(ev: CoreEvent) -> None:
        got.append(ev)

    listener = EventListener(redis, handler)
    task = asyncio.create_task(listener.run())
    await asyncio.wait_for(listener.subscribed.wait(), 5)
    before = EVENTS_RECEIVED.labels(event="timecard.approved", outcome="malformed")._value.get()
    try:
        await redis.publish(approved(), b"{not json")
        await redis.publish(approved(), json.dumps(_event(version="3")))  # strict int
        await redis.publish(approved(), json.dumps(_event(version=False)))
        await redis.publish(approved(), json.dumps(_event(companyId="nope")))
        await redis.publish(approved(), json.dumps(_event(event="timecard.updated")))  # wrong channel
        good = _event()
        await redis.publish(approved(), json.dumps(good))
        await _wait_for(lambda: len(got) == 1)
        assert str(got[0].timecard_id) == good["timecardId"]
        after = EVENTS_RECEIVED.labels(event="timecard.approved", outcome="malformed")._value.get()
        assert after - before == 5
        assert not task.done()
    finally:
        listener.stop()
        task.cancel()


async def test_two_listeners_handle_each_event_once(redis):
    seen: list[str] = []

    async def handler(ev: CoreEvent) -> None:
        seen.append(str(ev.event_id))

    listeners = [EventListener(redis, handler) for _ in range(2)]
    tasks = [asyncio.create_task(ln.run()) for ln in listeners]
    for ln in listeners:
        await asyncio.wait_for(ln.subscribed.wait(), 5)
    try:
        events = [_event() for _ in range(10)]
        for ev in events:
            await redis.publish(approved(), json.dumps(ev))
        await redis.publish(approved(), json.dumps(events[0]))  # a duplicate delivery
        await _wait_for(lambda: len(seen) >= 10)
        await asyncio.sleep(0.2)
        assert sorted(seen) == sorted(e["eventId"] for e in events)
    finally:
        for ln, t in zip(listeners, tasks, strict=True):
            ln.stop()
            t.cancel()


async def test_a_failing_handler_releases_the_event_for_redelivery(redis):
    calls = 0

    async def handler(ev: CoreEvent) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database down")

    listener = EventListener(redis, handler)
    ev = _event()
    msg = {"channel": approved().encode(), "data": json.dumps(ev).encode()}
    await listener.handle_message(msg)
    await listener.handle_message(msg)
    assert calls == 2


async def test_a_hostile_payload_costs_nothing_and_the_next_event_is_handled(redis, caplog):
    """100 KB of `[[[…` raised RecursionError, tore the subscription down and lost what came next."""
    got: list[CoreEvent] = []

    async def handler(ev: CoreEvent) -> None:
        got.append(ev)

    listener = EventListener(redis, handler)
    task = asyncio.create_task(listener.run())
    await asyncio.wait_for(listener.subscribed.wait(), 5)
    before = EVENTS_RECEIVED.labels(event="timecard.approved", outcome="malformed")._value.get()
    try:
        await redis.publish(approved(), b"[" * 100_000)
        await redis.publish(approved(), b"[" * 10_000)  # small enough to be parsed, too deep to parse
        good = _event()
        await redis.publish(approved(), json.dumps(good))
        await _wait_for(lambda: len(got) == 1, timeout=30)
        assert str(got[0].event_id) == good["eventId"]
        assert EVENTS_RECEIVED.labels(event="timecard.approved", outcome="malformed")._value.get() - before == 2
        assert listener.subscribed.is_set() and not task.done()
        assert "lost its connection" not in caplog.text
    finally:
        listener.stop()
        task.cancel()


async def test_channels_carry_the_runs_prefix_and_production_uses_cores_names(redis, monkeypatch):
    from qbo_integration.config import Settings, get_settings

    prefix = get_settings().event_channel_prefix
    assert prefix.startswith("qbo-test-")  # tests/conftest.py: one per run
    assert EventListener(redis, None, prefix="").channels == (  # type: ignore[arg-type]
        "timecard.approved", "timecard.updated", "timecard.unapproved", "timecard.deleted")
    assert EventListener(redis, None).channels[0] == prefix + "timecard.approved"  # type: ignore[arg-type]
    monkeypatch.delenv("EVENT_CHANNEL_PREFIX")
    assert Settings(_env_file=None).event_channel_prefix == ""  # type: ignore[call-arg]
