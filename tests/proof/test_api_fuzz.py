"""API fuzzing with schemathesis against the OpenAPI document, through the ASGI app.

The document is the one `qbo-integration openapi` writes to `openapi.yaml` (rendered here, so it is
always the current app's; tests/foundation checks the committed file matches). schemathesis only
generates the requests (hypothesis, bounded per operation); they are sent through the app over
httpx's ASGI transport with its lifespan, and schemathesis validates every answer:

* with an admin token of a real, connected company: no 5xx, and every answer matches the schema
  (a documented status code, its documented body and content type);
* with no token: every `/api/v1/integrations/*` route (except the OAuth callback) answers 401.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "10"))
OPEN_ROUTES = {"/api/v1/integrations/quickbooks/callback"}


def _schema() -> Any:
    import schemathesis

    from qbo_integration.openapi_export import render_openapi

    return schemathesis.openapi.from_dict(yaml.safe_load(render_openapi()))


def _operations() -> list[Any]:
    return [r.ok() for r in _schema().get_all_operations()]


def _cases(operation: Any, n: int) -> list[Any]:
    """Up to n generated cases for one operation (hypothesis, no database, no deadline)."""
    out: list[Any] = []

    @settings(max_examples=n, database=None, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def collect(data: st.DataObject) -> None:
        out.append(data.draw(operation.as_strategy()))

    collect()
    return out[:n]


def _point_at(case: Any, company_id: uuid.UUID, rng: random.Random) -> None:
    """Half the time aim the request at the caller's own company, so the routes go past the 403."""
    if rng.random() < 0.5:
        return
    if isinstance(case.query, dict) and "companyId" in case.query:
        case.query["companyId"] = str(company_id)
    if isinstance(case.body, dict) and "companyId" in case.body:
        case.body["companyId"] = str(company_id)


def _request_kwargs(case: Any, headers: dict[str, str]) -> dict[str, Any]:
    kw = case.as_transport_kwargs(base_url="http://testserver")
    merged = {k: v for k, v in (kw.get("headers") or {}).items() if k.lower() != "authorization"}
    merged.update(headers)
    kw["headers"] = merged
    kw.pop("cookies", None)
    for key in ("verify", "timeout", "allow_redirects", "cert", "proxies", "stream"):
        kw.pop(key, None)
    if "data" in kw and isinstance(kw["data"], str | bytes):
        kw["content"] = kw.pop("data")
    return kw


def _checks() -> list[Any]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]


@pytest.mark.timeout(int(os.environ.get("FUZZ_TIMEOUT", "900")))
async def test_fuzz_with_admin_token_no_5xx_and_schema_conformance(client: httpx.AsyncClient, connected_company,
                                                                   make_token) -> None:
    token = make_token(connected_company.company_id, role="admin")
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(7)
    failures: list[str] = []
    sent = 0
    for op in _operations():
        for case in _cases(op, MAX_EXAMPLES):
            _point_at(case, connected_company.company_id, rng)
            kw = _request_kwargs(case, headers)
            response = await client.request(kw.pop("method"), kw.pop("url"), **kw)
            sent += 1
            try:
                case.validate_response(response, checks=_checks())
            except Exception as exc:  # noqa: BLE001 - collect every failure, report them together
                failures.append(f"{op.method.upper()} {op.path} {kw.get('params')} {kw.get('json')!r:.300} "
                                f"-> {response.status_code} {response.text[:300]!r}: {str(exc)[:400]}")
    print(f"\nfuzzed {sent} requests over {len(_operations())} operations; {len(failures)} failures")
    assert sent > 0
    assert not failures, "\n".join(failures[:30])


@pytest.mark.timeout(int(os.environ.get("FUZZ_TIMEOUT", "900")))
async def test_every_integration_route_needs_a_token(client: httpx.AsyncClient, company) -> None:
    wrong: list[str] = []
    checked = 0
    for op in _operations():
        if not op.path.startswith("/api/v1/integrations/") or op.path in OPEN_ROUTES:
            continue
        for case in _cases(op, 3):
            if isinstance(case.query, dict) and "companyId" in case.query:
                case.query["companyId"] = str(company.id)
            kw = _request_kwargs(case, {})
            response = await client.request(kw.pop("method"), kw.pop("url"), **kw)
            checked += 1
            if response.status_code != 401:
                wrong.append(f"{op.method.upper()} {op.path} -> {response.status_code} {response.text[:200]}")
        for bad in ("Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Bearer "):
            case = _cases(op, 1)[0]
            kw = _request_kwargs(case, {"Authorization": bad})
            response = await client.request(kw.pop("method"), kw.pop("url"), **kw)
            checked += 1
            if response.status_code != 401:
                wrong.append(f"{op.method.upper()} {op.path} [{bad}] -> {response.status_code} {response.text[:200]}")
    assert checked > 0
    assert not wrong, "\n".join(wrong[:30])


