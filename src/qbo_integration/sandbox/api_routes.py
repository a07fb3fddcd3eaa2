"""The v3 API: gateway (auth, limits, faults, requestid, log) in front of the entity operations."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from . import operations as ops
from .responses import (
    JSON,
    QboFault,
    auth_fault_response,
    dumps,
    fault_response,
    invalid,
    not_found,
    system_error,
    throttle_response,
)

MIN_MINOR_VERSION = 75
router = APIRouter()


def minor_version(raw: str | None) -> int:
    """Intuit retired minor versions 1-74 (Aug 2025): missing or older ones are served as 75."""
    try:
        return max(MIN_MINOR_VERSION, int(raw)) if raw else MIN_MINOR_VERSION
    except ValueError:
        return MIN_MINOR_VERSION


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else None


def _json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise invalid("body", "Request body is not valid JSON") from None


def _classify(method: str, parts: list[str], raw: bytes) -> tuple[bool, int, bool, Any]:
    """(write, items, is_batch, parsed batch body or None)."""
    head = parts[0].lower() if parts else ""
    if head == "batch" and method == "POST":
        try:
            body = json.loads(raw)
            items = body.get("BatchItemRequest") if isinstance(body, dict) else None
        except ValueError:
            body, items = None, None
        n = len(items) if isinstance(items, list) else 1
        write = isinstance(items, list) and any(isinstance(i, dict) and "Query" not in i for i in items)
        return write, max(1, n), True, body
    return method == "POST" and head not in ("query",), 1, False, None


async def _dispatch(st, slot, method: str, parts: list[str], request: Request, raw: bytes,
                    batch_body: Any) -> dict:
    realm = slot.realm
    head = parts[0].lower() if parts else ""
    if head == "companyinfo" and method == "GET" and len(parts) == 2:
        if parts[1] != realm.realm_id:
            raise not_found()
        return {"CompanyInfo": realm.company_info()}
    if head == "preferences" and method == "GET" and len(parts) == 1:
        return {"Preferences": realm.preferences_view()}
    if head == "query" and len(parts) == 1:
        sql = request.query_params.get("query") if method == "GET" else raw.decode("utf-8", "replace")
        return ops.query(realm, sql or "")
    if head == "cdc" and method == "GET" and len(parts) == 1:
        q = request.query_params
        return ops.cdc(realm, q.get("entities"), q.get("changedSince"), st.config.cdc_lookback_days)
    if head == "batch" and method == "POST" and len(parts) == 1:
        items = batch_body.get("BatchItemRequest") if isinstance(batch_body, dict) else None
        if not isinstance(items, list) or not items:
            raise invalid("BatchItemRequest", "a non-empty BatchItemRequest list is required")
        if len(items) > st.config.max_batch_items:
            raise QboFault("1040", "Batch request exceeded the maximum number of items",
                           f"The number of batch items ({len(items)}) exceeds the maximum of "
                           f"{st.config.max_batch_items} per request", "BatchItemRequest")
        return {"BatchItemResponse": [ops.batch_item(realm, it if isinstance(it, dict) else {})
                                      for it in items]}
    entity = ops.entity_name(head)
    if entity is None:
        raise QboFault("4", "Unsupported Operation", f"Operation {method} {'/'.join(parts)} is not supported.",
                       status=400)
    if method == "GET" and len(parts) == 2:
        return ops.read(realm, entity, parts[1])
    if method == "POST" and len(parts) == 1:
        body = _json_body(raw)
        if not isinstance(body, dict):
            raise invalid(entity, "the body must be a JSON object")
        operation = (request.query_params.get("operation") or "").lower()
        if operation == "delete":
            return ops.delete(realm, entity, body)
        if operation == "update" or body.get("Id"):
            return ops.update(realm, entity, body)
        if operation not in ("", "create"):
            raise invalid("operation", operation)
        return ops.create(realm, entity, body)
    raise QboFault("4", "Unsupported Operation", f"Operation {method} {'/'.join(parts)} is not supported.")


def _named_ids(parts: list[str], raw: bytes, batch_body: Any) -> list[str]:
    """The records a write names by Id ("TimeActivity/71"): an update or delete, alone or in a batch. Logged,
    so a test can tell which records of a realm a client wrote to (the body is not in the path)."""
    bodies: list[tuple[str | None, Any]]
    if batch_body is not None:
        items = batch_body.get("BatchItemRequest") if isinstance(batch_body, dict) else None
        bodies = [(ops.entity_name(k), v) for it in items if isinstance(it, dict)
                  for k, v in it.items() if isinstance(v, dict)] if isinstance(items, list) else []
    else:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        bodies = [(ops.entity_name(parts[0]) if parts else None, body)]
    return [f"{entity}/{b['Id']}" for entity, b in bodies if entity and isinstance(b, dict) and b.get("Id")]


def _answer(st, payload: dict) -> tuple[int, bytes]:
    payload["time"] = st.clock.stamp()
    return 200, dumps(payload)


@router.api_route("/v3/company/{realm_id}/{rest:path}", methods=["GET", "POST"])
async def v3(realm_id: str, rest: str, request: Request) -> Response:
    st = request.app.state.sandbox
    slot = st.slots.get(realm_id)
    token_realm, reason = st.oauth.authenticate(_bearer(request))
    if token_realm is None:
        resp = auth_fault_response(st.clock, reason)
        _log(st, slot, request, resp.status_code, False, 1)
        return resp
    if token_realm != realm_id or slot is None:
        resp = auth_fault_response(st.clock, "The access token is not authorized for this company", 403)
        _log(st, slot, request, 403, False, 1)
        return resp

    method, parts = request.method, [p for p in rest.split("/") if p]
    raw = await request.body() if method == "POST" else b""
    write, items, is_batch, batch_body = _classify(method, parts, raw)
    named = _named_ids(parts, raw, batch_body) if write else []
    now = st.clock.now()
    faults = slot.faults
    injected = faults.before(now) if faults.active else None
    if injected == "storm":
        _log(st, slot, request, 429, write, items, throttled=True, note="storm", ids=named)
        return throttle_response(st.clock)
    if injected == "down":
        _log(st, slot, request, 503, write, items, note="down", ids=named)
        return fault_response(st.clock, system_error(503))
    if not slot.limits.acquire(now, items, is_batch):
        _log(st, slot, request, 429, write, items, throttled=True, ids=named)
        return throttle_response(st.clock)
    status, note = 500, None
    started = time.monotonic()

    request_id = request.query_params.get("requestid")

    async def run(hold: float) -> tuple[int, bytes, bool]:
        """(status, body, replayed) of the request itself, held `hold` seconds before it is applied.
        A request id is recognised when the request arrives, as QBO would: holding a re-send past the
        id's memory must not turn it into a second record."""
        replay = slot.realm.request_ids.recall(request_id, now) if request_id else None
        if replay is not None:
            return replay[0], replay[1], True
        if hold:
            await asyncio.sleep(hold)
        at = st.clock.now()
        try:
            code, body = _answer(st, await _dispatch(st, slot, method, parts, request, raw, batch_body))
        except QboFault as exc:
            code, body = exc.status, dumps({"Fault": exc.as_fault(), "time": st.clock.stamp()})
        if request_id and method == "POST" and code < 500:
            slot.realm.request_ids.remember(request_id, at, code, body)
        return code, body, False

    try:
        delay = faults.delay() if faults.active else 0.0
        if delay:
            await asyncio.sleep(delay)
        if injected == "timeout":
            status, note = 504, "timeout"
            await asyncio.sleep(faults.timeout_seconds)
            return Response(b"Gateway Timeout", status_code=504, media_type="text/plain")
        if injected in ("500", "503"):
            status, note = int(injected), f"error{injected}"
            return fault_response(st.clock, system_error(status))
        hold = faults.late_commit() if write and faults.active else 0.0
        # shielded: a client that gave up (or a cancelled handler) does not stop the commit, as in QBO
        status, body, replayed = await asyncio.shield(asyncio.ensure_future(run(hold)))
        note = "replayed" if replayed else ("late-commit" if hold else None)
        if write and not replayed and faults.active and faults.drop_after_commit():
            status, note = 503, "commit-then-drop"
            return fault_response(st.clock, system_error(503))
        return Response(body, status_code=status, media_type=JSON)
    finally:
        slot.limits.release()
        _log(st, slot, request, status, write, items, note=note, ts=now, ms=(time.monotonic() - started) * 1000,
             ids=named)


def _log(st, slot, request: Request, status: int, write: bool, items: int, throttled: bool = False,
         note: str | None = None, ts: float | None = None, ms: float | None = None,
         ids: list[str] | None = None) -> None:
    if slot is None:
        return
    q = request.query_params
    slot.log.append({
        "ts": st.clock.now() if ts is None else ts, "method": request.method, "path": request.url.path, "status": status,
        "write": write, "items": items, "throttled": throttled, "minorversion": minor_version(
            q.get("minorversion")), "minorversionSent": q.get("minorversion"), "requestid": q.get("requestid"),
        "note": note, "ms": None if ms is None else round(ms, 1), "ids": ids or [],
    })
