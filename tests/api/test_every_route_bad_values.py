"""Every route, every input value in turn made bad (NUL, a lone surrogate, a far date, an oversize value),
and a body over the size limit: a 4xx in the error format whose message names the value, and nothing
in the database changes. The route table must list every route of the OpenAPI document."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import yaml

from tests.api.helpers import db_state, error_of

P = "/api/v1/integrations/quickbooks"
C = "{company}"  # replaced by the connected company's id
U = str(uuid.UUID(int=7))
RANGE = {"startDate": "2026-01-01", "endDate": "2026-01-31"}

# method, path -> a plausible request: query params, JSON body, path params; "open" = no token
ROUTES: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/connect"): {"params": {"companyId": C, "format": "json"}},
    ("GET", "/reconnect"): {"params": {"companyId": C, "format": "json"}},
    ("GET", "/callback"): {"open": True, "params": {"state": "s" * 43, "code": "abc", "realmId": "123",
                                                    "error": "access_denied"}},
    ("POST", "/test-connection"): {"json": {"companyId": C}},
    ("DELETE", "/disconnect"): {"json": {"companyId": C}},
    ("GET", "/connection"): {"params": {"companyId": C}},
    ("GET", "/health"): {"params": {"companyId": C}},
    ("GET", "/health/timecards"): {"params": {"companyId": C, "timecardId": U}},
    ("GET", "/audit-log"): {"params": {"companyId": C, **RANGE, "action": "connect", "status": "failure",
                                       "workerId": U, "page": 1, "limit": 50}},
    ("GET", "/audit-log.csv"): {"params": {"companyId": C, **RANGE, "action": "connect", "timecardId": U}},
    ("GET", "/setup"): {"params": {"companyId": C}},
    ("POST", "/breaker/reset"): {"json": {"companyId": C}},
    ("GET", "/export-csv"): {"params": {"companyId": C, **RANGE}},
    ("GET", "/exports/{export_id}"): {"params": {"companyId": C}, "path": {"export_id": U}},
    ("POST", "/sync-now"): {"json": {"companyId": C, "timecardIds": [U]}},
    ("GET", "/sync-status/{job_id}"): {"path": {"job_id": U}},
    ("GET", "/dead-letters"): {"params": {"companyId": C}},
    ("GET", "/timecards/{timecard_id}/sync"): {"params": {"companyId": C, "limit": 10}, "path": {"timecard_id": U}},
    ("GET", "/timecards"): {"params": {"companyId": C, "worker": "Rita", "project": "Roof", "from": "2026-01-01",
                                       "to": "2026-01-31", "state": "waiting", "limit": 10}},
    ("POST", "/dead-letters/requeue"): {"json": {"companyId": C, "timecardIds": [U]}},
    ("PUT", "/sync-settings"): {"json": {"companyId": C, "syncStartDate": "2026-01-01"}},
    ("POST", "/directory/import"): {"json": {"companyId": C, "mode": "auto"}},
    ("GET", "/directory/import/{job_id}"): {"params": {"companyId": C}, "path": {"job_id": U}},
    ("GET", "/directory/orphans"): {"params": {"companyId": C}},
    ("GET", "/directory/proposals"): {"params": {"companyId": C, "status": "open"}},
    ("POST", "/directory/proposals/{proposal_id}/decision"): {"json": {"companyId": C, "decision": "link",
                                                                       "crewflowId": U},
                                                              "path": {"proposal_id": U}},
    ("POST", "/directory/merge"): {"json": {"companyId": C, "entityType": "Employee", "fromId": U, "intoId": U}},
    ("GET", "/mapping"): {"params": {"companyId": C, "profileId": U}},
    ("PUT", "/mapping"): {"json": {"companyId": C, "mapping": {
        "profileName": "Main", "costCodeField": "ServiceItem",
        "employeeMapping": [{"crewflowWorkerId": U, "qboEmployeeId": "1", "source": "profile"}],
        "costCodeMapping": [{"crewflowCostCodeId": U, "qboServiceItemId": "2"}],
        "hourlyRates": {"default": "10.00", "projects": [{"crewflowProjectId": U, "rate": "12.50"}]}}}},
    ("GET", "/mapping/profiles"): {"params": {"companyId": C}},
    ("POST", "/mapping/profiles"): {"json": {"companyId": C, "profileName": "Second", "copyFrom": U}},
    ("POST", "/mapping/profiles/{profile_id}/activate"): {"json": {"companyId": C}, "path": {"profile_id": U}},
    ("GET", "/mapping/suggestions"): {"params": {"companyId": C}},
    ("GET", "/mapping/validation"): {"params": {"companyId": C}},
    ("GET", "/mapping/samples"): {"params": {"companyId": C}},
    ("GET", "/mapping/records"): {"params": {"companyId": C}},
    ("POST", "/test-mapping"): {"json": {"companyId": C, "timecardId": U}},
    ("POST", "/dry-run"): {"json": {"companyId": C, **RANGE}},
    ("POST", "/live-sync"): {"json": {"companyId": C, "enabled": False}},
    ("GET", "/console/overview"): {"params": {"companyId": C}},
    ("GET", "/console/names"): {"params": {"companyId": C, "timecardId": U}},
    ("GET", "/console/timecards"): {"params": {"companyId": C, "q": "Rita"}},
    ("GET", "/console/zones"): {"params": {"companyId": C}},
    ("GET", "/drift"): {"params": {"companyId": C}},
    ("POST", "/drift/{finding_id}/resolve"): {"json": {"companyId": C, "action": "accept"},
                                              "path": {"finding_id": U}},
    ("POST", "/reconciliation"): {"json": {"companyId": C}},
    ("GET", "/reconciliation/latest"): {"params": {"companyId": C}},
    ("GET", "/reconciliation/{run_id}"): {"params": {"companyId": C}, "path": {"run_id": U}},
    ("GET", "/reconciliation/{run_id}/report.csv"): {"params": {"companyId": C}, "path": {"run_id": U}},
    # unsigned (no verifier configured): refused before the body is parsed, whatever it holds
    ("POST", "/webhooks"): {"open": True, "expect": 401, "json": {"eventNotifications": [
        {"realmId": "123", "dataChangeEvent": {"entities": [{"name": "Employee", "id": "1", "operation": "Update",
                                                             "lastUpdated": "2026-01-01T00:00:00Z"}]}}]}},
}
DATE_FIELDS = {"startDate", "endDate", "syncStartDate"}


def _bad_value(kind: str, key: str, value: Any, *, in_url: bool) -> Any:
    """The bad version of one value, or None when this kind of badness does not apply to it."""
    if kind == "far_date":
        return "9999-12-31" if key in DATE_FIELDS else None
    if kind == "oversize" and isinstance(value, int) and not isinstance(value, bool):
        return 10**30
    if not isinstance(value, str) or (kind == "surrogate" and in_url):
        return None  # a URL carries bytes: a lone surrogate's arrive decoded as U+FFFD, which is storable
    # httpx refuses URLs over 64 KiB: a URL's oversize value is 20,000 characters, a body's 100,000
    return {"nul": value + "\x00", "surrogate": value + "\ud800",
            "oversize": "9" * (20_000 if in_url else 100_000)}[kind]


def _leaves(obj: Any, where: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, (*where, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _leaves(v, (*where, str(i)))
    else:
        yield where, obj


def _replaced(obj: Any, where: tuple[str, ...], new: Any) -> Any:
    if not where:
        return new
    head, rest = where[0], where[1:]
    if isinstance(obj, list):
        return [_replaced(v, rest, new) if str(i) == head else v for i, v in enumerate(obj)]
    return {k: _replaced(v, rest, new) if k == head else v for k, v in obj.items()}


def _mutations(spec: dict[str, Any], kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(the bad value's field name as the API reports it, the request spec with that one value bad)"""
    for part in ("params", "json", "path"):
        for where, value in _leaves(spec.get(part, {})):
            bad = _bad_value(kind, where[-1], value, in_url=part != "json")
            if bad is not None:
                yield ".".join(where), {**spec, part: _replaced(spec[part], where, bad)}


