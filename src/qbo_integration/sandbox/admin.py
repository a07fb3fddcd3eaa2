"""Sandbox admin API (/_sandbox/...): realms, raw entities, tokens, faults, limits, request ids, log, settings."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.responses import JSONResponse

from .preferences import apply_admin_update
from .store import ENTITIES


class _AsciiJSON(JSONResponse):
    """JSON with every non-ASCII character escaped, as the v3 API answers: a record a test filled with a
    lone surrogate (QuickBooks' data is untrusted input) is shown, not a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":")).encode()


router = APIRouter(prefix="/_sandbox", default_response_class=_AsciiJSON)


def _st(request: Request):
    return request.app.state.sandbox


def _slot(request: Request, realm: str):
    slot = _st(request).slots.get(realm)
    if slot is None:
        raise HTTPException(404, f"unknown realm {realm}")
    return slot


def _entity(name: str) -> str:
    entity = ENTITIES.get(name.lower())
    if entity is None:
        raise HTTPException(404, f"unknown entity {name}")
    return entity


@router.post("/realms")
async def create_realm(request: Request, body: dict[str, Any] = Body(default_factory=dict)) -> dict:
    try:
        slot = _st(request).add_realm(body.get("realmId"), body.get("companyName"),
                                      sample=body.get("sample", True) is not False)
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None
    return {"realmId": slot.realm.realm_id, "companyName": slot.realm.company_name}


@router.get("/realms")
async def list_realms(request: Request) -> list[dict]:
    st = _st(request)
    return [{**s.realm.summary(), "limits": s.limits.usage(st.clock.now()),
             "faults": s.faults.describe(st.clock.now())} for s in st.slots.values()]


@router.post("/realms/{realm}/reset")
async def reset_realm(request: Request, realm: str) -> dict:
    _slot(request, realm)
    _st(request).reset(realm)
    return {"realmId": realm, "reset": True}


@router.get("/realms/{realm}/entities/{entity}")
async def list_entities(request: Request, realm: str, entity: str, includeDeleted: str = "0") -> dict:
    r = _slot(request, realm).realm
    include = includeDeleted.lower() in ("1", "true", "yes")
    return {"items": [r.admin_view(rec) for rec in r.rows(_entity(entity), include_deleted=include)]}


@router.post("/realms/{realm}/entities/{entity}")
async def upsert_entity(request: Request, realm: str, entity: str, body: dict[str, Any] = Body(...)) -> dict:
    """Raw create or (merging) update, no validation: for tests (rename, deactivate, seed data)."""
    r = _slot(request, realm).realm
    name = _entity(entity)
    rec = r.get(name, str(body["Id"]), include_deleted=True) if body.get("Id") else None
    if rec is None:
        rec = r.insert(name, {k: v for k, v in body.items() if k != "Id"}, id_=body.get("Id"))
    else:
        rec.deleted = False
        r.replace(rec, {**rec.data, **body})
    return r.admin_view(rec)


@router.delete("/realms/{realm}/entities/{entity}/{id_}")
async def delete_entity(request: Request, realm: str, entity: str, id_: str) -> dict:
    r = _slot(request, realm).realm
    rec = r.get(_entity(entity), id_)
    if rec is None:
        raise HTTPException(404, "not found")
    r.delete(rec)
    return r.admin_view(rec)


def _seconds(body: dict, key: str) -> int:
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise HTTPException(422, f"{key} must be a whole number of seconds, 0 or more")
    return value


@router.post("/realms/{realm}/grants")
async def grant(request: Request, realm: str, body: dict[str, Any] | None = Body(None)) -> dict:
    """A consent as if the OAuth flow had run. Body (optional): `{"hardExpiresInSeconds": N}`, the
    grant's hard maximum instead of the configured one."""
    _slot(request, realm)
    hard = _seconds(body, "hardExpiresInSeconds") if body and "hardExpiresInSeconds" in body else None
    return _st(request).oauth.issue(realm, hard_expires_in=hard)


@router.post("/realms/{realm}/tokens/expire")
async def expire_tokens(request: Request, realm: str) -> dict:
    _slot(request, realm)
    return {"expired": _st(request).oauth.expire_realm(realm)}


@router.post("/realms/{realm}/tokens/revoke")
async def revoke_tokens(request: Request, realm: str) -> dict:
    _slot(request, realm)
    return {"revokedGrants": _st(request).oauth.revoke_realm(realm)}


@router.put("/realms/{realm}/faults")
async def put_faults(request: Request, realm: str, body: dict[str, Any] = Body(...)) -> dict:
    slot, st = _slot(request, realm), _st(request)
    try:
        slot.faults.configure(body, st.clock.now(), st.config.seed)
    except (ValueError, TypeError) as exc:
        raise HTTPException(422, str(exc)) from None
    return slot.faults.describe(st.clock.now())


@router.get("/realms/{realm}/faults")
async def get_faults(request: Request, realm: str) -> dict:
    return _slot(request, realm).faults.describe(_st(request).clock.now())


@router.delete("/realms/{realm}/faults")
async def clear_faults(request: Request, realm: str) -> dict:
    slot, st = _slot(request, realm), _st(request)
    slot.faults.configure({}, st.clock.now(), st.config.seed)
    return slot.faults.describe(st.clock.now())


@router.put("/realms/{realm}/limits")
async def put_limits(request: Request, realm: str, body: dict[str, Any] = Body(...)) -> dict:
    slot = _slot(request, realm)
    if "enabled" in body:
        slot.limits.enabled = bool(body["enabled"])
    for key, attr in (("callsPerMinute", "calls_per_minute"), ("concurrent", "concurrent"),
                      ("batchesPerMinute", "batches_per_minute"), ("callsPerSecond", "calls_per_second")):
        if key in body:
            setattr(slot.limits, attr, int(body[key]))
    return slot.limits.usage(_st(request).clock.now())


@router.get("/realms/{realm}/limits")
async def get_limits(request: Request, realm: str) -> dict:
    return _slot(request, realm).limits.usage(_st(request).clock.now())


@router.put("/realms/{realm}/request-ids")
async def put_request_ids(request: Request, realm: str, body: Any = Body(...)) -> dict:
    """`{"memorySeconds": 5}`: forget a requestid 5 s after its first answer (null: never forget)."""
    memory = _slot(request, realm).realm.request_ids
    try:
        memory.configure(body)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return memory.describe(_st(request).clock.now())


@router.get("/realms/{realm}/request-ids")
async def get_request_ids(request: Request, realm: str) -> dict:
    return _slot(request, realm).realm.request_ids.describe(_st(request).clock.now())


@router.delete("/realms/{realm}/request-ids")
async def forget_request_ids(request: Request, realm: str) -> dict:
    """QBO forgets every requestid of this realm now (the setting stays)."""
    memory = _slot(request, realm).realm.request_ids
    return {"forgotten": memory.forget_all(), **memory.describe(_st(request).clock.now())}


@router.get("/realms/{realm}/preferences")
async def get_preferences(request: Request, realm: str) -> dict:
    return _prefs_view(_slot(request, realm).realm)


def _prefs_view(r) -> dict:
    return {"Preferences": r.preferences_view(), "DefaultTimeZone": r.time_zone,
            "BillableNeedsHourlyRate": r.billable_needs_hourly_rate}


@router.put("/realms/{realm}/preferences")
async def put_preferences(request: Request, realm: str, body: dict[str, Any] = Body(...)) -> dict:
    """Merge e.g. {"AccountingInfoPrefs": {"BookCloseDate": "2026-03-31", "ClassTrackingPerTxn": false},
    "DefaultTimeZone": "America/Denver"}; a BookCloseDate of null reopens the books."""
    r = _slot(request, realm).realm
    body = dict(body)
    rule = body.pop("BillableNeedsHourlyRate", None)
    if rule is not None and not isinstance(rule, bool):
        raise HTTPException(422, "BillableNeedsHourlyRate must be true or false")
    try:
        r.preferences, r.time_zone = apply_admin_update(r.preferences, r.time_zone, body)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    if rule is not None:
        r.billable_needs_hourly_rate = rule
    r.preferences_updated = _st(request).clock.now()
    return _prefs_view(r)


@router.get("/realms/{realm}/log")
async def get_log(request: Request, realm: str, since: float = 0.0) -> list[dict]:
    return [e for e in _slot(request, realm).log if e["ts"] >= since]


@router.get("/settings")
async def get_settings(request: Request) -> dict:
    st = _st(request)
    return _settings(st)


def _settings(st) -> dict:
    return {"autoApprove": st.auto_approve, "autoApproveRealm": st.auto_approve_realm,
            "refreshGraceSeconds": st.oauth.refresh_grace_seconds,
            "refreshHardMaxSeconds": st.oauth.refresh_hard_max_seconds}


@router.put("/settings")
async def put_settings(request: Request, body: dict[str, Any] = Body(...)) -> dict:
    st = _st(request)
    if "autoApprove" in body:
        st.auto_approve = bool(body["autoApprove"])
    if "autoApproveRealm" in body:
        st.auto_approve_realm = body["autoApproveRealm"]
    if "refreshGraceSeconds" in body:
        st.oauth.refresh_grace_seconds = _seconds(body, "refreshGraceSeconds")
    if "refreshHardMaxSeconds" in body:  # for grants issued from now on
        st.oauth.refresh_hard_max_seconds = _seconds(body, "refreshHardMaxSeconds")
    return _settings(st)
