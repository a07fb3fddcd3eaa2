"""Sending one round of work to QBO: creates in batches, updates and deletes one by one.

Every create carries a request id persisted on its row *before* it is sent (see
`assign_request_ids`): creates first sent together in a batch carry `"{batch key}:{i}:{n}"` and
are re-sent together, in the same order, so the batch's own requestid (derived from its items'
ids by the QBO client) repeats too and QBO replays the original answer instead of creating
twice. A single create carries a uuid5 of (timecard id, version).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from qbo_integration.core_platform.views import TimecardView
from qbo_integration.qbo import BatchOp, CompanyClient, ErrorAction, NotFoundError, QboError
from qbo_integration.sync import policy
from qbo_integration.sync.outbox import Claimed

MAX_BATCH = 30
CONCURRENCY = 8


@dataclass
class Work:
    claimed: Claimed
    op: str  # create | update | delete | none (nothing to send)
    version: int
    timecard: TimecardView | None
    payload: dict[str, Any] | None = None
    fingerprint: str | None = None
    request_id: str | None = None
    mapping_error: str | None = None


@dataclass
class Result:
    work: Work
    qbo_id: str | None = None
    sync_token: str | None = None
    error: QboError | None = None
    recreate: bool = False  # the TimeActivity was deleted inside QBO: create it again
    response: dict[str, Any] | None = None
    content_current: bool = True
    extra_calls: int = field(default=0)

    @property
    def ok(self) -> bool:
        return self.error is None and self.work.mapping_error is None and not self.recreate


def _parse_rid(rid: str | None) -> tuple[str, int, int] | None:
    if not rid or rid.count(":") != 2:
        return None
    key, i, n = rid.split(":")
    try:
        return key, int(i), int(n)
    except ValueError:
        return None


def assign_request_ids(works: list[Work], *, batch_ok: bool) -> dict[uuid.UUID, tuple[str, str]]:
    """Give fresh creates their request ids (batched ones share a key). Returns what to persist."""
    fresh = [w for w in works if w.op == "create" and w.mapping_error is None and not w.claimed.request_id]
    out: dict[uuid.UUID, tuple[str, str]] = {}
    for w in works:
        if w.op == "create" and w.claimed.request_id:
            w.request_id = w.claimed.request_id
    if batch_ok and len(fresh) > 1:
        for start in range(0, len(fresh), MAX_BATCH):
            chunk = fresh[start:start + MAX_BATCH]
            key = policy.batch_key([(w.claimed.timecard_id, w.version) for w in chunk])
            for i, w in enumerate(chunk):
                w.request_id = f"{key}:{i}:{len(chunk)}"
    else:
        for w in fresh:
            w.request_id = policy.create_request_id(w.claimed.timecard_id, w.version)
    for w in fresh:
        assert w.request_id and w.fingerprint
        out[w.claimed.id] = (w.request_id, w.fingerprint)
    return out


def plan_creates(works: list[Work]) -> tuple[list[list[Work]], list[Work]]:
    """(batches in member order, singles). A batch whose members are not all here goes out as singles."""
    groups: dict[str, list[Work]] = defaultdict(list)
    singles: list[Work] = []
    for w in works:
        if w.op != "create" or w.mapping_error is not None:
            continue
        parsed = _parse_rid(w.request_id)
        if parsed is None:
            singles.append(w)
        else:
            groups[parsed[0]].append(w)
    batches: list[list[Work]] = []
    for members in groups.values():
        members.sort(key=lambda w: _parse_rid(w.request_id)[1])  # type: ignore[index]
        n = _parse_rid(members[0].request_id)[2]  # type: ignore[index]
        if [(_parse_rid(w.request_id) or ("", -1, 0))[1] for w in members] == list(range(n)) and n > 1:
            batches.append(members)
        else:
            singles.extend(members)
    return batches, singles


def _content_current(w: Work) -> bool:
    return w.claimed.fingerprint is None or w.claimed.fingerprint == w.fingerprint


async def _batch(client: CompanyClient, members: list[Work]) -> list[Result]:
    ops = [BatchOp("create", "TimeActivity", payload=w.payload, request_id=w.request_id) for w in members]
    answers = await client.batch(ops)
    out = []
    for w, a in zip(members, answers, strict=True):
        if a.error is not None:
            out.append(Result(w, error=a.error))
        else:
            ent = a.entity or {}
            out.append(Result(w, qbo_id=str(ent.get("Id")), sync_token=str(ent.get("SyncToken")), response=ent,
                              content_current=_content_current(w)))
    return out


async def _create(client: CompanyClient, w: Work) -> Result:
    assert w.request_id and w.payload is not None
    ta = await client.create_time_activity(w.payload, w.request_id)
    return Result(w, qbo_id=ta.Id, sync_token=ta.SyncToken, response=ta.to_qbo(), content_current=_content_current(w))


async def _gone(client: CompanyClient, qbo_id: str) -> bool:
    """After a 610 on a write: is the TimeActivity itself gone (vs. a referenced record inactive)?"""
    try:
        await client.get_time_activity(qbo_id)
    except NotFoundError:
        return True
    return False


async def _update(client: CompanyClient, w: Work) -> Result:
    c = w.claimed
    assert c.qbo_id and w.payload is not None
    body = {**w.payload, "Id": c.qbo_id, "SyncToken": c.sync_token or "0"}
    for attempt in (1, 2):
        rid = policy.write_request_id("update", c.timecard_id, w.version, body["SyncToken"])
        try:
            ta = await client.update_time_activity(body, rid)
            return Result(w, qbo_id=ta.Id, sync_token=ta.SyncToken, response=ta.to_qbo())
        except QboError as exc:
            if exc.action == ErrorAction.STALE and attempt == 1:
                current = await client.get_time_activity(c.qbo_id)  # 5010: re-read, re-apply once
                body["SyncToken"] = current.SyncToken or "0"
                continue
            if exc.action in (ErrorAction.NOT_FOUND, ErrorAction.VALIDATION) and str(exc.code) == "610" \
                    and await _gone(client, c.qbo_id):
                return Result(w, recreate=True, error=exc)
            raise
    raise AssertionError("unreachable")


async def _delete(client: CompanyClient, w: Work) -> Result:
    c = w.claimed
    assert c.qbo_id
    token = c.sync_token or "0"
    for attempt in (1, 2):
        rid = policy.write_request_id("delete", c.timecard_id, w.version, token)
        try:
            data = await client.delete_time_activity(c.qbo_id, token, rid)
            return Result(w, response=data)
        except QboError as exc:
            if exc.action == ErrorAction.STALE and attempt == 1:
                current = await client.get_time_activity(c.qbo_id)
                token = current.SyncToken or "0"
                continue
            if exc.action in (ErrorAction.NOT_FOUND, ErrorAction.VALIDATION) and str(exc.code) == "610" \
                    and await _gone(client, c.qbo_id):
                return Result(w, response={"Id": c.qbo_id, "status": "Deleted"})  # already gone: done
            raise
    raise AssertionError("unreachable")


async def send(client: CompanyClient, works: list[Work]) -> list[Result]:
    """One result per work item that needed QBO (mapping failures and no-ops answered without a call)."""
    results: list[Result] = [Result(w) for w in works if w.op == "none" or w.mapping_error is not None]
    batches, singles = plan_creates(works)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def guarded(fn, items: list[Work]) -> list[Result]:
        async with gate:
            try:
                out = await fn()
            except QboError as exc:
                return [Result(w, error=exc) for w in items]
            return out if isinstance(out, list) else [out]

    tasks = [guarded(lambda m=m: _batch(client, m), m) for m in batches]
    tasks += [guarded(lambda w=w: _create(client, w), [w]) for w in singles]
    for w in works:
        if w.mapping_error is not None:
            continue
        if w.op == "update":
            tasks.append(guarded(lambda w=w: _update(client, w), [w]))
        elif w.op == "delete":
            tasks.append(guarded(lambda w=w: _delete(client, w), [w]))
    for chunk in await asyncio.gather(*tasks):
        results.extend(chunk)
    return results
