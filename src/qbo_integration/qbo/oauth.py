"""OAuth 2.0 with Intuit (or our sandbox) through authlib's AsyncOAuth2Client.

* authorization URL with PKCE S256, code exchange and refresh: authlib, client authenticated with
  HTTP Basic (`client_secret_basic`), as Intuit requires;
* revoke: Intuit wants a JSON body `{"token": ...}` (not RFC 7009's form), so it is a plain POST
  through the same client with Basic auth;
* every non-2xx token-endpoint answer is classified by `errors` (invalid_grant -> CONNECTION_LOST).

Stack-notes pitfall: authlib 1.9 prefers a package named `httpx2`; keep it out of the environment
(respx cannot intercept it). We build the client on plain httpx and silence authlib's deprecation
notice about that fallback.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import warnings
from typing import Any

import httpx

from qbo_integration.clock import utc_now

from .config import QboConfig
from .errors import QboError, TransientError, error_from_exception, error_from_response
from .models import TokenSet

with warnings.catch_warnings():
    import authlib.deprecate  # noqa: F401  (installs its own "always" filter: override it below)

    warnings.simplefilter("ignore")
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.httpx_client import AsyncOAuth2Client


# Intuit reports a grant's hard expiry (its 5-year maximum) only when the token request opts in with this
# header; the answer then carries `x_refresh_token_hard_expires_in` (seconds left), as Intuit's SDKs read it.
HARD_EXPIRY_HEADER = "x-include-refresh-token-hard-expires-in"
_TOKEN_HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
    HARD_EXPIRY_HEADER: "true",
}


def make_code_verifier() -> str:
    return secrets.token_urlsafe(64)[:96]


def code_challenge_s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _raise_for_token_error(resp: httpx.Response) -> httpx.Response:
    """authlib compliance hook: resolve any non-2xx before authlib parses it."""
    if resp.status_code >= 300:
        raise error_from_response(resp)
    return resp


class QboOAuth:
    def __init__(self, config: QboConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self._client = AsyncOAuth2Client(
            client_id=config.client_id,
            client_secret=config.client_secret,
            token_endpoint_auth_method="client_secret_basic",
            scope=config.scope,
            redirect_uri=config.redirect_uri,
            code_challenge_method="S256",
            token_endpoint=config.token_url,
            timeout=config.oauth_timeout,
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self._client.register_compliance_hook("access_token_response", _raise_for_token_error)
        self._client.register_compliance_hook("refresh_token_response", _raise_for_token_error)

    async def aclose(self) -> None:
        await self._client.aclose()

    def authorization_url(
        self,
        state: str,
        code_challenge: str | None = None,
        *,
        code_verifier: str | None = None,
        redirect_uri: str | None = None,
    ) -> str:
        """The URL to send the admin's browser to. Give `code_verifier` (authlib derives the S256
        challenge) or an already computed `code_challenge`."""
        extra: dict[str, Any] = {}
        if redirect_uri:
            extra["redirect_uri"] = redirect_uri
        if code_challenge and not code_verifier:
            extra["code_challenge"] = code_challenge
            extra["code_challenge_method"] = "S256"
        url, _ = self._client.create_authorization_url(
            self.config.authorize_url, state=state, code_verifier=code_verifier, **extra
        )
        return url

    async def exchange_code(
        self, code: str, code_verifier: str | None = None, *, redirect_uri: str | None = None
    ) -> TokenSet:
        kw: dict[str, Any] = {}
        if code_verifier:
            kw["code_verifier"] = code_verifier
        if redirect_uri or self.config.redirect_uri:
            kw["redirect_uri"] = redirect_uri or self.config.redirect_uri
        data = await self._call(
            self._client.fetch_token(self.config.token_url, grant_type="authorization_code", code=code,
                                     headers=dict(_TOKEN_HEADERS), **kw)
        )
        return TokenSet.from_token_response(dict(data), now=utc_now())

    async def refresh(self, refresh_token: str) -> TokenSet:
        """One refresh. The answer's refresh token (rotated or not) is in the TokenSet."""
        data = await self._call(
            self._client.refresh_token(self.config.token_url, refresh_token=refresh_token,
                                       headers=dict(_TOKEN_HEADERS))
        )
        return TokenSet.from_token_response(
            dict(data), now=utc_now(), previous_refresh_token=refresh_token
        )

    async def revoke(self, token: str) -> None:
        try:
            resp = await self._client.request(
                "POST",
                self.config.revoke_url,
                json={"token": token},
                auth=httpx.BasicAuth(self.config.client_id, self.config.client_secret),
                headers={"Accept": "application/json"},
                withhold_token=True,
            )
        except httpx.HTTPError as exc:
            raise error_from_exception(exc) from None
        if resp.status_code >= 300:
            raise error_from_response(resp)

    async def _call(self, coro) -> dict[str, Any]:
        try:
            return await coro
        except QboError:
            raise
        except OAuthError as exc:  # a 2xx carrying {"error": ...}: unusual, resolve it the same way
            from .errors import error_from_fault
            from .faults import ParsedFault

            raise error_from_fault(
                ParsedFault(oauth_error=exc.error, oauth_description=exc.description), status=400
            ) from None
        except httpx.HTTPError as exc:
            raise error_from_exception(exc) from None
        except (ValueError, KeyError) as exc:
            raise TransientError(f"unreadable token answer: {type(exc).__name__}") from None
