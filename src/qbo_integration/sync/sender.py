"""Sending one round of work to QBO: creates in batches, updates and deletes one by one, and the
look-ups that settle creates whose outcome was lost.

Every request's identity is written to the ledger (outbox_repository.record_outstanding) *before* it is sent:
a create carries a fresh request id (batched ones `"{key}:{i}:{n}"`, from which the QBO client
derives the batch's requestid), an update or delete one derived from (operation, timecard,
version, SyncToken). A create whose answer was lost is never sent again: it is looked up by
TxnDate and content (`settle`), because QBO keeps request ids for an undocumented time.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from qbo_integration.core_platform.views import TimecardView
from qbo_integration.qbo import BatchOp, CompanyClient, NotFoundError, QboError, Remedy
from qbo_integration.qbo.config import LimitsConfig
from qbo_integration.sync import lifecycle, policy
from qbo_integration.sync.outbox import Claimed, Entry, outstanding_of
from qbo_integration.sync.states import Op
from qbo_integration.sync.written import Overridden

QBO_BATCH_ITEMS = 30  # QBO takes up to 30 operations a batch


def window_filling_batch(calls_per_window: int, most: int = QBO_BATCH_ITEMS) -> int:
    """The largest batch size up to `most` that divides QBO's calls a window. 30 does not divide 500:
    16 batches (480) fit a window and the 17th waits for the first to leave it, so 20 calls of every
    minute went unused (4 % of a company's throughput, bench/fleet.py's timelines); 25 fills it exactly."""
    return next(n for n in range(min(most, calls_per_window), 0, -1) if calls_per_window % n == 0)


MAX_BATCH = window_filling_batch(LimitsConfig().calls_per_window)
CONCURRENCY = 8


@dataclass
class Work:
    claimed: Claimed
    op: str  # create | update | delete | settle | none (nothing to send)
    version: int
    timecard: TimecardView | None
    desire: str = "present"  # Wanted of the timecard as read this round
    want: lifecycle.Want | None = None  # what Core wants now (None: nothing)
    payload: dict[str, Any] | None = None
    fingerprint: str | None = None
    request_id: str | None = None
    mapping_error: str | None = None
    # (policy.BOOKS_CODES code, message): the company's books refuse it, before sending (then mapping_error
    # holds the message too, so nothing is sent) or by QBO's answer (mapping/books.py)
    refusal: tuple[str, str] | None = None
    recorded: bool = False  # this round wrote a ledger entry for it (so the answer settles that entry)

    @property
    def sends(self) -> bool:
        return self.op in (Op.CREATE, Op.UPDATE, Op.DELETE) and self.mapping_error is None

    def lookup_body(self) -> dict[str, Any] | None:
        """The body of the outstanding create, as sent (the current payload for rows older than the ledger)."""
        return self.claimed.pending_body or self.payload


@dataclass
class Result:
    work: Work
    qbo_id: str | None = None
    sync_token: str | None = None
    error: QboError | None = None
    recreate: bool = False  # the TimeActivity was deleted inside QBO: create it again
    response: dict[str, Any] | None = None
    found: list[dict[str, Any]] | None = None  # settle: records in QBO matching the outstanding create
    extra_calls: int = field(default=0)
    # someone else's version our write replaced (a stale SyncToken re-read, or the record found deleted)
    overridden: Overridden | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.work.mapping_error is None and not self.recreate


def _key(rid: str | None) -> str | None:
    return rid.split(":", 1)[0] if rid and rid.count(":") == 2 else None


def assign_request_ids(works: list[Work], *, batch_ok: bool) -> dict[uuid.UUID, tuple[uuid.UUID | None, Entry]]:
    """Give this round's requests their ids and return the ledger entries to record before sending."""
    creates = [w for w in works if w.op == Op.CREATE and w.sends]
    if batch_ok and len(creates) > 1:
        for start in range(0, len(creates), MAX_BATCH):
            chunk = creates[start:start + MAX_BATCH]
            key = uuid.uuid4().hex
            for i, w in enumerate(chunk):
                w.request_id = f"{key}:{i}:{len(chunk)}"
    else:
        for w in creates:
            w.request_id = policy.new_request_id()
    out: dict[uuid.UUID, tuple[uuid.UUID | None, Entry]] = {}
    for w in works:
        if not w.sends:
            continue
        c = w.claimed
        body: dict[str, Any] | None = w.payload
        if w.op != Op.CREATE:
            w.request_id = policy.new_request_id()
            body = {**(w.payload or {}), "Id": c.qbo_id, "SyncToken": c.sync_token or "0"} if w.op == Op.UPDATE \
                else {"Id": c.qbo_id, "SyncToken": c.sync_token or "0"}
        assert w.request_id
        out[c.id] = (c.claim_token, Entry(w.op, w.request_id, w.fingerprint, w.version, body))
    return out


