"""Connection routes: connect, OAuth callback, test-connection, disconnect, connection status."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import StringConstraints

from qbo_integration.api.auth import authenticate
from qbo_integration.api.deps import (
    AdminOf,
    CompanyAdmin,
    CompanyReader,
    CompanySubject,
    PrincipalDep,
    QueueDep,
    SessionDep,
    SettingsDep,
    company_subject,
)
from qbo_integration.api.errors import error_body
from qbo_integration.api.inputs import STORABLE, unstorable_text_problem
from qbo_integration.connections import flows, service
from qbo_integration.connections.schemas import (
    AuthorizeUrlOut,
    CallbackOut,
    CompanyIn,
    ConnectionOut,
    DisconnectOut,
    TestConnectionOut,
)
from qbo_integration.connections.states import STATE_TTL
from qbo_integration.core_platform.gateway import require_company
from qbo_integration.errors import AppError, InvalidInput, NotFound, Unprocessable
from qbo_integration.monitoring import audit
from qbo_integration.monitoring.schemas import CompanyBody
from qbo_integration.queue import commit_and_flush

router = APIRouter(tags=["connection"])

CONNECTED_PAGE = "/console/#/connected"
RECONNECT_PAGE = "/console/#/reconnect"
FAILED_PAGE = "/console/#/connect-failed"
_NO_STORE = {"Cache-Control": "no-store"}
_ERRORS: dict[int | str, dict[str, Any]] = {401: {"description": "Missing or invalid bearer token"},
           403: {"description": "Another company's integration, or not an admin"},
           404: {"description": "Unknown company"}}

# RFC 9700 §4.7.1: the state is bound to the browser that started the flow. /connect sets this
# HttpOnly, SameSite=Lax cookie (a hash of the state, scoped to the callback's path); the callback
# refuses a state whose cookie is missing or different. Lax is what lets it ride along on Intuit's
# top-level redirect back to us. One flow per browser at a time: starting again replaces it.
BINDING_COOKIE = "qbo_oauth_binding"
CALLBACK_PATH = "/api/v1/integrations/quickbooks/callback"
NOT_BOUND_MESSAGE = ("This QuickBooks authorization was not started in this browser (or its sign-in cookie "
                     "expired): start connecting QuickBooks again from CrewFlow, in the same browser")

_Format = Annotated[Literal["json", "redirect"] | None, Query(description="json: answer {authorizeUrl}")]
_Code = Annotated[str, StringConstraints(max_length=4096), STORABLE]
_State = Annotated[str, StringConstraints(max_length=512), STORABLE]
_Realm = Annotated[str, StringConstraints(max_length=200), STORABLE]


def _services(request: Request) -> flows.Services:
    return request.app.state.services


def _binding(state: str) -> str:
    return hashlib.sha256(f"qbo-oauth-binding:{state}".encode()).hexdigest()


def _bound(request: Request, state: str | None) -> bool:
    cookie = request.cookies.get(BINDING_COOKIE)
    return bool(state and cookie) and hmac.compare_digest(cookie or "", _binding(state or ""))


def _bind(response: Response, settings: Any, authorize_url: str) -> Response:
    state = parse_qs(urlsplit(authorize_url).query).get("state", [""])[0]
    response.set_cookie(BINDING_COOKIE, _binding(state), max_age=int(STATE_TTL.total_seconds()), path=CALLBACK_PATH,
                        httponly=True, samesite="lax", secure=settings.public_base_url.startswith("https://"))
    return response


def _unbind(response: Response) -> Response:
    response.delete_cookie(BINDING_COOKIE, path=CALLBACK_PATH, httponly=True, samesite="lax")
    return response


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    return "text/html" in accept and not accept.lstrip().startswith("application/json")


@router.get(
    "/connect",
    summary="Start connecting QuickBooks (redirect to Intuit's consent page)",
    status_code=302,
    responses={200: {"model": AuthorizeUrlOut, "description": "With ?format=json or Accept: application/json"},
               302: {"description": "Redirect to the provider's authorize URL"}, **_ERRORS},
)
async def connect(
    request: Request,
    session: SessionDep,
    admin: CompanyAdmin,
    format: _Format = None,
    switch_company: Annotated[bool, Query(
        alias="switchCompany",
        description="The admin confirms moving this company to another QuickBooks company: the old company's "
                    "sync records, mapping and drift findings are archived and timecards are sent to the new one "
                    "as new entries. Without it, a QuickBooks company other than the one the company's sync history "
                    "belongs to is refused (other_realm).")] = False,
) -> Response:
    return await _start_flow(request, session, admin.company_id, admin.sub, format, allow_realm_switch=switch_company)


@router.get(
    "/reconnect",
    summary="Reconnect QuickBooks for the signed-in admin's company (the app's Reconnect URL at Intuit)",
    description=("Starts the OAuth flow for the company of the bearer token's admin, as /connect does; companyId "
                 "is optional (Intuit's Reconnect URL is one fixed address) and, when given, must be the token's "
                 "company. A browser arriving without a bearer token (from Intuit or an expiry alert) is sent to "
                 f"the console's sign-in ({RECONNECT_PAGE}), which calls this route again with its token."),
    status_code=302,
    responses={200: {"model": AuthorizeUrlOut, "description": "With ?format=json or Accept: application/json"},
               302: {"description": "Redirect to the provider's authorize URL (or, for a browser without a "
                                    "bearer token, to the console's reconnect page)"},
               401: {"description": "Missing or invalid bearer token (a client that does not accept HTML)"},
               403: {"description": "Not an admin, or companyId is another company"},
               404: {"description": "The token's company is unknown"}},
)
async def reconnect(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    company_id: Annotated[uuid.UUID | None, Query(alias="companyId", description="The token's company (optional)")] = None,
    format: _Format = None,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    if not authorization and format != "json" and _wants_html(request):
        return RedirectResponse(RECONNECT_PAGE, 302, headers=_NO_STORE)
    principal = await authenticate(settings, authorization)
    # authenticated here, not by a dependency: a browser without a token is redirected, not refused
    company_id = company_subject(principal, company_id or principal.company_id, admin=True).company_id
    return await _start_flow(request, session, company_id, principal.sub, format)


async def _start_flow(request: Request, session: Any, company_id: uuid.UUID, user_sub: str,
                      format: str | None, *, allow_realm_switch: bool = False) -> Response:
    """A new state for this admin and company; the authorize URL as a redirect or as JSON, bound to the browser."""
    url = await flows.start_connect(session, _services(request), company_id=company_id, user_sub=user_sub,
                                    allow_realm_switch=allow_realm_switch)
    as_json = format == "json" or (
        format is None and request.headers.get("accept", "").lower().startswith("application/json")
    )
    settings = _services(request).settings
    if as_json:
        return _bind(JSONResponse(AuthorizeUrlOut(authorize_url=url).model_dump(by_alias=True), headers=_NO_STORE),
                     settings, url)
    return _bind(RedirectResponse(url, 302, headers=_NO_STORE), settings, url)


@router.get(
    "/callback",
    summary="OAuth callback from QuickBooks (no bearer needed: the state and the browser's binding cookie "
            "set by /connect authenticate)",
    responses={200: {"model": CallbackOut}, 302: {"description": "Browsers: to the console's result page"},
               400: {"description": "Unknown, expired, used or foreign state; denied consent; a state not "
                                    "started in this browser (state_not_bound: the state is left unused)"},
               409: {"description": "The QuickBooks company is connected to another CrewFlow company, or is not "
                                    "the one this company's sync history belongs to (other_realm: start again "
                                    "with switchCompany=true to switch deliberately)"}},
)
async def callback(
    request: Request,
    session: SessionDep,
    queue: QueueDep,
    settings: SettingsDep,
    code: Annotated[_Code | None, Query()] = None,
    state: Annotated[_State | None, Query()] = None,
    realm_id: Annotated[_Realm | None, Query(alias="realmId")] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    caller_company = caller_sub = None
    # Unstorable text in `error` still fails the flow (the state is used up and the failure audited,
    # with the text made storable); the answer is then a 422 naming the parameter.
    error_problem = unstorable_text_problem(error) if error else None
    if error and error_problem:
        error = error.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    if authorization:  # a JSON client forwarding the callback may prove who it is; then it must match
        principal = await authenticate(settings, authorization)
        caller_company, caller_sub = principal.company_id, principal.sub
    try:
        # A caller proving with its bearer token who started the flow is bound by that; anyone else needs the
        # cookie. Refused before the state is looked at: a stranger's attempt neither consumes nor reveals it.
        if caller_company is None and state and not _bound(request, state):
            raise AppError(NOT_BOUND_MESSAGE, code="state_not_bound")
        pending = await flows.begin_connect(
            session, _services(request), state=state, code=code, realm_id=realm_id, error=error,
            caller_company=caller_company, caller_sub=caller_sub,
        )
        # The state is consumed for good before QuickBooks is called: no transaction spans those calls,
        # and a replayed callback finds the state used.
        await commit_and_flush(session, queue)
        done = await flows.finish_connect(session, _services(request), queue, pending)
    except AppError as failure:  # answered, not raised: a used state and the failure's audit row are kept
        exc = failure
        if error_problem:
            exc = Unprocessable(f"error: {error_problem}", details=[{"field": "error", "problem": error_problem}])
        if _wants_html(request):
            return RedirectResponse(f"{FAILED_PAGE}?{urlencode({'reason': exc.code})}", 302, headers=_NO_STORE)
        return JSONResponse(error_body(request, exc.code, exc.message, exc.details), exc.status_code,
                            headers=_NO_STORE)
    if _wants_html(request):
        return _unbind(RedirectResponse(f"{CONNECTED_PAGE}?{urlencode({'realmId': done.realm_id})}", 302,
                                        headers=_NO_STORE))
    return _unbind(JSONResponse(CallbackOut(success=True, realm_id=done.realm_id).model_dump(by_alias=True),
                                headers=_NO_STORE))


@router.post("/test-connection", summary="Test the connection (QuickBooks companyinfo)",
             response_model=TestConnectionOut, response_model_by_alias=True, responses=_ERRORS)
async def test_connection(request: Request, session: SessionDep, admin: AdminOf[CompanyIn],
                          body: CompanyIn) -> TestConnectionOut:
    return await flows.test_connection(session, _services(request), company_id=body.company_id,
                                       actor=admin.sub)


async def _disconnect_admin(
    principal: PrincipalDep,
    body: Annotated[CompanyIn | None, Body()] = None,
    company_id_q: Annotated[uuid.UUID | None, Query(alias="companyId")] = None,
) -> CompanySubject:
    """The admin of the company a disconnect names, in the JSON body or the query string (either will do)."""
    if body is None and company_id_q is None:
        raise InvalidInput("companyId is required (in the JSON body or the query string)")
    if body is not None and company_id_q is not None and body.company_id != company_id_q:
        raise InvalidInput("companyId differs between the body and the query string")
    company_id = body.company_id if body is not None else company_id_q
    assert company_id is not None
    return company_subject(principal, company_id, admin=True)


@router.delete(
    "/disconnect",
    summary="Disconnect QuickBooks (revoke, delete tokens; history and mappings are kept)",
    response_model=DisconnectOut, response_model_by_alias=True,
    responses={**_ERRORS, 409: {"description": "QuickBooks is not connected for this company"}},
)
async def disconnect(
    request: Request,
    session: SessionDep,
    admin: Annotated[CompanySubject, Depends(_disconnect_admin)],
) -> DisconnectOut:
    revoked = await flows.disconnect(session, _services(request), company_id=admin.company_id, actor=admin.sub)
    return DisconnectOut(success=True, revoked=revoked)


@router.get("/connection", summary="Connection status for the health dashboard",
            response_model=ConnectionOut, response_model_by_alias=True, responses=_ERRORS)
async def connection(session: SessionDep, reader: CompanyReader) -> ConnectionOut:
    await require_company(session, reader.company_id)
    return service.connection_view(reader.company_id, await service.get_integration(session, reader.company_id))


@router.post("/breaker/reset", summary="Close a company's circuit breaker now (admin)")
async def breaker_reset(body: CompanyBody, request: Request, admin: AdminOf[CompanyBody],
                        session: SessionDep) -> dict[str, Any]:
    await require_company(session, body.company_id)
    integration_id = await service.integration_id(session, body.company_id)
    if integration_id is None:
        raise NotFound("This company has no QuickBooks integration")
    qbo = _services(request).qbo
    before = await qbo.breaker_state(body.company_id)
    await qbo.reset_breaker(body.company_id)
    after = await qbo.breaker_state(body.company_id)
    await audit.record(session, integration_id=integration_id, company_id=body.company_id, action="breaker_reset",
                 status="success", actor=admin.sub, request_payload={"previousState": before.state},
                 response_payload=after.to_dict())
    return {"breaker": {"state": after.state, "failures": after.failures, "previousState": before.state}}
