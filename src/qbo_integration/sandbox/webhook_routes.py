"""Sandbox admin API for webhooks: subscribe a realm, set delivery faults, read the delivery log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, HTTPException, Request

from .webhooks import Subscription

router = APIRouter(prefix="/_sandbox")


def _state(request: Request, realm: str):
    st = request.app.state.sandbox
    if realm not in st.slots:
        raise HTTPException(404, f"unknown realm {realm}")
    return st


def _rate(body: dict[str, Any], key: str) -> float:
    value = float(body.get(key, 0.0))
    if not 0.0 <= value <= 1.0:
        raise HTTPException(400, f"{key} must be between 0 and 1")
    return value


@router.put("/realms/{realm}/webhook")
async def subscribe(request: Request, realm: str, body: dict[str, Any] = Body(...)) -> dict:
    """{url, verifierToken, format?: cloudevents|legacy, dropRate?, duplicateRate?, delaySeconds?, reorder?}"""
    st = _state(request, realm)
    url, token = body.get("url"), body.get("verifierToken")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")) or not isinstance(token, str) or not token:
        raise HTTPException(400, "url (http or https) and verifierToken are required")
    fmt = body.get("format", "cloudevents")
    if fmt not in ("cloudevents", "legacy"):
        raise HTTPException(400, "format must be cloudevents or legacy")
    sub = Subscription(url, token, fmt, drop_rate=_rate(body, "dropRate"), duplicate_rate=_rate(body, "duplicateRate"),
                       delay_seconds=max(0.0, float(body.get("delaySeconds", 0.0))),
                       reorder=bool(body.get("reorder", False)))
    st.webhooks.subscribe(realm, sub)
    return {"realmId": realm, **sub.describe()}


@router.get("/realms/{realm}/webhook")
async def subscription(request: Request, realm: str) -> dict:
    sub = _state(request, realm).webhooks.subscriptions.get(realm)
    return {"realmId": realm, "subscription": sub.describe() if sub else None}


@router.delete("/realms/{realm}/webhook")
async def unsubscribe(request: Request, realm: str) -> dict:
    _state(request, realm).webhooks.unsubscribe(realm)
    return {"realmId": realm, "subscription": None}


@router.get("/webhooks/deliveries")
async def deliveries(request: Request) -> dict:
    return {"items": list(request.app.state.sandbox.webhooks.log)}