def plan_creates(works: list[Work]) -> tuple[list[list[Work]], list[Work]]:
    """(batches in member order, singles) of the creates recorded in the ledger this round."""
    groups: dict[str, list[Work]] = defaultdict(list)
    singles: list[Work] = []
    for w in works:
        if w.op != Op.CREATE or not w.sends or not w.recorded:
            continue
        key = _key(w.request_id)
        if key is None:
            singles.append(w)
        else:
            groups[key].append(w)
    batches = [m for m in groups.values() if len(m) > 1]
    singles += [m[0] for m in groups.values() if len(m) == 1]
    return batches, singles


async def _batch(client: CompanyClient, members: list[Work]) -> list[Result]:
    ops = [BatchOp("create", "TimeActivity", payload=w.payload, request_id=w.request_id) for w in members]
    answers = await client.batch(ops)
    out = []
    for w, a in zip(members, answers, strict=True):
        if a.error is not None:
            out.append(Result(w, error=a.error))
        else:
            ent = a.entity or {}
            out.append(Result(w, qbo_id=str(ent.get("Id")), sync_token=str(ent.get("SyncToken")), response=ent))
    return out


async def _create(client: CompanyClient, w: Work) -> Result:
    assert w.request_id and w.payload is not None
    ta = await client.create_time_activity(w.payload, w.request_id)
    return Result(w, qbo_id=ta.Id, sync_token=ta.SyncToken, response=ta.to_qbo())


#: Refusals of the data (not a retry, a wait or a stale SyncToken): among them a 610 may mean the record is gone.
_REFUSALS = (Remedy.GIVE_UP, Remedy.CLOSED_BOOKS, Remedy.NOT_FOUND)


def _object_not_found(exc: QboError) -> bool:
    """QBO refused the write with 610 "Object Not Found" (with a 400 or a 404): the record itself, or one it names."""
    return exc.resolution.remedy in _REFUSALS and str(exc.code) == "610"


async def _gone(client: CompanyClient, qbo_id: str) -> bool:
    """After a 610 on a write: is the TimeActivity itself gone (vs. a referenced record inactive)?"""
    try:
        await client.get_time_activity(qbo_id)
    except NotFoundError:
        return True
    return False


async def _write_record(client: CompanyClient, w: Work, write: Callable[[str, str], Awaitable[Result]],
                        gone: Callable[[QboError, Overridden | None], Result]) -> Result:
    """An update or delete of the record QBO holds for the row, `write(sync_token, request_id)`. A stale
    SyncToken (5010) is re-read and the write re-applied once under a new id (QBO answered the first: it is
    spent); a 610 for the record itself (gone inside QBO) is answered by `gone`. With no write of ours in
    doubt, a version QBO holds that is not ours is a bookkeeper's: the result says it was overridden."""
    c = w.claimed
    assert c.qbo_id
    token, rid = c.sync_token or "0", w.request_id or policy.new_request_id()
    ours_settled = outstanding_of(c) is None
    overridden: Overridden | None = None
    for attempt in (1, 2):
        try:
            res = await write(token, rid)
            res.overridden = overridden
            return res
        except QboError as exc:
            if exc.resolution.remedy is Remedy.STALE and attempt == 1:
                current = await client.get_time_activity(c.qbo_id)
                token, rid = current.SyncToken or "0", policy.new_request_id()
                if ours_settled:
                    overridden = Overridden(c.qbo_id, c.sync_token, current.to_qbo())
                continue
            if _object_not_found(exc) and await _gone(client, c.qbo_id):
                return gone(exc, Overridden(c.qbo_id, c.sync_token, None) if ours_settled else None)
            raise
    raise AssertionError("unreachable")


