"""Intuit-like OAuth 2.0: authorize (consent page), token, revoke, discovery."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from string import Template
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from .oauth_store import HARD_EXPIRY_HEADER, OAuthError
from .responses import json_response

SCOPE = "com.intuit.quickbooks.accounting"
JWKS_PATH = "/op/v1/jwks"
USERINFO_PATH = "/v1/openid_connect/userinfo"
_TEMPLATE = Template((Path(__file__).parent / "templates" / "consent.html").read_text())
_PASSTHROUGH = ("client_id", "redirect_uri", "state", "scope", "response_type", "code_challenge",
                "code_challenge_method")

router = APIRouter()


def _state(request: Request):
    return request.app.state.sandbox


def _redirect(uri: str, params: dict) -> RedirectResponse:
    sep = "&" if "?" in uri else "?"
    return RedirectResponse(uri + sep + urlencode({k: v for k, v in params.items() if v is not None}), 302)


def _error_page(message: str, status: int = 400) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><title>Error</title><h1>Something went wrong</h1>"
                        f"<p>{html.escape(message)}</p>", status)


def _check_request(st, p: dict) -> Response | None:
    """Errors that cannot be sent back to the app are shown as a page, like Intuit does."""
    if p.get("client_id") != st.config.client_id:
        return _error_page("invalid_client: unknown client_id")
    uri = p.get("redirect_uri")
    if not uri or (st.config.redirect_uris and uri not in st.config.redirect_uris):
        return _error_page("The redirect_uri is not registered for this app")
    if p.get("response_type") != "code":
        return _redirect(uri, {"error": "unsupported_response_type", "state": p.get("state")})
    if SCOPE not in (p.get("scope") or "").split():
        return _redirect(uri, {"error": "invalid_scope", "state": p.get("state")})
    method = p.get("code_challenge_method")
    if p.get("code_challenge") and method not in (None, "", "S256"):
        return _redirect(uri, {"error": "invalid_request", "state": p.get("state")})
    return None


def _approve(st, p: dict, realm_id: str) -> Response:
    code = st.oauth.new_code(p["client_id"], p["redirect_uri"], realm_id, p.get("code_challenge") or None,
                             "S256" if p.get("code_challenge") else None)
    return _redirect(p["redirect_uri"], {"code": code, "state": p.get("state"), "realmId": realm_id})


@router.get("/connect/oauth2")
async def authorize(request: Request) -> Response:
    st = _state(request)
    p = dict(request.query_params)
    bad = _check_request(st, p)
    if bad is not None:
        return bad
    if st.auto_approve:
        realm_id = st.default_realm()
        if realm_id is None:
            return _error_page("No company to connect")
        return _approve(st, p, realm_id)
    hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(p[k])}">'
                     for k in _PASSTHROUGH if p.get(k) is not None)
    options = "".join(f'<option value="{rid}">{html.escape(s.realm.company_name)} ({rid})</option>'
                      for rid, s in st.slots.items())
    page = _TEMPLATE.substitute(app_name="The app", scope=SCOPE, action="/connect/oauth2/decision",
                                hidden=hidden, options=options)
    return HTMLResponse(page)


@router.post("/connect/oauth2/decision")
async def decision(request: Request) -> Response:
    st = _state(request)
    form = await request.form()
    p = {k: str(v) for k, v in form.items()}
    bad = _check_request(st, p)
    if bad is not None:
        return bad
    if p.get("decision") != "approve":
        return _redirect(p["redirect_uri"], {"error": "access_denied", "state": p.get("state")})
    realm_id = p.get("realmId")
    if realm_id not in st.slots:
        return _error_page("Unknown company")
    return _approve(st, p, realm_id)  # type: ignore[arg-type]


def _basic(request: Request) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None, None
    try:
        user, _, pwd = base64.b64decode(header[6:].strip()).decode().partition(":")
    except ValueError:
        return None, None
    return user, pwd


def _oauth_error(exc: OAuthError) -> Response:
    return json_response(exc.body(), exc.status)


@router.post("/oauth2/v1/tokens/bearer")
async def token(request: Request) -> Response:
    st = _state(request)
    try:
        st.oauth.check_client(*_basic(request))
        form = await request.form()
        grant_type = form.get("grant_type")
        include_hard = request.headers.get(HARD_EXPIRY_HEADER, "").strip().lower() == "true"
        if grant_type == "authorization_code":
            if not form.get("code"):
                raise OAuthError("invalid_request")
            answer = st.oauth.exchange_code(str(form["code"]), form.get("redirect_uri"),
                                            form.get("code_verifier"), include_hard=include_hard)
        elif grant_type == "refresh_token":
            if not form.get("refresh_token"):
                raise OAuthError("invalid_request")
            answer = st.oauth.refresh_grant(str(form["refresh_token"]), include_hard=include_hard)
        else:
            raise OAuthError("unsupported_grant_type")
    except OAuthError as exc:
        return _oauth_error(exc)
    return json_response(answer)


@router.post("/v2/oauth2/tokens/revoke")
async def revoke(request: Request) -> Response:
    st = _state(request)
    try:
        st.oauth.check_client(*_basic(request))
        raw = await request.body()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:  # Intuit's docs send JSON; node-quickbooks sends a form, which Intuit takes too
            body = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        if not isinstance(body, dict) or not body.get("token"):
            raise OAuthError("invalid_request")
    except OAuthError as exc:
        return _oauth_error(exc)
    st.oauth.revoke_token(str(body["token"]))
    return Response(status_code=200)


# Intuit serves the document with and without a trailing slash (its SDKs ask for the slashed one).
@router.get("/.well-known/openid_configuration")
@router.get("/.well-known/openid_configuration/")
@router.get("/.well-known/openid_sandbox_configuration")
@router.get("/.well-known/openid_sandbox_configuration/")
async def discovery(request: Request) -> Response:
    base = str(request.base_url).rstrip("/")
    return json_response({
        "issuer": base + "/op/v1",
        "authorization_endpoint": base + "/connect/oauth2",
        "token_endpoint": base + "/oauth2/v1/tokens/bearer",
        "userinfo_endpoint": base + USERINFO_PATH,
        "revocation_endpoint": base + "/v2/oauth2/tokens/revoke",
        "jwks_uri": base + JWKS_PATH,
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "scopes_supported": [SCOPE, "openid", "profile", "email", "phone", "address"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
        "code_challenge_methods_supported": ["S256"],
    })


@router.get(JWKS_PATH)
async def jwks(request: Request) -> Response:
    return json_response({"keys": [_state(request).signing_jwk]})


@router.get(USERINFO_PATH)
async def userinfo(request: Request) -> Response:
    """OpenID Connect user info for the person who approved the grant (a fixed sandbox admin)."""
    st = _state(request)
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    realm_id, _reason = st.oauth.authenticate(token)
    if realm_id is None:
        return json_response({"error": "invalid_token"}, 401)
    return json_response({
        "sub": st.oauth.subject(token), "email": f"admin+{realm_id}@example.com", "emailVerified": True,
        "givenName": "Sandbox", "familyName": "Admin", "phoneNumber": "+1 9165550100",
        "phoneNumberVerified": False,
        "address": {"streetAddress": "1200 Builder Way", "locality": "Sacramento", "region": "CA",
                    "postalCode": "95814", "country": "US"},
    })