# ---------------------------------------------------------------- signed webhook deliveries
WEBHOOKS = "/api/v1/integrations/quickbooks/webhooks"
WEBHOOK_ANSWERS = {200, 400, 413}  # stored, refused as malformed, too large: never a 5xx


def _deliveries(realm: str) -> Any:
    """Both of Intuit's formats with every value sometimes hostile: NUL, lone surrogates, huge numbers,
    NaN, odd types, times no calendar has, realms nobody connected; and JSON that is neither format."""
    hostile_text = st.one_of(st.text(max_size=30), st.sampled_from(["", "\x00", "a\x00b", "\ud800", "x\udfff",
                                                                     "9" * 250, " ", "\u202e"]))
    value = st.one_of(hostile_text, st.integers(min_value=-(10**40), max_value=10**40), st.none(), st.booleans(),
                      st.floats(allow_nan=True, allow_infinity=True), st.lists(st.integers(), max_size=2),
                      st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
    ids = st.from_regex(r"\A[0-9]{1,12}\Z")

    def mostly(valid: Any) -> Any:  # a valid value four times in five: deliveries get past the parser
        return st.integers(0, 4).flatmap(lambda n: value if n == 4 else valid)  # (hypothesis favours 0)

    realm_ = mostly(st.sampled_from([realm, realm, "999000111"]))
    time_ = st.one_of(st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                                       "2026-12-01T10:00:00Z", "2026-12-01T10:00:00", "2026-13-45T99:00:00Z"]), value)
    types = [f"qbo.{e}.{o}.v1" for e in ("timeactivity", "employee", "customer", "vendor", "item", "class",
                                         "department", "invoice") for o in ("created", "updated", "deleted", "merged")]
    cloudevent = st.fixed_dictionaries(
        {"specversion": st.just("1.0"), "type": mostly(st.sampled_from(types)), "id": mostly(st.uuids().map(str)),
         "intuitentityid": mostly(ids), "intuitaccountid": realm_},
        optional={"time": time_, "data": value})
    entity = st.fixed_dictionaries({"name": st.one_of(st.sampled_from(["Employee", "TimeActivity", "Customer",
                                                                       "Invoice"]), value),
                                    "id": mostly(ids), "operation": st.one_of(st.sampled_from(["Create", "Update",
                                                                                          "Delete", "Merge"]), value),
                                    "lastUpdated": time_})
    legacy = st.fixed_dictionaries({"eventNotifications": st.lists(st.fixed_dictionaries(
        {"realmId": realm_, "dataChangeEvent": mostly(st.fixed_dictionaries(
            {"entities": st.lists(mostly(entity), max_size=4)}))}), max_size=3)})
    return mostly(st.one_of(st.lists(mostly(cloudevent), min_size=1, max_size=4), legacy))


def _delivery_cases(realm: str, n: int) -> list[bytes]:
    out: list[bytes] = []

    @settings(max_examples=n, database=None, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(_deliveries(realm))
    def collect(doc: Any) -> None:
        out.append(json.dumps(doc).encode())  # ensure_ascii: surrogates and NUL travel as \u escapes; NaN as NaN

    collect()
    return out


@pytest.mark.timeout(int(os.environ.get("FUZZ_TIMEOUT", "900")))
async def test_fuzz_signed_webhook_deliveries_never_5xx(client: httpx.AsyncClient, connected_company, settings,
                                                        sessionmaker) -> None:
    """The receiver's real path behind the signature: whatever a signed body holds, it is stored or refused."""
    from sqlalchemy import func, select

    from qbo_integration.webhooks.models import WebhookEvent
    from qbo_integration.webhooks.signature import sign

    verifier = settings.webhook_verifier()
    settings.webhook_rate_per_minute = 1_000_000  # the fuzzer is one signed sender sending fast
    wrong: list[str] = []
    answers: dict[int, int] = {}
    bodies = _delivery_cases(connected_company.realm_id, MAX_EXAMPLES * 20)
    for body in bodies:
        r = await client.post(WEBHOOKS, content=body, headers={"content-type": "application/json",
                                                               "intuit-signature": sign(body, verifier)})
        answers[r.status_code] = answers.get(r.status_code, 0) + 1
        if r.status_code not in WEBHOOK_ANSWERS or r.headers.get("content-type") != "application/json":
            wrong.append(f"{body[:300]!r} -> {r.status_code} {r.text[:300]!r}")
    async with sessionmaker() as s:
        stored = (await s.execute(select(func.count()).select_from(WebhookEvent))).scalar_one()
    print(f"\nfuzzed {len(bodies)} signed deliveries: answers {answers}, {stored} events stored")
    assert answers.get(200, 0) > 0 and answers.get(400, 0) > 0, answers
    assert not wrong, "\n".join(wrong[:30])