async def _update(client: CompanyClient, w: Work) -> Result:
    assert w.payload is not None

    async def write(token: str, rid: str) -> Result:
        ta = await client.update_time_activity({**(w.payload or {}), "Id": w.claimed.qbo_id, "SyncToken": token}, rid)
        return Result(w, qbo_id=ta.Id, sync_token=ta.SyncToken, response=ta.to_qbo())

    # Deleted inside QBO: the record is created again (the write-back queues the create).
    return await _write_record(client, w, write, lambda exc, over: Result(w, recreate=True, error=exc, overridden=over))


async def _delete(client: CompanyClient, w: Work) -> Result:
    qbo_id = w.claimed.qbo_id
    assert qbo_id

    async def write(token: str, rid: str) -> Result:
        return Result(w, response=await client.delete_time_activity(qbo_id, token, rid))

    # Already deleted inside QBO: what Core wants, done.
    return await _write_record(client, w, write, lambda exc, over: Result(w, response={"Id": qbo_id, "status": "Deleted"}))


def _same_value(sent: Any, held: Any, key: str) -> bool:
    if isinstance(sent, dict):
        return isinstance(held, dict) and str(sent.get("value")) == str(held.get("value"))
    if isinstance(sent, bool) or isinstance(held, bool):
        return sent == held
    if isinstance(sent, int | float) and isinstance(held, int | float | str):
        try:
            return float(sent) == float(held)
        except ValueError:
            return False
    if key in ("StartTime", "EndTime") and isinstance(sent, str) and isinstance(held, str):
        try:
            return datetime.fromisoformat(sent) == datetime.fromisoformat(held)
        except ValueError:
            return sent == held
    return sent == held


def matches(body: dict[str, Any], record: dict[str, Any]) -> bool:
    """Does a TimeActivity in QBO carry the content of a create we sent? A field QBO leaves out of its
    answer matches an empty or zero one we sent (BreakHours 0, no Description)."""
    if record.get("status") == "Deleted":
        return False
    return all(_same_value(v, record[k], k) if k in record else not v for k, v in body.items())


SETTLE_WINDOW_DAYS = 31  # one paged query covers the creates being settled over this many days


def _windows(days: list[str]) -> list[tuple[str, str]]:
    """Consecutive (first, last) TxnDate ranges, each at most SETTLE_WINDOW_DAYS long, covering `days`."""
    out: list[tuple[str, str]] = []
    for day in sorted(set(days)):
        if out and (date.fromisoformat(day) - date.fromisoformat(out[-1][0])).days < SETTLE_WINDOW_DAYS:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


async def _settle_all(client: CompanyClient, works: list[Work]) -> list[Result]:
    """Every create being settled this round, looked up with one paged query per window of TxnDates
    (not one per date: after a crash hundreds of creates over as many days are outstanding, and a
    query each spent QBO's whole budget on look-ups); each gets its matches."""
    dated: list[tuple[str, Work]] = []
    out: list[Result] = []
    for w in works:
        body = w.lookup_body()
        if body is None or not body.get("TxnDate"):
            out.append(Result(w, found=[]))  # nothing to match on: cannot have been sent with content
        else:
            dated.append((str(body["TxnDate"]), w))
    for first, last in _windows([d for d, _ in dated]):
        members = [w for d, w in dated if first <= d <= last]
        where = f"TxnDate = '{first}'" if first == last else f"TxnDate >= '{first}' AND TxnDate <= '{last}'"
        try:
            records = [ta.to_qbo() for ta in await client.query_all(f"SELECT * FROM TimeActivity WHERE {where}")]
        except QboError as exc:
            out += [Result(w, error=exc) for w in members]
            continue
        for w in members:
            body = w.lookup_body() or {}
            out.append(Result(w, found=[r for r in records if matches(body, r)]))
    return out


async def send(client: CompanyClient, works: list[Work]) -> list[Result]:
    """One result per work item that needed QBO (mapping failures and no-ops answered without a call)."""
    results: list[Result] = [Result(w) for w in works if w.op == Op.NONE or w.mapping_error is not None]
    batches, singles = plan_creates(works)
    settling = [w for w in works if w.op == Op.SETTLE and w.mapping_error is None]
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
    if settling:
        tasks.append(guarded(lambda: _settle_all(client, settling), settling))
    for w in works:
        if not w.sends or not w.recorded:
            continue
        if w.op == Op.UPDATE:
            tasks.append(guarded(lambda w=w: _update(client, w), [w]))
        elif w.op == Op.DELETE:
            tasks.append(guarded(lambda w=w: _delete(client, w), [w]))
    for chunk in await asyncio.gather(*tasks):
        results.extend(chunk)
    return results
