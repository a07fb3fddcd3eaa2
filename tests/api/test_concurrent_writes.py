"""Double submits and concurrent requests on every route that changes something, against the real
database: each ends in a 2xx (or a redirect) or a clear 409, never a 500. The route table must list
every mutating route of the OpenAPI document."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import yaml

from qbo_integration.directory.models import DirectoryProposal
from qbo_integration.reconciliation import drift
from qbo_integration.webhooks.signature import sign
from tests.mapping.factories import add_worker
from tests.support import sync as h
from tests.webhooks.test_drift import _synced_timecard

P = "/api/v1/integrations/quickbooks"
AT_ONCE = 6
OK = {200, 201, 202, 204, 302, 303, 307, 409}
# A request that only reads (GET) but writes: an OAuth state a connect or reconnect starts.
WRITING_GETS = {("GET", "/connect"), ("GET", "/reconnect")}
# Not in the table, and why.
LEFT_OUT = {("GET", "/callback"): "one-time OAuth state: tests/connections/test_callback_transactions.py races it"}


def _bodies(s: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """method, path -> the request (params, json, path, headers, content), on the seeded company `s`."""
    cid = s["cid"]
    delivery = json.dumps([{"specversion": "1.0", "id": f"race-{uuid.uuid4()}", "type": "qbo.timeactivity.updated.v1",
                            "time": datetime.now(UTC).isoformat(), "intuitentityid": s["qbo_id"],
                            "intuitaccountid": s["realm"]}]).encode()
    return {
        ("GET", "/connect"): {"params": {"companyId": cid, "format": "json"}},
        ("GET", "/reconnect"): {"params": {"companyId": cid, "format": "json"}},
        ("POST", "/test-connection"): {"json": {"companyId": cid}},
        ("POST", "/breaker/reset"): {"json": {"companyId": cid}},
        ("POST", "/sync-now"): {"json": {"companyId": cid, "timecardIds": s["timecards"]}},
        ("POST", "/dead-letters/requeue"): {"json": {"companyId": cid, "timecardIds": s["timecards"]}},
        ("PUT", "/sync-settings"): {"json": {"companyId": cid, "syncStartDate": "2026-01-01"}},
        ("POST", "/directory/import"): {"json": {"companyId": cid, "mode": "auto"}},
        ("POST", "/directory/proposals/{proposal_id}/decision"): {"json": {"companyId": cid, "decision": "skip"},
                                                                  "path": {"proposal_id": s["proposal"]}},
        ("POST", "/directory/merge"): {"json": {"companyId": cid, "entityType": "Employee", "fromId": s["ghost"],
                                                "intoId": s["person"]}},
        ("PUT", "/mapping"): {"json": {"companyId": cid, "mapping": {
            "costCodeField": "ServiceItem", "hourlyRates": {"default": 55}}}},
        ("POST", "/mapping/profiles"): {"json": {"companyId": cid, "profileName": "Raced"}},
        ("POST", "/mapping/profiles/{profile_id}/activate"): {"json": {"companyId": cid},
                                                              "path": {"profile_id": s["profile"]}},
        ("POST", "/test-mapping"): {"json": {"companyId": cid, "timecardId": s["timecards"][0]}},
        ("POST", "/dry-run"): {"json": {"companyId": cid, "startDate": "2026-03-01", "endDate": "2026-03-31"}},
        ("POST", "/live-sync"): {"json": {"companyId": cid, "enabled": True}},
        ("POST", "/drift/{finding_id}/resolve"): {"json": {"companyId": cid, "action": "accept"},
                                                  "path": {"finding_id": s["finding"]}},
        ("POST", "/reconciliation"): {"json": {"companyId": cid}},
        ("POST", "/webhooks"): {"content": delivery, "open": True,
                                "headers": {"content-type": "application/json",
                                            "intuit-signature": sign(delivery, s["verifier"])}},
        ("DELETE", "/disconnect"): {"json": {"companyId": cid}},  # last: the company is disconnected after it
    }


def test_the_table_lists_every_mutating_route():
    from qbo_integration.openapi_export import render_openapi

    doc = yaml.safe_load(render_openapi())
    mutating = {(m.upper(), p.removeprefix(P)) for p, ops in doc["paths"].items() if p.startswith(P)
                for m in ops if m != "get"} | WRITING_GETS
    assert mutating == set(_bodies({"cid": "", "timecards": [""], "profile": "", "finding": "", "qbo_id": "",
                                    "realm": "", "verifier": "", "proposal": "", "ghost": "", "person": ""}))


async def _seed(ctx, live, sessionmaker, sandbox, api, client, headers) -> dict[str, Any]:
    cc, core = live
    cid = str(cc.company_id)
    tid, qbo_id = await _synced_timecard(ctx, sessionmaker, core)
    more = [str(await h.add_timecard(sessionmaker, core, hours=h_)) for h_ in (4.0, 5.5)]
    await sandbox.post(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity", json={"Id": qbo_id, "Hours": 2})
    assert await drift.check(sessionmaker, api.company(cc.company_id, cc.realm_id), cc.company_id, qbo_id,
                             source="webhook") == drift.Outcome.CHANGED
    finding = (await client.get(f"{P}/drift", params={"companyId": cid}, headers=headers)).json()["items"][0]["id"]
    other = await client.post(f"{P}/mapping/profiles", json={"companyId": cid, "profileName": "Other"}, headers=headers)
    assert other.status_code == 201, other.text
    async with sessionmaker() as s:  # a proposal of the import, and a worker it made twice (no timecards)
        proposal = DirectoryProposal(id=uuid.uuid4(), company_id=cc.company_id, entity_type="Employee", qbo_id="55",
                                     qbo_name="Pat Doe")
        ghost = add_worker(s, cc.company_id, "Pat Doe", qbo="56")
        person = add_worker(s, cc.company_id, "Patricia Doe")
        s.add(proposal)
        await s.commit()
    return {"cid": cid, "timecards": [str(tid), *more], "profile": other.json()["profileId"], "finding": finding,
            "qbo_id": qbo_id, "realm": cc.realm_id, "proposal": str(proposal.id), "ghost": str(ghost.id),
            "person": str(person.id)}


def _request(client, headers: dict[str, str], method: str, path: str, spec: dict[str, Any]):
    kw: dict[str, Any] = {"params": spec.get("params"),
                          "headers": {**({} if spec.get("open") else headers), **spec.get("headers", {})}}
    if "json" in spec:
        kw["json"] = spec["json"]
    if "content" in spec:
        kw["content"] = spec["content"]
    return client.request(method, P + path.format(**spec.get("path", {})), **kw)


def _not_ok(label: str, answers: list[Any]) -> list[str]:
    statuses = sorted(r.status_code for r in answers)
    print(f"{label}: {statuses}")
    if set(statuses) <= OK:
        return []
    return [f"{label}: {statuses} " + "; ".join(r.text[:160] for r in answers if r.status_code not in OK)]


async def test_concurrent_requests_on_every_mutating_route(ctx, live, sessionmaker, sandbox, api, client, settings,
                                                           make_token):
    """Each route, AT_ONCE identical requests at once (a double click, a retrying client)."""
    headers = {"Authorization": f"Bearer {make_token(live[0].company_id)}"}
    seeded = {**await _seed(ctx, live, sessionmaker, sandbox, api, client, headers),
              "verifier": settings.webhook_verifier()}
    wrong: list[str] = []
    for (method, path), spec in _bodies(seeded).items():
        answers = await asyncio.gather(*(_request(client, headers, method, path, spec) for _ in range(AT_ONCE)))
        wrong += _not_ok(f"{method} {path}", answers)
    assert not wrong, "\n".join(wrong)


async def test_every_mutating_route_at_once(ctx, live, sessionmaker, sandbox, api, client, settings, make_token):
    """All of them together, twice over (the disconnect among them): the routes meet each other's writes."""
    headers = {"Authorization": f"Bearer {make_token(live[0].company_id)}"}
    seeded = {**await _seed(ctx, live, sessionmaker, sandbox, api, client, headers),
              "verifier": settings.webhook_verifier()}
    routes = list(_bodies(seeded).items()) * 2
    answers = await asyncio.gather(*(_request(client, headers, m, p, spec) for (m, p), spec in routes))
    wrong = [line for ((m, p), _), r in zip(routes, answers, strict=True) for line in _not_ok(f"{m} {p}", [r])]
    assert not wrong, "\n".join(wrong)