async def _send(client: httpx.AsyncClient, method: str, path: str, spec: dict[str, Any],
                company_id: uuid.UUID, token: str) -> httpx.Response:
    def fill(obj: Any) -> Any:
        return json.loads(json.dumps(obj).replace(C, str(company_id)))

    url = P + path.format(**{k: quote(v, safe="") for k, v in spec.get("path", {}).items()})
    headers = {} if spec.get("open") else {"Authorization": f"Bearer {token}"}
    kw: dict[str, Any] = {"params": fill(spec.get("params", {}))}
    if "json" in spec:  # json.dumps escapes a lone surrogate as \ud800, as a browser's JSON.stringify does
        kw["content"] = json.dumps(fill(spec["json"]))
        headers["Content-Type"] = "application/json"
    return await client.request(method, url, headers={**headers, "Accept": "application/json"}, **kw)


def test_the_table_lists_every_route():
    from qbo_integration.openapi_export import render_openapi

    doc = yaml.safe_load(render_openapi())
    documented = {(m.upper(), p.removeprefix(P)) for p, ops in doc["paths"].items() if p.startswith(P) for m in ops}
    assert documented == set(ROUTES)


@pytest.mark.parametrize("kind", ["nul", "surrogate", "far_date", "oversize"])
async def test_every_bad_value_on_every_route_is_a_4xx_naming_it(client, connected_company, make_token,
                                                                 sessionmaker, kind):
    token = make_token(connected_company.company_id)
    wrong: list[str] = []
    sent = 0
    before = await db_state(sessionmaker)
    for (method, path), spec in ROUTES.items():
        for field, bad in _mutations(spec, kind):
            resp = await _send(client, method, path, bad, connected_company.company_id, token)
            sent += 1
            label = f"{method} {path} {field}"
            if not 400 <= resp.status_code < 500:
                wrong.append(f"{label} -> {resp.status_code} {resp.text[:200]}")
                continue
            err = error_of(resp)
            if "expect" in spec:
                if resp.status_code != spec["expect"]:
                    wrong.append(f"{label} -> {resp.status_code}, not {spec['expect']}: {err['message'][:200]}")
                continue
            # A 422 names the bad value; the few other 4xx are a path id that is not a UUID (404).
            name = field.split(".")[-1] if field.split(".")[-1] not in ("0", "1") else field.split(".")[-2]
            if resp.status_code == 422 and name not in err["message"]:
                wrong.append(f"{label} -> 422 not naming it: {err['message'][:200]}")
            elif resp.status_code != 422 and not (resp.status_code == 404 and field == "job_id"):
                wrong.append(f"{label} -> {resp.status_code} {err['message'][:200]}")
    assert sent >= {"far_date": 9, "surrogate": 15}.get(kind, 60), sent
    assert not wrong, "\n".join(wrong)
    assert await db_state(sessionmaker) == before


async def test_a_body_over_the_limit_is_413_on_every_route(test_services, sandbox_server, connected_company,
                                                           sessionmaker, redis, make_token):
    from asgi_lifespan import LifespanManager

    from qbo_integration.app import create_app
    from qbo_integration.config import Settings

    settings = Settings(QBOI_ENV="test", DATABASE_URL=test_services.database_url, REDIS_URL=test_services.redis_url,
                        QBO_API_BASE_URL=sandbox_server.base_url, QBO_DISCOVERY_URL="", MAX_REQUEST_BODY_BYTES=2048)
    token = make_token(connected_company.company_id)
    before = await db_state(sessionmaker)
    wrong = []
    async with LifespanManager(create_app(settings)) as manager, httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver") as client:
        for (method, path), spec in ROUTES.items():
            big = {**spec, "json": {**spec.get("json", {}), "padding": "x" * 4096}}
            resp = await _send(client, method, path, big, connected_company.company_id, token)
            if resp.status_code != 413 or error_of(resp)["code"] != "too_large":
                wrong.append(f"{method} {path} -> {resp.status_code} {resp.text[:200]}")
    assert not wrong, "\n".join(wrong)
    assert await db_state(sessionmaker) == before
