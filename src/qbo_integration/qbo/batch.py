"""Batch requests: ≤ 30 operations each, bIds ≤ 10 chars, one result per op in input order.

Each item is metered by QBO like a single call (the limiter counts `items=len(chunk)`), so a
batch saves round trips, not budget. A batch that writes carries one `requestid` (≤ 36 chars)
derived from its items' request ids: retrying the same items repeats the same id.
"""

from __future__ import annotations

import asyncio
import hashlib
import json as _json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from .errors import QboError, TransientError, error_from_fault
from .faults import parse_fault_dict
from .models import BatchItemResult, BatchOp

Caller = Callable[..., Awaitable[dict[str, Any]]]


def safe_request_id(request_id: str, limit: int = 50) -> str:
    """QBO accepts requestid up to 50 chars (36 in a batch): longer ids are hashed, deterministically."""
    if len(request_id) <= limit and re.fullmatch(r"[A-Za-z0-9._:-]+", request_id):
        return request_id
    return hashlib.sha256(request_id.encode()).hexdigest()[: min(limit, 36)]


def batch_request_id(ops: list[BatchOp]) -> str | None:
    """One requestid (36 chars) for a batch, derived from its items' request ids (or their bodies),
    so a retried batch — even re-built by a later job from the same items — repeats the same id."""
    writes = [op for op in ops if op.operation != "query"]
    if not writes:
        return None
    h = hashlib.sha256()
    for op in ops:
        part = op.request_id or _json.dumps(
            [op.operation, op.entity, op.payload, op.query], sort_keys=True, default=str
        )
        h.update(part.encode())
        h.update(b"\x00")
    return h.hexdigest()[:36]


async def run_batch(
    call: Caller, ops: list[BatchOp], *, batch_size: int = 30, concurrency: int = 4
) -> list[BatchItemResult]:
    """A fault on one item is that item's `error`; a whole request that fails (after its own
    retries) puts its error on each of its items, so callers always get len(ops) results."""
    size = max(1, min(batch_size, 30))
    chunks = [list(range(i, min(i + size, len(ops)))) for i in range(0, len(ops), size)]
    results: list[BatchItemResult | None] = [None] * len(ops)
    gate = asyncio.Semaphore(max(1, concurrency))

    async def run(idx: list[int]) -> None:
        async with gate:
            await _chunk(call, ops, idx, results)

    await asyncio.gather(*(run(c) for c in chunks))
    return [r for r in results if r is not None]


async def _chunk(
    call: Caller, ops: list[BatchOp], idx: list[int], results: list[BatchItemResult | None]
) -> None:
    chunk = [ops[i] for i in idx]
    bids = {f"b{n}": i for n, i in enumerate(idx)}  # "b0".."b29": ≤ 10 chars
    body = {"BatchItemRequest": [op.to_item(bid) for bid, op in zip(bids, chunk, strict=True)]}
    try:
        data = await call(
            "POST", "batch", json=body, request_id=batch_request_id(chunk), items=len(chunk), batch=True
        )
    except QboError as exc:
        for i in idx:
            results[i] = BatchItemResult(index=i, op=ops[i], error=exc)
        return
    answered = {
        item.get("bId"): item for item in data.get("BatchItemResponse") or [] if isinstance(item, dict)
    }
    for bid, i in bids.items():
        op = ops[i]
        item = answered.get(bid)
        if item is None:
            results[i] = BatchItemResult(
                index=i, op=op, error=TransientError("QBO's batch answer had no item for this op")
            )
            continue
        fault = parse_fault_dict(item)
        if fault is not None:
            results[i] = BatchItemResult(index=i, op=op, raw=item, error=error_from_fault(fault))
        elif op.operation == "query":
            results[i] = BatchItemResult(
                index=i, op=op, raw=item, query_response=item.get("QueryResponse") or {}
            )
        else:
            results[i] = BatchItemResult(index=i, op=op, raw=item, entity=item.get(op.entity))
